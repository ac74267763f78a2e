//! Secrets in memory: zeroed when dropped, never rendered by `Debug`, and
//! scrubbed from any text that came from a server before it reaches an error
//! message or a log line.

use std::fmt;
use zeroize::Zeroizing;

/// A client secret or an access token.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(Zeroizing::new(value))
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// The shortest secret worth scrubbing: replacing every "a" in a message
/// would make it unreadable and protect nothing.
const MIN_REDACTED_LEN: usize = 4;

/// Scrubs known secrets from text that did not come from us.
#[derive(Default)]
pub struct Redactor {
    secrets: Vec<Secret>,
}

impl Redactor {
    pub fn new() -> Redactor {
        Redactor::default()
    }

    /// Adds one exact text to scrub.
    pub fn with(mut self, secret: &str) -> Redactor {
        if secret.len() >= MIN_REDACTED_LEN && !self.secrets.iter().any(|s| s.expose() == secret) {
            self.secrets.push(Secret::new(secret.to_owned()));
        }
        self
    }

    /// `text` with every occurrence of a known secret, and of its
    /// URL-encoded form, replaced by `[redacted]`.
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            let secret = secret.expose();
            out = out.replace(secret, "[redacted]");
            let encoded =
                percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
                    .to_string();
            if encoded != secret {
                out = out.replace(&encoded, "[redacted]");
            }
        }
        out
    }

    /// A short, single-line, redacted excerpt of a body, for error messages.
    pub fn excerpt(&self, body: &[u8]) -> String {
        const MAX_CHARS: usize = 200;
        let text = String::from_utf8_lossy(body);
        let redacted = self.apply(&text);
        let mut excerpt: String = redacted
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(MAX_CHARS)
            .collect();
        if redacted.chars().count() > MAX_CHARS {
            excerpt.push('…');
        }
        excerpt.trim().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let s = Secret::new("hunter2-very-secret".into());
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn redactor_scrubs_plain_and_url_encoded_forms() {
        let r = Redactor::new().with("s3cr+t/x");
        let out = r.apply("bad secret s3cr+t/x (form: s3cr%2Bt%2Fx)");
        assert_eq!(out, "bad secret [redacted] (form: [redacted])");
    }

    #[test]
    fn excerpt_is_short_and_single_line() {
        let r = Redactor::new();
        let body = "line one\nline two ".repeat(50);
        let e = r.excerpt(body.as_bytes());
        assert!(!e.contains('\n'));
        assert!(e.chars().count() <= 201);
    }
}
