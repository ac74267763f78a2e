//! The base URL, joining request paths onto it, and the same-origin rule that
//! keeps the bearer token from ever going to another host.

use crate::error::{Error, Result};
use ureq::http::Uri;

/// A parsed `base_url`: `http(s)://host[:port][/prefix]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseUrl {
    origin: Origin,
    /// `scheme://authority` as written (host lower-cased), without a trailing slash.
    root: String,
    /// The path prefix, without a trailing slash: `""` or `"/api"`.
    prefix: String,
}

/// Scheme, host (as written, compared without case) and effective port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }

    /// `localhost` (or `*.localhost`), `127.0.0.0/8` or `::1`.
    pub fn is_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        match host.parse::<std::net::IpAddr>() {
            Ok(ip) => ip.is_loopback(),
            Err(_) => host == "localhost" || host.ends_with(".localhost"),
        }
    }

    pub fn host(&self) -> &str {
        &self.host
    }
}

/// Parses an absolute `http`/`https` URL, refusing what a base or token URL
/// must never carry: userinfo, a fragment, a missing host.
fn parse_absolute(what: &str, url: &str) -> Result<(Origin, Uri)> {
    let bad = |why: &str| Error::invalid_argument(format!("{what} is not a valid URL: {why}"));
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("contains whitespace or a control character"));
    }
    let uri: Uri = url.parse().map_err(|_| bad("cannot parse it"))?;
    let scheme = uri
        .scheme_str()
        .ok_or_else(|| bad("no scheme"))?
        .to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return Err(bad("the scheme must be http or https")),
    };
    let authority = uri.authority().ok_or_else(|| bad("no host"))?;
    if authority.as_str().contains('@') {
        return Err(bad("user information (user@host) is not allowed"));
    }
    let host = authority.host().to_ascii_lowercase();
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let port = authority.port_u16().unwrap_or(default_port);
    Ok((Origin { scheme, host, port }, uri))
}

impl BaseUrl {
    pub fn parse(url: &str) -> Result<BaseUrl> {
        let (origin, uri) = parse_absolute("base_url", url)?;
        if uri.query().is_some() {
            return Err(Error::invalid_argument(
                "base_url is not a valid URL: a query string is not allowed",
            ));
        }
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
        let root = format!("{}://{}", origin.scheme, authority.to_ascii_lowercase());
        let prefix = uri.path().trim_end_matches('/').to_owned();
        Ok(BaseUrl {
            origin,
            root,
            prefix,
        })
    }

    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The URL a request for `path` goes to.
    ///
    /// `/v1/x` is appended to the base (its path prefix kept). An absolute URL
    /// is accepted only on the base's own origin. Anything else is refused.
    pub fn join(&self, path: &str) -> Result<String> {
        if path.starts_with('/') {
            let url = format!("{}{}{}", self.root, self.prefix, path);
            // Validate the characters of the path the same way as a full URL.
            let (origin, _) = parse_absolute("path", &url)?;
            debug_assert_eq!(origin, self.origin);
            return Ok(url);
        }
        if !path.contains("://") {
            return Err(Error::invalid_argument(
                "path must start with '/' or be an absolute URL on base_url's origin",
            ));
        }
        let (origin, _) = parse_absolute("url", path)?;
        if origin != self.origin {
            return Err(Error::invalid_argument(format!(
                "refusing to send the bearer token to another origin ({}://{}:{}); \
                 only {}://{}:{} is allowed",
                origin.scheme,
                origin.host,
                origin.port,
                self.origin.scheme,
                self.origin.host,
                self.origin.port
            )));
        }
        Ok(path.to_owned())
    }

    /// The token URL: an absolute URL (any origin: the authorization server may
    /// live elsewhere), or a path relative to the base URL.
    pub fn resolve_token_url(&self, token_url: &str) -> Result<(String, Origin)> {
        if token_url.contains("://") {
            let (origin, _) = parse_absolute("token_url", token_url)?;
            return Ok((token_url.to_owned(), origin));
        }
        let path = if token_url.starts_with('/') {
            token_url.to_owned()
        } else {
            format!("/{token_url}")
        };
        let url = format!("{}{}{}", self.root, self.prefix, path);
        parse_absolute("token_url", &url)?;
        Ok((url, self.origin.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(url: &str) -> BaseUrl {
        BaseUrl::parse(url).unwrap()
    }

    #[test]
    fn join_keeps_the_prefix_and_ignores_a_trailing_slash() {
        assert_eq!(
            base("https://h/api/").join("/v1/x").unwrap(),
            "https://h/api/v1/x"
        );
        assert_eq!(
            base("https://h").join("/v1/x?a=1").unwrap(),
            "https://h/v1/x?a=1"
        );
    }

    #[test]
    fn absolute_urls_only_on_the_same_origin() {
        let b = base("https://h:8443/api");
        assert!(b.join("https://h:8443/other").is_ok());
        assert!(b.join("https://H:8443/other").is_ok());
        assert!(b.join("https://h/other").is_err());
        assert!(b.join("http://h:8443/other").is_err());
        assert!(b.join("https://evil:8443/").is_err());
        assert!(b.join("https://user@h:8443/").is_err());
        assert!(b.join("v1/x").is_err());
        assert!(base("http://localhost:1")
            .join("http://127.0.0.1:1/")
            .is_err());
        assert!(base("https://h").join("https://h:443/x").is_ok());
    }

    #[test]
    fn bad_base_urls_are_refused() {
        for url in [
            "ftp://h",
            "h/api",
            "https://",
            "https://u:p@h",
            "https://h/ x",
        ] {
            assert!(BaseUrl::parse(url).is_err(), "{url}");
        }
    }

    #[test]
    fn loopback_hosts() {
        for url in [
            "http://localhost:1",
            "http://127.0.0.2",
            "http://[::1]:8080",
        ] {
            assert!(base(url).origin().is_loopback(), "{url}");
        }
        assert!(!base("http://example.com").origin().is_loopback());
    }

    #[test]
    fn token_url_relative_or_absolute() {
        let b = base("https://h/api/");
        assert_eq!(
            b.resolve_token_url("/oauth/token").unwrap().0,
            "https://h/api/oauth/token"
        );
        assert_eq!(
            b.resolve_token_url("oauth/token").unwrap().0,
            "https://h/api/oauth/token"
        );
        let (url, origin) = b.resolve_token_url("https://auth.example/t").unwrap();
        assert_eq!(url, "https://auth.example/t");
        assert_eq!(origin.host(), "auth.example");
    }
}
