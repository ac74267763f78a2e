//! libstarmile: the one native core behind the Starmile Partner API SDKs.
//!
//! It trades a partner's `client_id` / `client_secret` for a bearer token at
//! the token endpoint (OAuth2 client credentials), caches it, refreshes it
//! before it expires, and sends authenticated API requests with retries,
//! timeouts and typed errors. C links it directly (`include/starmile.h`); the
//! PHP, Python and Node bindings are thin layers over the same C ABI.
//!
//! ```no_run
//! let client = starmile::Client::new(
//!     r#"{"base_url": "https://partner.example", "client_id": "id", "client_secret": "secret"}"#,
//! )?;
//! let token = client.get_token()?;
//! let response = client.request("GET", "/v1/echo", None, b"")?;
//! println!("{} {}", response.status, String::from_utf8_lossy(&response.body));
//! # Ok::<(), starmile::Error>(())
//! ```
//!
//! Where things live:
//! - [`config`]: the JSON config, env fallback, Postman environments;
//! - [`token`]: the token cache (freshness, single flight, background refresh);
//! - [`oauth`]: one token-endpoint exchange and its parsing;
//! - [`http`] and [`retry`]: the agent, sending, the retry policy;
//! - [`cache`]: the token cache shared between processes and hosts;
//! - [`client`]: the client tying them together;
//! - [`handles`] and `ffi`: the C boundary.

pub mod cache;
pub mod client;
pub mod config;
pub mod error;
pub mod handles;
pub mod http;
mod log;
pub mod oauth;
pub mod retry;
pub mod secret;
pub mod token;
pub mod url;

pub mod ffi;

pub use client::{AccessToken, Client, Response};
pub use error::{Error, Status};
