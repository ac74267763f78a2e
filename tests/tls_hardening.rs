//! TLS refusals a user relies on, each against a real server on loopback:
//! the sandbox serving a certificate made here for the case (wrong name,
//! expired, from a CA the client does not trust), and raw TCP listeners that
//! read the ClientHello the library sends and answer with an old protocol
//! version. Every refusal is `SM_ERR_NETWORK` with a message naming the
//! problem, and the secret never reaches the token endpoint.
#![cfg(feature = "sandbox")]

mod common;

use common::{unique_temp_dir, Sandbox};
use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use serde_json::json;
use starmile::{Client, Status};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A CA with its key, and a directory for the PEM files of one test.
struct Pki {
    dir: PathBuf,
    ca: rcgen::Certificate,
    ca_key: KeyPair,
}

impl Pki {
    fn new(label: &str) -> Pki {
        let dir = unique_temp_dir(label);
        std::fs::create_dir_all(&dir).unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, format!("starmile test CA {label}"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = params.self_signed(&ca_key).unwrap();
        Pki { dir, ca, ca_key }
    }

    /// The CA certificate as a PEM file, for `ca_file`.
    fn ca_file(&self) -> PathBuf {
        let path = self.dir.join("ca.pem");
        std::fs::write(&path, self.ca.pem()).unwrap();
        path
    }

    /// A server certificate for `names`, valid `from`..`until` (years),
    /// written as `<stem>.pem` and `<stem>.key`.
    fn server_cert(&self, stem: &str, names: &[&str], from: i32, until: i32) -> (PathBuf, PathBuf) {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "starmile test server");
        params.not_before = date_time_ymd(from, 1, 1);
        params.not_after = date_time_ymd(until, 1, 1);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        let cert_path = self.dir.join(format!("{stem}.pem"));
        let key_path = self.dir.join(format!("{stem}.key"));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path, key_path)
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start_https(cert: &Path, key: &Path) -> Sandbox {
    let sandbox = Sandbox::start_with(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert!(
        sandbox.url().starts_with("https://127.0.0.1:"),
        "{}",
        sandbox.url()
    );
    sandbox
}

/// Token requests the sandbox received, read over a connection that checks
/// no certificate (the control channel of the test, not the library).
fn token_requests(sandbox: &Sandbox) -> u64 {
    let tls = ureq::tls::TlsConfig::builder()
        .disable_verification(true)
        .build();
    let agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .build()
        .new_agent();
    let text = agent
        .get(sandbox.endpoint("/_sandbox/stats"))
        .call()
        .expect("sandbox stats")
        .body_mut()
        .read_to_string()
        .unwrap();
    let stats: serde_json::Value = serde_json::from_str(&text).unwrap();
    stats["token_requests"].as_u64().unwrap()
}

fn client_trusting(sandbox: &Sandbox, ca_file: &Path) -> Client {
    Client::new(
        &json!({
            "base_url": sandbox.url(),
            "client_id": common::CLIENT_ID,
            "client_secret": common::CLIENT_SECRET,
            "ca_file": ca_file,
            "max_retries": 0,
            "timeout_ms": 10_000,
        })
        .to_string(),
    )
    .unwrap()
}

/// The refusal of `get_token`: a network error whose message, lower-cased,
/// holds one of `words`; the token endpoint never saw the request.
fn assert_refused(sandbox: &Sandbox, client: &Client, words: &[&str]) {
    let error = client.get_token().expect_err("the handshake must fail");
    assert_eq!(error.status(), Status::Network, "{error}");
    let message = error.message().to_lowercase();
    assert!(message.contains("tls"), "{}", error.message());
    assert!(
        words.iter().any(|w| message.contains(w)),
        "the message does not name the problem ({words:?}): {}",
        error.message()
    );
    assert!(!error.message().contains(common::CLIENT_SECRET));
    assert_eq!(token_requests(sandbox), 0, "the secret reached the server");
}

#[test]
fn a_valid_certificate_from_the_ca_file_is_accepted() {
    let pki = Pki::new("valid");
    let (cert, key) = pki.server_cert("server", &["localhost", "127.0.0.1"], 2020, 2100);
    let sandbox = start_https(&cert, &key);
    let client = client_trusting(&sandbox, &pki.ca_file());
    let response = client.request("GET", "/v1/echo", None, b"").unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(token_requests(&sandbox), 1);
}

#[test]
fn a_certificate_for_another_name_is_refused() {
    let pki = Pki::new("name");
    let (cert, key) = pki.server_cert("server", &["other.example"], 2020, 2100);
    let sandbox = start_https(&cert, &key);
    let client = client_trusting(&sandbox, &pki.ca_file());
    assert_refused(
        &sandbox,
        &client,
        &["not valid for name", "notvalidforname"],
    );
}

#[test]
fn an_expired_certificate_is_refused() {
    let pki = Pki::new("expired");
    let (cert, key) = pki.server_cert("server", &["localhost", "127.0.0.1"], 2000, 2001);
    let sandbox = start_https(&cert, &key);
    let client = client_trusting(&sandbox, &pki.ca_file());
    assert_refused(&sandbox, &client, &["expired"]);
}

#[test]
fn a_certificate_from_an_unknown_ca_is_refused() {
    let trusted = Pki::new("trusted");
    let stranger = Pki::new("stranger");
    let (cert, key) = stranger.server_cert("server", &["localhost", "127.0.0.1"], 2020, 2100);
    let sandbox = start_https(&cert, &key);
    let client = client_trusting(&sandbox, &trusted.ca_file());
    assert_refused(&sandbox, &client, &["unknown issuer", "unknownissuer"]);
}

// ---- protocol versions, seen on the wire -------------------------------

const TLS_1_0: u16 = 0x0301;
const TLS_1_1: u16 = 0x0302;
const TLS_1_2: u16 = 0x0303;
const TLS_1_3: u16 = 0x0304;
const SSL_3_0: u16 = 0x0300;

/// What a ClientHello offers.
struct ClientHello {
    legacy_version: u16,
    session_id: Vec<u8>,
    cipher_suites: Vec<u16>,
    supported_versions: Option<Vec<u16>>,
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

/// Reads one TLS record: (content type, record version, payload).
fn read_record(stream: &mut TcpStream) -> std::io::Result<(u8, u16, Vec<u8>)> {
    let mut header = [0u8; 5];
    stream.read_exact(&mut header)?;
    let mut payload = vec![0u8; usize::from(u16_at(&header, 3))];
    stream.read_exact(&mut payload)?;
    Ok((header[0], u16_at(&header, 1), payload))
}

/// Parses the ClientHello in the first handshake record (RFC 8446 §4.1.2).
fn read_client_hello(stream: &mut TcpStream) -> ClientHello {
    let (kind, _, record) = read_record(stream).expect("a ClientHello record");
    assert_eq!(kind, 0x16, "the first record is a handshake");
    assert_eq!(record[0], 0x01, "the first message is a ClientHello");
    let body = &record[4..];
    let legacy_version = u16_at(body, 0);
    let mut at = 2 + 32;
    let session_id = body[at + 1..at + 1 + usize::from(body[at])].to_vec();
    at += 1 + session_id.len();
    let suites_len = usize::from(u16_at(body, at));
    let cipher_suites = (0..suites_len / 2)
        .map(|i| u16_at(body, at + 2 + 2 * i))
        .collect();
    at += 2 + suites_len;
    at += 1 + usize::from(body[at]); // compression methods
    let extensions_end = at + 2 + usize::from(u16_at(body, at));
    at += 2;
    let mut supported_versions = None;
    while at < extensions_end {
        let (kind, len) = (u16_at(body, at), usize::from(u16_at(body, at + 2)));
        let data = &body[at + 4..at + 4 + len];
        if kind == 0x002b {
            let list = &data[1..1 + usize::from(data[0])];
            supported_versions = Some((0..list.len() / 2).map(|i| u16_at(list, 2 * i)).collect());
        }
        at += 4 + len;
    }
    ClientHello {
        legacy_version,
        session_id,
        cipher_suites,
        supported_versions,
    }
}

/// A loopback listener and a client whose token endpoint is on it.
fn raw_server() -> (TcpListener, Client) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = Client::new(
        &json!({
            "base_url": format!("https://127.0.0.1:{port}"),
            "client_id": common::CLIENT_ID,
            "client_secret": common::CLIENT_SECRET,
            "max_retries": 0,
            "timeout_ms": 10_000,
        })
        .to_string(),
    )
    .unwrap();
    (listener, client)
}

fn accept(listener: &TcpListener) -> TcpStream {
    let (stream, _) = listener.accept().unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// TLS 1.3 suites and ECDHE suites with AEAD ciphers, plus the
/// renegotiation-info signalling value: nothing export-grade, RC4, 3DES,
/// CBC, static RSA or NULL.
const ACCEPTABLE_SUITES: &[u16] = &[
    0x1301, 0x1302, 0x1303, // TLS 1.3: AES-128-GCM, AES-256-GCM, CHACHA20-POLY1305
    0xc02b, 0xc02c, 0xcca9, // ECDHE-ECDSA with AES-GCM, CHACHA20-POLY1305
    0xc02f, 0xc030, 0xcca8, // ECDHE-RSA with AES-GCM, CHACHA20-POLY1305
    0x00ff, // TLS_EMPTY_RENEGOTIATION_INFO_SCSV
];

#[test]
fn the_client_hello_offers_nothing_below_tls_1_2() {
    let (listener, client) = raw_server();
    let caller = std::thread::spawn(move || client.get_token().map(|_| ()));
    let mut stream = accept(&listener);
    let hello = read_client_hello(&mut stream);
    drop(stream);

    assert_eq!(hello.legacy_version, TLS_1_2, "ClientHello.legacy_version");
    let versions = hello
        .supported_versions
        .expect("a supported_versions extension");
    assert!(!versions.is_empty());
    for version in &versions {
        assert!(
            [TLS_1_2, TLS_1_3].contains(version),
            "offers protocol version {version:#06x}"
        );
    }
    for suite in &hello.cipher_suites {
        assert!(
            ACCEPTABLE_SUITES.contains(suite),
            "offers cipher suite {suite:#06x}"
        );
    }
    let error = caller.join().unwrap().expect_err("no handshake happened");
    assert_eq!(error.status(), Status::Network, "{error}");
}

/// A ServerHello for `version` (in the legacy field, or through
/// supported_versions when `via_extension`) with the client's session id.
fn server_hello(hello: &ClientHello, version: u16, via_extension: bool) -> Vec<u8> {
    let mut body = Vec::new();
    let legacy = if via_extension { TLS_1_2 } else { version };
    body.extend_from_slice(&legacy.to_be_bytes());
    body.extend_from_slice(&[0x42; 32]);
    body.push(hello.session_id.len() as u8);
    body.extend_from_slice(&hello.session_id);
    body.extend_from_slice(&0xc02fu16.to_be_bytes());
    body.push(0); // no compression
    if via_extension {
        body.extend_from_slice(&[0x00, 0x06, 0x00, 0x2b, 0x00, 0x02]);
        body.extend_from_slice(&version.to_be_bytes());
    }
    let mut handshake = vec![0x02];
    handshake.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16];
    record.extend_from_slice(&legacy.clamp(SSL_3_0, TLS_1_0).to_be_bytes());
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

#[test]
fn a_server_choosing_tls_1_1_or_older_is_refused() {
    for (version, via_extension) in [
        (SSL_3_0, false),
        (TLS_1_0, false),
        (TLS_1_1, false),
        (TLS_1_1, true),
    ] {
        let (listener, client) = raw_server();
        let caller = std::thread::spawn(move || client.get_token().map(|_| ()));
        let mut stream = accept(&listener);
        let hello = read_client_hello(&mut stream);
        stream
            .write_all(&server_hello(&hello, version, via_extension))
            .unwrap();

        // The client may say why (a fatal protocol_version alert), then it
        // must hang up: no further handshake message, no application data.
        loop {
            match read_record(&mut stream) {
                Ok((0x15, _, alert)) => {
                    assert_eq!(alert, [2, 70], "a fatal protocol_version alert");
                }
                Ok((kind, _, _)) => panic!(
                    "after a {version:#06x} ServerHello the client sent a record of type {kind:#04x}"
                ),
                Err(_) => break,
            }
        }
        let error = caller.join().unwrap().expect_err("the version is refused");
        assert_eq!(error.status(), Status::Network, "{error}");
        let message = error.message().to_lowercase();
        assert!(
            message.contains("tls12or13") || message.contains("version"),
            "the message does not name the protocol version: {}",
            error.message()
        );
    }
}
