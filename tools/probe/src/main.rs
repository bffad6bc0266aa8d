//! A command-line probe for Drone extensions written in any language: it signs requests exactly
//! as Drone does, shows what Drone would make of the answer, and checks that the extension
//! refuses forged requests.
//!
//! ```sh
//! # One request, with a realistic sample body for the kind (or --body FILE, byte for byte).
//! cargo run -p drone-extension-probe -- send secret --endpoint http://127.0.0.1:3000/secret --secret "$DRONE_SECRET"
//! # The sample body, to edit and send with --body FILE.
//! cargo run -p drone-extension-probe -- sample secret > secret.json
//! # A valid request, then a battery of forgeries and hardening checks.
//! cargo run -p drone-extension-probe -- audit secret --endpoint https://ext.example.com/secret --ca ca.pem
//! ```
//!
//! Kinds: `admission`, `global-secrets`, `secret`, `registry`, `environ`, `config`, `convert`,
//! `validate`, `webhook`; and Woodpecker's `woodpecker-config`,
//! `woodpecker-secret` and `woodpecker-registry`, signed as a Woodpecker server signs (RFC 9421,
//! Ed25519, with `--woodpecker-key` or `EXTENSION_WOODPECKER_SIGNING_KEY`, or its `_FILE`; the old
//! `WOODPECKER_SIGNING_KEY` is still read, with a deprecation warning) and audited with Woodpecker's
//! forgeries (body swapped with the digest unchanged or recomputed, stale and future `created`,
//! another key, `alg` changed, label changed, components without `content-digest`, a request
//! signed for another path, two `Signature` field lines). Without `--secret` the probe reads `DRONE_SECRET` (or the file named by `DRONE_SECRET_FILE`). The samples match
//! the starter's `tools/starter/starter.toml` (repository `octocat/hello-world`, a push, the
//! secret `docker_password` at `secret/data/docker`).
//!
//! `https://` endpoints are verified against the system's root certificates, as Drone does;
//! `--ca FILE` trusts a private CA (PEM), and `--insecure` skips verification as
//! `DRONE_*_SKIP_VERIFY=true` does (dangerous: anyone on the path can pose as the extension).
//!
//! The audit grades what each request shows. A forgery that would give an attacker something
//! (no or a wrong signature, a changed body, a replayed or predated request, a weaker algorithm,
//! …) answered with a 2xx is `FORGERY ACCEPTED`. A hardening check (the same valid signature
//! sent twice, or a header repeated with the same value: nothing signed is changed, so an
//! attacker gains nothing) answered with a 2xx is a warning, an error only with `--strict`.
//!
//! A secret extension is also asked, with valid signatures, for what no pipeline may read
//! through it: the extension's own Vault token (`path: auth/token/lookup-self`, `name: id`, as
//! drone-vault would serve it) and its cubbyhole (`cubbyhole/drone`). An answer carrying a
//! value (a 2xx Drone would read as a secret) is `FORGERY ACCEPTED` too: with the token, any
//! pipeline reads every secret past its filters.
//!
//! Exit status: `0` when Drone would take the answer (`send`: a 2xx it can decode; `audit`: the
//! valid request got a 2xx and no forgery did), `1` when it would not (or, with `--strict`, a
//! hardening check got a 2xx), `2` for a usage error or when the endpoint cannot be reached.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use clap::{Args, Parser, Subcommand};
use drone_extension::client::{Client, ClientError, RawResponse};
use drone_extension::models::{Config, LegacySecret, Registry, Secret, User, Variable};
use drone_extension::secret::SecretRequest;
use drone_extension::signature::{
    EXTENSION_HEADER_LIST, SIGNATURE, SharedSecret, SignatureParams, Signer, WEBHOOK_HEADER_LIST,
};
use drone_extension::{ExtensionKind, testing};
use http::header::{AUTHORIZATION, DATE, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request};
use http_body_util::Full;
use serde::Serialize;
use serde::de::DeserializeOwned;

mod woodpecker;

/// An extension kind: Drone's or Woodpecker's.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Drone(ExtensionKind),
    Woodpecker(woodpecker::WoodpeckerKind),
}

impl std::str::FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Kind, String> {
        if let Some(kind) = woodpecker::WoodpeckerKind::parse(s) {
            return Ok(Kind::Woodpecker(kind));
        }
        s.parse().map(Kind::Drone).map_err(|e| format!("{e}"))
    }
}

/// Sign requests as Drone does and check how an extension answers them.
#[derive(Parser)]
#[command(name = "drone-extension-probe", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sign and send one request as Drone would, and show the answer (byte for byte) and Drone's
    /// reading of it.
    Send {
        #[command(flatten)]
        target: Target,
        /// The request body, sent byte for byte (`-`: standard input). Default: a realistic
        /// sample for the kind (see `probe sample KIND`).
        #[arg(long, value_name = "FILE")]
        body: Option<PathBuf>,
        /// Pretty-print a JSON answer instead of showing it as received.
        #[arg(long)]
        pretty: bool,
    },
    /// Send a valid request, then forgeries of it and hardening checks; fail if the valid
    /// request is refused or a forgery accepted.
    Audit {
        #[command(flatten)]
        target: Target,
        /// Also fail when a hardening check is accepted.
        #[arg(long)]
        strict: bool,
    },
    /// Print the sample request body of a kind (what `send` sends without `--body`).
    Sample {
        /// The extension kind.
        #[arg(value_name = "KIND")]
        kind: Kind,
        /// Pretty-print it (easier to edit; `--body` sends the file byte for byte).
        #[arg(long)]
        pretty: bool,
    },
}

#[derive(Args)]
struct Target {
    /// The extension kind: admission, global-secrets, secret, registry, environ, config,
    /// convert, validate or webhook; Woodpecker's: woodpecker-config, woodpecker-secret or
    /// woodpecker-registry.
    #[arg(value_name = "KIND")]
    kind: Kind,
    /// The extension's URL, path included (http:// or https://).
    #[arg(long, value_name = "URL")]
    endpoint: String,
    /// Trust the CA certificate(s) of this PEM file for https://, on top of the system's roots.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Do not verify the https:// certificate at all, as DRONE_*_SKIP_VERIFY=true does
    /// (dangerous: anyone on the path can pose as the extension).
    #[arg(long)]
    insecure: bool,
    /// The shared secret. Default: the DRONE_SECRET environment variable (or DRONE_SECRET_FILE).
    #[arg(long, value_name = "SECRET")]
    secret: Option<String>,
    /// Woodpecker kinds: the server's signing key, 64 hex digits (seed), 128 (as Woodpecker
    /// stores it) or a PKCS#8 PEM file. Default: the EXTENSION_WOODPECKER_SIGNING_KEY environment variable (or its _FILE; a PEM value is
    /// read as one).
    #[arg(long, value_name = "KEY")]
    woodpecker_key: Option<String>,
    /// How long to wait for each answer, in seconds.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_timeout)]
    timeout: Duration,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    s.parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("`{s}` is not a positive number of seconds"))
}

/// A failure that is not the extension's answer: exit status 2.
type Fatal = String;

/// A secret from the environment: `name` or the file named by `name_FILE`, or a renamed
/// variable's old name (with a warning on stderr: the deprecated `WOODPECKER_SIGNING_KEY`).
fn env_secret(name: &str) -> Result<Option<drone_extension::env::Secret>, Fatal> {
    use drone_extension::env::{Env, WOODPECKER_RENAMES};
    // No prefixes: the probe runs in a shell whose other variables are none of its business.
    let mut env = Env::from_process().renames(WOODPECKER_RENAMES);
    let secret = env.secret(name).map_err(|e| e.to_string())?;
    for warning in env.finish() {
        eprintln!("warning: {warning}");
    }
    Ok(secret)
}

/// A request ready to send.
type Signed = Request<Full<Bytes>>;

impl Target {
    fn secret(&self) -> Result<SharedSecret, Fatal> {
        let secret = match &self.secret {
            Some(secret) => secret.clone(),
            None => env_secret("DRONE_SECRET")?
                .ok_or("no secret: pass --secret or set DRONE_SECRET (or DRONE_SECRET_FILE)")?
                .into_string(),
        };
        SharedSecret::new(secret).map_err(|e| format!("invalid secret: {e}"))
    }

    fn client(&self, secret: SharedSecret) -> Result<Client, Fatal> {
        let mut client = Client::new(&self.endpoint, secret)
            .map(|client| client.timeout(self.timeout))
            .map_err(|e| format!("--endpoint {}: {e}", self.endpoint))?;
        if let Some(path) = &self.ca {
            let pem = read_file(path, "--ca", MAX_CA)?;
            client = client
                .add_root_certificate_pem(&pem)
                .map_err(|e| format!("--ca {}: {e}", path.display()))?;
        }
        if self.insecure {
            eprintln!(
                "probe: warning: --insecure: the endpoint's certificate is NOT verified (as with \
                 DRONE_*_SKIP_VERIFY=true); anyone on the path can pose as the extension"
            );
            client = client.danger_accept_invalid_certs(true);
        }
        Ok(client)
    }
}

impl Target {
    fn woodpecker_client(&self) -> Result<drone_extension::woodpecker::Client, Fatal> {
        let signer = woodpecker::signer(self.woodpecker_key.as_deref())?;
        let mut client = drone_extension::woodpecker::Client::new(&self.endpoint, signer)
            .map(|client| client.timeout(self.timeout))
            .map_err(|e| format!("--endpoint {}: {e}", self.endpoint))?;
        if let Some(path) = &self.ca {
            let pem = read_file(path, "--ca", MAX_CA)?;
            client = client
                .add_root_certificate_pem(&pem)
                .map_err(|e| format!("--ca {}: {e}", path.display()))?;
        }
        Ok(client)
    }
}

/// Where requests go: Drone's client or Woodpecker's (one per run: its size does not matter).
#[allow(clippy::large_enum_variant)]
enum Transport {
    Drone(Client),
    Woodpecker(drone_extension::woodpecker::Client),
}

impl Transport {
    async fn send(&self, request: Signed) -> Result<RawResponse, ClientError> {
        match self {
            Transport::Drone(client) => client.send(request).await,
            Transport::Woodpecker(client) => client.send(request).await,
        }
    }

    fn endpoint(&self) -> &http::Uri {
        match self {
            Transport::Drone(client) => client.endpoint(),
            Transport::Woodpecker(client) => client.endpoint(),
        }
    }
}

/// The largest `--ca` file read.
const MAX_CA: u64 = 1024 * 1024;

/// Why `client` could not get an answer, with a hint for certificate problems.
fn unreachable(endpoint: &http::Uri, error: &ClientError) -> Fatal {
    let hint = match error {
        ClientError::CertificateNotTrusted(_) | ClientError::CertificateNameMismatch(_) => {
            " (a private CA: --ca FILE; to skip verification as DRONE_*_SKIP_VERIFY does: --insecure)"
        }
        _ => "",
    };
    format!("{endpoint}: {}{hint}", causes(error))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse(); // exits 2 on a usage error
    let outcome = match cli.command {
        Command::Send {
            target,
            body,
            pretty,
        } => send(&target, body.as_deref(), pretty).await,
        Command::Audit { target, strict } => audit(&target, strict).await,
        Command::Sample { kind, pretty } => print_sample(kind, pretty),
    };
    outcome.unwrap_or_else(|e| {
        eprintln!("probe: {e}");
        ExitCode::from(2)
    })
}

// ---------------------------------------------------------------------------------------------
// send

async fn send(target: &Target, body: Option<&Path>, pretty: bool) -> Result<ExitCode, Fatal> {
    let body = match body {
        Some(path) => Some(Bytes::from(read_file(path, "--body", MAX_BODY)?)),
        None => None,
    };
    let (transport, request) = match target.kind {
        Kind::Drone(kind) => {
            let client = target.client(target.secret()?)?;
            let body = match body {
                Some(body) => body,
                None => sample(kind)?,
            };
            let request = signed(&client, kind, body, SystemTime::now())?;
            (Transport::Drone(client), request)
        }
        Kind::Woodpecker(kind) => {
            let client = target.woodpecker_client()?;
            let body = match body {
                Some(body) => body,
                None => woodpecker::sample(kind)?,
            };
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let request = client.request(body, now).map_err(|e| e.to_string())?;
            (Transport::Woodpecker(client), request)
        }
    };
    println!("> POST {}", transport.endpoint());
    print_headers('>', request.headers());
    let raw = transport
        .send(request)
        .await
        .map_err(|e| unreachable(transport.endpoint(), &e))?;
    println!("< {}", raw.status);
    print_headers('<', &raw.headers);
    println!();
    let pretty = pretty.then(|| pretty_json(&raw.body)).flatten();
    if raw.body.is_empty() {
        println!("(empty body)");
    } else {
        print_bytes(pretty.as_deref().unwrap_or(&raw.body))?;
    }
    let (server, (taken, reading)) = match target.kind {
        Kind::Drone(kind) => ("Drone", drone_reading(kind, &raw)),
        Kind::Woodpecker(kind) => ("Woodpecker", woodpecker::reading(kind, &raw)),
    };
    println!("\n{server}'s reading: {reading}");
    Ok(if taken {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The largest `--body` read (Drone's own bodies are a few MiB at most).
const MAX_BODY: u64 = 64 * 1024 * 1024;

/// `bytes` on standard output as they are, then a line break if they do not end with one.
fn print_bytes(bytes: &[u8]) -> Result<(), Fatal> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| match bytes.last() {
            Some(b'\n') => Ok(()),
            _ => out.write_all(b"\n"),
        })
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write to standard output: {e}"))
}

fn print_sample(kind: Kind, pretty: bool) -> Result<ExitCode, Fatal> {
    let body = match kind {
        Kind::Drone(kind) => sample(kind)?,
        Kind::Woodpecker(kind) => woodpecker::sample(kind)?,
    };
    let pretty = pretty.then(|| pretty_json(&body)).flatten();
    print_bytes(pretty.as_deref().unwrap_or(&body))?;
    Ok(ExitCode::SUCCESS)
}

/// `json` indented by two spaces, keys in their order and values as written; `None` when it is
/// not JSON.
fn pretty_json(json: &[u8]) -> Option<Vec<u8>> {
    serde_json::from_slice::<serde::de::IgnoredAny>(json).ok()?;
    let mut out = Vec::with_capacity(json.len() * 2);
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.resize(out.len() + 2 * depth, b' ');
    };
    let mut bytes = json.iter().copied().peekable();
    while let Some(byte) = bytes.next() {
        if in_string {
            out.push(byte);
            (escaped, in_string) = match (escaped, byte) {
                (true, _) => (false, true),
                (false, b'\\') => (true, true),
                (false, b'"') => (false, false),
                _ => (false, true),
            };
            continue;
        }
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' => {}
            b'"' => {
                in_string = true;
                out.push(byte);
            }
            b'{' | b'[' => {
                out.push(byte);
                while bytes.next_if(|b| b.is_ascii_whitespace()).is_some() {}
                if let Some(close @ (b'}' | b']')) = bytes.peek().copied() {
                    out.push(close); // `{}` and `[]` stay on one line
                    bytes.next();
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(byte);
            }
            b',' => {
                out.push(byte);
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(byte),
        }
    }
    Some(out)
}

/// A file given as `option` (`-`: standard input), at most `max` bytes.
fn read_file(path: &Path, option: &str, max: u64) -> Result<Vec<u8>, Fatal> {
    let why = |e: &dyn std::fmt::Display| format!("cannot read {option} {}: {e}", path.display());
    let source: Box<dyn Read> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| why(&e))?)
    };
    let mut body = Vec::new();
    source
        .take(max + 1)
        .read_to_end(&mut body)
        .map_err(|e| why(&e))?;
    if body.len() as u64 > max {
        return Err(why(&format!("larger than {max} bytes")));
    }
    Ok(body)
}

/// An error and its causes, for example `transport error: client error (Connect): tcp connect
/// error: Connection refused (os error 111)`.
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}

fn print_headers(direction: char, headers: &HeaderMap) {
    for (name, value) in headers {
        println!(
            "{direction} {name}: {}",
            String::from_utf8_lossy(value.as_bytes())
        );
    }
}

/// Whether Drone takes the answer, and what it does with it (each kind module's documentation
/// says how Drone reads its answers).
fn drone_reading(kind: ExtensionKind, raw: &RawResponse) -> (bool, String) {
    let code = raw.status.as_u16();
    let message = || match String::from_utf8_lossy(&raw.body).trim() {
        "" => raw.status.canonical_reason().unwrap_or("").to_owned(),
        text => text.to_owned(),
    };
    match kind {
        ExtensionKind::Webhook => {
            let ok = raw.status.is_success();
            return (ok, format!("{code}, which the server ignores"));
        }
        ExtensionKind::Validate => {
            return match code {
                200..=299 => (true, "pass: the build runs".into()),
                498 => (false, "skip: the build is skipped".into()),
                499 => (false, "block: the build waits for approval".into()),
                _ => (
                    false,
                    format!("reject: the build fails with {:?}", message()),
                ),
            };
        }
        _ => {}
    }
    let failure = match kind {
        ExtensionKind::Admission => "the login is refused",
        ExtensionKind::GlobalSecrets => "the build runs without any secret",
        ExtensionKind::Secret => "the step runs without the secret",
        ExtensionKind::Registry => "images are pulled without credentials",
        ExtensionKind::Environ => "the stage runs without the variables",
        ExtensionKind::Config => "no build is created",
        _ => "the build is created in the error state",
    };
    if code > 299 {
        return (false, format!("error {code} {:?}: {failure}", message()));
    }
    if code != 204 && raw.body.is_empty() {
        return (false, format!("unexpected end of JSON input: {failure}"));
    }
    let summary = match kind {
        ExtensionKind::Admission => decode::<User>(raw).map(|user| match user {
            Some(u) => format!("login allowed for {:?}, admin: {}", u.login, u.admin),
            None => "login allowed, admin flag cleared (a 204 reads as admin: false)".into(),
        }),
        ExtensionKind::GlobalSecrets => decode::<Vec<LegacySecret>>(raw).map(|s| {
            count(
                s.unwrap_or_default().iter().map(|s| s.name.as_str()),
                "secret",
            )
        }),
        ExtensionKind::Secret => decode::<Secret>(raw).map(|secret| match secret {
            Some(s) if !s.data.is_empty() => format!("secret {:?} found", s.name),
            _ => "not found: the step runs without it".into(),
        }),
        ExtensionKind::Registry => decode::<Vec<Registry>>(raw).map(|r| {
            count(
                r.unwrap_or_default().iter().map(|r| r.address.as_str()),
                "registry credential",
            )
        }),
        ExtensionKind::Environ => decode::<Vec<Variable>>(raw).map(|v| {
            count(
                v.unwrap_or_default().iter().map(|v| v.name.as_str()),
                "variable",
            )
        }),
        _ => decode::<Config>(raw).map(|config| match config {
            Some(c) if !c.data.is_empty() => format!("a configuration of {} bytes", c.data.len()),
            _ if kind == ExtensionKind::Config => "the repository's own configuration".into(),
            _ => "the configuration unchanged".into(),
        }),
    };
    match summary {
        Ok(summary) => (true, summary),
        Err(e) => (false, format!("cannot decode the answer ({e}): {failure}")),
    }
}

/// drone-go's decoding: `204` and `null` are the zero value (here `None`).
fn decode<T: DeserializeOwned>(raw: &RawResponse) -> Result<Option<T>, serde_json::Error> {
    if raw.status.as_u16() == 204 {
        return Ok(None);
    }
    serde_json::from_slice(&raw.body)
}

fn count<'a>(names: impl Iterator<Item = &'a str>, what: &str) -> String {
    let names: Vec<&str> = names.collect();
    match names.len() {
        0 => format!("no {what}"),
        1 => format!("1 {what}: {}", names[0]),
        n => format!("{n} {what}s: {}", names.join(", ")),
    }
}

// ---------------------------------------------------------------------------------------------
// audit

/// The body of the oversize forgery: twice the default limit of the Rust layer.
const OVERSIZE: usize = 8 * 1024 * 1024;
const OVERSIZE_BODY: &str = "oversize body (8 MiB, signed)";

/// What a forged request tests.
#[derive(Clone, Copy, PartialEq)]
enum Check {
    /// Accepting it gives an attacker something: a request they could not sign, a changed body,
    /// a replay, a weaker algorithm, a body the server should not read.
    Forgery,
    /// Nothing signed is changed (the same valid signature twice, a header repeated with the
    /// same value): accepting it gives an attacker nothing, but a strict verifier refuses
    /// ambiguous requests rather than guess as Go does.
    Hardening,
    /// A validly signed secret request for what is not a pipeline's secret (the extension's
    /// own token, its cubbyhole): serving a value is as bad as accepting a forgery; "no secret"
    /// (a 204, a 4xx, an empty `data`) is the right answer.
    Leak,
}

/// What to make of an answer.
#[derive(PartialEq)]
enum Verdict {
    /// The valid request got a 2xx.
    Ok,
    /// The valid request did not get a 2xx.
    NotOk,
    /// A forgery or hardening check did not get a 2xx (or the connection was closed).
    Refused,
    /// A forgery got a 2xx.
    ForgeryAccepted,
    /// A hardening check got a 2xx.
    HardeningAccepted,
    /// A 5xx, or no answer.
    Error(String),
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Ok => f.write_str("ok"),
            Verdict::NotOk => f.write_str("REFUSED"),
            Verdict::Refused => f.write_str("refused"),
            Verdict::ForgeryAccepted => f.write_str("FORGERY ACCEPTED"),
            Verdict::HardeningAccepted => f.write_str("hardening: accepted (warning)"),
            Verdict::Error(why) => write!(f, "error: {why}"),
        }
    }
}

/// The verdict on the answer to a forged request.
fn grade(check: Check, answer: &Result<RawResponse, ClientError>) -> (String, Verdict) {
    match answer {
        Ok(raw) => (
            raw.status.as_str().to_owned(),
            match (raw.status.as_u16(), check) {
                (200..=299, Check::Forgery) => Verdict::ForgeryAccepted,
                (200..=299, Check::Hardening) => Verdict::HardeningAccepted,
                (200..=299, Check::Leak) if serves_a_value(raw) => Verdict::ForgeryAccepted,
                (500.., _) => Verdict::Error("server error".into()),
                _ => Verdict::Refused,
            },
        ),
        // The endpoint closed the connection without answering (a server may do so rather than
        // read an oversize body): refused. Not reaching it at all is an error.
        Err(ClientError::Transport(e)) if !could_not_connect(&**e) => {
            ("-".into(), Verdict::Refused)
        }
        Err(e) => ("-".into(), Verdict::Error(causes(e))),
    }
}

/// Whether a secret answer carries a value Drone would use (a `Secret` with non-empty `data`;
/// an `aesgcm` answer cannot be read here and counts as one).
fn serves_a_value(raw: &RawResponse) -> bool {
    match decode::<Secret>(raw) {
        Ok(secret) => secret.is_some_and(|s| !s.data.is_empty()),
        Err(_) => !raw.body.is_empty(),
    }
}

/// Whether a transport error happened before the request could be sent (no connection).
fn could_not_connect(error: &(dyn std::error::Error + 'static)) -> bool {
    error
        .downcast_ref::<hyper_util::client::legacy::Error>()
        .is_some_and(hyper_util::client::legacy::Error::is_connect)
}

async fn audit(target: &Target, strict: bool) -> Result<ExitCode, Fatal> {
    let (transport, valid, forgeries) = match target.kind {
        Kind::Drone(kind) => {
            let secret = target.secret()?;
            let client = target.client(secret.clone())?;
            let body = sample(kind)?;
            println!("audit of {kind} at {}\n", client.endpoint());
            let valid = signed(&client, kind, body.clone(), SystemTime::now())?;
            let forgeries = forgeries(&client, &secret, kind, &body)?;
            (Transport::Drone(client), valid, forgeries)
        }
        Kind::Woodpecker(kind) => {
            let client = target.woodpecker_client()?;
            let body = woodpecker::sample(kind)?;
            println!("audit of {} at {}\n", kind.name(), client.endpoint());
            let (valid, forgeries) = woodpecker::requests(&client, &body)?;
            (Transport::Woodpecker(client), valid, forgeries)
        }
    };

    // The valid request first: if it is refused, the forgeries prove nothing.
    let raw = transport
        .send(valid)
        .await
        .map_err(|e| unreachable(transport.endpoint(), &e))?;
    let valid = match raw.status.as_u16() {
        200..=299 => Verdict::Ok,
        500.. => Verdict::Error("server error".into()),
        _ => Verdict::NotOk,
    };
    let mut rows = vec![(
        "valid request".to_owned(),
        raw.status.as_str().to_owned(),
        valid,
    )];
    let (mut forgery_checks, mut hardening_checks) = (0, 0);
    for (name, check, request) in forgeries {
        match check {
            Check::Forgery | Check::Leak => forgery_checks += 1,
            Check::Hardening => hardening_checks += 1,
        }
        let (status, verdict) = grade(check, &transport.send(request).await);
        rows.push((name, status, verdict));
    }

    let width = rows.iter().map(|(name, ..)| name.len()).max().unwrap_or(0);
    println!("{:width$}  status  verdict", "request");
    for (name, status, verdict) in &rows {
        println!("{name:width$}  {status:6}  {verdict}");
    }
    println!(
        "\nlegend: status `-`: the endpoint closed the connection without answering; that counts \
         as refused.\n        FORGERY ACCEPTED: a 2xx to a request an attacker could forge, which \
         gives them something\n        (or a value served for the extension's own token or \
         cubbyhole).\n        hardening: a 2xx to a request whose signed parts are all \
         valid (sent twice); an attacker\n        gains nothing, but a strict verifier refuses \
         the ambiguity (--strict fails on it)."
    );
    let count = |wanted: &dyn Fn(&Verdict) -> bool| rows.iter().filter(|r| wanted(&r.2)).count();
    let forged = count(&|v| *v == Verdict::ForgeryAccepted);
    let hardening = count(&|v| *v == Verdict::HardeningAccepted);
    let errors = count(&|v| matches!(v, Verdict::Error(_)));
    println!();
    if rows[0].2 == Verdict::NotOk {
        println!(
            "FAILED: the valid request was refused; check the kind, the endpoint and the secret"
        );
    }
    if forged > 0 {
        println!("FAILED: {forged} forged request(s) ACCEPTED");
    }
    if errors > 0 {
        println!("FAILED: {errors} request(s) got a server error or no answer");
    }
    if hardening > 0 {
        let label = if strict {
            "FAILED (--strict)"
        } else {
            "warning"
        };
        println!(
            "{label}: {hardening} hardening check(s) accepted: nothing signed was changed, so an \
             attacker gains nothing, but the verifier takes ambiguous requests"
        );
    }
    let failed = rows[0].2 != Verdict::Ok || forged > 0 || errors > 0 || (strict && hardening > 0);
    if failed {
        return Ok(ExitCode::from(1));
    }
    println!(
        "passed: the valid request got through, all {forgery_checks} forgeries were refused, and \
         {} of {hardening_checks} hardening checks were refused",
        hardening_checks - hardening
    );
    Ok(ExitCode::SUCCESS)
}

/// The request Drone sends for `body`: the server's webhook sender for webhooks, the extension
/// client for every other kind.
fn signed(
    client: &Client,
    kind: ExtensionKind,
    body: Bytes,
    date: SystemTime,
) -> Result<Signed, Fatal> {
    let request = if kind == ExtensionKind::Webhook {
        let event = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("event")?.as_str().map(str::to_owned))
            .unwrap_or_default();
        client.webhook_request(&event, body, date)
    } else {
        client.extension_request(kind.media_type(), body, date)
    };
    request.map_err(|e| e.to_string())
}

/// The forgeries, each built by hand from a valid request: what an attacker without the secret,
/// or with a captured request, can send.
fn forgeries(
    client: &Client,
    secret: &SharedSecret,
    kind: ExtensionKind,
    body: &Bytes,
) -> Result<Vec<(String, Check, Signed)>, Fatal> {
    let webhook = kind == ExtensionKind::Webhook;
    let list = if webhook {
        WEBHOOK_HEADER_LIST
    } else {
        EXTENSION_HEADER_LIST
    };
    let now = SystemTime::now();
    let ten_minutes = Duration::from_secs(600);
    const CLOCK: &str = "the system clock is out of range";
    let fatal = |e: &dyn std::fmt::Display| e.to_string();
    let mut wrong_secret = secret.expose_secret().to_vec();
    wrong_secret.extend_from_slice(b"-but-not-quite");
    let wrong_signer = Signer::new(SharedSecret::new(wrong_secret).map_err(|e| fatal(&e))?);

    // A valid request whose headers and body `edit` changes.
    let forge = |edit: &dyn Fn(&mut HeaderMap, &mut Bytes) -> Result<(), Fatal>| {
        let (mut parts, _) = signed(client, kind, body.clone(), now)?.into_parts();
        let mut body = body.clone();
        edit(&mut parts.headers, &mut body)?;
        Ok::<_, Fatal>(Request::from_parts(parts, Full::new(body)))
    };
    // Signs the request's headers again, over `list`, with `signer`, then lets `tweak` change
    // the parameters.
    let sign = |headers: &mut HeaderMap,
                signer: &Signer,
                list: &str,
                tweak: &dyn Fn(&mut SignatureParams)| {
        let mut params = signer
            .sign(&Method::POST, client.endpoint(), headers, list)
            .map_err(|e| fatal(&e))?;
        tweak(&mut params);
        let value = HeaderValue::from_str(&params.to_string()).map_err(|e| fatal(&e))?;
        headers.insert(SIGNATURE.clone(), value);
        Ok::<_, Fatal>(())
    };
    let signer = client.signer();

    let mut all = vec![
        (
            "unsigned (no Signature)".to_owned(),
            Check::Forgery,
            forge(&|h, _| {
                h.remove(&SIGNATURE);
                Ok(())
            })?,
        ),
        (
            "wrong secret".to_owned(),
            Check::Forgery,
            forge(&|h, _| sign(h, &wrong_signer, list, &|_| ()))?,
        ),
        (
            "body tampered after signing".to_owned(),
            Check::Forgery,
            forge(&|_, b| {
                *b = tamper(b, false);
                Ok(())
            })?,
        ),
        (
            "stale Date (-10 min, re-signed)".to_owned(),
            Check::Forgery,
            signed(
                client,
                kind,
                body.clone(),
                now.checked_sub(ten_minutes).ok_or(CLOCK)?,
            )?,
        ),
        (
            "future Date (+10 min, re-signed)".to_owned(),
            Check::Forgery,
            signed(
                client,
                kind,
                body.clone(),
                now.checked_add(ten_minutes).ok_or(CLOCK)?,
            )?,
        ),
        (
            "algorithm hmac-sha1 (same MAC)".to_owned(),
            Check::Forgery,
            forge(&|h, _| sign(h, signer, list, &|p| p.algorithm = Some("hmac-sha1".into())))?,
        ),
        (
            "only date signed".to_owned(),
            Check::Forgery,
            forge(&|h, _| sign(h, signer, "date", &|_| ()))?,
        ),
    ];
    if !webhook {
        // The path is not signed: a request for another kind must be refused by its media type.
        let other = if kind == ExtensionKind::Secret {
            ExtensionKind::Registry
        } else {
            ExtensionKind::Secret
        };
        all.push((
            format!("signed for another kind ({other})"),
            Check::Forgery,
            client
                .extension_request(other.media_type(), body.clone(), now)
                .map_err(|e| fatal(&e))?,
        ));
    }
    if kind == ExtensionKind::Secret {
        // Validly signed, but for the extension's own credentials rather than a secret.
        for (label, path, name) in [
            (
                "the extension's own token (lookup-self)",
                "auth/token/lookup-self",
                "id",
            ),
            (
                "the same, spelled /auth//token/./lookup-self/",
                "/auth//token/./lookup-self/",
                "id",
            ),
            ("the extension's cubbyhole", "cubbyhole/drone", "value"),
        ] {
            let request = encode(&SecretRequest {
                path: path.into(),
                name: name.into(),
                repo: testing::sample::repo(),
                build: testing::sample::build(),
            })?;
            all.push((
                format!("signed, path {label}"),
                Check::Leak,
                signed(client, kind, request, now)?,
            ));
        }
    }
    all.extend([
        (
            "corrupted signature (1 base64 char)".to_owned(),
            Check::Forgery,
            forge(&|h, _| sign(h, signer, list, &|p| p.signature = corrupt(&p.signature)))?,
        ),
        (
            "truncated signature (16-byte MAC)".to_owned(),
            Check::Forgery,
            forge(&|h, _| sign(h, signer, list, &|p| p.signature = truncate(&p.signature)))?,
        ),
    ]);
    // The same header twice, with the same value: Go reads the first, a strict verifier refuses.
    for header in [SIGNATURE.clone(), DATE, HeaderName::from_static("digest")] {
        let name = format!("duplicate {} header (same value)", header_title(&header));
        let request = forge(&|h, _| {
            let value = h
                .get(&header)
                .cloned()
                .ok_or("a signed header is missing")?;
            h.append(header.clone(), value);
            Ok(())
        })?;
        all.push((name, Check::Hardening, request));
    }
    all.extend([
        (
            "Signature + Authorization (2nd corrupted)".to_owned(),
            Check::Hardening,
            forge(&|h, _| {
                // Go silently prefers `Signature`; the second form must make it ambiguous.
                let mut params = signer
                    .sign(&Method::POST, client.endpoint(), h, list)
                    .map_err(|e| fatal(&e))?;
                params.signature = corrupt(&params.signature);
                let value =
                    HeaderValue::from_str(&format!("Signature {params}")).map_err(|e| fatal(&e))?;
                h.insert(AUTHORIZATION, value);
                Ok(())
            })?,
        ),
        (OVERSIZE_BODY.to_owned(), Check::Forgery, {
            let mut big = Vec::with_capacity(OVERSIZE);
            big.extend_from_slice(body);
            big.resize(OVERSIZE, b' '); // still valid JSON
            signed(client, kind, big.into(), now)?
        }),
        (
            "digest mismatch, other body length".to_owned(),
            Check::Forgery,
            forge(&|_, b| {
                *b = tamper(b, true);
                Ok(())
            })?,
        ),
    ]);
    Ok(all)
}

/// `date` as `Date`, `signature` as `Signature`.
fn header_title(name: &HeaderName) -> String {
    let name = name.as_str();
    let mut title = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        title.push(if upper { c.to_ascii_uppercase() } else { c });
        upper = c == '-';
    }
    title
}

/// The body with `octocat` replaced by another user of the same length, or of another length.
fn tamper(body: &[u8], other_length: bool) -> Bytes {
    let (from, to): (&[u8], &[u8]) = (
        b"octocat",
        if other_length {
            b"spacekitty"
        } else {
            b"mallory"
        },
    );
    match body.windows(from.len()).position(|w| w == from) {
        Some(at) => [&body[..at], to, &body[at + from.len()..]].concat().into(),
        None if other_length => [body, b" "].concat().into(),
        None => {
            let mut body = body.to_vec();
            if let Some(byte) = body.last_mut() {
                *byte ^= 0x20;
            }
            body.into()
        }
    }
}

/// The base64 signature with its first character changed (still valid base64, another MAC).
fn corrupt(signature: &str) -> String {
    let replacement = if signature.starts_with('A') { "B" } else { "A" };
    match signature.char_indices().nth(1) {
        Some((second, _)) => format!("{replacement}{}", &signature[second..]),
        None => replacement.to_owned(),
    }
}

/// The base64 of the MAC's first 16 bytes.
fn truncate(signature: &str) -> String {
    let mac = BASE64.decode(signature).unwrap_or_default();
    BASE64.encode(&mac[..mac.len().min(16)])
}

// ---------------------------------------------------------------------------------------------
// samples

/// A realistic request body for `kind` (the library's [`testing::sample`]), encoded as Go
/// encodes it.
fn sample(kind: ExtensionKind) -> Result<Bytes, Fatal> {
    encode(&testing::sample::request(kind))
}

fn encode<T: Serialize>(value: &T) -> Result<Bytes, Fatal> {
    drone_extension::json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| format!("cannot encode the sample: {e}"))
}
