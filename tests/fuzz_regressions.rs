//! Replays every input kept under `fuzz/corpus/<target>/` (the fuzzers'
//! minimized corpora and hand-written seeds) and `fuzz/regressions/<target>/`
//! (reproducers of bugs found) through the fuzz harness itself, so a plain
//! `cargo test` checks what the fuzzers check, without nightly or libFuzzer.
//!
//! A failure names the file; replay it alone under the fuzzer with
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run <target> <file>` from `fuzz/`.

#[allow(dead_code)]
#[path = "../fuzz/harness/mod.rs"]
mod harness;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(no message)".to_owned())
}

fn replay(target: &str, run: fn(&[u8])) {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let corpus = inputs(&fuzz.join("corpus").join(target));
    assert!(!corpus.is_empty(), "fuzz/corpus/{target}/ is empty");
    let regressions = inputs(&fuzz.join("regressions").join(target));
    let mut failures = Vec::new();
    for path in corpus.iter().chain(&regressions) {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| run(&data))) {
            let shown = path.strip_prefix(&fuzz).unwrap_or(path);
            failures.push(format!("fuzz/{}: {}", shown.display(), panic_text(&*panic)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} inputs of `{target}` fail:\n{}",
        failures.len(),
        corpus.len() + regressions.len(),
        failures.join("\n")
    );
}

#[test]
fn config_inputs() {
    replay("config", harness::config::run);
}

#[test]
fn token_response_inputs() {
    replay("token_response", harness::token_response::run);
}

#[test]
fn header_inputs() {
    replay("headers", harness::headers::run);
}

#[test]
fn url_inputs() {
    replay("url", harness::url::run);
}

#[test]
fn ffi_client_new_inputs() {
    replay("ffi_client_new", harness::ffi_client_new::run);
}

#[test]
fn ffi_request_inputs() {
    replay("ffi_request", harness::ffi_request::run);
}

// ---- end-to-end reproducers of what the fuzzers found -------------------

/// A token endpoint on loopback that answers every request with a 400 page
/// quoting what it received (as some proxies and WAFs do), once per mode.
fn echoing_token_endpoint() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    (listener, url)
}

fn answer_with_echo(listener: &std::net::TcpListener) {
    use std::io::{BufRead, BufReader, Read, Write};
    let (stream, _) = listener.accept().unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap();
        }
        if line == "\r\n" || line.is_empty() {
            break;
        }
        head.push_str(&line);
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    // The body first, then the header with the credentials, if any: an
    // excerpt in a message shows the first 200 characters.
    let credentials = head
        .lines()
        .find(|line| line.to_ascii_lowercase().starts_with("authorization:"))
        .unwrap_or_default();
    let page = format!(
        "<p>Bad request: {} {credentials}</p>",
        String::from_utf8_lossy(&body)
    );
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
        page.len()
    )
    .unwrap();
}

/// Found by the `token_response` fuzzer (fuzz/regressions/token_response/):
/// the redactor scrubs the secret as written and percent-encoded with every
/// non-alphanumeric escaped, but the library form-encodes it leaving
/// `-._~` as they are, and sends Basic credentials in base64. A server (or a
/// proxy) quoting the request in its error page puts the secret into the
/// SM_ERR_PROTOCOL message. Contract §2: never, "not even when a server echoes
/// one back in its own error text".
#[test]
fn a_secret_echoed_as_the_library_sent_it_never_reaches_a_message() {
    use harness::token_response::{secret_forms, CLIENT_ID, CLIENT_SECRET};
    let mut leaks = Vec::new();
    for token_auth in ["form", "json", "basic"] {
        let (listener, url) = echoing_token_endpoint();
        let server = std::thread::spawn(move || answer_with_echo(&listener));
        let client = starmile::Client::new(
            &serde_json::json!({
                "base_url": url,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "token_auth": token_auth,
                "max_retries": 0,
            })
            .to_string(),
        )
        .unwrap();
        let error = client.get_token().unwrap_err();
        server.join().unwrap();
        assert_eq!(error.status(), starmile::Status::Protocol, "{token_auth}");
        for (form, text) in secret_forms() {
            if error.message().contains(&text) {
                leaks.push(format!("token_auth {token_auth}: the secret ({form})"));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "in SM_ERR_PROTOCOL messages: {}",
        leaks.join("; ")
    );
}
