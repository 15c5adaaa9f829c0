//! The test HTTPS server for Python's and Node's tests, driven by lines on stdin.
//!
//! Prints `{"port": P, "ca": "<CA PEM>"}` on start, then answers each command with one line:
//! - `set <path> <status> <delay_ms> <body…>` → `ok` (status 0 drops the connection)
//! - `hits <path>` → the number of requests the path has had
//!
//! Stops at the end of stdin.

use std::io::{BufRead, Write};

use authgate_test_https::HttpsServer;

fn main() {
    let server = HttpsServer::start();
    let mut out = std::io::stdout().lock();
    let ca = server.ca_pem.replace('\n', "\\n");
    writeln!(out, "{{\"port\": {}, \"ca\": \"{ca}\"}}", server.port).expect("stdout");
    out.flush().expect("stdout");
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let mut words = line.splitn(5, ' ');
        let answer = match (words.next(), words.next()) {
            (Some("set"), Some(path)) => {
                let status = words.next().and_then(|s| s.parse().ok());
                let delay = words.next().and_then(|s| s.parse().ok());
                match (status, delay) {
                    (Some(status), Some(delay)) => {
                        server.set(path, status, delay, words.next().unwrap_or_default());
                        "ok".to_string()
                    }
                    _ => "error: set <path> <status> <delay_ms> <body>".to_string(),
                }
            }
            (Some("hits"), Some(path)) => server.hits(path).to_string(),
            _ => format!("error: unknown command {line:?}"),
        };
        writeln!(out, "{answer}").expect("stdout");
        out.flush().expect("stdout");
    }
}
