//! `authgate`: the operator's command line over the authgate core — new keys and secrets,
//! JWTs signed, verified and inspected, TOTP enrollment and codes, signed requests for
//! curl, and webhook checks. Every check is the core's; this file only reads arguments
//! and prints.

mod commands;
mod input;

use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// How a run ended, as the exit code tells it.
pub enum Failure {
    /// The thing checked is not valid (a token, a signature, a code): exit 1.
    Rejected(authgate_core::Error),
    /// Bad arguments or input (a malformed key, an unknown algorithm): exit 2.
    Input(String),
    /// A file could not be read or written, or a key set fetched: exit 3.
    Io(String),
}

impl From<authgate_core::Error> for Failure {
    /// A core error outside a verification is an input error (the key, the claims …).
    fn from(e: authgate_core::Error) -> Self {
        Failure::Input(format!("{}: {}", e.code(), e.message()))
    }
}

pub type Outcome = Result<(), Failure>;

const AFTER_HELP: &str = "\
Exit codes: 0 done (valid); 1 rejected (the token, signature, code or webhook is not valid);
2 bad arguments or input; 3 a file could not be read or written, or a key set not fetched.
Secrets can come from the environment or a file (`@path`) instead of the command line (see
each --help), so they stay out of shell history and `ps`; a secret written on the command
line gets a warning. HMAC secrets are text (their UTF-8 bytes) unless written `hex:…` or
`base64:…`. Errors go to stderr; --json prints JSON.";

#[derive(Parser)]
#[command(name = "authgate", version, about = "API-security tools: keys, JWTs, TOTP, signed requests, webhooks", after_help = AFTER_HELP)]
pub struct Cli {
    /// Print JSON (results on stdout, errors on stderr).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// New keys and secrets from the OS random source.
    #[command(subcommand)]
    Keygen(Keygen),
    /// Sign, verify and inspect JSON Web Tokens.
    #[command(subcommand)]
    Jwt(Jwt),
    /// Authenticator codes: enroll an account (URI and QR) or print the current code.
    #[command(subcommand)]
    Totp(Totp),
    /// Signs an HTTP request (RFC 9421) and prints the header fields to send with it.
    SignRequest(commands::SignRequest),
    /// Checks a webhook's signature (Standard Webhooks) against its payload.
    VerifyWebhook(commands::VerifyWebhook),
}

#[derive(Subcommand)]
enum Keygen {
    /// An API key (`ag_live_…`): prints the key once, and what to store (id and SHA-256).
    ApiKey(commands::ApiKeyArgs),
    /// A server key (`ag_srv_…`): stored like an API key (its hash), plus the public key
    /// of the client tokens it mints (`client_token_key`), so the API verifies them.
    ServerKey(commands::ApiKeyArgs),
    /// A random secret for HMAC (JWT HS256, request signing), base64url.
    HmacSecret(commands::HmacSecretArgs),
    /// A webhook secret (`whsec_…`), or with --ed25519 a signing pair (`whsk_…`/`whpk_…`).
    WebhookSecret(commands::WebhookSecretArgs),
    /// A JWT signing key (PEM, PKCS#8) and the JWKS that publishes its public half.
    SigningKey(commands::SigningKeyArgs),
    /// The JWKS of existing keys (PEM files; the kid is each file's name without extension).
    Jwks(commands::JwksArgs),
}

#[derive(Subcommand)]
enum Jwt {
    /// Signs claims into a JWT.
    Sign(commands::JwtSign),
    /// Verifies a JWT (signature, algorithm, exp/nbf, iss/aud when given) and prints its claims.
    Verify(commands::JwtVerify),
    /// Prints a JWT's header and claims WITHOUT verifying anything.
    Inspect(commands::JwtInspect),
}

#[derive(Subcommand)]
enum Totp {
    /// A new TOTP secret for an account: the otpauth:// URI and a QR code for the terminal.
    Enroll(commands::TotpEnroll),
    /// The current code (or the code at --time) for a secret or an otpauth:// URI.
    Code(commands::TotpCode),
}

/// Set with --json: notes and warnings stay off stderr, which then holds only JSON.
pub static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Prints a note or warning to stderr unless --json was given.
pub fn note(text: &str) {
    if !QUIET.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("{text}");
    }
}

/// Warns when a secret was written on the command line itself (not `@file`, `-` or the
/// environment): other users see it in `ps` and `/proc`, and the shell keeps it.
fn warn_secrets_on_command_line(matches: &clap::ArgMatches) {
    for id in ["secret", "secrets", "hmac_secret"] {
        if !matches.try_contains_id(id).unwrap_or(false)
            || matches.value_source(id) != Some(ValueSource::CommandLine)
        {
            continue;
        }
        let literal = matches.get_raw(id).into_iter().flatten().any(|v| {
            let v = v.to_string_lossy();
            v != "-" && !v.starts_with('@')
        });
        if literal {
            note(
                "warning: a secret on the command line is visible to other users (ps, /proc) \
                 and kept in your shell history; give it through the environment variable \
                 named in --help, or as @file",
            );
        }
    }
    if let Some((_, sub)) = matches.subcommand() {
        warn_secrets_on_command_line(sub);
    }
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let json = cli.json;
    QUIET.store(json, std::sync::atomic::Ordering::Relaxed);
    warn_secrets_on_command_line(&matches);
    let outcome = match cli.command {
        Command::Keygen(k) => match k {
            Keygen::ApiKey(a) => commands::api_key(&a, authgate_core::apikey::PREFIX_LIVE, json),
            Keygen::ServerKey(a) => {
                commands::api_key(&a, authgate_core::apikey::PREFIX_SERVER, json)
            }
            Keygen::HmacSecret(a) => commands::hmac_secret(&a, json),
            Keygen::WebhookSecret(a) => commands::webhook_secret(&a, json),
            Keygen::SigningKey(a) => commands::signing_key(&a, json),
            Keygen::Jwks(a) => commands::jwks(&a),
        },
        Command::Jwt(j) => match j {
            Jwt::Sign(a) => commands::jwt_sign(&a, json),
            Jwt::Verify(a) => commands::jwt_verify(&a, json),
            Jwt::Inspect(a) => commands::jwt_inspect(&a),
        },
        Command::Totp(t) => match t {
            Totp::Enroll(a) => commands::totp_enroll(&a, json),
            Totp::Code(a) => commands::totp_code(&a, json),
        },
        Command::SignRequest(a) => commands::sign_request(&a, json),
        Command::VerifyWebhook(a) => commands::verify_webhook(&a, json),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            let (code, kind, message) = match f {
                Failure::Rejected(e) => (1, e.code().to_string(), e.message().to_string()),
                Failure::Input(m) => (2, "invalid_input".to_string(), m),
                Failure::Io(m) => (3, "io_error".to_string(), m),
            };
            if json {
                eprintln!(
                    "{}",
                    serde_json::json!({ "error": kind, "message": message })
                );
            } else if code == 1 {
                eprintln!("rejected: {kind}: {message}");
            } else {
                eprintln!("error: {message}");
            }
            ExitCode::from(code)
        }
    }
}
