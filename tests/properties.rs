//! Property tests: URL joining keeps the base's origin and path prefix, the
//! same-origin rule accepts exactly the base's scheme, host and port, and
//! header lines round-trip while CR, LF and NUL never reach a header.

use proptest::prelude::*;
use starmile::client::parse_header_lines;
use starmile::url::BaseUrl;
use ureq::http::Uri;

/// Scheme, host and port of a base URL, as generated.
#[derive(Clone, Debug)]
struct Origin {
    scheme: &'static str,
    host: String,
    port: Option<u16>,
}

impl Origin {
    fn authority(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }

    fn effective_port(&self) -> u16 {
        self.port
            .unwrap_or(if self.scheme == "https" { 443 } else { 80 })
    }

    /// Equal as the contract compares origins: host without case, default
    /// port filled in; `localhost` is not `127.0.0.1`.
    fn same_as(&self, other: &Origin) -> bool {
        self.scheme == other.scheme
            && self.host.eq_ignore_ascii_case(&other.host)
            && self.effective_port() == other.effective_port()
    }
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,8}(\\.[a-z]{2,5}){0,2}",
        Just("localhost".to_owned()),
        Just("127.0.0.1".to_owned()),
        Just("[::1]".to_owned()),
        Just("api.partner.example".to_owned()),
    ]
    .prop_flat_map(|host| {
        // The same host in mixed case: compared without case.
        let len = host.len();
        proptest::collection::vec(any::<bool>(), len).prop_map(move |upper| {
            host.chars()
                .zip(upper)
                .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c })
                .collect::<String>()
        })
    })
}

fn origin() -> impl Strategy<Value = Origin> {
    (
        prop_oneof![Just("http"), Just("https")],
        host(),
        proptest::option::of(prop_oneof![Just(80u16), Just(443u16), 1u16..=65535]),
    )
        .prop_map(|(scheme, host, port)| Origin { scheme, host, port })
}

/// A base URL's path prefix: "", "/api", "/a/b/", ...
fn prefix() -> impl Strategy<Value = String> {
    ("(/[A-Za-z0-9._~-]{1,8}){0,3}", any::<bool>()).prop_map(|(prefix, slash)| {
        if slash {
            format!("{prefix}/")
        } else {
            prefix
        }
    })
}

/// A request path starting with '/', with the characters a path and query may hold.
fn request_path() -> impl Strategy<Value = String> {
    "/[A-Za-z0-9._~!$&'()*+,;=:@/-]{0,40}(\\?[A-Za-z0-9._~!$&'()*+,;=:@/?-]{0,30})?"
}

/// Scheme, lower-case host and port of a joined URL, as a client would connect.
fn connects_to(url: &str) -> (String, String, u16) {
    let uri: Uri = url.parse().unwrap_or_else(|e| panic!("{url:?}: {e}"));
    let scheme = uri.scheme_str().unwrap().to_owned();
    let authority = uri.authority().unwrap();
    let default = if scheme == "https" { 443 } else { 80 };
    (
        scheme,
        authority.host().to_ascii_lowercase(),
        authority.port_u16().unwrap_or(default),
    )
}

proptest! {
    #[test]
    fn a_path_is_appended_to_the_base_and_keeps_its_origin(
        base in origin(), prefix in prefix(), path in request_path()
    ) {
        let base_url = format!("{}://{}{}", base.scheme, base.authority(), prefix);
        let joined = BaseUrl::parse(&base_url).unwrap().join(&path).unwrap();
        let expected = format!(
            "{}://{}{}{}",
            base.scheme,
            base.authority().to_ascii_lowercase(),
            prefix.trim_end_matches('/'),
            path
        );
        prop_assert_eq!(&joined, &expected);
        prop_assert_eq!(
            connects_to(&joined),
            (base.scheme.to_owned(), base.host.to_ascii_lowercase(), base.effective_port())
        );
    }

    #[test]
    fn a_path_that_looks_like_another_host_stays_on_the_base(
        base in origin(), other in host(), rest in "[a-z/@:]{0,12}"
    ) {
        let base_url = format!("{}://{}", base.scheme, base.authority());
        let joined = BaseUrl::parse(&base_url).unwrap().join(&format!("//{other}/{rest}")).unwrap();
        prop_assert_eq!(connects_to(&joined).1, base.host.to_ascii_lowercase());
    }

    #[test]
    fn an_absolute_url_is_accepted_exactly_on_the_base_origin(
        base in origin(),
        target in origin(),
        same in any::<bool>(),
        path in request_path(),
    ) {
        // Half the cases aim at the base's own origin (possibly spelled differently).
        let target = if same {
            Origin { host: target.host.clone(), ..base.clone() }
        } else {
            target
        };
        let url = format!("{}://{}{}", target.scheme, target.authority(), path);
        let base_url = BaseUrl::parse(&format!("{}://{}/api", base.scheme, base.authority())).unwrap();
        match base_url.join(&url) {
            Ok(joined) => {
                prop_assert!(target.same_as(&base), "{} accepted for base {:?}", url, base);
                prop_assert_eq!(joined, url);
            }
            Err(error) => {
                prop_assert!(!target.same_as(&base), "{} refused for base {:?}", url, base);
                prop_assert_eq!(error.status(), starmile::Status::InvalidArgument);
            }
        }
    }

    #[test]
    fn user_information_is_never_accepted(base in origin(), user in "[a-z]{1,8}(:[a-z]{0,8})?") {
        let base_url = BaseUrl::parse(&format!("{}://{}", base.scheme, base.authority())).unwrap();
        let url = format!("{}://{user}@{}/x", base.scheme, base.authority());
        prop_assert!(base_url.join(&url).is_err());
    }
}

/// A header name the caller may set (the library sets the four reserved ones).
fn header_name() -> impl Strategy<Value = String> {
    "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,20}".prop_filter("reserved", |name| {
        ![
            "authorization",
            "host",
            "content-length",
            "transfer-encoding",
        ]
        .contains(&name.to_ascii_lowercase().as_str())
    })
}

/// A header value as sent: visible ASCII with inner spaces and tabs.
fn header_value() -> impl Strategy<Value = String> {
    "([!-~]([ \t]{0,2}[!-~]){0,30})?"
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec((header_name(), header_value()), 0..8)
}

fn header_text(headers: &[(String, String)], crlf: bool, padded: bool) -> String {
    let end = if crlf { "\r\n" } else { "\n" };
    headers
        .iter()
        .map(|(name, value)| {
            if padded {
                format!(" {name} :\t{value} {end}")
            } else {
                format!("{name}: {value}{end}")
            }
        })
        .collect()
}

proptest! {
    #[test]
    fn header_lines_round_trip(headers in headers(), crlf in any::<bool>(), padded in any::<bool>()) {
        let parsed = parse_header_lines(&header_text(&headers, crlf, padded)).unwrap();
        let got: Vec<(String, String)> = parsed
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect();
        let want: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
            .collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn a_cr_inside_a_line_or_a_nul_anywhere_is_refused(
        headers in proptest::collection::vec((header_name(), header_value()), 1..6),
        crlf in any::<bool>(),
        at in any::<proptest::sample::Index>(),
        nul in any::<bool>(),
    ) {
        let text = header_text(&headers, crlf, false);
        let mut positions: Vec<usize> = (0..=text.len()).collect();
        if !nul {
            // A CR right before LF (or at the very end) is a line ending.
            positions.retain(|&i| i < text.len() && text.as_bytes()[i] != b'\n');
        }
        let i = *at.get(&positions);
        let mut bad = text.clone();
        bad.insert(i, if nul { '\0' } else { '\r' });
        prop_assert!(parse_header_lines(&bad).is_err(), "{:?} accepted", bad);
    }

    #[test]
    fn no_value_ever_holds_cr_lf_or_nul(text in "(?s).{0,80}") {
        if let Ok(parsed) = parse_header_lines(&text) {
            for (_, value) in parsed {
                prop_assert!(!value.as_bytes().iter().any(|b| matches!(b, b'\r' | b'\n' | 0)));
            }
        }
    }

    #[test]
    fn a_smuggled_line_cannot_set_a_reserved_header(
        value in header_value(),
        reserved in prop_oneof![
            Just("Authorization"), Just("HOST"), Just("content-length"), Just("Transfer-Encoding")
        ],
        crlf in any::<bool>(),
    ) {
        let end = if crlf { "\r\n" } else { "\n" };
        let text = format!("X-Note: {value}{end}{reserved}: evil");
        prop_assert!(parse_header_lines(&text).is_err());
    }
}
