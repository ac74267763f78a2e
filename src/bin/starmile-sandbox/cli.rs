//! Command-line parsing (hand-written: the surface is tiny and the crate
//! should not grow a dependency for it).

use std::path::PathBuf;

pub const USAGE: &str = "\
Usage: starmile-sandbox [OPTIONS]

A local stand-in for the Starmile Partner API (OAuth2 client credentials
token endpoint, API endpoints, fault injection). The first line printed on
stdout is the URL the server listens on.

Options:
  --host HOST              address to bind [default: 127.0.0.1]
  --port PORT              port to bind, 0 lets the OS pick [default: 0]
  --tls-cert PEM           serve HTTPS with this certificate chain (needs --tls-key)
  --tls-key PEM            private key for --tls-cert
  --tls-self-signed DIR    generate a CA and a server certificate, write the CA
                           to DIR/ca.pem and serve HTTPS
  --client-id ID           accepted client id [default: sandbox-client]
  --client-secret SECRET   accepted client secret [default: sandbox-secret]
  --token-lifetime SECONDS access token lifetime [default: 3600]
  -h, --help               print this help

Environment:
  STARMILE_SANDBOX_LOG=1   log one line per request (method, path, status) to stderr
";

/// Where the HTTPS certificate comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum TlsSource {
    Files { cert: PathBuf, key: PathBuf },
    SelfSigned { dir: PathBuf },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub host: String,
    pub port: u16,
    pub tls: Option<TlsSource>,
    pub client_id: String,
    pub client_secret: String,
    pub token_lifetime_s: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            host: "127.0.0.1".to_string(),
            port: 0,
            tls: None,
            client_id: "sandbox-client".to_string(),
            client_secret: "sandbox-secret".to_string(),
            token_lifetime_s: 3600,
        }
    }
}

#[derive(Debug, PartialEq)]
pub enum Command {
    Run(Options),
    Help,
}

/// Parses the arguments after the program name. Accepts `--flag value` and
/// `--flag=value`. Error messages never contain an argument's value, so a
/// mistyped secret is not echoed to a terminal or CI log.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut options = Options::default();
    let mut tls_cert = None;
    let mut tls_key = None;
    let mut self_signed = None;
    let mut args = args.into_iter();

    while let Some(arg) = args.next() {
        let (flag, inline_value) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_string(), Some(value)),
            _ => (arg.clone(), None),
        };
        if flag == "-h" || flag == "--help" {
            return Ok(Command::Help);
        }
        let mut value = || -> Result<String, String> {
            match inline_value {
                Some(v) => Ok(v.to_string()),
                None => args.next().ok_or_else(|| format!("{flag} needs a value")),
            }
        };
        match flag.as_str() {
            "--host" => options.host = non_empty(&flag, value()?)?,
            "--port" => options.port = number(&flag, &value()?)?,
            "--tls-cert" => tls_cert = Some(PathBuf::from(value()?)),
            "--tls-key" => tls_key = Some(PathBuf::from(value()?)),
            "--tls-self-signed" => self_signed = Some(PathBuf::from(value()?)),
            "--client-id" => options.client_id = non_empty(&flag, value()?)?,
            "--client-secret" => options.client_secret = non_empty(&flag, value()?)?,
            "--token-lifetime" => options.token_lifetime_s = number(&flag, &value()?)?,
            _ => return Err(format!("unknown argument '{flag}'")),
        }
    }

    options.tls = tls_source(tls_cert, tls_key, self_signed)?;
    Ok(Command::Run(options))
}

fn tls_source(
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    self_signed: Option<PathBuf>,
) -> Result<Option<TlsSource>, String> {
    match (cert, key, self_signed) {
        (None, None, None) => Ok(None),
        (None, None, Some(dir)) => Ok(Some(TlsSource::SelfSigned { dir })),
        (Some(cert), Some(key), None) => Ok(Some(TlsSource::Files { cert, key })),
        (_, _, Some(_)) => {
            Err("--tls-self-signed cannot be combined with --tls-cert/--tls-key".into())
        }
        _ => Err("--tls-cert and --tls-key must be given together".into()),
    }
}

fn non_empty(flag: &str, value: String) -> Result<String, String> {
    if value.is_empty() {
        Err(format!("{flag} must not be empty"))
    } else {
        Ok(value)
    }
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag} needs a non-negative integer in range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Command, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults() {
        assert_eq!(run(&[]), Ok(Command::Run(Options::default())));
    }

    #[test]
    fn all_flags_both_spellings() {
        let Ok(Command::Run(o)) = run(&[
            "--host",
            "::1",
            "--port=8080",
            "--client-id",
            "id",
            "--client-secret=s=e",
            "--token-lifetime",
            "5",
            "--tls-self-signed",
            "/tmp/x",
        ]) else {
            panic!("should parse");
        };
        assert_eq!(o.host, "::1");
        assert_eq!(o.port, 8080);
        assert_eq!(o.client_id, "id");
        assert_eq!(o.client_secret, "s=e");
        assert_eq!(o.token_lifetime_s, 5);
        assert_eq!(
            o.tls,
            Some(TlsSource::SelfSigned {
                dir: "/tmp/x".into()
            })
        );
    }

    #[test]
    fn errors() {
        assert!(run(&["--bogus"]).is_err());
        assert!(run(&["--port"]).is_err());
        assert!(run(&["--port", "70000"]).is_err());
        assert!(run(&["--tls-cert", "a"]).is_err());
        assert!(run(&[
            "--tls-cert",
            "a",
            "--tls-key",
            "b",
            "--tls-self-signed",
            "d"
        ])
        .is_err());
        assert!(run(&["--client-secret", ""]).is_err());
    }

    #[test]
    fn secret_never_in_error() {
        let err = run(&["--client-secret", "hunter2", "--token-lifetime", "x"]).unwrap_err();
        assert!(!err.contains("hunter2"));
    }

    #[test]
    fn help() {
        assert_eq!(run(&["--port", "1", "--help"]), Ok(Command::Help));
    }
}
