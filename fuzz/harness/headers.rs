//! Target `headers`: `parse_header_lines`, the caller's `Name: value` lines.
//!
//! Holds for any input: no panic; a text with a NUL, or a CR anywhere but
//! before a line's `\n`, is refused; every accepted header has a valid
//! lower-case name that is not one the library sets itself (Authorization,
//! Host, Content-Length, Transfer-Encoding) and a value without CR, LF or
//! NUL; the accepted list survives being written out and parsed again.

use starmile::client::parse_header_lines;
use starmile::Status;

const RESERVED: &[&str] = &[
    "authorization",
    "host",
    "content-length",
    "transfer-encoding",
];

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let headers = match parse_header_lines(text) {
        Ok(headers) => headers,
        Err(error) => {
            assert_eq!(error.status(), Status::InvalidArgument);
            return;
        }
    };
    assert!(!text.contains('\0'), "a NUL was accepted");
    for raw_line in text.split('\n') {
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        // Blank lines are skipped, whatever whitespace they hold.
        if !line.trim().is_empty() {
            assert!(!line.contains('\r'), "a CR inside a line was accepted");
        }
    }
    for (name, value) in &headers {
        let name = name.as_str();
        assert!(!name.is_empty());
        assert_eq!(name, name.to_ascii_lowercase());
        assert!(!RESERVED.contains(&name), "the caller set {name}");
        assert!(
            !value
                .as_bytes()
                .iter()
                .any(|b| matches!(b, b'\r' | b'\n' | 0)),
            "a value holds CR, LF or NUL"
        );
    }
    let written: String = headers
        .iter()
        .map(|(name, value)| {
            // Non-ASCII (obs-text) is allowed; the input was UTF-8, so is the value.
            let value = std::str::from_utf8(value.as_bytes()).expect("a value cut from UTF-8");
            format!("{}: {}\r\n", name.as_str(), value)
        })
        .collect();
    let again = parse_header_lines(&written).expect("written headers parse again");
    assert_eq!(again, headers, "headers do not round-trip");
}
