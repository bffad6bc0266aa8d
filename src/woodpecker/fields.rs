//! The signature fields (`Signature-Input`, `Signature`, `Content-Digest`) as RFC 8941 structured
//! fields, parsed with the `sfv` crate.
//!
//! `sfv` parses strictly (RFC 8941 grammar, no RFC 9651 dates or display strings) but, as the RFC
//! asks, keeps the last of two members with the same key. A signature whose dictionary names the
//! label twice is ambiguous (one library verifies the first, another the last), so a first pass
//! with an `sfv` visitor refuses duplicate keys before the dictionary is built.

use std::borrow::Cow;

use sfv::visitor::{DictionaryVisitor, EntryVisitor, Ignored};
use sfv::{BareItem, Dictionary, KeyRef, ListEntry, ListSerializer, Parser, Version};

use super::Error;

/// The signature label Woodpecker signs with.
pub const LABEL: &str = "woodpecker-ci-extensions";
/// The only algorithm accepted, and the one Woodpecker signs with.
pub const ED25519: &str = "ed25519";
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// Why a dictionary did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DictError {
    Syntax,
    DuplicateKey,
}

#[derive(Debug)]
struct Duplicate;

impl std::fmt::Display for Duplicate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("duplicate dictionary key")
    }
}

impl std::error::Error for Duplicate {}

/// Records the keys of a dictionary and stops at the first repeated one.
#[derive(Default)]
struct UniqueKeys<'de> {
    seen: Vec<&'de KeyRef>,
    duplicate: bool,
}

impl<'de> DictionaryVisitor<'de> for &mut UniqueKeys<'de> {
    type Out = ();
    type Error = Duplicate;

    fn entry(&mut self, key: &'de KeyRef) -> Result<impl EntryVisitor<'de>, Duplicate> {
        if self.seen.contains(&key) {
            self.duplicate = true;
            return Err(Duplicate);
        }
        self.seen.push(key);
        Ok(Ignored)
    }

    fn finish(self) -> Result<(), Duplicate> {
        Ok(())
    }
}

/// Parses an RFC 8941 dictionary, refusing duplicate keys.
pub(crate) fn parse_dictionary(value: &[u8]) -> Result<Dictionary, DictError> {
    let mut keys = UniqueKeys::default();
    let checked = Parser::new(value)
        .with_version(Version::Rfc8941)
        .parse_dictionary_with_visitor(&mut keys);
    if keys.duplicate {
        return Err(DictError::DuplicateKey);
    }
    checked.map_err(|_| DictError::Syntax)?;
    Parser::new(value)
        .with_version(Version::Rfc8941)
        .parse_dictionary::<Dictionary>()
        .map_err(|_| DictError::Syntax)
}

/// One covered component of the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    name: String,
    has_params: bool,
}

impl Component {
    /// The component identifier's name (`@request-target`, `content-digest`, …).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the component carries parameters (`;sf`, `;key="…"`, …): such a component is a
    /// different component from the bare name, and this verifier does not rebuild it.
    pub fn has_params(&self) -> bool {
        self.has_params
    }
}

/// The `woodpecker-ci-extensions` members of `Signature-Input` and `Signature`, parsed and
/// type-checked (checks 2 to 7 of the verification order, without the clock).
///
/// ```
/// use drone_extension::__fuzz::SignatureFields;
///
/// let fields = SignatureFields::parse(
///     br#"woodpecker-ci-extensions=("@request-target" "content-digest");created=1786000000;alg="ed25519""#,
///     b"woodpecker-ci-extensions=:NxDuM6kbxzdInXgBNjMZlAjiEdD0K9+j6DreQnNd44ZuOIX1A+ipBXhcWP9ieOH9hMhHiPP5RL6RCNAmeGJoCg==:",
/// )?;
/// assert_eq!(fields.created(), 1_786_000_000);
/// assert_eq!(fields.components().len(), 2);
/// # Ok::<(), drone_extension::woodpecker::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SignatureFields {
    components: Vec<Component>,
    created: i64,
    expires: Option<i64>,
    signature: [u8; SIGNATURE_LEN],
    params: String,
}

impl SignatureFields {
    /// Parses the two field values (one field line each) and checks, in order: both are
    /// dictionaries without duplicate keys (**malformed**); both have the label (**missing**);
    /// the input is an inner list of strings and the signature a byte sequence (**malformed**);
    /// no component is listed twice (**malformed**); `@request-target` and `content-digest` are
    /// covered (**policy**); `alg` is `"ed25519"` (**algorithm**); `created`/`expires` are
    /// integers (**malformed**); `created` is present (**policy**).
    ///
    /// A signature that is not 64 bytes is refused as **signature**: it cannot verify.
    ///
    /// # Errors
    ///
    /// The first check that fails.
    pub fn parse(signature_input: &[u8], signature: &[u8]) -> Result<SignatureFields, Error> {
        let input = parse_dictionary(signature_input).map_err(|e| match e {
            DictError::Syntax => Error::Malformed("Signature-Input is not a dictionary"),
            DictError::DuplicateKey => Error::Malformed("Signature-Input has a duplicate key"),
        })?;
        let sigs = parse_dictionary(signature).map_err(|e| match e {
            DictError::Syntax => Error::Malformed("Signature is not a dictionary"),
            DictError::DuplicateKey => Error::Malformed("Signature has a duplicate key"),
        })?;
        let (Some(entry), Some(sig)) = (input.get(LABEL), sigs.get(LABEL)) else {
            return Err(Error::Missing("no woodpecker-ci-extensions member"));
        };
        let ListEntry::InnerList(list) = entry else {
            return Err(Error::Malformed(
                "Signature-Input member is not an inner list",
            ));
        };
        let sig = match sig {
            ListEntry::Item(item) => match &item.bare_item {
                BareItem::ByteSequence(bytes) => bytes,
                _ => return Err(Error::Malformed("Signature member is not a byte sequence")),
            },
            ListEntry::InnerList(_) => {
                return Err(Error::Malformed("Signature member is not a byte sequence"));
            }
        };
        let mut components: Vec<Component> = Vec::with_capacity(list.items.len());
        for item in &list.items {
            let BareItem::String(name) = &item.bare_item else {
                return Err(Error::Malformed("a covered component is not a string"));
            };
            let component = Component {
                name: name.as_str().to_owned(),
                has_params: !item.params.is_empty(),
            };
            if list
                .items
                .iter()
                .filter(|other| **other == *item)
                .nth(1)
                .is_some()
            {
                return Err(Error::Malformed("a component is covered twice"));
            }
            components.push(component);
        }
        for required in ["@request-target", "content-digest"] {
            if !components
                .iter()
                .any(|c| c.name == required && !c.has_params)
            {
                return Err(Error::Policy(
                    "covered components lack @request-target or content-digest",
                ));
            }
        }
        match list.params.get("alg").and_then(BareItem::as_string) {
            Some(alg) if alg.as_str() == ED25519 => {}
            _ => return Err(Error::Algorithm),
        }
        let integer = |name: &str| -> Result<Option<i64>, Error> {
            match list.params.get(name) {
                None => Ok(None),
                Some(value) => value
                    .as_integer()
                    .map(|i| Some(i64::from(i)))
                    .ok_or(Error::Malformed("created or expires is not an integer")),
            }
        };
        let created = integer("created")?;
        let expires = integer("expires")?;
        let created = created.ok_or(Error::Policy("created is absent"))?;
        let signature =
            <[u8; SIGNATURE_LEN]>::try_from(sig.as_slice()).map_err(|_| Error::Signature)?;
        let mut serializer = ListSerializer::new();
        serializer.members(std::iter::once(entry));
        let params = serializer.finish().unwrap_or_default();
        Ok(SignatureFields {
            components,
            created,
            expires,
            signature,
            params,
        })
    }

    /// The covered components, in signing order.
    pub fn components(&self) -> &[Component] {
        &self.components
    }

    /// The `created` parameter (Unix seconds).
    pub fn created(&self) -> i64 {
        self.created
    }

    /// The `expires` parameter, if any (Woodpecker sends none).
    pub fn expires(&self) -> Option<i64> {
        self.expires
    }

    /// The signature bytes.
    pub fn signature(&self) -> &[u8; SIGNATURE_LEN] {
        &self.signature
    }

    /// The `@signature-params` value: the canonical RFC 8941 serialisation of the inner list.
    pub fn signature_params(&self) -> &str {
        &self.params
    }
}

/// The digests of a `Content-Digest` field that this verifier checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Digests {
    pub(crate) sha256: Option<[u8; 32]>,
    pub(crate) sha512: Option<[u8; 64]>,
}

/// Parses a `Content-Digest` value: a dictionary without duplicate keys whose `sha-256` and
/// `sha-512` members, when present, are byte sequences of the hash's length; at least one of
/// them must be present. Other algorithms are ignored.
pub(crate) fn parse_content_digest(value: &[u8]) -> Result<Digests, Error> {
    let dict = parse_dictionary(value).map_err(|e| match e {
        DictError::Syntax => Error::DigestMalformed("not a dictionary"),
        DictError::DuplicateKey => Error::DigestMalformed("duplicate key"),
    })?;
    fn bytes<'a>(dict: &'a Dictionary, name: &str) -> Result<Option<&'a [u8]>, Error> {
        match dict.get(name) {
            None => Ok(None),
            Some(ListEntry::Item(item)) => item
                .bare_item
                .as_byte_sequence()
                .map(Some)
                .ok_or(Error::DigestMalformed("member is not a byte sequence")),
            Some(ListEntry::InnerList(_)) => {
                Err(Error::DigestMalformed("member is not a byte sequence"))
            }
        }
    }
    let sha256 = bytes(&dict, "sha-256")?
        .map(|b| {
            b.try_into()
                .map_err(|_| Error::DigestMalformed("sha-256 is not 32 bytes"))
        })
        .transpose()?;
    let sha512 = bytes(&dict, "sha-512")?
        .map(|b| {
            b.try_into()
                .map_err(|_| Error::DigestMalformed("sha-512 is not 64 bytes"))
        })
        .transpose()?;
    if sha256.is_none() && sha512.is_none() {
        return Err(Error::DigestMissing);
    }
    Ok(Digests { sha256, sha512 })
}

/// The `@request-target` Woodpecker signs for `path_and_query` (as on the request line): Go's
/// percent-decoded path (`/` when empty), then `?` and the raw query when it is not empty.
/// `None` when the path has an invalid percent escape (Go refuses to parse such a URL).
pub fn request_target(path_and_query: &str) -> Option<Cow<'_, [u8]>> {
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, query),
        None => (path_and_query, ""),
    };
    let path = if path.contains('%') {
        Cow::Owned(percent_decode(path.as_bytes())?)
    } else {
        Cow::Borrowed(path.as_bytes())
    };
    let path: Cow<'_, [u8]> = if path.is_empty() {
        Cow::Borrowed(b"/")
    } else {
        path
    };
    if query.is_empty() {
        return Some(path);
    }
    let mut target = path.into_owned();
    target.push(b'?');
    target.extend_from_slice(query.as_bytes());
    Some(Cow::Owned(target))
}

/// Go's `url.PathUnescape`: `%XX` becomes the byte, `+` stays, an invalid escape is an error.
fn percent_decode(input: &[u8]) -> Option<Vec<u8>> {
    fn hex(b: u8) -> Option<u8> {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            let hi = hex(*input.get(i + 1)?)?;
            let lo = hex(*input.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_refused() {
        assert_eq!(
            parse_dictionary(b"a=1, a=2").unwrap_err(),
            DictError::DuplicateKey
        );
        assert_eq!(parse_dictionary(b"a=(").unwrap_err(), DictError::Syntax);
        assert_eq!(parse_dictionary(b"a=1, b=2").unwrap().len(), 2);
    }

    #[test]
    fn request_target_follows_go() {
        let t = |s| request_target(s).map(|c| String::from_utf8_lossy(&c).into_owned());
        assert_eq!(t("/a/b").as_deref(), Some("/a/b"));
        assert_eq!(t("/a?").as_deref(), Some("/a"));
        assert_eq!(t("").as_deref(), Some("/"));
        assert_eq!(t("?x=1").as_deref(), Some("/?x=1"));
        assert_eq!(
            t("/team%20a%2Fb/r?q=%20").as_deref(),
            Some("/team a/b/r?q=%20")
        );
        assert_eq!(t("/a+b").as_deref(), Some("/a+b"));
        assert_eq!(t("/%zz"), None);
        assert_eq!(t("/%2"), None);
    }

    #[test]
    fn content_digest_shapes() {
        let ok = parse_content_digest(b"sha-256=:UReNGFbjprual9KP15igvYFc48XjepXAdaMrHu3oAhM=:")
            .unwrap();
        assert!(ok.sha256.is_some() && ok.sha512.is_none());
        assert_eq!(
            parse_content_digest(b"md5=:AAAA:"),
            Err(Error::DigestMissing)
        );
        assert!(matches!(
            parse_content_digest(b"sha-256=:AAAA:"),
            Err(Error::DigestMalformed(_))
        ));
        assert!(matches!(
            parse_content_digest(b"sha-256=1"),
            Err(Error::DigestMalformed(_))
        ));
    }
}
