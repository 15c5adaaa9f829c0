//! A small HTTPS server for tests: a private CA signs its certificate for `localhost` and
//! `127.0.0.1`, and each path answers what the test last set — a key set, an error status,
//! garbage, a slow answer or a dropped connection — and counts its requests.
//!
//! The Rust tests use it as a library; Python's and Node's drive the binary (`main.rs`).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// What a path answers. `status == 0` drops the connection without an answer.
#[derive(Debug, Clone, Default)]
pub struct Route {
    pub status: u16,
    pub body: String,
    pub delay_ms: u64,
}

/// A private CA and a certificate it signed for localhost and 127.0.0.1: (CA PEM, server
/// certificate DER, server key DER, server certificate PEM, server key PEM).
pub struct PrivateCa {
    pub ca_pem: String,
    pub cert_der: Vec<u8>,
    pub key_der: Vec<u8>,
    pub cert_pem: String,
    pub key_pem: String,
}

pub fn private_ca() -> PrivateCa {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "authgate test CA");
    let ca_key = KeyPair::generate().expect("CA key");
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let server = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("server parameters");
    let server_key = KeyPair::generate().expect("server key");
    let server_cert = server
        .signed_by(&server_key, &ca_cert, &ca_key)
        .expect("server certificate");
    PrivateCa {
        ca_pem: ca_cert.pem(),
        cert_der: server_cert.der().to_vec(),
        key_der: server_key.serialize_der(),
        cert_pem: server_cert.pem(),
        key_pem: server_key.serialize_pem(),
    }
}

type Shared<T> = Arc<Mutex<T>>;

/// The running server; stopped when dropped.
pub struct HttpsServer {
    pub port: u16,
    /// The PEM of the CA that signed the server's certificate: what clients must trust.
    pub ca_pem: String,
    routes: Shared<HashMap<String, Route>>,
    hits: Shared<HashMap<String, u64>>,
    stop: Arc<AtomicBool>,
}

impl HttpsServer {
    /// Starts on a free loopback port; every path answers 404 until set.
    pub fn start() -> HttpsServer {
        let ca = private_ca();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(ca.cert_der)],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ca.key_der)),
            )
            .expect("server certificate");
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().expect("its address").port();
        let server = HttpsServer {
            port,
            ca_pem: ca.ca_pem,
            routes: Arc::default(),
            hits: Arc::default(),
            stop: Arc::default(),
        };
        let (routes, hits, stop) = (
            server.routes.clone(),
            server.hits.clone(),
            server.stop.clone(),
        );
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (config, routes, hits) = (config.clone(), routes.clone(), hits.clone());
                thread::spawn(move || {
                    // A client that goes away mid-answer is not the server's problem.
                    let _ = serve(stream, config, &routes, &hits);
                });
            }
        });
        server
    }

    /// `https://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    /// Makes `path` answer `status` with `body` after `delay_ms`.
    pub fn set(&self, path: &str, status: u16, delay_ms: u64, body: &str) {
        let route = Route {
            status,
            body: body.to_string(),
            delay_ms,
        };
        lock(&self.routes).insert(path.to_string(), route);
    }

    /// How many requests `path` has had.
    pub fn hits(&self, path: &str) -> u64 {
        lock(&self.hits).get(path).copied().unwrap_or(0)
    }
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn serve(
    stream: TcpStream,
    config: Arc<rustls::ServerConfig>,
    routes: &Mutex<HashMap<String, Route>>,
    hits: &Mutex<HashMap<String, u64>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let conn = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, stream);
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tls.read(&mut buf)?;
        if n == 0 || head.len() > 16 * 1024 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split(' ').nth(1).unwrap_or("/").to_string();
    *lock(hits).entry(path.clone()).or_default() += 1;
    let route = lock(routes).get(&path).cloned().unwrap_or(Route {
        status: 404,
        body: "not found".into(),
        delay_ms: 0,
    });
    thread::sleep(Duration::from_millis(route.delay_ms));
    if route.status == 0 {
        return Ok(());
    }
    let answer = format!(
        "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
        route.status,
        route.body.len(),
        route.body
    );
    tls.write_all(answer.as_bytes())?;
    tls.conn.send_close_notify();
    tls.flush()
}
