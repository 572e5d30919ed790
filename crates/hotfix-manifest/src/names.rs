//! The one place that decides whether a name is safe: entry names inside a package,
//! hotfix ids (which become folder and file names) and software package names.
//! Names must be safe on both Windows and POSIX, because the extracted folder is used
//! on Windows management hosts even when it was checked on Linux.
//!
//! Every reader and writer of names calls these functions; nothing else in the workspace
//! may decide on its own that a name is fine to join onto a path. The rules are strict
//! on purpose (a legitimate hotfix never needs `:` or a trailing dot): refusing a strange
//! name costs a rebuild, accepting a dangerous one can overwrite a file outside the
//! install folder.

use unicode_normalization::UnicodeNormalization;

/// Longest entry name accepted, in bytes.
pub const MAX_NAME_BYTES: usize = 1024;
/// Longest single path component accepted, in bytes (NTFS and ext4 both stop at 255).
pub const MAX_COMPONENT_BYTES: usize = 255;
/// Longest hotfix id, in bytes.
pub const MAX_HOTFIX_ID_BYTES: usize = 64;
/// Longest software package name, in bytes.
pub const MAX_SOFTWARE_PACKAGE_NAME_BYTES: usize = 128;

/// Names longer than this many bytes are shortened in messages ([`shorten`]).
pub const MAX_SHOWN_NAME_BYTES: usize = 200;

/// `name` for an error message: itself when short, else its first bytes (cut at a
/// character boundary), an ellipsis and the total length, so a hostile 64 KiB name
/// cannot flood a terminal or a log.
///
/// ```
/// use hotfix_manifest::names::shorten;
/// assert_eq!(shorten("docs/a.txt"), "docs/a.txt");
/// let long = "x".repeat(65_535);
/// assert_eq!(shorten(&long), format!("{}… (65535 bytes)", "x".repeat(160)));
/// ```
pub fn shorten(name: &str) -> std::borrow::Cow<'_, str> {
    if name.len() <= MAX_SHOWN_NAME_BYTES {
        return std::borrow::Cow::Borrowed(name);
    }
    let mut end = 160;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Owned(format!("{}… ({} bytes)", &name[..end], name.len()))
}

/// One naming rule. [`NameRule::id`] is a stable identifier for reports and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NameRule {
    /// A component longer than [`MAX_COMPONENT_BYTES`].
    ComponentTooLong,
    /// Starts with `/`.
    Absolute,
    /// Starts with `\\` or `//` (a Windows UNC path).
    Unc,
    /// Starts with a drive letter such as `C:`.
    DriveLetter,
    /// Contains `\`, a path separator on Windows.
    Backslash,
    /// Contains `:` (NTFS alternate data streams, drive-relative paths).
    Colon,
    /// A `..` component.
    Traversal,
    /// A `.` component.
    DotComponent,
    /// An empty component (`a//b`, trailing `/`).
    EmptyComponent,
    /// A component ending in `.` or space (Windows strips them, so two names collide).
    TrailingDotOrSpace,
    /// A control character (C0, DEL or C1).
    ControlChar,
    /// One of `<>"|?*`.
    ForbiddenChar,
    /// A Windows device name (`CON`, `nul.txt`, `COM1`, `LPT²`, `CONIN$`...).
    ReservedName,
    /// Not in Unicode Normalization Form C.
    NotNfc,
    /// A character outside the set allowed for ids and package names.
    Charset,
    /// More than one component where exactly one is allowed.
    NotOneComponent,
    /// Safe as written, but Windows may turn it into an unsafe name: after Unicode
    /// compatibility folding (NFKC, e.g. full-width `．．` becomes `..`) or a "best-fit"
    /// conversion to a legacy code page (e.g. `∕` becomes `/`, `¥` becomes `\`).
    WindowsLookalike,
    /// A component that looks like an NTFS 8.3 short-name alias (`~` then a digit in
    /// the base name, `ABCDEF~1.TXT`): it can name another file of the same folder.
    ShortNameAlias,
    /// The name is empty.
    Empty,
    /// The whole name is longer than [`MAX_NAME_BYTES`].
    TooLong,
}

impl NameRule {
    /// Every rule, for docs and tests.
    pub const ALL: [NameRule; 20] = [
        NameRule::Empty,
        NameRule::TooLong,
        NameRule::ComponentTooLong,
        NameRule::Absolute,
        NameRule::Unc,
        NameRule::DriveLetter,
        NameRule::Backslash,
        NameRule::Colon,
        NameRule::Traversal,
        NameRule::DotComponent,
        NameRule::EmptyComponent,
        NameRule::TrailingDotOrSpace,
        NameRule::ControlChar,
        NameRule::ForbiddenChar,
        NameRule::ReservedName,
        NameRule::NotNfc,
        NameRule::Charset,
        NameRule::NotOneComponent,
        NameRule::WindowsLookalike,
        NameRule::ShortNameAlias,
    ];

    /// Stable identifier, e.g. `name-traversal`.
    pub fn id(self) -> &'static str {
        match self {
            NameRule::ComponentTooLong => "name-component-too-long",
            NameRule::Absolute => "name-absolute",
            NameRule::Unc => "name-unc",
            NameRule::DriveLetter => "name-drive-letter",
            NameRule::Backslash => "name-backslash",
            NameRule::Colon => "name-colon",
            NameRule::Traversal => "name-traversal",
            NameRule::DotComponent => "name-dot-component",
            NameRule::EmptyComponent => "name-empty-component",
            NameRule::TrailingDotOrSpace => "name-trailing-dot-or-space",
            NameRule::ControlChar => "name-control-char",
            NameRule::ForbiddenChar => "name-forbidden-char",
            NameRule::ReservedName => "name-reserved-device",
            NameRule::NotNfc => "name-not-nfc",
            NameRule::Charset => "name-charset",
            NameRule::NotOneComponent => "name-not-one-component",
            NameRule::WindowsLookalike => "name-windows-lookalike",
            NameRule::ShortNameAlias => "name-short-name-alias",
            NameRule::Empty => "name-empty",
            NameRule::TooLong => "name-too-long",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            NameRule::ComponentTooLong => "path component is longer than 255 bytes",
            NameRule::Absolute => "absolute path",
            NameRule::Unc => "UNC path (\\\\server\\share)",
            NameRule::DriveLetter => "drive letter",
            NameRule::Backslash => "backslash (a path separator on Windows)",
            NameRule::Colon => "':' (NTFS stream or drive-relative path)",
            NameRule::Traversal => "'..' component (path traversal)",
            NameRule::DotComponent => "'.' component",
            NameRule::EmptyComponent => "empty path component",
            NameRule::TrailingDotOrSpace => "component ends with a dot or a space",
            NameRule::ControlChar => "control character",
            NameRule::ForbiddenChar => "one of < > \" | ? * (not allowed on Windows)",
            NameRule::ReservedName => "reserved Windows device name",
            NameRule::NotNfc => "not in Unicode Normalization Form C",
            NameRule::Charset => {
                "character outside [A-Za-z0-9._-] or not starting with a letter or digit"
            }
            NameRule::NotOneComponent => "must be a single path component",
            NameRule::WindowsLookalike => {
                "becomes an unsafe name on Windows after Unicode compatibility folding or best-fit code-page conversion"
            }
            NameRule::ShortNameAlias => {
                "looks like an NTFS 8.3 short name ('~' and a digit in the base name) and can collide with another file"
            }
            NameRule::Empty => "empty name",
            NameRule::TooLong => "name is too long",
        }
    }
}

impl std::fmt::Display for NameRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    #[error("name is empty")]
    Empty,
    #[error("name is longer than {max} bytes")]
    TooLong { max: usize },
    /// `component` (or the whole name, for whole-name rules) breaks `rule`.
    #[error("{}: {:?}", rule.describe(), shorten(component))]
    Refused { rule: NameRule, component: String },
}

impl NameError {
    /// The rule the name breaks.
    pub fn rule(&self) -> NameRule {
        match self {
            NameError::Empty => NameRule::Empty,
            NameError::TooLong { .. } => NameRule::TooLong,
            NameError::Refused { rule, .. } => *rule,
        }
    }

    /// Stable rule identifier, e.g. `name-traversal`, `name-empty`, `name-too-long`.
    pub fn rule_id(&self) -> &'static str {
        self.rule().id()
    }

    fn refused(rule: NameRule, component: &str) -> NameError {
        NameError::Refused {
            rule,
            component: component.to_owned(),
        }
    }
}

/// Checks an archive entry name (`/`-separated, relative): the result may be joined
/// onto a folder on Windows or POSIX and stays inside it, and no two accepted names
/// that differ only in ways a file system ignores are both accepted by
/// [`collision_key`]-aware callers.
///
/// ```
/// use hotfix_manifest::names::validate_entry_name;
/// assert!(validate_entry_name("server/ChatServer/bin/chat.dll").is_ok());
/// let err = validate_entry_name("server/../../etc/passwd").unwrap_err();
/// assert_eq!(err.rule_id(), "name-traversal");
/// ```
pub fn validate_entry_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(NameError::TooLong {
            max: MAX_NAME_BYTES,
        });
    }
    // Whole-name shapes first, so the message names the real intent.
    if name.starts_with("\\\\") || name.starts_with("//") {
        return Err(NameError::refused(NameRule::Unc, name));
    }
    if name.starts_with('/') {
        return Err(NameError::refused(NameRule::Absolute, name));
    }
    let bytes = name.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err(NameError::refused(NameRule::DriveLetter, name));
    }
    for component in name.split('/') {
        check_component(component)?;
    }
    if !unicode_normalization::is_nfc(name) {
        return Err(NameError::refused(NameRule::NotNfc, name));
    }
    Ok(())
}

/// Checks one path component against every rule that applies to components.
fn check_component(c: &str) -> Result<(), NameError> {
    if c.len() > MAX_COMPONENT_BYTES {
        return Err(NameError::refused(NameRule::ComponentTooLong, c));
    }
    if let Some(rule) = component_rule(c) {
        return Err(NameError::refused(rule, c));
    }
    // What Windows may make of it: every piece of the folded form must pass the same
    // rules (the fold can also produce a separator, so it is split again).
    let view = windows_view(c);
    if view.split('/').any(|piece| component_rule(piece).is_some()) {
        return Err(NameError::refused(NameRule::WindowsLookalike, c));
    }
    if view.split('/').any(looks_like_short_name) {
        return Err(NameError::refused(NameRule::ShortNameAlias, c));
    }
    Ok(())
}

/// The first component rule `c` breaks (length aside), if any.
fn component_rule(c: &str) -> Option<NameRule> {
    match c {
        "" => return Some(NameRule::EmptyComponent),
        "." => return Some(NameRule::DotComponent),
        ".." => return Some(NameRule::Traversal),
        _ => {}
    }
    for ch in c.chars() {
        let rule = match ch {
            '\\' => NameRule::Backslash,
            ':' => NameRule::Colon,
            '<' | '>' | '"' | '|' | '?' | '*' => NameRule::ForbiddenChar,
            c if c.is_control() => NameRule::ControlChar,
            _ => continue,
        };
        return Some(rule);
    }
    if c.ends_with('.') || c.ends_with(' ') {
        return Some(NameRule::TrailingDotOrSpace);
    }
    if is_reserved_device_name(c) {
        return Some(NameRule::ReservedName);
    }
    None
}

/// `c` as Windows may see it: compatibility-normalized (NFKC), then each character that
/// a Windows "best-fit" code-page conversion turns into ASCII punctuation replaced by
/// that character. ASCII is its own view.
///
/// The best-fit list covers the characters NFKC leaves alone that the Windows best-fit
/// tables (cp1252, cp932, cp936, cp949, cp950 and the OEM pages) map onto a character
/// the name rules care about: `/ \ : . < > " | ? * ~` and space. It errs on the side
/// of refusing: a legitimate payload name never needs any of them.
fn windows_view(c: &str) -> std::borrow::Cow<'_, str> {
    if c.is_ascii() {
        return std::borrow::Cow::Borrowed(c);
    }
    std::borrow::Cow::Owned(c.nfkc().filter_map(best_fit).collect())
}

/// The ASCII character a best-fit conversion gives for `ch`, `ch` itself, or `None` for
/// the invisible characters conversions drop (so `CON` + zero-width space is `CON`).
fn best_fit(ch: char) -> Option<char> {
    Some(match ch {
        '\u{2215}' | '\u{2044}' | '\u{29f8}' => '/',
        '\u{a5}' | '\u{20a9}' | '\u{2216}' | '\u{29f5}' | '\u{29f9}' => '\\',
        '\u{2236}' | '\u{589}' | '\u{a789}' | '\u{2d0}' | '\u{2d1}' => ':',
        '\u{2024}' | '\u{2027}' => '.',
        '\u{201c}' | '\u{201d}' | '\u{201e}' | '\u{201f}' | '\u{2ba}' | '\u{2dd}' | '\u{2ee}'
        | '\u{3003}' | '\u{301d}' | '\u{301e}' => '"',
        '\u{2039}' | '\u{2c2}' | '\u{2329}' | '\u{3008}' => '<',
        '\u{203a}' | '\u{2c3}' | '\u{232a}' | '\u{3009}' => '>',
        '\u{1c0}' | '\u{2223}' | '\u{a6}' => '|',
        '\u{2217}' | '\u{204e}' | '\u{2731}' => '*',
        '\u{294}' | '\u{2e2e}' => '?',
        '\u{2dc}' | '\u{223c}' | '\u{301c}' | '\u{2053}' => '~',
        '\u{ad}' | '\u{180e}' | '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}' => {
            return None;
        }
        _ => ch,
    })
}

/// True when `c` could be (or be mistaken for) an 8.3 short-name alias: its base name
/// (the part before the last dot, or all of it) holds `~` followed by a digit, as in
/// `ABCDEF~1.TXT` or `AB12~123`. NTFS gives long names such aliases; a payload file
/// named like one can collide with the alias of another file in the same folder
/// (`abcdefghij.txt` beside `abcdef~1.txt`), and which one a program opens depends on
/// the order they were created in.
fn looks_like_short_name(c: &str) -> bool {
    let base = match c.rfind('.') {
        Some(at) if at > 0 => &c[..at],
        _ => c,
    };
    base.as_bytes()
        .windows(2)
        .any(|w| w[0] == b'~' && w[1].is_ascii_digit())
}

/// True for Windows device names, in any case, with or without an extension
/// (`con`, `NUL.txt`, `com1.tar.gz`, `LPT¹`, `CONIN$`). Windows looks at the part before
/// the first dot with trailing spaces removed, so `CON .txt` is a device too.
pub fn is_reserved_device_name(component: &str) -> bool {
    let stem = component.split('.').next().unwrap_or(component);
    let stem = stem.trim_end_matches(' ').to_ascii_uppercase();
    match stem.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" | "CLOCK$" => true,
        _ => {
            let rest = stem
                .strip_prefix("COM")
                .or_else(|| stem.strip_prefix("LPT"));
            match rest {
                Some(d) => {
                    let mut it = d.chars();
                    matches!(
                        (it.next(), it.next()),
                        (Some('0'..='9' | '\u{b9}' | '\u{b2}' | '\u{b3}'), None)
                    )
                }
                None => false,
            }
        }
    }
}

/// Checks `s` against `[A-Za-z0-9][A-Za-z0-9._-]{0,max-1}`.
fn check_simple_name(s: &str, max: usize) -> Result<(), NameError> {
    if s.is_empty() {
        return Err(NameError::Empty);
    }
    if s.len() > max {
        return Err(NameError::TooLong { max });
    }
    if s.contains('/') || s.contains('\\') {
        return Err(NameError::refused(NameRule::NotOneComponent, s));
    }
    let mut bytes = s.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric());
    let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !first_ok || !rest_ok {
        return Err(NameError::refused(NameRule::Charset, s));
    }
    if s.ends_with('.') {
        return Err(NameError::refused(NameRule::TrailingDotOrSpace, s));
    }
    if is_reserved_device_name(s) {
        return Err(NameError::refused(NameRule::ReservedName, s));
    }
    Ok(())
}

/// Checks a hotfix id: `[A-Za-z0-9][A-Za-z0-9._-]*`, at most 64 bytes, no trailing dot,
/// not a Windows device name. The id becomes a folder and a file name.
///
/// ```
/// use hotfix_manifest::names::validate_hotfix_id;
/// assert!(validate_hotfix_id("HF-7.0.3-0042").is_ok());
/// assert!(validate_hotfix_id("../HF").is_err());
/// ```
pub fn validate_hotfix_id(id: &str) -> Result<(), NameError> {
    check_simple_name(id, MAX_HOTFIX_ID_BYTES)
}

/// Checks a software package name (one safe path component):
/// `[A-Za-z0-9][A-Za-z0-9._-]*`, at most 128 bytes, no trailing dot, not a device name.
pub fn validate_software_package_name(name: &str) -> Result<(), NameError> {
    check_simple_name(name, MAX_SOFTWARE_PACKAGE_NAME_BYTES)
}

/// A key under which two names that a case-insensitive or normalizing file system
/// (NTFS, APFS, ext4 with casefold) would treat as the same file are equal:
/// compatibility-normalized (NFKC) and case-folded. Callers put every name of a set
/// (and every folder prefix of those names) through it and refuse duplicates.
///
/// ```
/// use hotfix_manifest::names::collision_key;
/// assert_eq!(collision_key("Docs/Readme.TXT"), collision_key("docs/README.txt"));
/// assert_eq!(collision_key("caf\u{e9}"), collision_key("cafe\u{301}"));
/// ```
pub fn collision_key(name: &str) -> String {
    // ASCII is its own NFKC form and folds by ASCII lower-casing alone; nearly every
    // payload path is ASCII, and this keeps a 20,000-file manifest off the Unicode tables.
    if name.is_ascii() {
        return name.to_ascii_lowercase();
    }
    // Upper then lower folds both directions of the simple mappings NTFS uses (its upcase
    // table) and the ones `to_lowercase` alone misses; NFKC before and after makes
    // compatibility forms (ligatures, full-width letters, the Kelvin sign) meet.
    let nfkc: String = name.nfkc().collect();
    let folded = nfkc.to_uppercase().to_lowercase();
    folded.nfkc().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str) -> &'static str {
        match validate_entry_name(name) {
            Ok(()) => "ok",
            Err(e) => e.rule_id(),
        }
    }

    #[test]
    fn accepts_ordinary_payload_names() {
        for n in [
            "hotfix.xml",
            "signatures/0123456789ABCDEF.minisig",
            "server/ChatServer/bin/chat.dll",
            "client/Agent Desktop.msi",
            "docs/release-notes_7.0.txt",
            "docs/caf\u{e9}.txt",
            "server/P/CONSOLE.txt",
            "server/P/com10",
            "server/P/.hidden",
            "server/P/a..b",
            "server/P/abcdefghij.txt",
            "server/P/my~file.txt",
            "server/P/a~.txt",
            "server/P/notes.txt~1",
            "docs/\u{65e5}\u{672c}\u{8a9e}.txt",
            "docs/\u{ff21}\u{ff22}.txt",
        ] {
            assert_eq!(rule(n), "ok", "{n}");
        }
    }

    #[test]
    fn refuses_each_unsafe_shape_with_its_rule() {
        let cases = [
            ("", "name-empty"),
            ("/etc/passwd", "name-absolute"),
            ("//srv/share/x", "name-unc"),
            ("\\\\srv\\share\\x", "name-unc"),
            ("C:x", "name-drive-letter"),
            ("c:/windows/x", "name-drive-letter"),
            ("server\\x", "name-backslash"),
            ("server/x.txt:evil", "name-colon"),
            ("server/x::$DATA", "name-colon"),
            ("../x", "name-traversal"),
            ("server/../../x", "name-traversal"),
            ("server/./x", "name-dot-component"),
            ("server//x", "name-empty-component"),
            ("server/x/", "name-empty-component"),
            ("server/x.", "name-trailing-dot-or-space"),
            ("server/x ", "name-trailing-dot-or-space"),
            ("server/dir./x", "name-trailing-dot-or-space"),
            ("server/a\u{1}b", "name-control-char"),
            ("server/a\nb", "name-control-char"),
            ("server/a\u{7f}b", "name-control-char"),
            ("server/a\u{85}b", "name-control-char"),
            ("server/a<b", "name-forbidden-char"),
            ("server/a|b", "name-forbidden-char"),
            ("server/a?b", "name-forbidden-char"),
            ("server/a*b", "name-forbidden-char"),
            ("server/a\"b", "name-forbidden-char"),
            ("server/P/CON.txt", "name-reserved-device"),
            ("server/P/con", "name-reserved-device"),
            ("server/P/Nul.tar.gz", "name-reserved-device"),
            ("server/P/aux/x", "name-reserved-device"),
            ("server/P/COM1", "name-reserved-device"),
            ("server/P/lpt9.log", "name-reserved-device"),
            ("server/P/COM0", "name-reserved-device"),
            ("server/P/COM\u{b9}", "name-reserved-device"),
            ("server/P/lpt\u{b3}.txt", "name-reserved-device"),
            ("server/P/CONIN$", "name-reserved-device"),
            ("server/P/conout$.x", "name-reserved-device"),
            ("server/P/CON .txt", "name-reserved-device"),
            ("docs/cafe\u{301}.txt", "name-not-nfc"),
            // Safe on POSIX, not once Windows folds them (NFKC or best-fit).
            ("server/P/\u{ff0e}\u{ff0e}/x", "name-windows-lookalike"),
            ("server/P/a\u{ff3c}..\u{ff3c}x", "name-windows-lookalike"),
            ("server/P/a\u{ff1a}b", "name-windows-lookalike"),
            (
                "server/P/\u{ff23}\u{ff2f}\u{ff2e}",
                "name-windows-lookalike",
            ),
            (
                "server/P/\u{ff23}\u{ff2f}\u{ff2e}.txt",
                "name-windows-lookalike",
            ),
            ("server/P/a\u{ff0e}", "name-windows-lookalike"),
            ("server/P/a\u{2024}", "name-windows-lookalike"),
            ("server/P/a\u{3000}", "name-windows-lookalike"),
            ("server/P/a\u{2215}..\u{2215}x", "name-windows-lookalike"),
            ("server/P/a\u{a5}b", "name-windows-lookalike"),
            ("server/P/a\u{2236}b", "name-windows-lookalike"),
            ("server/P/a\u{201c}b", "name-windows-lookalike"),
            ("server/P/CON\u{200b}", "name-windows-lookalike"),
            (
                "server/P/\u{ff21}\u{ff35}\u{ff38}",
                "name-windows-lookalike",
            ),
            // 8.3 short-name lookalikes, also when folding makes them.
            ("server/P/abcdef~1.txt", "name-short-name-alias"),
            ("server/P/ABCDEF~1.TXT", "name-short-name-alias"),
            ("server/P/AB12~123", "name-short-name-alias"),
            ("server/P/x~1.tar.gz", "name-short-name-alias"),
            ("server/P~1/x", "name-short-name-alias"),
            (
                "server/P/abcdef\u{ff5e}\u{ff11}.txt",
                "name-short-name-alias",
            ),
        ];
        for (name, want) in cases {
            assert_eq!(rule(name), want, "{name:?}");
        }
    }

    #[test]
    fn refuses_overlong_names_and_components() {
        let long_component = format!("server/{}", "a".repeat(256));
        assert_eq!(rule(&long_component), "name-component-too-long");
        let ok_component = format!("server/{}", "a".repeat(255));
        assert_eq!(rule(&ok_component), "ok");
        let long_name = vec!["abcdefghi"; 103].join("/");
        assert!(long_name.len() > MAX_NAME_BYTES);
        assert_eq!(rule(&long_name), "name-too-long");
    }

    #[test]
    fn error_message_names_rule_and_component() {
        let e = validate_entry_name("server/P/CON.txt").expect_err("reserved");
        let msg = e.to_string();
        assert!(msg.contains("reserved Windows device name"), "{msg}");
        assert!(msg.contains("CON.txt"), "{msg}");
    }

    #[test]
    fn long_names_are_shortened_in_messages() {
        let long = format!("server/P/{}", "\u{e9}".repeat(300));
        let e = validate_entry_name(&format!("{long}/x")).expect_err("component too long");
        let msg = e.to_string();
        assert!(msg.len() < 400, "{} bytes: {msg}", msg.len());
        assert!(msg.contains("… (600 bytes)"), "{msg}");
        assert_eq!(shorten("short"), "short");
    }

    #[test]
    fn hotfix_ids() {
        let x64 = "x".repeat(64);
        let x65 = "x".repeat(65);
        for ok in ["HF-7.0.3-0042", "a", "0", "A_b.c-d", &x64] {
            assert!(validate_hotfix_id(ok).is_ok(), "{ok}");
        }
        let bad = [
            ("", "name-empty"),
            (&*x65, "name-too-long"),
            ("-HF", "name-charset"),
            (".HF", "name-charset"),
            ("HF 1", "name-charset"),
            ("HF/1", "name-not-one-component"),
            ("..", "name-charset"),
            ("HF.", "name-trailing-dot-or-space"),
            ("CON", "name-reserved-device"),
            ("nul.1", "name-reserved-device"),
            ("HF\u{e9}", "name-charset"),
        ];
        for (id, want) in bad {
            assert_eq!(
                validate_hotfix_id(id).map_err(|e| e.rule_id()),
                Err(want),
                "{id:?}"
            );
        }
    }

    #[test]
    fn software_package_names() {
        assert!(validate_software_package_name("ChatServer").is_ok());
        assert!(validate_software_package_name(&"x".repeat(128)).is_ok());
        assert!(validate_software_package_name(&"x".repeat(129)).is_err());
        assert!(validate_software_package_name("a/b").is_err());
        assert!(validate_software_package_name("..").is_err());
        assert!(validate_software_package_name("LPT1").is_err());
    }

    #[test]
    fn collision_keys_fold_case_and_normalization() {
        assert_eq!(collision_key("A/B.txt"), collision_key("a/b.TXT"));
        assert_eq!(collision_key("caf\u{e9}"), collision_key("cafe\u{301}"));
        // Full-width letters and the Kelvin sign meet their plain forms.
        assert_eq!(collision_key("\u{ff21}"), collision_key("a"));
        assert_eq!(collision_key("\u{212a}"), collision_key("k"));
        assert_ne!(collision_key("a/b"), collision_key("a/c"));
        // The ASCII fast path agrees with the full fold.
        for c in (0u8..0x80).map(char::from) {
            let s = format!("x{c}Y");
            let full: String = s.nfkc().collect::<String>().to_uppercase().to_lowercase();
            let full: String = full.nfkc().collect();
            assert_eq!(collision_key(&s), full, "{c:?}");
        }
    }

    mod escape {
        use super::super::*;
        use proptest::prelude::*;

        /// Where `name` ends up relative to a base folder under POSIX rules: `None`
        /// when it leaves the folder (absolute or climbs above it).
        fn posix_depth_ok(name: &str) -> bool {
            if name.starts_with('/') {
                return false;
            }
            let mut depth: i64 = 0;
            for c in name.split('/') {
                match c {
                    "" | "." => {}
                    ".." => depth -= 1,
                    _ => depth += 1,
                }
                if depth < 0 {
                    return false;
                }
            }
            true
        }

        /// What Windows may turn `name` into: compatibility folding (NFKC), then the
        /// best-fit conversions of the lookalike pieces below. Written independently of
        /// the validator's own table, for the characters this test generates.
        fn windows_fold(name: &str) -> String {
            name.nfkc()
                .filter(|c| *c != '\u{200b}')
                .map(|c| match c {
                    '\u{2215}' => '/',
                    '\u{a5}' => '\\',
                    '\u{2236}' => ':',
                    c => c,
                })
                .collect()
        }

        /// The same under Windows rules, after folding: both separators, drive and UNC
        /// prefixes, `:` streams, trailing dots and spaces stripped (so `.. ` is `..`),
        /// device names.
        fn windows_stays_inside(name: &str) -> bool {
            let name = windows_fold(name);
            let name = name.as_str();
            if name.starts_with(['/', '\\']) || name.contains(':') {
                return false;
            }
            let mut depth: i64 = 0;
            for c in name.split(['/', '\\']) {
                let stripped = c.trim_end_matches(['.', ' ']);
                if is_reserved_device_name(c) {
                    return false;
                }
                match (c, stripped) {
                    ("", _) | (".", _) => {}
                    (_, "") if c.starts_with("..") => depth -= 1,
                    ("..", _) => depth -= 1,
                    _ => depth += 1,
                }
                if depth < 0 {
                    return false;
                }
            }
            true
        }

        fn piece() -> impl Strategy<Value = &'static str> {
            prop::sample::select(vec![
                "a",
                "B",
                ".",
                "..",
                "/",
                "\\",
                ":",
                " ",
                "C",
                "c:",
                "CON",
                "nul",
                "\u{b9}",
                "COM",
                "\u{0}",
                "\u{1f}",
                "e\u{301}",
                "\u{e9}",
                "?",
                "*",
                "$",
                "x.txt",
                "..\\",
                "../",
                "//",
                ". ",
                ".. ",
                "LPT",
                "1",
                "\u{ff0e}",
                "\u{ff3c}",
                "\u{ff1a}",
                "\u{ff23}\u{ff2f}\u{ff2e}",
                "\u{2215}",
                "\u{a5}",
                "\u{2236}",
                "\u{3000}",
                "\u{200b}",
                "~",
                "\u{ff5e}",
                "\u{ff11}",
                "abcdef",
                ".txt",
            ])
        }

        /// Whether a component of the folded name could be an NTFS 8.3 alias of another
        /// file: `~` and a digit before its last dot.
        fn has_short_name_alias(name: &str) -> bool {
            windows_fold(name).split(['/', '\\']).any(|c| {
                let base = c
                    .rsplit_once('.')
                    .map_or(c, |(b, _)| if b.is_empty() { c } else { b });
                base.contains("~0") || (1..=9).any(|d| base.contains(&format!("~{d}")))
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

            #[test]
            fn accepted_names_never_escape_on_posix_or_windows(
                parts in prop::collection::vec(piece(), 1..8)
            ) {
                let name: String = parts.concat();
                if validate_entry_name(&name).is_ok() {
                    prop_assert!(posix_depth_ok(&name), "escapes on POSIX: {name:?}");
                    prop_assert!(windows_stays_inside(&name), "escapes on Windows: {name:?}");
                    prop_assert!(!has_short_name_alias(&name), "8.3 lookalike: {name:?}");
                    let path = std::path::Path::new(&name);
                    prop_assert!(
                        path.components().all(|c| matches!(c, std::path::Component::Normal(_))),
                        "non-normal component on this platform: {name:?}"
                    );
                    prop_assert_eq!(name.nfc().collect::<String>(), name.clone());
                }
            }

            #[test]
            fn accepted_ids_are_single_safe_components(
                parts in prop::collection::vec(piece(), 1..6)
            ) {
                let id: String = parts.concat();
                if validate_hotfix_id(&id).is_ok() {
                    prop_assert!(validate_entry_name(&id).is_ok(), "{id:?}");
                    prop_assert!(!id.contains(['/', '\\']));
                }
            }
        }
    }
}
