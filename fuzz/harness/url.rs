//! Target `url`: `BaseUrl::parse`, `join` (the same-origin rule) and
//! `resolve_token_url`.
//!
//! Holds for any input: no panic; a joined URL parses, and goes to exactly
//! the base URL's scheme, host and port; a path starting with `/` is appended
//! to the base (prefix kept) and never refused when the result is a valid
//! URL; an absolute URL is accepted exactly when it is on the base's origin
//! and carries no user information; a relative token URL stays on the origin.

use super::split_parts;
use starmile::url::BaseUrl;
use starmile::Status;
use ureq::http::Uri;

/// How `starmile::url::Origin` renders with `Debug`, computed independently
/// from a parsed URI (scheme and host lower-cased, default port filled in).
pub fn origin_debug(uri: &Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or_default().to_ascii_lowercase();
    let default_port = if scheme == "https" { 443 } else { 80 };
    let authority = uri.authority().expect("an absolute URL has an authority");
    format!(
        "Origin {{ scheme: {:?}, host: {:?}, port: {} }}",
        scheme,
        authority.host().to_ascii_lowercase(),
        authority.port_u16().unwrap_or(default_port)
    )
}

/// What the library accepts as an absolute URL, decided without it.
pub fn acceptable_absolute(text: &str) -> Option<Uri> {
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let uri: Uri = text.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let authority = uri.authority()?;
    let usable = (scheme == "http" || scheme == "https")
        && !authority.as_str().contains('@')
        && !authority.host().is_empty();
    usable.then_some(uri)
}

pub fn run(data: &[u8]) {
    let parts = split_parts(data, 0, 3);
    let (Ok(base_text), Ok(path), Ok(token_url)) = (
        std::str::from_utf8(parts[0]),
        std::str::from_utf8(parts[1]),
        std::str::from_utf8(parts[2]),
    ) else {
        return;
    };
    let base = match BaseUrl::parse(base_text) {
        Ok(base) => base,
        Err(error) => {
            assert_eq!(error.status(), Status::InvalidArgument);
            return;
        }
    };
    let base_uri = acceptable_absolute(base_text)
        .unwrap_or_else(|| panic!("accepted base_url {base_text:?} is not a usable URL"));
    assert!(
        base_uri.query().is_none(),
        "accepted a base_url with a query"
    );
    let base_origin = format!("{:?}", base.origin());
    assert_eq!(origin_debug(&base_uri), base_origin);
    let root_and_prefix = format!(
        "{}://{}{}",
        base_uri.scheme_str().unwrap().to_ascii_lowercase(),
        base_uri.authority().unwrap().as_str().to_ascii_lowercase(),
        base_uri.path().trim_end_matches('/')
    );

    check_join(&base, &base_origin, &root_and_prefix, path);
    check_token_url(&base, &base_origin, &root_and_prefix, token_url);
}

fn check_join(base: &BaseUrl, base_origin: &str, root_and_prefix: &str, path: &str) {
    let joined = base.join(path);
    if let Ok(url) = &joined {
        let uri = acceptable_absolute(url)
            .unwrap_or_else(|| panic!("join gave {url:?}, which is not a usable URL"));
        assert_eq!(
            origin_debug(&uri),
            base_origin,
            "join({path:?}) leaves the base's origin: {url:?}"
        );
    }
    if let Err(error) = &joined {
        assert_eq!(error.status(), Status::InvalidArgument);
    }
    if path.starts_with('/') {
        let expected = format!("{root_and_prefix}{path}");
        match &joined {
            Ok(url) => assert_eq!(url, &expected, "the base's prefix was not kept"),
            Err(_) => assert!(
                acceptable_absolute(&expected).is_none(),
                "join refused the path {path:?} though {expected:?} is a valid URL"
            ),
        }
    } else if !path.contains("://") {
        assert!(joined.is_err(), "join accepted the relative path {path:?}");
    } else {
        let same_origin =
            acceptable_absolute(path).is_some_and(|uri| origin_debug(&uri) == base_origin);
        match &joined {
            Ok(url) => {
                assert!(same_origin, "join accepted {path:?} on another origin");
                assert_eq!(url, path);
            }
            Err(_) => assert!(
                !same_origin,
                "join refused {path:?} on the base's own origin"
            ),
        }
    }
}

fn check_token_url(base: &BaseUrl, base_origin: &str, root_and_prefix: &str, token_url: &str) {
    match base.resolve_token_url(token_url) {
        Ok((url, origin)) => {
            let uri = acceptable_absolute(&url)
                .unwrap_or_else(|| panic!("token URL {url:?} is not a usable URL"));
            assert_eq!(origin_debug(&uri), format!("{origin:?}"));
            if !token_url.contains("://") {
                assert_eq!(format!("{origin:?}"), base_origin);
                assert!(url.starts_with(root_and_prefix));
            }
        }
        Err(error) => assert_eq!(error.status(), Status::InvalidArgument),
    }
}
