//! Pass 2 of reading: the schema of format v1. Builds the [`Manifest`] element by
//! element, in the order the format fixes, and checks every attribute and value, the
//! list orders and the duplicate rules.
//!
//! Runs only on text the lexical pass accepted, so it relies on the bounds being
//! enforced already. It must never accept an element, attribute or value format v1 does
//! not describe (a newer format gets its own error), and never build a model that
//! [`Manifest::to_xml`] would write differently.

use std::collections::HashMap;

use quick_xml::XmlVersion;
use quick_xml::escape::resolve_xml_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::error::{ManifestError, ManifestErrorKind};
use super::paths::PathClaims;
use super::position::LineCursor;
use super::rules;
use super::syntax::{is_xml_space, new_reader, resolve_ref, syntax_error};
use crate::names::{self, NameError};
use crate::{Base, FORMAT_VERSION, FileEntry, Manifest, MsiComponent, SoftwarePackage};

/// Where each kind of child of `<hotfix>` may appear, in order.
const HOTFIX_CHILDREN: &[(&str, bool)] = &[
    // (name, may repeat)
    ("title", false),
    ("description", false),
    ("base", false),
    ("created", false),
    ("supersedes", false),
    ("requires", false),
    ("software-package", true),
    ("msi", true),
    ("doc", true),
];

/// An element as the schema pass sees it.
enum Node<'a> {
    Open(BytesStart<'a>, u64),
    Empty(BytesStart<'a>, u64),
    Close,
}

/// Attribute values of one element, looked up by the names the schema allows.
struct Attrs {
    element: &'static str,
    offset: u64,
    values: Vec<(&'static str, String)>,
}

/// Pass 2: the schema, every value rule, and the cross-entry rules.
pub(super) struct SchemaReader<'a> {
    text: &'a str,
    r: Reader<&'a [u8]>,
    paths: PathClaims,
    lines: LineCursor,
}

impl<'a> SchemaReader<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        SchemaReader {
            text,
            r: new_reader(text),
            paths: PathClaims::default(),
            lines: LineCursor::default(),
        }
    }

    /// An error of `kind` at byte `offset` of the text.
    fn error(&self, offset: u64, kind: ManifestErrorKind) -> ManifestError {
        let (line, column) = self.at(offset);
        ManifestError::at(line, column, kind)
    }

    fn at(&self, offset: u64) -> (u64, u64) {
        self.lines.at(self.text, offset)
    }

    fn line(&self, offset: u64) -> u64 {
        self.at(offset).0
    }

    /// Next element event, skipping comments, the declaration and whitespace.
    fn next_node(&mut self, parent: &str) -> Result<Option<Node<'a>>, ManifestError> {
        loop {
            let start = self.r.buffer_position();
            let event = self
                .r
                .read_event()
                .map_err(|e| syntax_error(self.text, self.r.error_position(), &e))?;
            match event {
                Event::Start(e) => return Ok(Some(Node::Open(e, start))),
                Event::Empty(e) => return Ok(Some(Node::Empty(e, start))),
                Event::End(_) => return Ok(Some(Node::Close)),
                Event::Eof => return Ok(None),
                Event::Text(t) if is_xml_space(&t) => {}
                Event::Comment(_) | Event::Decl(_) => {}
                Event::Text(_) | Event::GeneralRef(_) | Event::CData(_) => {
                    return Err(self.error(
                        start,
                        ManifestErrorKind::UnexpectedText {
                            element: parent.to_string(),
                        },
                    ));
                }
                Event::DocType(_) | Event::PI(_) => {
                    // Refused by the lexical pass already.
                    return Err(self.error(
                        start,
                        ManifestErrorKind::Forbidden {
                            construct: "a DOCTYPE declaration or processing instruction",
                        },
                    ));
                }
            }
        }
    }

    /// After an element opened with a start tag that must have no children.
    fn expect_close(&mut self, element: &str) -> Result<(), ManifestError> {
        match self.next_node(element)? {
            Some(Node::Close) | None => Ok(()),
            Some(Node::Open(e, off)) | Some(Node::Empty(e, off)) => {
                Err(self.unknown_element(&e, off, element))
            }
        }
    }

    fn unknown_element(&self, e: &BytesStart<'_>, off: u64, parent: &str) -> ManifestError {
        self.error(
            off,
            ManifestErrorKind::UnknownElement {
                element: e.name().as_ref().to_string(),
                parent: format!("<{parent}>"),
            },
        )
    }

    /// Reads the attributes of `e`, refusing unknown and repeated ones.
    fn attrs(
        &self,
        e: &BytesStart<'_>,
        element: &'static str,
        allowed: &[&'static str],
        offset: u64,
    ) -> Result<Attrs, ManifestError> {
        let (line, column) = self.at(offset);
        let mut values: Vec<(&'static str, String)> = Vec::with_capacity(allowed.len());
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        // Unknown attributes are reported after `format`, so a newer format's new
        // attributes produce the clearer "newer format" message instead.
        let mut unknown: Option<String> = None;
        // quick-xml's own repeat check reports only positions; ours names the attribute.
        for a in e.attributes().with_checks(false) {
            let a = a.map_err(|err| {
                ManifestError::at(
                    line,
                    column,
                    ManifestErrorKind::Syntax {
                        message: format!("in <{element}>: {err}"),
                    },
                )
            })?;
            let key = a.key.as_ref();
            if !seen.insert(key.to_string()) {
                return Err(ManifestError::at(
                    line,
                    column,
                    ManifestErrorKind::DuplicateAttribute {
                        element: element.into(),
                        attribute: key.into(),
                    },
                ));
            }
            let value = a
                .normalized_value_with(XmlVersion::Implicit1_0, 1, resolve_xml_entity)
                .map_err(|err| match err {
                    quick_xml::Error::Escape(
                        quick_xml::escape::EscapeError::UnrecognizedEntity(_, name),
                    ) => ManifestError::at(line, column, ManifestErrorKind::UnknownEntity { name }),
                    err => ManifestError::at(
                        line,
                        column,
                        ManifestErrorKind::Syntax {
                            message: format!("attribute '{key}' of <{element}>: {err}"),
                        },
                    ),
                })?;
            match allowed.iter().find(|n| **n == key) {
                Some(name) => values.push((name, value.into_owned())),
                None => {
                    if unknown.is_none() {
                        unknown = Some(key.to_string());
                    }
                }
            }
        }
        let attrs = Attrs {
            element,
            offset,
            values,
        };
        if let Some(attribute) = unknown {
            // Let the root check its format first.
            if element == "hotfix"
                && let Some(v) = attrs.get("format")
            {
                self.check_format(v, offset)?;
            }
            return Err(ManifestError::at(
                line,
                column,
                ManifestErrorKind::UnknownAttribute {
                    element: element.into(),
                    attribute,
                },
            ));
        }
        Ok(attrs)
    }

    fn required<'b>(&self, attrs: &'b Attrs, name: &'static str) -> Result<&'b str, ManifestError> {
        attrs.get(name).ok_or_else(|| {
            self.error(
                attrs.offset,
                ManifestErrorKind::MissingAttribute {
                    element: attrs.element.into(),
                    attribute: name.into(),
                },
            )
        })
    }

    fn invalid(
        &self,
        offset: u64,
        element: &str,
        attribute: &str,
        reason: String,
    ) -> ManifestError {
        self.error(
            offset,
            ManifestErrorKind::InvalidValue {
                element: element.into(),
                attribute: attribute.into(),
                reason,
            },
        )
    }

    fn invalid_name(
        &self,
        offset: u64,
        element: &str,
        attribute: &str,
        value: &str,
        source: NameError,
    ) -> ManifestError {
        self.error(
            offset,
            ManifestErrorKind::InvalidName {
                element: element.into(),
                attribute: attribute.into(),
                value: value.into(),
                source,
            },
        )
    }

    fn check_format(&self, v: &str, offset: u64) -> Result<u32, ManifestError> {
        let format: u32 = parse_uint(v)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| {
                self.invalid(
                    offset,
                    "hotfix",
                    "format",
                    format!("'{v}' is not a format number"),
                )
            })?;
        if format > FORMAT_VERSION {
            return Err(self.error(
                offset,
                ManifestErrorKind::NewerFormat {
                    found: format,
                    supported: FORMAT_VERSION,
                },
            ));
        }
        if format == 0 {
            return Err(self.invalid(offset, "hotfix", "format", "format 0 does not exist".into()));
        }
        Ok(format)
    }

    pub(super) fn read(mut self) -> Result<Manifest, ManifestError> {
        let (root, root_off) = match self.next_node("the document")? {
            Some(Node::Open(e, off)) => (e, off),
            Some(Node::Empty(e, off)) => {
                // Same checks as an open root, then "no <title>".
                if e.name().as_ref() != "hotfix" {
                    return Err(self.unknown_element(&e, off, "document"));
                }
                let attrs = self.attrs(&e, "hotfix", &["format", "id", "version"], off)?;
                self.check_format(self.required(&attrs, "format")?, off)?;
                return Err(self.error(
                    off,
                    ManifestErrorKind::MissingElement {
                        element: "title".into(),
                        parent: "<hotfix>".into(),
                    },
                ));
            }
            _ => {
                return Err(self.error(
                    0,
                    ManifestErrorKind::MissingElement {
                        element: "hotfix".into(),
                        parent: "the document".into(),
                    },
                ));
            }
        };
        if root.name().as_ref() != "hotfix" {
            return Err(self.error(
                root_off,
                ManifestErrorKind::UnknownElement {
                    element: root.name().as_ref().to_string(),
                    parent: "the document (the root is <hotfix>)".into(),
                },
            ));
        }
        let attrs = self.attrs(&root, "hotfix", &["format", "id", "version"], root_off)?;
        let format = self.check_format(self.required(&attrs, "format")?, root_off)?;
        let id = self.required(&attrs, "id")?.to_string();
        names::validate_hotfix_id(&id)
            .map_err(|e| self.invalid_name(root_off, "hotfix", "id", &id, e))?;
        let version = self.version_number(self.required(&attrs, "version")?, root_off)?;

        let mut m = Manifest {
            format,
            id,
            version,
            title: String::new(),
            description: String::new(),
            base: Base {
                release: String::new(),
                support_package: String::new(),
            },
            created: String::new(),
            supersedes: Vec::new(),
            requires: Vec::new(),
            software_packages: Vec::new(),
            msis: Vec::new(),
            docs: Vec::new(),
        };
        let mut slot = 0usize;
        let mut seen = [false; HOTFIX_CHILDREN.len()];
        // Hotfix ids named anywhere (lower case) -> line, to refuse repeats across lists.
        let mut refs: HashMap<String, u64> = HashMap::new();
        let mut package_names: HashMap<String, u64> = HashMap::new();

        loop {
            let (e, off, open) = match self.next_node("hotfix")? {
                Some(Node::Close) | None => break,
                Some(Node::Open(e, off)) => (e, off, true),
                Some(Node::Empty(e, off)) => (e, off, false),
            };
            let name = e.name().as_ref().to_string();
            let Some(idx) = HOTFIX_CHILDREN.iter().position(|(n, _)| *n == name) else {
                return Err(self.unknown_element(&e, off, "hotfix"));
            };
            let repeats = HOTFIX_CHILDREN[idx].1;
            if idx < slot || (seen[idx] && !repeats) {
                let (line, column) = self.at(off);
                let reason = if seen[idx] && !repeats {
                    "may appear only once".to_string()
                } else {
                    format!(
                        "out of order: it must come before <{}>",
                        HOTFIX_CHILDREN[slot].0
                    )
                };
                return Err(ManifestError::at(
                    line,
                    column,
                    ManifestErrorKind::UnexpectedElement {
                        element: name,
                        parent: "<hotfix>".into(),
                        reason,
                    },
                ));
            }
            slot = idx;
            seen[idx] = true;
            match HOTFIX_CHILDREN[idx].0 {
                "title" => {
                    self.no_attrs(&e, "title", off)?;
                    let t = self.text_content(open, "title", off)?;
                    self.check_title(&t, off)?;
                    m.title = t;
                }
                "description" => {
                    self.no_attrs(&e, "description", off)?;
                    let t = self.text_content(open, "description", off)?;
                    self.check_description(&t, off)?;
                    m.description = t;
                }
                "base" => {
                    let a = self.attrs(&e, "base", &["release", "support-package"], off)?;
                    let release = self.required(&a, "release")?.to_string();
                    self.check_token(&release, "base", "release", off)?;
                    let sp = self.required(&a, "support-package")?.to_string();
                    self.check_token(&sp, "base", "support-package", off)?;
                    m.base = Base {
                        release,
                        support_package: sp,
                    };
                    if open {
                        self.expect_close("base")?;
                    }
                }
                "created" => {
                    self.no_attrs(&e, "created", off)?;
                    let t = self.text_content(open, "created", off)?;
                    if !is_rfc3339_utc(&t) {
                        return Err(self.invalid(
                            off,
                            "created",
                            "",
                            format!("'{t}' is not a UTC time like 2026-11-25T00:00:00Z"),
                        ));
                    }
                    m.created = t;
                }
                "supersedes" | "requires" => {
                    let list = HOTFIX_CHILDREN[idx].0;
                    self.no_attrs(&e, list, off)?;
                    let ids = if open {
                        self.id_list(list, &m.id, &mut refs)?
                    } else {
                        Vec::new()
                    };
                    if list == "supersedes" {
                        m.supersedes = ids;
                    } else {
                        m.requires = ids;
                    }
                }
                "software-package" => {
                    let p = self.software_package(&e, off, open, &mut package_names, &m)?;
                    m.software_packages.push(p);
                }
                "msi" => {
                    let msi = self.msi(&e, off, &m)?;
                    if open {
                        self.expect_close("msi")?;
                    }
                    m.msis.push(msi);
                }
                "doc" => {
                    let a = self.attrs(&e, "doc", &["path", "size", "sha256"], off)?;
                    let f = self.file_entry(&a, "doc", off)?;
                    if !f.path.starts_with("docs/") {
                        return Err(self.outside(off, "doc", &f.path, "under 'docs/'".into()));
                    }
                    self.claim_path(&f.path, off)?;
                    if let Some(prev) = m.docs.last() {
                        self.check_order(off, "doc", &f.path, &prev.path)?;
                    }
                    if open {
                        self.expect_close("doc")?;
                    }
                    m.docs.push(f);
                }
                _ => unreachable!("every listed child is handled"),
            }
        }

        for (idx, (name, _)) in HOTFIX_CHILDREN.iter().enumerate() {
            if matches!(*name, "title" | "base" | "created") && !seen[idx] {
                return Err(self.error(
                    root_off,
                    ManifestErrorKind::MissingElement {
                        element: (*name).into(),
                        parent: "<hotfix>".into(),
                    },
                ));
            }
        }
        if m.software_packages.is_empty() && m.msis.is_empty() {
            return Err(self.error(
                root_off,
                ManifestErrorKind::MissingElement {
                    element: "software-package> or <msi".into(),
                    parent: "<hotfix>".into(),
                },
            ));
        }
        // Trailing comments and whitespace only; the lexical pass refused anything else.
        Ok(m)
    }

    fn no_attrs(
        &self,
        e: &BytesStart<'_>,
        element: &'static str,
        off: u64,
    ) -> Result<(), ManifestError> {
        self.attrs(e, element, &[], off).map(|_| ())
    }

    /// Text of an element that holds only text (character references resolved).
    fn text_content(
        &mut self,
        open: bool,
        element: &str,
        off: u64,
    ) -> Result<String, ManifestError> {
        let mut out = String::new();
        if !open {
            return Ok(out);
        }
        loop {
            let start = self.r.buffer_position();
            let event = self
                .r
                .read_event()
                .map_err(|e| syntax_error(self.text, self.r.error_position(), &e))?;
            match event {
                Event::Text(t) => out.push_str(&t.xml10_content()),
                Event::GeneralRef(g) => match resolve_ref(&g) {
                    Ok(s) => out.push_str(&s),
                    Err(name) => {
                        let (line, column) = self.at(start);
                        return Err(match name {
                            Some(name) => ManifestError::at(
                                line,
                                column,
                                ManifestErrorKind::UnknownEntity { name },
                            ),
                            None => ManifestError::at(
                                line,
                                column,
                                ManifestErrorKind::Syntax {
                                    message: format!("'&{};' is not a character XML allows", &*g),
                                },
                            ),
                        });
                    }
                },
                Event::Comment(_) => {}
                Event::End(_) => return Ok(out),
                Event::Start(e) | Event::Empty(e) => {
                    return Err(self.unknown_element(&e, start, element));
                }
                Event::Eof => {
                    return Err(self.error(
                        off,
                        ManifestErrorKind::Syntax {
                            message: format!("<{element}> is not closed"),
                        },
                    ));
                }
                Event::CData(_) | Event::DocType(_) | Event::PI(_) | Event::Decl(_) => {
                    return Err(self.error(
                        start,
                        ManifestErrorKind::Forbidden {
                            construct: "markup other than elements, text and comments",
                        },
                    ));
                }
            }
        }
    }

    fn check_title(&self, t: &str, off: u64) -> Result<(), ManifestError> {
        if let Err(reason) = rules::title(t) {
            return Err(self.invalid(off, "title", "", reason));
        }
        Ok(())
    }

    fn check_description(&self, t: &str, off: u64) -> Result<(), ManifestError> {
        if let Err(reason) = rules::description(t) {
            return Err(self.invalid(off, "description", "", reason));
        }
        Ok(())
    }

    fn check_token(
        &self,
        v: &str,
        element: &str,
        attribute: &str,
        off: u64,
    ) -> Result<(), ManifestError> {
        rules::version_token(v).map_err(|reason| self.invalid(off, element, attribute, reason))
    }

    fn version_number(&self, v: &str, off: u64) -> Result<u64, ManifestError> {
        match parse_uint(v) {
            Some(0) => Err(self.invalid(off, "hotfix", "version", "versions start at 1".into())),
            Some(n) => Ok(n),
            None => Err(self.invalid(
                off,
                "hotfix",
                "version",
                format!("'{v}' is not a whole number (decimal digits, no leading zeros)"),
            )),
        }
    }

    fn id_list(
        &mut self,
        list: &'static str,
        own_id: &str,
        refs: &mut HashMap<String, u64>,
    ) -> Result<Vec<String>, ManifestError> {
        let mut ids: Vec<String> = Vec::new();
        loop {
            let (e, off, open) = match self.next_node(list)? {
                Some(Node::Close) | None => return Ok(ids),
                Some(Node::Open(e, off)) => (e, off, true),
                Some(Node::Empty(e, off)) => (e, off, false),
            };
            if e.name().as_ref() != "hotfix" {
                return Err(self.unknown_element(&e, off, list));
            }
            let a = self.attrs(&e, "hotfix", &["id"], off)?;
            let id = self.required(&a, "id")?.to_string();
            names::validate_hotfix_id(&id)
                .map_err(|err| self.invalid_name(off, "hotfix", "id", &id, err))?;
            if id.eq_ignore_ascii_case(own_id) {
                return Err(self.invalid(
                    off,
                    "hotfix",
                    "id",
                    format!("a hotfix cannot name itself in <{list}>"),
                ));
            }
            let key = id.to_ascii_lowercase();
            if let Some(&first_line) = refs.get(&key) {
                return Err(self.error(
                    off,
                    ManifestErrorKind::DuplicateName {
                        element: format!("{list}/hotfix"),
                        value: id,
                        first_line,
                    },
                ));
            }
            refs.insert(key, self.line(off));
            if let Some(prev) = ids.last() {
                self.check_order(off, "hotfix", &id, prev)?;
            }
            if open {
                self.expect_close("hotfix")?;
            }
            ids.push(id);
        }
    }

    fn software_package(
        &mut self,
        e: &BytesStart<'_>,
        off: u64,
        open: bool,
        names_seen: &mut HashMap<String, u64>,
        m: &Manifest,
    ) -> Result<SoftwarePackage, ManifestError> {
        let a = self.attrs(e, "software-package", &["name", "version"], off)?;
        let name = self.required(&a, "name")?.to_string();
        names::validate_software_package_name(&name)
            .map_err(|err| self.invalid_name(off, "software-package", "name", &name, err))?;
        let version = self.required(&a, "version")?.to_string();
        self.check_token(&version, "software-package", "version", off)?;
        let key = names::collision_key(&name);
        if let Some(&first_line) = names_seen.get(&key) {
            return Err(self.error(
                off,
                ManifestErrorKind::DuplicateName {
                    element: "software-package".into(),
                    value: name,
                    first_line,
                },
            ));
        }
        names_seen.insert(key, self.line(off));
        if let Some(prev) = m.software_packages.last() {
            self.check_order(off, "software-package", &name, &prev.name)?;
        }

        let prefix = format!("server/{name}/");
        let mut files: Vec<FileEntry> = Vec::new();
        if open {
            loop {
                let (fe, foff, fopen) = match self.next_node("software-package")? {
                    Some(Node::Close) | None => break,
                    Some(Node::Open(fe, foff)) => (fe, foff, true),
                    Some(Node::Empty(fe, foff)) => (fe, foff, false),
                };
                if fe.name().as_ref() != "file" {
                    return Err(self.unknown_element(&fe, foff, "software-package"));
                }
                let fa = self.attrs(&fe, "file", &["path", "size", "sha256"], foff)?;
                let f = self.file_entry(&fa, "file", foff)?;
                if !f.path.starts_with(&prefix) {
                    return Err(self.outside(
                        foff,
                        "file",
                        &f.path,
                        format!("under '{prefix}' (the folder of its software package)"),
                    ));
                }
                self.claim_path(&f.path, foff)?;
                if let Some(prev) = files.last() {
                    self.check_order(foff, "file", &f.path, &prev.path)?;
                }
                if fopen {
                    self.expect_close("file")?;
                }
                files.push(f);
            }
        }
        if files.is_empty() {
            return Err(self.error(
                off,
                ManifestErrorKind::MissingElement {
                    element: "file".into(),
                    parent: format!("<software-package name=\"{name}\">"),
                },
            ));
        }
        Ok(SoftwarePackage {
            name,
            version,
            files,
        })
    }

    fn msi(
        &mut self,
        e: &BytesStart<'_>,
        off: u64,
        m: &Manifest,
    ) -> Result<MsiComponent, ManifestError> {
        let a = self.attrs(
            e,
            "msi",
            &[
                "path",
                "size",
                "sha256",
                "product-code",
                "upgrade-code",
                "product-version",
                "product-name",
                "replaces-version",
            ],
            off,
        )?;
        let file = self.file_entry(&a, "msi", off)?;
        let rest = file.path.strip_prefix("client/").unwrap_or("");
        let lower = rest.to_ascii_lowercase();
        if rest.contains('/') || lower.len() <= 4 || !lower.ends_with(".msi") {
            return Err(self.outside(
                off,
                "msi",
                &file.path,
                "'client/<name>.msi' (directly in client/, ending in .msi)".into(),
            ));
        }
        let product_code = self.required(&a, "product-code")?.to_string();
        rules::guid(&product_code).map_err(|r| self.invalid(off, "msi", "product-code", r))?;
        let upgrade_code = self.required(&a, "upgrade-code")?.to_string();
        rules::guid(&upgrade_code).map_err(|r| self.invalid(off, "msi", "upgrade-code", r))?;
        let product_version = self.required(&a, "product-version")?.to_string();
        self.check_token(&product_version, "msi", "product-version", off)?;
        let product_name = self.required(&a, "product-name")?.to_string();
        rules::short_text(&product_name)
            .map_err(|r| self.invalid(off, "msi", "product-name", r))?;
        let replaces_version = self.required(&a, "replaces-version")?.to_string();
        self.check_token(&replaces_version, "msi", "replaces-version", off)?;
        self.claim_path(&file.path, off)?;
        if let Some(prev) = m.msis.last() {
            self.check_order(off, "msi", &file.path, &prev.file.path)?;
        }
        Ok(MsiComponent {
            file,
            product_code,
            upgrade_code,
            product_version,
            product_name,
            replaces_version,
        })
    }

    fn file_entry(&self, a: &Attrs, element: &str, off: u64) -> Result<FileEntry, ManifestError> {
        let path = self.required(a, "path")?.to_string();
        names::validate_entry_name(&path)
            .map_err(|err| self.invalid_name(off, element, "path", &path, err))?;
        let size_text = self.required(a, "size")?;
        let size = parse_uint(size_text).ok_or_else(|| {
            self.invalid(
                off,
                element,
                "size",
                format!("'{size_text}' is not a byte count (decimal digits, no leading zeros)"),
            )
        })?;
        let hex = self.required(a, "sha256")?;
        let sha256 = rules::sha256(hex).map_err(|r| self.invalid(off, element, "sha256", r))?;
        Ok(FileEntry { path, size, sha256 })
    }

    fn outside(&self, off: u64, element: &str, path: &str, expected: String) -> ManifestError {
        self.error(
            off,
            ManifestErrorKind::PathOutsideFolder {
                element: element.into(),
                path: path.into(),
                expected,
            },
        )
    }

    fn check_order(
        &self,
        off: u64,
        element: &str,
        value: &str,
        previous: &str,
    ) -> Result<(), ManifestError> {
        // Repeats are caught (case-insensitively) before this, with a clearer error.
        if value > previous {
            return Ok(());
        }
        let (line, column) = self.at(off);
        Err(ManifestError::at(
            line,
            column,
            ManifestErrorKind::NotSorted {
                element: element.into(),
                value: value.into(),
                previous: previous.into(),
            },
        ))
    }

    /// Records a payload path listed at `off` (see [`PathClaims::claim`]).
    fn claim_path(&mut self, path: &str, off: u64) -> Result<(), ManifestError> {
        let (line, column) = self.at(off);
        self.paths.claim(path, line, column)
    }
}

impl Attrs {
    fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Decimal digits without sign, spaces or leading zeros, within u64.
fn parse_uint(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

/// `YYYY-MM-DDTHH:MM:SSZ`, a real date and time.
fn is_rfc3339_utc(s: &str) -> bool {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    s.len() == 20 && time::PrimitiveDateTime::parse(s, &fmt).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_uint_is_canonical_decimal() {
        assert_eq!(parse_uint("0"), Some(0));
        assert_eq!(parse_uint("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "0x10",
            "18446744073709551616",
        ] {
            assert_eq!(parse_uint(bad), None, "{bad:?}");
        }
    }
}
