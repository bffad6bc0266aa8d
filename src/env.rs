//! Configuration from the environment that diagnoses itself: [`Env`], a typed reader that
//! refuses an invalid value with the variable's name and the expected form, reads every secret
//! from `NAME` or `NAME_FILE`, accepts renamed variables with a deprecation warning, and, once
//! the configuration is read, names every variable with a known prefix that nothing read (with a
//! "did you mean …?" suggestion).
//!
//! The binaries of this project and `vault::VaultSettings` (feature `vault`) share it. A binary
//! reads its whole configuration through one [`Env`], logs the [warnings](EnvWarning) that
//! [`Env::finish`] returns and a [`Summary`] (never a secret), and exits non-zero on the first
//! [`EnvError`]:
//!
//! ```
//! use std::time::Duration;
//! use drone_extension::env::{Env, EnvError, Source, Summary};
//!
//! // `Env::from_process()` in a binary; the pairs here stand for its environment.
//! let dir = std::env::temp_dir().join(format!("env-doctest-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let secret_file = dir.join("drone_secret");
//! std::fs::write(&secret_file, "bea26a2221fd8090ea38720fc445eca6\n").unwrap();
//! let mut env = Env::from_pairs([
//!     ("DRONE_BIND", ":3000"),
//!     ("DRONE_SECRET_FILE", secret_file.to_str().unwrap()),
//!     ("DRONE_HEADER_TIMEOUT", "10"),
//!     ("DRONE_DEBUG", "true"),
//!     ("DRONE_MAX_CONECTIONS", "64"), // misspelled
//!     ("HOME", "/root"),              // no known prefix: not looked at
//! ])
//! .prefixes(["DRONE_"]);
//!
//! let bind = env.socket_addr("DRONE_BIND")?.unwrap_or(([0, 0, 0, 0], 3000).into());
//! let secret = env.secret("DRONE_SECRET")?.expect("set in this example");
//! let header_timeout = env.duration_or_seconds("DRONE_HEADER_TIMEOUT")?;
//! let max_connections = env.number::<usize>("DRONE_MAX_CONNECTIONS")?.unwrap_or(512);
//! let debug = env.bool("DRONE_DEBUG")?.unwrap_or(false);
//! let warnings = env.finish();
//!
//! assert_eq!(bind.port(), 3000);
//! assert_eq!(secret.expose(), "bea26a2221fd8090ea38720fc445eca6"); // one newline trimmed
//! assert_eq!(format!("{secret:?}"), "Secret(<redacted>, from DRONE_SECRET_FILE)");
//! assert_eq!(header_timeout, Some(Duration::from_secs(10)));
//! assert_eq!((max_connections, debug), (512, true));
//! // The binary logs each one with `tracing::warn!("{warning}")`.
//! assert_eq!(
//!     warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
//!     ["unknown variable DRONE_MAX_CONECTIONS (did you mean DRONE_MAX_CONNECTIONS?)"],
//! );
//!
//! let mut summary = Summary::new();
//! summary.value("DRONE_BIND", bind.to_string(), Source::Env);
//! summary.secret("DRONE_SECRET", secret.source());
//! // `tracing::info!(config = %summary, "starting")`
//! assert_eq!(summary.to_string(), "DRONE_BIND=0.0.0.0:3000, DRONE_SECRET=<secret from file>");
//!
//! // An invalid value names the variable, the value and the expected form.
//! let mut env = Env::from_pairs([("VAULT_CLIENT_TIMEOUT", "5sec")]);
//! let error = env.duration("VAULT_CLIENT_TIMEOUT").unwrap_err();
//! assert_eq!(
//!     error.to_string(),
//!     r#"VAULT_CLIENT_TIMEOUT="5sec": expected a duration like 30s, 5m or 72h (did you mean 5s?)"#
//! );
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), EnvError>(())
//! ```
//!
//! # Rules
//!
//! * **Unset, empty and blank are the same**: a variable set to `""` or to spaces is unset.
//!   Typed values (numbers, booleans, durations, choices, lists, addresses, URLs) are read with
//!   surrounding whitespace trimmed; [`string`](Env::string) and secrets keep theirs.
//! * **Invalid values are errors**, never a silent default: [`EnvError::Invalid`] names the
//!   variable, quotes the value (escaped, at most 64 characters; never for a secret) and says
//!   the expected form, with a suggestion when one is close (`aprole` → `approle`, `5sec` →
//!   `5s`, `yes` → `true`).
//! * **Booleans** are Go's `strconv.ParseBool` (what drone-vault and Drone accept): `1 t T TRUE
//!   true True` and `0 f F FALSE false False`; `yes`, `on` and `tRUE` are refused.
//! * **Durations** are Go's `time.ParseDuration` (`30s`, `5m`, `72h`, `1h30m`, `250ms`, `0`;
//!   units `ns us µs ms s m h`, no days) with [`duration`](Env::duration);
//!   [`duration_or_seconds`](Env::duration_or_seconds) also takes a whole number of seconds
//!   (`10`), for the variables that always did.
//! * **Secrets** ([`secret`](Env::secret)) come from `NAME` or from the file named by
//!   `NAME_FILE` (Docker and Kubernetes secrets, Woodpecker's own convention), its contents with
//!   one trailing newline (`\n` or `\r\n`) removed. Both set is an error ([`EnvError::Conflict`]);
//!   an unreadable, empty or non-UTF-8 file, or one over 64 KiB, is an error naming the variable
//!   and the path, never the contents ([`EnvError::File`]). [`Secret`]'s `Debug` is redacted and
//!   it has no `Display`.
//! * **Renamed variables** ([`Env::renames`], [`Rename`]): when the new name is unset, the old one
//!   is read, with an [`EnvWarning::Deprecated`]; when the new one is set, the old one is
//!   ignored silently (the old names of [`WOODPECKER_RENAMES`] are also Woodpecker's own, which a
//!   shared env file sets for Woodpecker).
//! * **Unknown variables are warnings**, not errors ([`Env::finish`]): a variable whose name
//!   starts with one of the [prefixes](Env::prefixes) (compared ignoring case) that was never
//!   read nor declared [known](Env::known) is an [`EnvWarning::Unknown`], with the closest name
//!   read or known (edit distance, transpositions counted once) as a suggestion. They are not
//!   errors because the prefixes are shared: Drone's own `DRONE_*` or the Vault CLI's `VAULT_*`
//!   may legitimately be in the same environment. Kubernetes' service links (`VAULT_PORT=tcp://…`,
//!   `VAULT_SERVICE_HOST`, `VAULT_PORT_8200_TCP_ADDR`, …, set for a Service named `vault`) are
//!   never reported.
//! * Nothing here panics, whatever the names and values (see `tests/env_diagnostics.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fmt;
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The longest `NAME_FILE` read: a secret, a key or a certificate chain, not a disk image.
pub const MAX_FILE_LEN: u64 = 64 * 1024;

/// The longest value quoted in an error; longer ones end with `…`.
const MAX_QUOTED: usize = 64;

/// The expected form of a Go duration.
const DURATION: &str = "a duration like 30s, 5m or 72h";

/// The expected form of a Go duration or whole seconds.
const DURATION_OR_SECONDS: &str = "a duration like 30s, 5m or 72h, or whole seconds";

/// The expected form of a Go boolean.
const BOOLEAN: &str = "true or false (Go's strconv.ParseBool: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False)";

/// The expected form of a socket address.
const SOCKET_ADDR: &str = "an address like 0.0.0.0:3000, :3000 or [::1]:3000";

/// The expected form of a URL.
const URL: &str = "an http(s)://host[:port] URL";

/// The renamed variables of the Woodpecker extension binary: Woodpecker's server and agent read
/// `WOODPECKER_*` themselves (`WOODPECKER_SERVER` is the agent's gRPC address, `host:9000`, in
/// every Woodpecker deployment), so an env file shared with Woodpecker fed the extension the
/// wrong value. The extension's own names start with `EXTENSION_`; the old ones are still read
/// when the new one is unset, with an [`EnvWarning::Deprecated`].
///
/// | old | new |
/// |---|---|
/// | `WOODPECKER_SERVER` | `EXTENSION_WOODPECKER_URL` (the Woodpecker server whose public key is fetched at start) |
/// | `WOODPECKER_PUBLIC_KEY` | `EXTENSION_WOODPECKER_PUBLIC_KEY` (and `…_FILE`) |
/// | `WOODPECKER_MAX_AGE` | `EXTENSION_WOODPECKER_MAX_AGE` |
/// | `WOODPECKER_SIGNING_KEY` | `EXTENSION_WOODPECKER_SIGNING_KEY` (and `…_FILE`; the probe's) |
///
/// A rename also covers the `_FILE` variant of a secret: `EXTENSION_WOODPECKER_SIGNING_KEY_FILE`
/// is read, then `WOODPECKER_SIGNING_KEY_FILE`.
pub const WOODPECKER_RENAMES: &[Rename] = &[
    Rename::new("WOODPECKER_SERVER", "EXTENSION_WOODPECKER_URL"),
    Rename::new("WOODPECKER_PUBLIC_KEY", "EXTENSION_WOODPECKER_PUBLIC_KEY"),
    Rename::new("WOODPECKER_MAX_AGE", "EXTENSION_WOODPECKER_MAX_AGE"),
    Rename::new("WOODPECKER_SIGNING_KEY", "EXTENSION_WOODPECKER_SIGNING_KEY"),
];

/// A variable's old name, still read (with a warning) when its new name is unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rename {
    old: &'static str,
    new: &'static str,
}

impl Rename {
    /// `old` is now called `new`.
    pub const fn new(old: &'static str, new: &'static str) -> Rename {
        Rename { old, new }
    }

    /// The old name.
    pub fn old(&self) -> &'static str {
        self.old
    }

    /// The new name.
    pub fn new_name(&self) -> &'static str {
        self.new
    }
}

/// Why a variable's value is refused. Every `Display` names the variable and, for a value of
/// the wrong form, the expected one; none contains a secret nor a file's contents.
#[derive(Debug)]
#[non_exhaustive]
pub enum EnvError {
    /// The value is not of the expected form.
    Invalid {
        /// The variable read (the old name when the value came from one).
        name: String,
        /// The value, at most 64 characters; `None` for a secret.
        value: Option<String>,
        /// What was expected, e.g. `a duration like 30s, 5m or 72h`.
        expected: String,
        /// A close valid value, e.g. `approle` for `aprole`.
        suggestion: Option<String>,
    },
    /// Required variables are unset.
    Missing {
        /// The variables as the operator may set them: `VAULT_APPROLE_ID`,
        /// `VAULT_APPROLE_SECRET (or VAULT_APPROLE_SECRET_FILE)`.
        names: Vec<String>,
        /// When they are required, e.g. `VAULT_AUTH_TYPE is approle`.
        when: Option<String>,
    },
    /// None of several alternative variables is set (one is enough).
    MissingOneOf {
        /// The alternatives, as [`EnvError::Missing`]'s `names`.
        names: Vec<String>,
        /// When one is required.
        when: Option<String>,
    },
    /// A secret is set both as `NAME` and as `NAME_FILE`.
    Conflict {
        /// `NAME`.
        name: String,
        /// `NAME_FILE`.
        file: String,
    },
    /// The file named by a variable could not be read (or is empty, not UTF-8, over
    /// [`MAX_FILE_LEN`]).
    File {
        /// The variable (`VAULT_TOKEN_FILE`, `VAULT_CACERT`).
        name: String,
        /// Its value, the path.
        path: PathBuf,
        /// Why (never the contents).
        source: std::io::Error,
    },
    /// The value is not valid UTF-8.
    NotUnicode {
        /// The variable.
        name: String,
    },
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvError::Invalid {
                name,
                value,
                expected,
                suggestion,
            } => {
                match value {
                    Some(value) => write!(f, "{name}={value:?}: expected {expected}")?,
                    None => write!(f, "{name}: expected {expected}")?,
                }
                match suggestion {
                    Some(suggestion) => write!(f, " (did you mean {suggestion}?)"),
                    None => Ok(()),
                }
            }
            EnvError::Missing { names, when } => {
                let (last, first) = names.split_last().map_or(("", &[][..]), |(l, f)| (l, f));
                if first.is_empty() {
                    write!(f, "{last} is required")?;
                } else {
                    write!(f, "{} and {last} are required", first.join(", "))?;
                }
                match when {
                    Some(when) => write!(f, " when {when}"),
                    None => Ok(()),
                }
            }
            EnvError::MissingOneOf { names, when } => {
                match names.split_last() {
                    Some((last, first)) if !first.is_empty() => {
                        write!(f, "one of {} or {last} is required", first.join(", "))?;
                    }
                    Some((last, _)) => write!(f, "{last} is required")?,
                    None => f.write_str("a variable is required")?,
                }
                match when {
                    Some(when) => write!(f, " when {when}"),
                    None => Ok(()),
                }
            }
            EnvError::Conflict { name, file } => {
                write!(f, "both {name} and {file} are set: set only one of them")
            }
            EnvError::File { name, path, source } => {
                write!(f, "{name}={:?}: cannot read the file: {source}", path)
            }
            EnvError::NotUnicode { name } => write!(f, "{name} is not valid UTF-8"),
        }
    }
}

impl std::error::Error for EnvError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EnvError::File { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl EnvError {
    /// The variable the error is about (the first one for [`EnvError::Missing`]).
    pub fn name(&self) -> &str {
        match self {
            EnvError::Invalid { name, .. }
            | EnvError::Conflict { name, .. }
            | EnvError::File { name, .. }
            | EnvError::NotUnicode { name } => name,
            EnvError::Missing { names, .. } | EnvError::MissingOneOf { names, .. } => {
                names.first().map_or("", String::as_str)
            }
        }
    }

    /// An [`EnvError::Invalid`] for a non-secret `value` of `name` (quoted at most 64
    /// characters, escaped), for checks a binary makes itself.
    pub fn invalid(name: &str, value: &str, expected: impl Into<String>) -> EnvError {
        EnvError::Invalid {
            name: name.to_owned(),
            value: Some(quote(value)),
            expected: expected.into(),
            suggestion: None,
        }
    }

    /// An [`EnvError::Invalid`] for a secret `name` (the value is never shown), for checks a
    /// binary makes itself (a `redis://` URL holding a password).
    pub fn invalid_secret(name: &str, expected: impl Into<String>) -> EnvError {
        EnvError::Invalid {
            name: name.to_owned(),
            value: None,
            expected: expected.into(),
            suggestion: None,
        }
    }

    /// The same error with `suggestion` (for [`EnvError::Invalid`]; others are unchanged).
    pub fn with_suggestion(mut self, suggestion: impl Into<String>) -> EnvError {
        if let EnvError::Invalid { suggestion: s, .. } = &mut self {
            *s = Some(suggestion.into());
        }
        self
    }
}

/// Something to log at start, never fatal: see [`Env::finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvWarning {
    /// A variable with a known prefix that nothing read.
    Unknown {
        /// The variable.
        name: String,
        /// The closest variable read or known, when one is close.
        suggestion: Option<String>,
    },
    /// An old name was read because the new one is unset.
    Deprecated {
        /// The old name (set).
        old: String,
        /// The new name (unset).
        new: String,
    },
    /// A known variable is set but not used in this configuration.
    Ignored {
        /// The variable.
        name: String,
        /// Why, e.g. `VAULT_AUTH_TYPE is token`.
        reason: String,
    },
}

impl EnvWarning {
    /// The variable the warning is about.
    pub fn name(&self) -> &str {
        match self {
            EnvWarning::Unknown { name, .. } | EnvWarning::Ignored { name, .. } => name,
            EnvWarning::Deprecated { old, .. } => old,
        }
    }
}

impl fmt::Display for EnvWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvWarning::Unknown {
                name,
                suggestion: Some(suggestion),
            } => write!(f, "unknown variable {name} (did you mean {suggestion}?)"),
            EnvWarning::Unknown {
                name,
                suggestion: None,
            } => write!(f, "unknown variable {name}"),
            EnvWarning::Deprecated { old, new } => write!(
                f,
                "{old} is deprecated: set {new} instead (the value of {old} is used meanwhile)"
            ),
            EnvWarning::Ignored { name, reason } => {
                write!(f, "{name} is set but not used: {reason}")
            }
        }
    }
}

/// Where a value of the configuration came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// A variable's value.
    Env,
    /// The file named by a `NAME_FILE` variable.
    File,
    /// Unset: the default.
    Default,
    /// Unset: made up at start (a random secret).
    Generated,
}

impl Source {
    /// `env`, `file`, `default` or `generated`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Env => "env",
            Source::File => "file",
            Source::Default => "default",
            Source::Generated => "generated",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secret from the environment or a file: its `Debug` is redacted, it has no `Display`, and
/// [`expose`](Secret::expose) is the only way to its value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    value: String,
    source: Source,
    variable: Option<String>,
}

impl Secret {
    /// A secret made up by the program (a random shared secret): [`Source::Generated`].
    pub fn generated(value: impl Into<String>) -> Secret {
        Secret {
            value: value.into(),
            source: Source::Generated,
            variable: None,
        }
    }

    /// The value.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// The value, owned.
    pub fn into_string(self) -> String {
        self.value
    }

    /// [`Source::Env`], [`Source::File`] or [`Source::Generated`].
    pub fn source(&self) -> Source {
        self.source
    }

    /// The variable it was read from: `NAME`, `NAME_FILE`, or a deprecated name (`None` for a
    /// generated secret).
    pub fn variable(&self) -> Option<&str> {
        self.variable.as_deref()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.variable {
            Some(variable) => write!(f, "Secret(<redacted>, from {variable})"),
            None => write!(f, "Secret(<redacted>, {})", self.source),
        }
    }
}

/// A value read from `NAME` or from the file named by `NAME_FILE` (see
/// [`Env::string_or_file`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileOrValue {
    /// The text (a file's with one trailing newline removed).
    pub value: String,
    /// [`Source::Env`] or [`Source::File`].
    pub source: Source,
    /// The variable it was read from.
    pub variable: String,
}

/// What a binary logs at start: each setting, where it came from, and never a secret's value.
///
/// ```
/// use drone_extension::env::{Source, Summary};
///
/// let mut summary = Summary::new();
/// summary.value("VAULT_ADDR", "https://127.0.0.1:8200", Source::Default);
/// summary.value("VAULT_AUTH_TYPE", "token", Source::Env);
/// summary.secret("VAULT_TOKEN", Source::File);
/// assert_eq!(
///     summary.to_string(),
///     "VAULT_ADDR=https://127.0.0.1:8200 (default), VAULT_AUTH_TYPE=token, VAULT_TOKEN=<secret from file>"
/// );
/// for entry in summary.defaulted() {
///     // tracing::warn!("{} not set, using {}", entry.name, …)
///     assert_eq!(entry.value.as_deref(), Some("https://127.0.0.1:8200"));
/// }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    entries: Vec<SummaryEntry>,
}

/// One setting of a [`Summary`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SummaryEntry {
    /// The variable.
    pub name: String,
    /// The effective value; `None` for a secret.
    pub value: Option<String>,
    /// Where it came from.
    pub source: Source,
}

impl fmt::Display for SummaryEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.value, self.source) {
            (None, source) => write!(f, "{}=<secret from {source}>", self.name),
            (Some(value), Source::Env) => write!(f, "{}={value}", self.name),
            (Some(value), source) => write!(f, "{}={value} ({source})", self.name),
        }
    }
}

impl Summary {
    /// An empty summary.
    pub fn new() -> Summary {
        Summary::default()
    }

    /// Records a setting that is not secret (replacing an earlier entry of that name).
    pub fn value(&mut self, name: &str, value: impl Into<String>, source: Source) -> &mut Summary {
        self.push(SummaryEntry {
            name: name.to_owned(),
            value: Some(value.into()),
            source,
        })
    }

    /// `value` if it was read ([`Source::Env`]), else `default` ([`Source::Default`]),
    /// recorded either way: the one line of a setting with a default.
    ///
    /// ```
    /// use drone_extension::env::{Env, Source, Summary};
    ///
    /// let mut env = Env::from_pairs([("DRONE_BIND", "127.0.0.1:8080")]);
    /// let mut summary = Summary::new();
    /// let bind = env.socket_addr("DRONE_BIND").unwrap();
    /// let bind = summary.or_default("DRONE_BIND", bind, ([0, 0, 0, 0], 3000).into());
    /// assert_eq!(bind.port(), 8080);
    /// let debug = env.bool("DRONE_DEBUG").unwrap();
    /// assert!(!summary.or_default("DRONE_DEBUG", debug, false));
    /// assert_eq!(summary.get("DRONE_DEBUG").unwrap().source, Source::Default);
    /// ```
    pub fn or_default<T: fmt::Display>(&mut self, name: &str, value: Option<T>, default: T) -> T {
        let (value, source) = match value {
            Some(value) => (value, Source::Env),
            None => (default, Source::Default),
        };
        self.value(name, value.to_string(), source);
        value
    }

    /// Records where a secret came from, never its value.
    pub fn secret(&mut self, name: &str, source: Source) -> &mut Summary {
        self.push(SummaryEntry {
            name: name.to_owned(),
            value: None,
            source,
        })
    }

    fn push(&mut self, entry: SummaryEntry) -> &mut Summary {
        match self.entries.iter_mut().find(|e| e.name == entry.name) {
            Some(old) => *old = entry,
            None => self.entries.push(entry),
        }
        self
    }

    /// Appends `other`'s entries.
    pub fn extend(&mut self, other: Summary) -> &mut Summary {
        for entry in other.entries {
            self.push(entry);
        }
        self
    }

    /// The entries, in the order recorded.
    pub fn entries(&self) -> &[SummaryEntry] {
        &self.entries
    }

    /// The entry of `name`.
    pub fn get(&self, name: &str) -> Option<&SummaryEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// The settings left unset that took their default ([`Source::Default`]).
    pub fn defaulted(&self) -> impl Iterator<Item = &SummaryEntry> {
        self.entries.iter().filter(|e| e.source == Source::Default)
    }

    /// Logs what a binary logs at start: a warning for each [defaulted](Self::defaulted)
    /// setting (`VAULT_ADDR is not set: using the default https://127.0.0.1:8200`), then the
    /// whole summary (never a secret) as `configuration`.
    pub fn log(&self) {
        for entry in self.defaulted() {
            tracing::warn!(
                "{} is not set: using the default {}",
                entry.name,
                entry.value.as_deref().unwrap_or_default()
            );
        }
        tracing::info!(config = %self, "configuration");
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{entry}")?;
        }
        Ok(())
    }
}

/// A whole number type [`Env::number`] reads: `u8`, `u16`, `u32`, `u64`, `usize`.
pub trait WholeNumber: Sized + private::Sealed {
    /// The largest value.
    #[doc(hidden)]
    fn max() -> u64;
    /// `n`, when it fits.
    #[doc(hidden)]
    fn from_u64(n: u64) -> Option<Self>;
}

mod private {
    pub trait Sealed {}
}

macro_rules! whole_number {
    ($($t:ty),*) => {$(
        impl private::Sealed for $t {}
        impl WholeNumber for $t {
            fn max() -> u64 {
                u64::try_from(<$t>::MAX).unwrap_or(u64::MAX)
            }
            fn from_u64(n: u64) -> Option<$t> {
                <$t>::try_from(n).ok()
            }
        }
    )*};
}
whole_number!(u8, u16, u32, u64, usize);

/// A variable's value in the snapshot.
#[derive(Clone)]
enum Value {
    Text(String),
    NotUnicode,
}

/// The environment, read once: typed getters that record what was read, and
/// [`finish`](Env::finish) that reports the rest. See the [module](self) documentation.
///
/// The getters return `Ok(None)` for an unset (or empty, or blank) variable and an
/// [`EnvError`] for a value that is not of the expected form; every name passed to one counts
/// as read.
pub struct Env {
    values: BTreeMap<String, Value>,
    prefixes: Vec<String>,
    known: BTreeSet<String>,
    read: BTreeSet<String>,
    renames: Vec<Rename>,
    warnings: Vec<EnvWarning>,
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names only: values may be secrets.
        f.debug_struct("Env")
            .field("variables", &self.values.len())
            .field("prefixes", &self.prefixes)
            .field("read", &self.read)
            .finish_non_exhaustive()
    }
}

impl Env {
    /// A snapshot of the process environment (`std::env::vars_os`). A variable whose name is not
    /// UTF-8 is skipped; one whose value is not is [`EnvError::NotUnicode`] when read.
    pub fn from_process() -> Env {
        Env::from_pairs(std::env::vars_os())
    }

    /// From `(name, value)` pairs, for tests and for configuration from elsewhere. A later pair
    /// of the same name replaces an earlier one.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Env
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let values = pairs
            .into_iter()
            .filter_map(|(name, value)| {
                let name = name.as_ref().to_str()?.to_owned();
                let value = match value.as_ref().to_str() {
                    Some(text) => Value::Text(text.to_owned()),
                    None => Value::NotUnicode,
                };
                Some((name, value))
            })
            .collect();
        Env {
            values,
            prefixes: Vec::new(),
            known: BTreeSet::new(),
            read: BTreeSet::new(),
            renames: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The prefixes of the variables this program owns (`DRONE_`, `VAULT_`, `EXTENSION_`):
    /// [`finish`](Env::finish) reports the ones set but never read. Without prefixes, nothing is
    /// reported unknown.
    pub fn prefixes<I, S>(mut self, prefixes: I) -> Env
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.prefixes.extend(
            prefixes
                .into_iter()
                .map(|p| p.as_ref().to_ascii_uppercase()),
        );
        self
    }

    /// Variables read under an old name too (e.g. [`WOODPECKER_RENAMES`]).
    pub fn renames(mut self, renames: &[Rename]) -> Env {
        self.renames.extend_from_slice(renames);
        self
    }

    /// Declares `names` as known: never reported unknown even when not read (a setting of
    /// another mode, a variable read by a library), and offered as suggestions.
    pub fn known<I, S>(mut self, names: I) -> Env
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.mark_known(names);
        self
    }

    /// As [`known`](Env::known), on a borrowed `Env`.
    pub fn mark_known<I, S>(&mut self, names: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.known
            .extend(names.into_iter().map(|n| n.as_ref().to_owned()));
    }

    /// Adds a warning to those [`finish`](Env::finish) returns (e.g. an
    /// [`EnvWarning::Ignored`] decided by the caller).
    pub fn warn(&mut self, warning: EnvWarning) {
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }

    /// Whether `name` (or its old name) is set, not empty and not blank. Counts as read.
    pub fn is_set(&mut self, name: &str) -> bool {
        self.mark_read(name);
        self.set(name) || self.old_name(name).is_some_and(|old| self.set(old))
    }

    /// The warnings so far (deprecated names read).
    pub fn warnings(&self) -> &[EnvWarning] {
        &self.warnings
    }

    /// The end of the configuration: the warnings of the reads (deprecated names, settings
    /// ignored), then an [`EnvWarning::Unknown`] for each variable set with one of the
    /// [prefixes](Env::prefixes) that was neither read nor [known](Env::known), sorted by name,
    /// with the closest read or known name as a suggestion. Log each one; none is fatal.
    pub fn finish(self) -> Vec<EnvWarning> {
        let mut warnings = self.warnings;
        if self.prefixes.is_empty() {
            return warnings;
        }
        let candidates: BTreeSet<&str> = self
            .read
            .iter()
            .chain(&self.known)
            .map(String::as_str)
            .chain(self.renames.iter().map(|r| r.new))
            .collect();
        for (name, value) in &self.values {
            let upper = name.to_ascii_uppercase();
            if !self.prefixes.iter().any(|p| upper.starts_with(p.as_str()))
                || self.read.contains(name)
                || self.known.contains(name)
                || self.renames.iter().any(|r| r.old == name)
            {
                continue;
            }
            let text = match value {
                Value::Text(text) if text.trim().is_empty() => continue,
                Value::Text(text) => text.as_str(),
                Value::NotUnicode => "",
            };
            if is_service_link(&upper, text) {
                continue;
            }
            warnings.push(EnvWarning::Unknown {
                name: name.clone(),
                suggestion: closest(&upper, candidates.iter().copied(), true).map(str::to_owned),
            });
        }
        warnings
    }

    /// A string, as set (not trimmed).
    ///
    /// # Errors
    ///
    /// [`EnvError::NotUnicode`].
    pub fn string(&mut self, name: &str) -> Result<Option<String>, EnvError> {
        Ok(self.raw(name)?.map(|(_, value)| value))
    }

    /// A whole number, decimal (`64`; no sign, no separators).
    ///
    /// # Errors
    ///
    /// [`EnvError::Invalid`]: `expected a whole number` (`from 0 to 65535` for a `u16`).
    pub fn number<T: WholeNumber>(&mut self, name: &str) -> Result<Option<T>, EnvError> {
        self.typed(name, |value| {
            let max = T::max();
            let expected = if max == u64::MAX {
                "a whole number".to_owned()
            } else {
                format!("a whole number from 0 to {max}")
            };
            if !value.bytes().all(|b| b.is_ascii_digit()) {
                let suggestion = value
                    .replace(['_', ','], "")
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n <= max)
                    .map(|n| n.to_string());
                return Err((expected, suggestion));
            }
            value
                .parse::<u64>()
                .ok()
                .and_then(T::from_u64)
                .ok_or((expected, None))
        })
    }

    /// A boolean, as Go's `strconv.ParseBool`: `1 t T TRUE true True`, `0 f F FALSE false False`.
    ///
    /// # Errors
    ///
    /// [`EnvError::Invalid`] for anything else (`yes`: "did you mean true?").
    pub fn bool(&mut self, name: &str) -> Result<Option<bool>, EnvError> {
        self.typed(name, |value| {
            parse_go_bool(value).ok_or_else(|| {
                let suggestion = match value.to_ascii_lowercase().as_str() {
                    "yes" | "y" | "on" | "enable" | "enabled" => Some("true"),
                    "no" | "n" | "off" | "disable" | "disabled" => Some("false"),
                    lower => parse_go_bool(lower).map(|b| if b { "true" } else { "false" }),
                };
                (BOOLEAN.to_owned(), suggestion.map(str::to_owned))
            })
        })
    }

    /// A Go duration ([`parse_go_duration`]): `30s`, `5m`, `72h`, `1h30m`, `250ms`, `0`.
    ///
    /// # Errors
    ///
    /// [`EnvError::Invalid`]: `expected a duration like 30s, 5m or 72h` (`5sec`: "did you mean
    /// 5s?"; `10`: "did you mean 10s?").
    pub fn duration(&mut self, name: &str) -> Result<Option<Duration>, EnvError> {
        self.typed(name, |value| {
            parse_go_duration(value).ok_or_else(|| (DURATION.to_owned(), duration_hint(value)))
        })
    }

    /// A Go duration, or a whole number of seconds (`10` is `10s`).
    ///
    /// # Errors
    ///
    /// [`EnvError::Invalid`]: `expected a duration like 30s, 5m or 72h, or whole seconds`.
    pub fn duration_or_seconds(&mut self, name: &str) -> Result<Option<Duration>, EnvError> {
        self.typed(name, |value| {
            if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
                return value
                    .parse::<u64>()
                    .map(Duration::from_secs)
                    .map_err(|_| (DURATION_OR_SECONDS.to_owned(), None));
            }
            parse_go_duration(value)
                .ok_or_else(|| (DURATION_OR_SECONDS.to_owned(), duration_hint(value)))
        })
    }

    /// One of `allowed`, exactly.
    ///
    /// # Errors
    ///
    /// [`EnvError::Invalid`]: `expected one of token, approle or kubernetes`, with the closest
    /// allowed value as a suggestion (`aprole`, `AppRole`: "did you mean approle?").
    pub fn choice<'a>(
        &mut self,
        name: &str,
        allowed: &[&'a str],
    ) -> Result<Option<&'a str>, EnvError> {
        self.typed(name, |value| {
            allowed
                .iter()
                .copied()
                .find(|a| *a == value)
                .ok_or_else(|| {
                    let expected = match allowed.split_last() {
                        None => "no value".to_owned(),
                        Some((only, [])) => (*only).to_owned(),
                        Some((last, first)) => format!("one of {} or {last}", first.join(", ")),
                    };
                    let lower = value.to_lowercase();
                    let suggestion = closest(&lower, allowed.iter().copied(), false);
                    (expected, suggestion.map(str::to_owned))
                })
        })
    }

    /// A comma-separated list, each item trimmed, empty items dropped (`a, b,,c` is `a b c`).
    ///
    /// # Errors
    ///
    /// [`EnvError::NotUnicode`].
    pub fn list(&mut self, name: &str) -> Result<Option<Vec<String>>, EnvError> {
        Ok(self.raw(name)?.map(|(_, value)| {
            value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect()
        }))
    }

    /// A socket address, `ip:port`; `:port` (Go's form, Drone's `DRONE_BIND=:3000`) is every
    /// IPv4 interface, `0.0.0.0:port`.
    ///
    /// # Errors
    ///
    /// [`EnvError::Invalid`]: `expected an address like 0.0.0.0:3000, :3000 or [::1]:3000`.
    pub fn socket_addr(&mut self, name: &str) -> Result<Option<SocketAddr>, EnvError> {
        self.typed(name, |value| {
            let full = match value.strip_prefix(':') {
                Some(port) => format!("0.0.0.0:{port}"),
                None => value.to_owned(),
            };
            full.parse()
                .map_err(|_| (SOCKET_ADDR.to_owned(), localhost_hint(value)))
        })
    }

    /// An `http://` or `https://` URL with a host (`https://vault.example.com:8200`; a path is
    /// kept), without a query or fragment, returned as set (trimmed).
    ///
    /// # Errors
    ///
    /// [`EnvError::Invalid`]: `expected an http(s)://host[:port] URL` (`vault:8200`: "did you
    /// mean https://vault:8200?").
    pub fn url(&mut self, name: &str) -> Result<Option<String>, EnvError> {
        self.typed(name, |value| {
            let valid = value
                .parse::<http::Uri>()
                .ok()
                .filter(|uri| matches!(uri.scheme_str(), Some("http" | "https")))
                .filter(|uri| uri.host().is_some_and(|h| !h.is_empty()))
                .filter(|uri| uri.query().is_none() && !value.contains('#'));
            match valid {
                Some(_) => Ok(value.to_owned()),
                None => {
                    let suggestion = (!value.contains("://"))
                        .then(|| format!("https://{value}"))
                        .filter(|s| s.parse::<http::Uri>().is_ok_and(|u| u.host().is_some()));
                    Err((URL.to_owned(), suggestion))
                }
            }
        })
    }

    /// A secret, from `name` or from the file named by `name_FILE` (with one trailing newline
    /// removed); with a [rename](Env::renames), from the old name (or its `_FILE`) when both new
    /// ones are unset.
    ///
    /// # Errors
    ///
    /// [`EnvError::Conflict`] when both `name` and `name_FILE` are set; [`EnvError::File`] when
    /// the file cannot be read, is empty, is not UTF-8 or is over [`MAX_FILE_LEN`];
    /// [`EnvError::NotUnicode`].
    pub fn secret(&mut self, name: &str) -> Result<Option<Secret>, EnvError> {
        Ok(self.string_or_file(name)?.map(|v| Secret {
            value: v.value,
            source: v.source,
            variable: Some(v.variable),
        }))
    }

    /// As [`secret`](Env::secret), for a value that is not secret but may be long (a public key,
    /// a PEM): from `name` or from the file named by `name_FILE`.
    ///
    /// # Errors
    ///
    /// As [`secret`](Env::secret).
    pub fn string_or_file(&mut self, name: &str) -> Result<Option<FileOrValue>, EnvError> {
        let file = format!("{name}_FILE");
        self.mark_read(name);
        self.mark_read(&file);
        let mut found = self.pair(name, &file)?;
        let old = if found.is_none() {
            self.old_name(name)
        } else {
            None
        };
        if let Some(old) = old {
            let old_file = format!("{old}_FILE");
            self.mark_read(&old_file);
            found = self.pair(old, &old_file)?;
            if found.is_some() {
                self.warn(EnvWarning::Deprecated {
                    old: old.to_owned(),
                    new: name.to_owned(),
                });
            }
        }
        let Some((variable, value, source)) = found else {
            return Ok(None);
        };
        let value = match source {
            Source::File => read_secret_file(&variable, &value)?,
            _ => value,
        };
        Ok(Some(FileOrValue {
            value,
            source,
            variable,
        }))
    }

    /// An [`EnvError::Missing`] for `names` (secrets read with [`secret`](Env::secret) are
    /// shown as `NAME (or NAME_FILE)`), required `when` (e.g. `VAULT_AUTH_TYPE is approle`).
    pub fn missing(&self, names: &[&str], when: Option<&str>) -> EnvError {
        EnvError::Missing {
            names: names
                .iter()
                .map(|name| {
                    let file = format!("{name}_FILE");
                    if self.read.contains(&file) {
                        format!("{name} (or {file})")
                    } else {
                        (*name).to_owned()
                    }
                })
                .collect(),
            when: when.map(str::to_owned),
        }
    }

    /// An [`EnvError::MissingOneOf`] for `names` (shown as in [`missing`](Env::missing)): at
    /// least one of them is required.
    pub fn missing_one_of(&self, names: &[&str], when: Option<&str>) -> EnvError {
        match self.missing(names, when) {
            EnvError::Missing { names, when } => EnvError::MissingOneOf { names, when },
            other => other,
        }
    }

    fn mark_read(&mut self, name: &str) {
        if !self.read.contains(name) {
            self.read.insert(name.to_owned());
        }
    }

    /// The old name of `name`, if it was renamed.
    fn old_name(&self, name: &str) -> Option<&'static str> {
        self.renames.iter().find(|r| r.new == name).map(|r| r.old)
    }

    fn set(&self, name: &str) -> bool {
        match self.values.get(name) {
            Some(Value::Text(text)) => !text.trim().is_empty(),
            Some(Value::NotUnicode) => true,
            None => false,
        }
    }

    /// The value of exactly `name`: `None` when unset, empty or blank.
    fn lookup(&self, name: &str) -> Result<Option<&str>, EnvError> {
        match self.values.get(name) {
            Some(Value::Text(text)) if text.trim().is_empty() => Ok(None),
            Some(Value::Text(text)) => Ok(Some(text)),
            Some(Value::NotUnicode) => Err(EnvError::NotUnicode {
                name: name.to_owned(),
            }),
            None => Ok(None),
        }
    }

    /// `name` or its `_FILE` variant: (the variable set, its value, [`Source::Env`] or
    /// [`Source::File`]).
    fn pair(&self, name: &str, file: &str) -> Result<Option<(String, String, Source)>, EnvError> {
        match (self.lookup(name)?, self.lookup(file)?) {
            (Some(_), Some(_)) => Err(EnvError::Conflict {
                name: name.to_owned(),
                file: file.to_owned(),
            }),
            (Some(value), None) => Ok(Some((name.to_owned(), value.to_owned(), Source::Env))),
            (None, Some(path)) => Ok(Some((file.to_owned(), path.to_owned(), Source::File))),
            (None, None) => Ok(None),
        }
    }

    /// The value of `name`, or of its old name (with a warning) when `name` is unset: (the
    /// variable read, its value).
    fn raw(&mut self, name: &str) -> Result<Option<(String, String)>, EnvError> {
        self.mark_read(name);
        if let Some(value) = self.lookup(name)? {
            return Ok(Some((name.to_owned(), value.to_owned())));
        }
        let Some(old) = self.old_name(name) else {
            return Ok(None);
        };
        let Some(value) = self.lookup(old)? else {
            return Ok(None);
        };
        let value = value.to_owned();
        self.warn(EnvWarning::Deprecated {
            old: old.to_owned(),
            new: name.to_owned(),
        });
        Ok(Some((old.to_owned(), value)))
    }

    /// The value of `name`, trimmed, parsed by `parse`, which answers the expected form and a
    /// suggestion when it refuses the value.
    fn typed<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, (String, Option<String>)>,
    ) -> Result<Option<T>, EnvError> {
        let Some((variable, value)) = self.raw(name)? else {
            return Ok(None);
        };
        let value = value.trim();
        parse(value).map(Some).map_err(|(expected, suggestion)| {
            let mut error = EnvError::invalid(&variable, value, expected);
            if let Some(suggestion) = suggestion {
                error = error.with_suggestion(suggestion);
            }
            error
        })
    }
}

/// The contents of the file at `path` (named by `variable`), with one trailing newline removed.
fn read_secret_file(variable: &str, path: &str) -> Result<String, EnvError> {
    let error = |source: std::io::Error| EnvError::File {
        name: variable.to_owned(),
        path: PathBuf::from(path),
        source,
    };
    let invalid = |why: &str| error(std::io::Error::new(std::io::ErrorKind::InvalidData, why));
    let file = std::fs::File::open(path).map_err(error)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(error)?;
    if bytes.len() as u64 > MAX_FILE_LEN {
        return Err(invalid("the file is larger than 64 KiB"));
    }
    let mut text = String::from_utf8(bytes).map_err(|_| invalid("the file is not UTF-8 text"))?;
    if text.ends_with("\r\n") {
        text.truncate(text.len() - 2);
    } else if text.ends_with('\n') {
        text.truncate(text.len() - 1);
    }
    if text.trim().is_empty() {
        return Err(invalid("the file is empty"));
    }
    Ok(text)
}

/// `value` for an error message: at most [`MAX_QUOTED`] characters, then `…`.
fn quote(value: &str) -> String {
    match value.char_indices().nth(MAX_QUOTED) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_owned(),
    }
}

/// A Go duration for a value that looks like one in another spelling: `5sec` → `5s`,
/// `2 min` → `2m`, `3d` → `72h`, `10` → `10s`.
fn duration_hint(value: &str) -> Option<String> {
    let lower = value.to_ascii_lowercase().replace(' ', "");
    if parse_go_duration(&lower).is_some() {
        return Some(lower); // only the case or spaces were wrong
    }
    let digits = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let number: u64 = value.get(..digits)?.parse().ok()?;
    let unit = value.get(digits..)?.trim().to_ascii_lowercase();
    let (number, unit) = match unit.as_str() {
        "" | "sec" | "secs" | "second" | "seconds" => (number, "s"),
        "min" | "mins" | "minute" | "minutes" => (number, "m"),
        "hr" | "hrs" | "hour" | "hours" => (number, "h"),
        "d" | "day" | "days" => (number.checked_mul(24)?, "h"),
        "msec" | "millis" | "millisecond" | "milliseconds" => (number, "ms"),
        _ => return None,
    };
    Some(format!("{number}{unit}"))
}

/// `localhost:3000` → `127.0.0.1:3000` (a socket address is not resolved).
fn localhost_hint(value: &str) -> Option<String> {
    let port = value.strip_prefix("localhost:")?;
    port.parse::<u16>().ok().map(|p| format!("127.0.0.1:{p}"))
}

/// Whether `name` (upper case) = `value` is a Kubernetes (or Docker link) service variable:
/// `{SERVICE}_SERVICE_HOST`, `{SERVICE}_SERVICE_PORT[_{PORT}]`, `{SERVICE}_PORT=tcp://…`,
/// `{SERVICE}_PORT_{n}_{TCP|UDP|SCTP}[_ADDR|_PORT|_PROTO]`.
fn is_service_link(name: &str, value: &str) -> bool {
    if name.ends_with("_SERVICE_HOST") || name.contains("_SERVICE_PORT") {
        return true;
    }
    if name.ends_with("_PORT") {
        return ["tcp://", "udp://", "sctp://"]
            .iter()
            .any(|scheme| value.starts_with(scheme));
    }
    let Some((_, rest)) = name.rsplit_once("_PORT_") else {
        return false;
    };
    let mut parts = rest.split('_');
    let port = parts.next().unwrap_or_default();
    let proto = parts.next().unwrap_or_default();
    let field = parts.next();
    !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && matches!(proto, "TCP" | "UDP" | "SCTP")
        && matches!(field, None | Some("ADDR" | "PORT" | "PROTO"))
        && parts.next().is_none()
}

/// The candidate closest to `word` by edit distance (an adjacent transposition counts once),
/// when close enough: at most 1 edit for words up to 4 characters, 2 up to 12, 3 beyond.
/// `upper`: compare the candidates upper-cased (variable names).
fn closest<'a>(
    word: &str,
    candidates: impl Iterator<Item = &'a str>,
    upper: bool,
) -> Option<&'a str> {
    const LONGEST: usize = 128;
    let word: Vec<char> = word.chars().collect();
    if word.len() > LONGEST {
        return None;
    }
    let limit = match word.len() {
        0..=4 => 1,
        5..=12 => 2,
        _ => 3,
    };
    candidates
        .filter(|c| c.chars().count() <= LONGEST)
        .map(|c| {
            let chars: Vec<char> = if upper {
                c.to_ascii_uppercase().chars().collect()
            } else {
                c.to_lowercase().chars().collect()
            };
            (edit_distance(&word, &chars), c)
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and adjacent
/// transpositions.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut before = vec![0usize; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0usize; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            current[j] = d;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// Go's `strconv.ParseBool`: `1 t T TRUE true True` and `0 f F FALSE false False`, anything
/// else is `None`.
///
/// ```
/// use drone_extension::env::parse_go_bool;
///
/// assert_eq!(parse_go_bool("True"), Some(true));
/// assert_eq!(parse_go_bool("tRUE"), None);
/// assert_eq!(parse_go_bool("yes"), None);
/// ```
pub fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `time.ParseDuration`: a sequence of decimal numbers with units `ns`, `us`, `µs`, `ms`,
/// `s`, `m`, `h` (`72h`, `1h30m`, `1.5s`, `0`); negative durations are refused.
///
/// ```
/// use std::time::Duration;
/// use drone_extension::env::parse_go_duration;
///
/// assert_eq!(parse_go_duration("1h30m"), Some(Duration::from_secs(5400)));
/// assert_eq!(parse_go_duration("250ms"), Some(Duration::from_millis(250)));
/// assert_eq!(parse_go_duration("3d"), None); // Go has no days
/// assert_eq!(parse_go_duration("10"), None); // nor a unit-less number but 0
/// ```
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * seconds;
    }
    Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn go_durations() {
        assert_eq!(
            parse_go_duration("72h"),
            Some(Duration::from_secs(72 * 3600))
        );
        assert_eq!(parse_go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
        for bad in ["", "10", "-1s", "1x", "h", "1..5s", "5sec"] {
            assert_eq!(parse_go_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn duration_hints() {
        for (value, hint) in [
            ("5sec", Some("5s")),
            ("5 seconds", Some("5s")),
            ("2min", Some("2m")),
            ("3d", Some("72h")),
            ("10", Some("10s")),
            ("5S", Some("5s")),
            ("1H30M", Some("1h30m")),
            ("5 parsecs", None),
            ("x", None),
            ("99999999999999999999d", None),
        ] {
            assert_eq!(duration_hint(value).as_deref(), hint, "{value}");
        }
    }

    #[test]
    fn edit_distances() {
        let d = |a: &str, b: &str| {
            edit_distance(
                &a.chars().collect::<Vec<_>>(),
                &b.chars().collect::<Vec<_>>(),
            )
        };
        assert_eq!(d("VAULT_TOKN", "VAULT_TOKEN"), 1);
        assert_eq!(d("VAULT_TOEKN", "VAULT_TOKEN"), 1);
        assert_eq!(d("", "abc"), 3);
        assert_eq!(d("abc", ""), 3);
        assert_eq!(d("kitten", "sitting"), 3);
        assert_eq!(
            closest("APROLE", ["TOKEN", "APPROLE"].into_iter(), true),
            Some("APPROLE")
        );
        assert_eq!(closest("X", ["TOKEN"].into_iter(), true), None);
    }

    #[test]
    fn service_links_are_not_unknown() {
        for (name, value) in [
            ("VAULT_PORT", "tcp://10.0.0.1:8200"),
            ("VAULT_SERVICE_HOST", "10.0.0.1"),
            ("VAULT_SERVICE_PORT", "8200"),
            ("VAULT_SERVICE_PORT_HTTP", "8200"),
            ("VAULT_PORT_8200_TCP", "tcp://10.0.0.1:8200"),
            ("VAULT_PORT_8200_TCP_ADDR", "10.0.0.1"),
            ("DRONE_PORT_80_UDP_PROTO", "udp"),
        ] {
            assert!(is_service_link(name, value), "{name}");
        }
        for (name, value) in [
            ("VAULT_PORT", "8200"),
            ("VAULT_PORT_X_TCP", ""),
            ("VAULT_PORT_8200_TCP_HOST", ""),
            ("VAULT_TOKEN", "tcp://x"),
        ] {
            assert!(!is_service_link(name, value), "{name}");
        }
    }

    #[test]
    fn numbers() {
        let mut e = env(&[
            ("A", " 64 "),
            ("B", "-1"),
            ("C", "70000"),
            ("D", "1_000"),
            ("E", "1e3"),
        ]);
        assert_eq!(e.number::<u16>("A").unwrap(), Some(64));
        let b = e.number::<u64>("B").unwrap_err().to_string();
        assert_eq!(b, r#"B="-1": expected a whole number"#);
        let c = e.number::<u16>("C").unwrap_err().to_string();
        assert_eq!(c, r#"C="70000": expected a whole number from 0 to 65535"#);
        let d = e.number::<u32>("D").unwrap_err().to_string();
        assert!(d.ends_with("(did you mean 1000?)"), "{d}");
        assert!(e.number::<usize>("E").is_err());
        assert_eq!(e.number::<u8>("UNSET").unwrap(), None);
    }

    #[test]
    fn booleans() {
        let mut e = env(&[("A", "True"), ("B", "yes"), ("C", "tRUE"), ("D", " 0 ")]);
        assert_eq!(e.bool("A").unwrap(), Some(true));
        let b = e.bool("B").unwrap_err().to_string();
        assert!(b.starts_with(r#"B="yes": expected true or false"#), "{b}");
        assert!(b.ends_with("(did you mean true?)"), "{b}");
        let c = e.bool("C").unwrap_err().to_string();
        assert!(c.ends_with("(did you mean true?)"), "{c}");
        assert_eq!(e.bool("D").unwrap(), Some(false));
    }

    #[test]
    fn choices_and_lists() {
        let mut e = env(&[
            ("A", "AppRole"),
            ("B", "ldap"),
            ("C", " a, b,,c ,"),
            ("D", "  "),
        ]);
        let a = e
            .choice("A", &["token", "approle"])
            .unwrap_err()
            .to_string();
        assert_eq!(
            a,
            r#"A="AppRole": expected one of token or approle (did you mean approle?)"#
        );
        let b = e
            .choice("B", &["token", "approle"])
            .unwrap_err()
            .to_string();
        assert_eq!(b, r#"B="ldap": expected one of token or approle"#);
        assert_eq!(e.list("C").unwrap().unwrap(), ["a", "b", "c"]);
        assert_eq!(e.list("D").unwrap(), None);
    }

    #[test]
    fn addresses_and_urls() {
        let mut e = env(&[
            ("A", ":3000"),
            ("B", "localhost:3000"),
            ("C", "https://vault.example.com:8200/"),
            ("D", "vault:8200"),
            ("E", "ftp://vault"),
            ("F", "http://v?x=1"),
        ]);
        assert_eq!(
            e.socket_addr("A").unwrap().unwrap().to_string(),
            "0.0.0.0:3000"
        );
        let b = e.socket_addr("B").unwrap_err().to_string();
        assert!(b.ends_with("(did you mean 127.0.0.1:3000?)"), "{b}");
        assert_eq!(
            e.url("C").unwrap().as_deref(),
            Some("https://vault.example.com:8200/")
        );
        let d = e.url("D").unwrap_err().to_string();
        assert_eq!(
            d,
            r#"D="vault:8200": expected an http(s)://host[:port] URL (did you mean https://vault:8200?)"#
        );
        assert!(e.url("E").is_err());
        assert!(e.url("F").is_err());
    }

    #[test]
    fn long_values_are_cut_in_errors() {
        let long = "é".repeat(200);
        let mut e = env(&[("A", &long)]);
        let error = e.number::<u64>("A").unwrap_err().to_string();
        assert!(error.contains(&format!("{}…", "é".repeat(64))), "{error}");
        assert!(!error.contains(&"é".repeat(65)), "{error}");
    }

    #[test]
    fn renamed_variables() {
        let mut e = env(&[
            ("WOODPECKER_MAX_AGE", "90"),
            ("WOODPECKER_SERVER", "host:9000"),
        ])
        .renames(WOODPECKER_RENAMES)
        .prefixes(["EXTENSION_", "DRONE_"]);
        assert_eq!(
            e.number::<u64>("EXTENSION_WOODPECKER_MAX_AGE").unwrap(),
            Some(90)
        );
        let error = e.url("EXTENSION_WOODPECKER_URL").unwrap_err().to_string();
        // The error names the variable the operator set.
        assert!(
            error.starts_with(r#"WOODPECKER_SERVER="host:9000""#),
            "{error}"
        );
        let warnings: Vec<String> = e.finish().iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            [
                "WOODPECKER_MAX_AGE is deprecated: set EXTENSION_WOODPECKER_MAX_AGE instead (the value of WOODPECKER_MAX_AGE is used meanwhile)",
                "WOODPECKER_SERVER is deprecated: set EXTENSION_WOODPECKER_URL instead (the value of WOODPECKER_SERVER is used meanwhile)",
            ]
        );
        // The new name set: the old one (Woodpecker's own) is ignored, silently.
        let mut e = env(&[
            ("EXTENSION_WOODPECKER_URL", "https://ci.example.com"),
            ("WOODPECKER_SERVER", "woodpecker-server:9000"),
        ])
        .renames(WOODPECKER_RENAMES)
        .prefixes(["EXTENSION_", "WOODPECKER_"]);
        assert_eq!(
            e.url("EXTENSION_WOODPECKER_URL").unwrap().as_deref(),
            Some("https://ci.example.com")
        );
        assert_eq!(e.finish(), []);
    }

    #[test]
    fn missing_names_file_variants() {
        let mut e = env(&[]);
        assert!(e.secret("VAULT_TOKEN").unwrap().is_none());
        let one = e.missing(
            &["VAULT_TOKEN"],
            Some("VAULT_AUTH_TYPE is token (or unset)"),
        );
        assert_eq!(
            one.to_string(),
            "VAULT_TOKEN (or VAULT_TOKEN_FILE) is required when VAULT_AUTH_TYPE is token (or unset)"
        );
        let two = e.missing(&["A", "B", "VAULT_TOKEN"], None);
        assert_eq!(
            two.to_string(),
            "A, B and VAULT_TOKEN (or VAULT_TOKEN_FILE) are required"
        );
        assert_eq!(two.name(), "A");
        assert!(
            e.string_or_file("EXTENSION_WOODPECKER_PUBLIC_KEY")
                .unwrap()
                .is_none()
        );
        let either = e.missing_one_of(
            &[
                "EXTENSION_WOODPECKER_PUBLIC_KEY",
                "EXTENSION_WOODPECKER_URL",
            ],
            None,
        );
        assert_eq!(
            either.to_string(),
            "one of EXTENSION_WOODPECKER_PUBLIC_KEY (or EXTENSION_WOODPECKER_PUBLIC_KEY_FILE) \
             or EXTENSION_WOODPECKER_URL is required"
        );
        let secret = EnvError::invalid_secret("DRONE_REPLAY_GUARD", "none, memory or redis://…");
        assert_eq!(
            secret.to_string(),
            "DRONE_REPLAY_GUARD: expected none, memory or redis://…"
        );
    }

    #[test]
    fn env_debug_has_no_values() {
        let e = env(&[("DRONE_SECRET", "hunter2")]);
        assert!(!format!("{e:?}").contains("hunter2"));
    }
}
