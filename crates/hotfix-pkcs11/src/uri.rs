//! RFC 7512 `pkcs11:` URIs: which module, token and key object to use.
//!
//! Strict on purpose: an attribute this tool does not know (a typo such as `tokn=`) is
//! an error rather than silently ignored, since ignoring it could pick another key. A
//! PIN written into the URI (`pin-value`) is refused: a URI is a command-line argument,
//! and command lines are visible to every user of the machine.

use std::path::PathBuf;

use crate::Pkcs11Error;

/// The scheme prefix, compared without regard to case as RFC 3986 says.
const SCHEME: &str = "pkcs11:";

/// A parsed `pkcs11:` URI. Every field is the attribute's value, percent-decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// `token=`: the token label.
    pub token: Option<String>,
    /// `manufacturer=`: the token manufacturer.
    pub manufacturer: Option<String>,
    /// `model=`: the token model.
    pub model: Option<String>,
    /// `serial=`: the token serial number.
    pub serial: Option<String>,
    /// `slot-id=`: the slot number.
    pub slot_id: Option<u64>,
    /// `object=`: the key's label (CKA_LABEL).
    pub object: Option<String>,
    /// `id=`: the key's CKA_ID bytes.
    pub id: Option<Vec<u8>>,
    /// `type=`: the object class; only `private` (or none) names a signing key.
    pub object_type: Option<String>,
    /// `?module-path=`: the PKCS#11 module (shared library) to load.
    pub module_path: Option<PathBuf>,
    /// `?pin-source=`: where to read the PIN from (`file:` URI or absolute path).
    pub pin_source: Option<String>,
}

/// True when `text` is meant as a `pkcs11:` URI rather than a file path.
pub fn is_pkcs11_uri(text: &str) -> bool {
    text.get(..SCHEME.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(SCHEME))
}

impl Pkcs11Uri {
    /// Parses a `pkcs11:` URI.
    ///
    /// ```
    /// use hotfix_pkcs11::Pkcs11Uri;
    /// let uri = Pkcs11Uri::parse(
    ///     "pkcs11:token=release;object=hotfix%20release?module-path=/usr/lib/softhsm/libsofthsm2.so",
    /// )?;
    /// assert_eq!(uri.token.as_deref(), Some("release"));
    /// assert_eq!(uri.object.as_deref(), Some("hotfix release"));
    /// # Ok::<(), hotfix_pkcs11::Pkcs11Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<Pkcs11Uri, Pkcs11Error> {
        let bad = |reason: String| Pkcs11Error::InvalidUri {
            uri: redact(text),
            reason,
        };
        if !is_pkcs11_uri(text) {
            return Err(bad("it does not start with \"pkcs11:\"".to_owned()));
        }
        let rest = &text[SCHEME.len()..];
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut uri = Pkcs11Uri::default();
        let mut seen: Vec<String> = Vec::new();
        for attr in path.split(';').filter(|a| !a.is_empty()) {
            let (name, raw) = split_attr(attr).map_err(&bad)?;
            if seen.iter().any(|s| *s == name) {
                return Err(bad(format!("the attribute {name:?} appears twice")));
            }
            seen.push(name.to_owned());
            let value = decode(raw).map_err(|r| bad(format!("{name}: {r}")))?;
            let text_value = || {
                String::from_utf8(value.clone())
                    .map_err(|_| bad(format!("{name}: the value is not UTF-8")))
            };
            match name {
                "token" => uri.token = Some(text_value()?),
                "manufacturer" => uri.manufacturer = Some(text_value()?),
                "model" => uri.model = Some(text_value()?),
                "serial" => uri.serial = Some(text_value()?),
                "object" => uri.object = Some(text_value()?),
                "id" => uri.id = Some(value),
                "type" => uri.object_type = Some(text_value()?),
                "slot-id" => {
                    let v = text_value()?;
                    uri.slot_id = Some(v.parse().map_err(|_| {
                        bad(format!("slot-id: {v:?} is not a decimal slot number"))
                    })?);
                }
                // Library and slot descriptions do not pick a key on their own; accepted so
                // URIs that tools such as p11tool print can be pasted as they are.
                "library-manufacturer"
                | "library-description"
                | "library-version"
                | "slot-manufacturer"
                | "slot-description" => {}
                other => {
                    return Err(bad(format!(
                        "unknown path attribute {other:?} (known: token, manufacturer, model, \
                         serial, slot-id, object, id, type)"
                    )));
                }
            }
        }
        let mut seen_query: Vec<String> = Vec::new();
        for attr in query.unwrap_or("").split('&').filter(|a| !a.is_empty()) {
            let (name, raw) = split_attr(attr).map_err(&bad)?;
            if name == "pin-value" {
                return Err(Pkcs11Error::PinInUri { uri: redact(text) });
            }
            if seen_query.iter().any(|s| *s == name) {
                return Err(bad(format!("the query attribute {name:?} appears twice")));
            }
            seen_query.push(name.to_owned());
            let value = decode(raw).map_err(|r| bad(format!("{name}: {r}")))?;
            let value = String::from_utf8(value)
                .map_err(|_| bad(format!("{name}: the value is not UTF-8")))?;
            match name {
                "module-path" => uri.module_path = Some(PathBuf::from(value)),
                "pin-source" => uri.pin_source = Some(value),
                "module-name" => {
                    return Err(bad(
                        "module-name is not supported: name the module's file with module-path"
                            .to_owned(),
                    ));
                }
                other => {
                    return Err(bad(format!(
                        "unknown query attribute {other:?} (known: module-path, pin-source)"
                    )));
                }
            }
        }
        if let Some(t) = &uri.object_type
            && t != "private"
        {
            return Err(bad(format!(
                "type={t} cannot sign: a signing key is type=private (or leave type out)"
            )));
        }
        Ok(uri)
    }

    /// The URI naming the same token and object, without module path or PIN source:
    /// for messages and for the comment of a public key file.
    pub fn key_text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(v) = &self.token {
            parts.push(format!("token={}", encode(v.as_bytes())));
        }
        if let Some(v) = &self.serial {
            parts.push(format!("serial={}", encode(v.as_bytes())));
        }
        if let Some(v) = &self.slot_id {
            parts.push(format!("slot-id={v}"));
        }
        if let Some(v) = &self.object {
            parts.push(format!("object={}", encode(v.as_bytes())));
        }
        if let Some(v) = &self.id {
            let hex: String = v.iter().map(|b| format!("%{b:02x}")).collect();
            parts.push(format!("id={hex}"));
        }
        format!("pkcs11:{}", parts.join(";"))
    }
}

fn split_attr(attr: &str) -> Result<(&str, &str), String> {
    match attr.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name, value)),
        _ => Err(format!("{attr:?} is not an attribute=value pair")),
    }
}

/// Percent-decodes one attribute value.
fn decode(raw: &str) -> Result<Vec<u8>, String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = raw
                .get(i + 1..i + 3)
                .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                .ok_or_else(|| format!("bad percent escape at byte {i} of {raw:?}"))?;
            out.push(u8::from_str_radix(hex, 16).map_err(|e| e.to_string())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The URI as it may be shown in an error: a `pin-value` is cut out.
fn redact(text: &str) -> String {
    match text.split_once('?') {
        Some((path, query)) => {
            let query: Vec<&str> = query
                .split('&')
                .map(|a| {
                    if a.starts_with("pin-value=") {
                        "pin-value=***"
                    } else {
                        a
                    }
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // Operators paste URIs from other tools; no text may panic the parser.
        #[test]
        fn parsing_any_text_never_panics(text in "pkcs11:[a-z%0-9=;?&/.:\\-\\PC]{0,60}") {
            let _ = Pkcs11Uri::parse(&text);
        }

        // What key_text prints names the same token and key when parsed again.
        #[test]
        fn key_text_parses_back_to_the_same_key(
            token in "\\PC{0,20}",
            object in "\\PC{1,20}",
            id in proptest::collection::vec(any::<u8>(), 0..8),
        ) {
            let uri = Pkcs11Uri {
                token: Some(token),
                object: Some(object),
                id: (!id.is_empty()).then_some(id),
                ..Pkcs11Uri::default()
            };
            prop_assert_eq!(Pkcs11Uri::parse(&uri.key_text()).expect("parses"), uri);
        }
    }

    #[test]
    fn parses_path_and_query_attributes_with_percent_escapes() {
        let uri = Pkcs11Uri::parse(
            "pkcs11:token=My%20Token;object=release;id=%01%a2;slot-id=3;type=private\
             ?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin",
        )
        .expect("parse");
        assert_eq!(uri.token.as_deref(), Some("My Token"));
        assert_eq!(uri.object.as_deref(), Some("release"));
        assert_eq!(uri.id.as_deref(), Some(&[0x01, 0xa2][..]));
        assert_eq!(uri.slot_id, Some(3));
        assert_eq!(
            uri.module_path.as_deref(),
            Some(std::path::Path::new("/usr/lib/softhsm/libsofthsm2.so"))
        );
        assert_eq!(uri.pin_source.as_deref(), Some("file:/run/pin"));
        assert_eq!(
            uri.key_text(),
            "pkcs11:token=My%20Token;slot-id=3;object=release;id=%01%a2"
        );
    }

    #[test]
    fn scheme_is_case_insensitive() {
        assert!(is_pkcs11_uri("PKCS11:token=a"));
        assert!(!is_pkcs11_uri("release.key"));
        assert!(!is_pkcs11_uri("pkcs1"));
    }

    #[test]
    fn refuses_a_pin_in_the_uri_without_echoing_it() {
        let err = Pkcs11Uri::parse("pkcs11:token=a?pin-value=123456").expect_err("pin");
        assert!(matches!(err, Pkcs11Error::PinInUri { .. }));
        assert!(!err.to_string().contains("123456"), "{err}");
    }

    #[test]
    fn refuses_unknown_duplicate_and_malformed_attributes() {
        for bad in [
            "pkcs11:tokn=a",
            "pkcs11:token=a;token=b",
            "pkcs11:token=%zz",
            "pkcs11:token",
            "pkcs11:slot-id=x",
            "pkcs11:type=public",
            "pkcs11:token=a?module-name=softhsm2",
            "pkcs11:token=a?module-path=/a&module-path=/b",
            "pkcs11:token=a?foo=bar",
            "file:token=a",
        ] {
            let err = Pkcs11Uri::parse(bad).expect_err(bad);
            assert!(
                matches!(err, Pkcs11Error::InvalidUri { .. }),
                "{bad}: {err:?}"
            );
        }
    }
}
