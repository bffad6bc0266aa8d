//! The starter's policy file: its format, how it is checked when the process starts, and the
//! access rule every secret, registry credential and variable shares.
//!
//! The file is read once, at start. Every glob pattern is compiled then, so that a malformed one
//! stops the process with an error naming its rule instead of silently never matching; an error
//! in the file names its line, column and key but never prints a value (the file holds secrets).

use drone_extension::glob::Pattern;
use drone_extension::models::{Build, Repo};
use serde::Deserialize;

/// The embedded default policy: admit everyone, hand out nothing.
pub const DEFAULT_POLICY: &str = r#"
[admission]
deny = []
admins = []
allow_registration = true
"#;

/// The policy, checked and compiled.
#[derive(Debug)]
pub struct Policy {
    pub admission: AdmissionPolicy,
    pub secrets: Vec<SecretRule>,
    pub registries: Vec<RegistryRule>,
    pub environ: Vec<EnvironRule>,
    pub validate: ValidatePolicy,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdmissionPolicy {
    pub deny: Vec<String>,
    pub admins: Vec<String>,
    pub allow_registration: bool,
}

impl Default for AdmissionPolicy {
    fn default() -> Self {
        AdmissionPolicy {
            deny: Vec::new(),
            admins: Vec::new(),
            allow_registration: true,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ValidatePolicy {
    pub max_config_bytes: Option<usize>,
}

/// Who may receive what a rule holds: repositories and events (glob patterns, an empty list
/// matches everything) and whether builds from forks may.
#[derive(Debug)]
pub struct Access {
    repos: Vec<Pattern>,
    events: Vec<Pattern>,
    images: Vec<Pattern>,
    forks: bool,
}

impl Access {
    /// Whether a build of `repo` may receive the rule's value. A build whose source is another
    /// repository (a pull request from a fork) never does, unless the rule says `pull_request =
    /// true`: runners hand whatever the extension answers to the step.
    pub fn admits(&self, repo: &Repo, build: &Build) -> bool {
        any(&self.repos, &repo.slug)
            && any(&self.events, &build.event)
            && (self.forks || !build.is_fork(repo))
    }

    /// The same rule for a Woodpecker pipeline (`drone-extension-woodpecker`): repository
    /// `full_name`, pipeline `event`, and whether it comes from a fork.
    pub fn admits_pipeline(&self, full_name: &str, event: &str, from_fork: bool) -> bool {
        any(&self.repos, full_name) && any(&self.events, event) && (self.forks || !from_fork)
    }

    /// Whether a Drone 0.8 repository `full_name` matches (0.8 filters events and images itself,
    /// from the lists the secret carries).
    pub fn admits_repository(&self, full_name: &str) -> bool {
        any(&self.repos, full_name)
    }

    /// The rule's event patterns, as written.
    pub fn events(&self) -> Vec<String> {
        self.events.iter().map(|p| p.as_str().to_owned()).collect()
    }

    /// The rule's image patterns, as written (Drone 0.8 only).
    pub fn images(&self) -> Vec<String> {
        self.images.iter().map(|p| p.as_str().to_owned()).collect()
    }

    /// Whether pull requests from forks may receive the value.
    pub fn forks(&self) -> bool {
        self.forks
    }
}

fn any(patterns: &[Pattern], value: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| p.matches(value))
}

pub struct SecretRule {
    pub name: String,
    pub path: String,
    pub value: String,
    pub access: Access,
}

pub struct RegistryRule {
    pub address: String,
    pub username: String,
    pub password: String,
    pub access: Access,
}

pub struct EnvironRule {
    pub name: String,
    pub value: String,
    pub mask: bool,
    pub access: Access,
}

// Never print values, not even in debug logs.
impl std::fmt::Debug for SecretRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretRule")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for RegistryRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryRule")
            .field("address", &self.address)
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for EnvironRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvironRule")
            .field("name", &self.name)
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// The file as written
// ---------------------------------------------------------------------------------------------

#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct File {
    admission: AdmissionPolicy,
    secrets: Vec<SecretEntry>,
    registries: Vec<RegistryEntry>,
    environ: Vec<EnvironEntry>,
    validate: ValidatePolicy,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretEntry {
    name: String,
    #[serde(default)]
    path: String,
    value: String,
    #[serde(default)]
    repos: Vec<String>,
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    images: Vec<String>,
    #[serde(default)]
    pull_request: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryEntry {
    address: String,
    username: String,
    password: String,
    #[serde(default)]
    repos: Vec<String>,
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    pull_request: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvironEntry {
    name: String,
    value: String,
    #[serde(default)]
    mask: bool,
    #[serde(default)]
    repos: Vec<String>,
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    pull_request: bool,
}

/// Compiles the patterns of one rule; `rule` names it in errors (`secrets[1] "docker_password"`).
fn access(
    rule: &str,
    repos: Vec<String>,
    events: Vec<String>,
    images: Vec<String>,
    forks: bool,
) -> Result<Access, String> {
    let compile = |field: &str, patterns: Vec<String>| -> Result<Vec<Pattern>, String> {
        patterns
            .iter()
            .map(|p| Pattern::new(p).map_err(|e| format!("{rule}: {field}: {p:?}: {e}")))
            .collect()
    };
    Ok(Access {
        repos: compile("repos", repos)?,
        events: compile("events", events)?,
        images: compile("images", images)?,
        forks,
    })
}

/// Parses and checks a policy file; `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<Policy, String> {
    let file: File = toml::from_str(text)
        .map_err(|e| format!("invalid policy {origin}: {}", describe(&e, text)))?;
    let invalid = |e: String| format!("invalid policy {origin}: {e}");
    let mut policy = Policy {
        admission: file.admission,
        secrets: Vec::new(),
        registries: Vec::new(),
        environ: Vec::new(),
        validate: file.validate,
    };
    for (i, s) in file.secrets.into_iter().enumerate() {
        let rule = format!("secrets[{i}] {:?}", s.name);
        policy.secrets.push(SecretRule {
            access: access(&rule, s.repos, s.events, s.images, s.pull_request).map_err(invalid)?,
            name: s.name,
            path: s.path,
            value: s.value,
        });
    }
    for (i, r) in file.registries.into_iter().enumerate() {
        let rule = format!("registries[{i}] {:?}", r.address);
        policy.registries.push(RegistryRule {
            access: access(&rule, r.repos, r.events, Vec::new(), r.pull_request)
                .map_err(invalid)?,
            address: r.address,
            username: r.username,
            password: r.password,
        });
    }
    for (i, v) in file.environ.into_iter().enumerate() {
        let rule = format!("environ[{i}] {:?}", v.name);
        policy.environ.push(EnvironRule {
            access: access(&rule, v.repos, v.events, Vec::new(), v.pull_request)
                .map_err(invalid)?,
            name: v.name,
            value: v.value,
            mask: v.mask,
        });
    }
    Ok(policy)
}

/// A TOML error as "line L, column C, key K: what" without any value from the file: `toml`'s own
/// `Display` quotes the offending line, and serde's messages quote the offending value.
fn describe(error: &toml::de::Error, text: &str) -> String {
    let mut out = String::new();
    if let Some(span) = error.span() {
        let start = span.start.min(text.len());
        let before = &text[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        out.push_str(&format!("line {line}, column {column}"));
        if let Some(key) = key_of_line(text, line_start) {
            out.push_str(&format!(", key `{key}`"));
        }
        out.push_str(": ");
    }
    out.push_str(&redact(error.message()));
    out
}

/// The key a line assigns (`key = …`) or the table it opens (`[table]`), unless the line is
/// inside a multi-line string (then it is part of a value).
fn key_of_line(text: &str, line_start: usize) -> Option<&str> {
    let before = &text[..line_start];
    if (before.matches("\"\"\"").count() + before.matches("'''").count()) % 2 == 1 {
        return None;
    }
    let line = text[line_start..].lines().next().unwrap_or("").trim_start();
    let key = match line.strip_prefix('[') {
        Some(table) => table.trim_start_matches('[').split(']').next()?,
        None => line.split('=').next()?,
    }
    .trim();
    let bare = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    (!key.is_empty() && key.len() <= 64 && key.chars().all(bare)).then_some(key)
}

/// serde's "invalid type: string \"…\", expected …" without the value; quoted text removed from
/// any other message.
fn redact(message: &str) -> String {
    let message = message.lines().next().unwrap_or("").trim();
    for prefix in ["invalid type", "invalid value", "invalid length"] {
        if message.starts_with(prefix) {
            return match message.split_once(", expected ") {
                Some((_, expected)) => format!("{prefix}, expected {expected}"),
                None => prefix.to_owned(),
            };
        }
    }
    let mut out = String::with_capacity(message.len());
    let mut quote = None;
    for c in message.chars() {
        match quote {
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                quote = None;
            }
            Some(_) => {}
            None if c == '"' || c == '\'' => {
                out.push(c);
                quote = Some(c);
            }
            None => out.push(c),
        }
    }
    if quote.is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_line_and_key_but_not_the_value() {
        for text in [
            "[[environ]]\nname = \"API\"\nvalue = \"s3cr3t\nmask = true\n",
            "[[environ]]\nname = \"API\"\nvalue = \"x\"\nmask = \"s3cr3t\"\n",
            "[[environ]]\nname = \"API\"\nvalue = 's3cr3t\n",
        ] {
            let e = parse(text, "test.toml").unwrap_err();
            assert!(!e.contains("s3cr3t"), "{e}");
            assert!(e.contains("line "), "{e}");
        }
        let e = parse(
            "[[environ]]\nname = \"A\"\nvalue = \"x\"\nmask = \"s3cr3t\"\n",
            "t",
        )
        .unwrap_err();
        assert!(e.contains("line 4") && e.contains("key `mask`"), "{e}");
    }

    #[test]
    fn a_malformed_pattern_names_its_rule() {
        let text = "[[secrets]]\nname = \"token\"\nvalue = \"v\"\nrepos = [\"octo[cat/*\"]\n";
        let e = parse(text, "t").unwrap_err();
        assert!(
            e.contains("secrets[0] \"token\"") && e.contains("repos"),
            "{e}"
        );
        assert!(!e.contains("\"v\""), "{e}");
    }

    #[test]
    fn the_sample_file_and_the_default_parse() {
        parse(DEFAULT_POLICY, "default").unwrap();
        parse(include_str!("../../starter/starter.toml"), "starter.toml").unwrap();
    }
}
