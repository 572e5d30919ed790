//! The system model file (XML): a deterministic writer and a strict, bounded reader.
//!
//! The reader refuses DTDs, processing instructions, CDATA, text content, unknown
//! elements and attributes, and documents deeper or larger than the limits below. It
//! never stops at the first inconsistency: every problem (bad name, duplicate name,
//! unknown node or base referenced, VU with fewer than two instances, ...) is collected
//! with its line and column, so an operator fixes a model file in one go. It must never
//! panic, whatever the bytes.
//!
//! The writer emits one canonical form, so save → load → save gives identical bytes.
//! Format (see `docs/SIMULATOR.md`):
//!
//! ```xml
//! <?xml version="1.0" encoding="UTF-8"?>
//! <system-model format="1" ia-mode="monitoring">
//!   <install-hotfixes>
//!     <hotfix id="HF-7.0.3-0042" release="7.0" support-package="SP3" packages="ChatServer"/>
//!   </install-hotfixes>
//!   <bases>
//!     <base release="7.0" support-package="SP3" hotfixes="HF-7.0.3-0042"/>
//!   </bases>
//!   <nodes>
//!     <node name="HAC01" base="7.0 SP3"/>
//!     <node name="HAC02" base="7.0 SP3" reachable="false"/>
//!   </nodes>
//!   <virtual-units>
//!     <vu name="CHAT_VU01" state="active">
//!       <package name="ChatServer" version="7.0.3.11" hotfixes="HF-7.0.3-0042"/>
//!       <instance node="HAC01"/>
//!       <instance node="HAC02">
//!         <package name="ChatServer" staged="HF-7.0.3-0042" applied=""/>
//!       </instance>
//!     </vu>
//!   </virtual-units>
//!   <msi-products>
//!     <msi product-code="{...}" upgrade-code="{...}" name="Agent Desktop" version="7.0.3.1" file="AgentDesktop.msi"/>
//!   </msi-products>
//!   <workstations>
//!     <workstation name="WS0001" products="{...}"/>
//!   </workstations>
//! </system-model>
//! ```

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use quick_xml::events::{BytesStart, Event};

use crate::model::{
    BaseId, EMPTY_SET, FastMap, IaMode, InstanceState, Model, ModelBuilder, MsiProduct, NodeId,
    ProductId, SetId, Sym, valid_node_name, valid_object_name,
};

/// Largest model file read, in bytes.
pub const MAX_MODEL_BYTES: u64 = 1 << 30;
/// Deepest element nesting accepted (the format needs 5).
pub const MAX_DEPTH: usize = 8;
/// Longest attribute value accepted, in bytes.
pub const MAX_ATTR_BYTES: usize = 16 * 1024;
/// Most items in one space-separated list attribute.
pub const MAX_LIST_ITEMS: usize = 4096;
/// Most problems collected before the reader gives up.
pub const MAX_PROBLEMS: usize = 1000;
/// Format version written and read.
pub const MODEL_FORMAT: u32 = 1;

/// One problem found in a model file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Why a model could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: model file is larger than {MAX_MODEL_BYTES} bytes")]
    TooLarge { path: PathBuf },
    #[error("{path}: {} problem(s) in the system model", problems.len())]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

impl ModelError {
    /// The problems of an invalid model (empty for I/O errors).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ModelError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

/// Reads and checks a model file.
pub fn load_file(path: &Path) -> Result<Model, ModelError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|source| ModelError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_MODEL_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| ModelError::Io {
            path: path.to_owned(),
            source,
        })?;
    if bytes.len() as u64 > MAX_MODEL_BYTES {
        return Err(ModelError::TooLarge {
            path: path.to_owned(),
        });
    }
    let text = String::from_utf8(bytes).map_err(|e| ModelError::Invalid {
        path: path.to_owned(),
        problems: vec![Problem {
            line: 1,
            column: 1,
            message: format!(
                "not UTF-8 (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        }],
    })?;
    load_str(&text).map_err(|problems| ModelError::Invalid {
        path: path.to_owned(),
        problems,
    })
}

/// Parses and checks a model; on failure returns every problem found, in file order.
pub fn load_str(text: &str) -> Result<Model, Vec<Problem>> {
    if text.len() as u64 > MAX_MODEL_BYTES {
        return Err(vec![Problem {
            line: 1,
            column: 1,
            message: format!("model is larger than {MAX_MODEL_BYTES} bytes"),
        }]);
    }
    let mut loader = Loader::new(text);
    loader.run();
    loader.check_extracted_msis();
    if loader.problems.is_empty() {
        Ok(loader.builder.finish())
    } else {
        let mut p = loader.problems;
        p.sort_by_key(|p| (p.line, p.column));
        Err(p)
    }
}

/// Writes a model file atomically (temporary file in the same folder, then rename).
pub fn save_file(model: &Model, path: &Path) -> Result<(), ModelError> {
    let io = |source| ModelError::Io {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model.xml".into());
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    std::fs::write(&tmp, save_string(model)).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(s)
}

/// The canonical XML of a model.
pub fn save_string(model: &Model) -> String {
    let mut out = String::with_capacity(256 + model.nodes.len() * 48 + model.state_count() * 24);
    // Each distinct set rendered once, members sorted by name.
    let mut rendered: HashMap<SetId, String> = HashMap::new();
    let mut render = |set: SetId| -> String {
        rendered
            .entry(set)
            .or_insert_with(|| {
                let mut names = model.hotfix_names(set);
                names.sort_unstable();
                names.join(" ")
            })
            .clone()
    };
    let _ = writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        out,
        r#"<system-model format="{MODEL_FORMAT}" ia-mode="{}">"#,
        model.mode.as_str()
    );
    if !model.extracted.is_empty() {
        out.push_str("  <install-hotfixes>\n");
        let mut list: Vec<_> = model.extracted.iter().collect();
        list.sort_by(|a, b| model.syms.str(a.id).cmp(model.syms.str(b.id)));
        for h in list {
            let _ = write!(
                out,
                r#"    <hotfix id="{}" release="{}" support-package="{}""#,
                esc(model.syms.str(h.id)),
                esc(&h.release),
                esc(&h.support_package)
            );
            for (key, items) in [("packages", &h.packages), ("requires", &h.requires)] {
                if !items.is_empty() {
                    let mut names: Vec<&str> = items.iter().map(|&s| model.syms.str(s)).collect();
                    names.sort_unstable();
                    let _ = write!(out, r#" {key}="{}""#, esc(&names.join(" ")));
                }
            }
            if !h.msis.is_empty() {
                let _ = write!(out, r#" msis="{}""#, esc(&h.msis.join(" ")));
            }
            out.push_str("/>\n");
        }
        out.push_str("  </install-hotfixes>\n");
    }
    out.push_str("  <bases>\n");
    for b in &model.bases {
        let _ = write!(
            out,
            r#"    <base release="{}" support-package="{}""#,
            esc(&b.release),
            esc(&b.support_package)
        );
        if b.hotfixes != EMPTY_SET {
            let _ = write!(out, r#" hotfixes="{}""#, esc(&render(b.hotfixes)));
        }
        out.push_str("/>\n");
    }
    out.push_str("  </bases>\n");
    let base_keys: Vec<String> = model.bases.iter().map(|b| b.key()).collect();
    out.push_str("  <nodes>\n");
    for n in 0..model.nodes.len() {
        let base = model.nodes.base[n] as usize;
        let _ = write!(
            out,
            r#"    <node name="{}" base="{}""#,
            model.nodes.name(n as NodeId),
            esc(base_keys.get(base).map_or("", |s| s))
        );
        if !model.nodes.reachable[n] {
            out.push_str(r#" reachable="false""#);
        }
        let seen = model.nodes.seen[n];
        if model.bases.get(base).is_some_and(|b| b.hotfixes != seen) {
            let _ = write!(out, r#" seen="{}""#, esc(&render(seen)));
        }
        out.push_str("/>\n");
    }
    out.push_str("  </nodes>\n");
    out.push_str("  <virtual-units>\n");
    for (v, vu) in model.vus.iter().enumerate() {
        let v = v as u32;
        let _ = writeln!(
            out,
            r#"    <vu name="{}" state="{}">"#,
            esc(&vu.name),
            if vu.active { "active" } else { "inactive" }
        );
        let pkgs = model.vu_packages(v);
        for p in pkgs {
            let _ = write!(
                out,
                r#"      <package name="{}" version="{}""#,
                esc(model.syms.str(p.name)),
                esc(model.syms.str(p.version))
            );
            if p.hotfixes != EMPTY_SET {
                let _ = write!(out, r#" hotfixes="{}""#, esc(&render(p.hotfixes)));
            }
            out.push_str("/>\n");
        }
        for (i, &node) in model.vu_nodes(v).iter().enumerate() {
            let name = model.nodes.name(node);
            let differing: Vec<usize> = (0..pkgs.len())
                .filter(|&p| {
                    let s = model.instance_states[model.state_index(v, i as u32, p as u32)];
                    s.staged != pkgs[p].hotfixes || s.applied != pkgs[p].hotfixes
                })
                .collect();
            if differing.is_empty() {
                let _ = writeln!(out, r#"      <instance node="{name}"/>"#);
                continue;
            }
            let _ = writeln!(out, r#"      <instance node="{name}">"#);
            for p in differing {
                let s = model.instance_states[model.state_index(v, i as u32, p as u32)];
                let _ = writeln!(
                    out,
                    r#"        <package name="{}" staged="{}" applied="{}"/>"#,
                    esc(model.syms.str(pkgs[p].name)),
                    esc(&render(s.staged)),
                    esc(&render(s.applied))
                );
            }
            out.push_str("      </instance>\n");
        }
        out.push_str("    </vu>\n");
    }
    out.push_str("  </virtual-units>\n");
    if !model.msi_products.is_empty() {
        out.push_str("  <msi-products>\n");
        for p in &model.msi_products {
            let _ = write!(
                out,
                r#"    <msi product-code="{}" upgrade-code="{}" name="{}" version="{}""#,
                esc(&p.product_code),
                esc(&p.upgrade_code),
                esc(&p.name),
                esc(&p.version)
            );
            if let Some(f) = &p.file {
                let _ = write!(out, r#" file="{}""#, esc(f));
            }
            out.push_str("/>\n");
        }
        out.push_str("  </msi-products>\n");
    }
    if !model.workstations.is_empty() {
        out.push_str("  <workstations>\n");
        for (w, name) in model.workstations.names.iter().enumerate() {
            let _ = write!(out, r#"    <workstation name="{}""#, esc(name));
            let set = model.workstations.installed[w];
            if set != EMPTY_SET {
                let codes: Vec<&str> = model
                    .product_sets
                    .members(set)
                    .iter()
                    .filter_map(|&p| model.msi_products.get(p as usize))
                    .map(|p| p.product_code.as_str())
                    .collect();
                let _ = write!(out, r#" products="{}""#, esc(&codes.join(" ")));
            }
            out.push_str("/>\n");
        }
        out.push_str("  </workstations>\n");
    }
    out.push_str("</system-model>\n");
    out
}

// ---------------------------------------------------------------------------------
// Reader

/// Sections of the document, in the order they must appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Section {
    None,
    InstallHotfixes,
    Bases,
    Nodes,
    VirtualUnits,
    MsiProducts,
    Workstations,
}

impl Section {
    fn from_tag(tag: &str) -> Option<Section> {
        Some(match tag {
            "install-hotfixes" => Section::InstallHotfixes,
            "bases" => Section::Bases,
            "nodes" => Section::Nodes,
            "virtual-units" => Section::VirtualUnits,
            "msi-products" => Section::MsiProducts,
            "workstations" => Section::Workstations,
            _ => return None,
        })
    }
}

/// A VU being read: its packages, then its instances with their overrides.
#[derive(Debug, Default)]
struct PendingVu {
    name: String,
    pos: usize,
    active: bool,
    ok: bool,
    packages: Vec<(Sym, Sym, SetId)>,
    package_pos: Vec<usize>,
    nodes: Vec<NodeId>,
    /// (instance index, package index, staged, applied)
    overrides: Vec<(u32, u32, Option<SetId>, Option<SetId>)>,
    instances_declared: u32,
    /// Whether the current `<instance>` was accepted (known node, not duplicate).
    current_ok: bool,
}

impl PendingVu {
    /// A new VU at `pos`, keeping the vectors' capacity.
    fn reset(&mut self, pos: usize) {
        self.name.clear();
        self.pos = pos;
        self.active = false;
        self.ok = true;
        self.packages.clear();
        self.package_pos.clear();
        self.nodes.clear();
        self.overrides.clear();
        self.instances_declared = 0;
        self.current_ok = false;
    }
}

struct Loader<'a> {
    src: &'a str,
    line_starts: Option<Vec<usize>>,
    problems: Vec<Problem>,
    builder: ModelBuilder,
    base_keys: FastMap<String, BaseId>,
    vu_names: FastMap<String, usize>,
    ws_names: FastMap<String, usize>,
    product_codes: FastMap<String, ProductId>,
    /// Upper-case ProductCode → whether the product has its `.msi` file on the share.
    product_files: FastMap<String, bool>,
    /// (position, hotfix id, ProductCodes) of each extracted hotfix's `msis`.
    extracted_msis: Vec<(usize, String, Vec<String>)>,
    extracted_ids: FastMap<String, usize>,
    section: Section,
    vu: Option<PendingVu>,
    /// The last VU read, cleared, so the next one reuses its vectors.
    spare_vu: PendingVu,
    gave_up: bool,
}

/// Pushes `name` on the stack of open elements, reusing a string left by a closed one.
fn push_name(names: &mut Vec<String>, depth: &mut usize, name: &str) {
    match names.get_mut(*depth) {
        Some(slot) => {
            slot.clear();
            slot.push_str(name);
        }
        None => names.push(name.to_owned()),
    }
    *depth += 1;
}

/// An element's attributes, checked against the names allowed for it. Values borrow
/// from the input unless normalizing them (entities, line breaks) made a new string.
struct Attrs<'e> {
    /// The rest of the document from the element's `<`, for positions in problems.
    raw_tag: &'e str,
    /// `(name, value)` of the attributes read, in a fixed array: no element of the
    /// format allows more than [`MAX_ELEMENT_ATTRS`], and an element read allocates
    /// nothing for them.
    slots: [(&'static str, Cow<'e, str>); MAX_ELEMENT_ATTRS],
    len: usize,
}

/// Most attributes any element of the format allows (`<hotfix>` has 6).
const MAX_ELEMENT_ATTRS: usize = 8;

impl<'e> Attrs<'e> {
    fn new(raw_tag: &'e str) -> Self {
        Attrs {
            raw_tag,
            slots: std::array::from_fn(|_| ("", Cow::Borrowed(""))),
            len: 0,
        }
    }

    fn pairs(&self) -> &[(&'static str, Cow<'e, str>)] {
        &self.slots[..self.len]
    }

    /// Adds a pair; the caller allows at most [`MAX_ELEMENT_ATTRS`] names and quick-xml
    /// refuses a repeated one, so there is always room.
    fn push(&mut self, key: &'static str, value: Cow<'e, str>) {
        if let Some(slot) = self.slots.get_mut(self.len) {
            *slot = (key, value);
            self.len += 1;
        }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.pairs()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_ref())
    }

    /// Where attribute `key` is, for a problem about it (`default` when absent). Only
    /// problems need it, so it is looked up then, not for every attribute read.
    fn pos(&self, key: &str, default: usize) -> usize {
        if self.pairs().iter().any(|(k, _)| *k == key) {
            attr_pos(self.raw_tag, key, default)
        } else {
            default
        }
    }
}

/// Position of attribute `key` in an element starting at `pos`, `raw_tag` being the
/// document from there: the first `key=` after a space, line break or tab.
fn attr_pos(raw_tag: &str, key: &str, pos: usize) -> usize {
    let find = |sep: char| {
        let mut pat = String::with_capacity(key.len() + 2);
        pat.push(sep);
        pat.push_str(key);
        pat.push('=');
        raw_tag.find(&pat)
    };
    find(' ')
        .or_else(|| find('\n'))
        .or_else(|| find('\t'))
        .map_or(pos, |i| pos + i + 1)
}

/// Whether `s` has a control character (C0, DEL or C1), checking bytes when ASCII.
fn has_control(s: &str) -> bool {
    if s.is_ascii() {
        s.bytes().any(|b| b < 0x20 || b == 0x7f)
    } else {
        s.chars().any(char::is_control)
    }
}

impl<'a> Loader<'a> {
    fn new(src: &'a str) -> Self {
        Loader {
            src,
            line_starts: None,
            problems: Vec::new(),
            builder: ModelBuilder::new(IaMode::Monitoring),
            base_keys: FastMap::default(),
            vu_names: FastMap::default(),
            ws_names: FastMap::default(),
            product_codes: FastMap::default(),
            product_files: FastMap::default(),
            extracted_msis: Vec::new(),
            extracted_ids: FastMap::default(),
            section: Section::None,
            vu: None,
            spare_vu: PendingVu::default(),
            gave_up: false,
        }
    }

    fn line_col(&mut self, pos: usize) -> (u32, u32) {
        let src = self.src;
        let starts = self.line_starts.get_or_insert_with(|| {
            std::iter::once(0)
                .chain(src.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        });
        let line = starts.partition_point(|&s| s <= pos).max(1);
        let start = starts[line - 1];
        let col = src
            .get(start..pos.min(src.len()))
            .map_or(pos - start, |s| s.chars().count())
            + 1;
        (line as u32, col as u32)
    }

    fn problem(&mut self, pos: usize, message: impl Into<String>) {
        if self.problems.len() >= MAX_PROBLEMS {
            self.gave_up = true;
            return;
        }
        let (line, column) = self.line_col(pos);
        self.problems.push(Problem {
            line,
            column,
            message: message.into(),
        });
    }

    fn run(&mut self) {
        let mut reader = quick_xml::Reader::from_str(self.src);
        reader.config_mut().trim_text(true);
        // Open elements' names; the strings are kept and reused, so reading an element
        // allocates nothing here.
        let mut names: Vec<String> = Vec::new();
        let mut depth = 0usize;
        let mut seen_root = false;
        loop {
            let before = reader.buffer_position() as usize;
            if self.gave_up {
                let (line, column) = self.line_col(before);
                self.problems.push(Problem {
                    line,
                    column,
                    message: format!("stopped reading after {MAX_PROBLEMS} problems"),
                });
                return;
            }
            let event = match reader.read_event() {
                Ok(e) => e,
                Err(e) => {
                    let pos = reader.error_position() as usize;
                    self.problem(pos, format!("malformed XML: {e}"));
                    return;
                }
            };
            let pos = self.tag_start(before);
            match event {
                Event::Decl(_) => {
                    if seen_root || depth > 0 {
                        self.problem(pos, "XML declaration in the wrong place");
                    }
                }
                Event::DocType(_) => {
                    self.problem(pos, "DTDs are not allowed in a system model");
                    return;
                }
                Event::PI(_) => self.problem(pos, "processing instructions are not allowed"),
                Event::Comment(_) => {}
                Event::CData(_) | Event::Text(_) | Event::GeneralRef(_) => {
                    self.problem(pos, "text content is not allowed; data goes in attributes");
                }
                Event::Start(e) => {
                    let stack = &names[..depth];
                    if stack.len() >= MAX_DEPTH {
                        self.problem(pos, format!("elements nested deeper than {MAX_DEPTH}"));
                        return;
                    }
                    if stack.is_empty() {
                        if seen_root {
                            self.problem(pos, "more than one root element");
                        }
                        seen_root = true;
                    }
                    self.element(stack, &e, pos, false);
                    push_name(&mut names, &mut depth, e.name().0);
                }
                Event::Empty(e) => {
                    if depth == 0 {
                        if seen_root {
                            self.problem(pos, "more than one root element");
                        }
                        seen_root = true;
                    }
                    self.element(&names[..depth], &e, pos, true);
                    push_name(&mut names, &mut depth, e.name().0);
                    self.end(&names[..depth], pos);
                    depth -= 1;
                }
                Event::End(_) => {
                    self.end(&names[..depth], pos);
                    depth = depth.saturating_sub(1);
                }
                Event::Eof => {
                    if !seen_root {
                        self.problem(pos, "empty document: expected <system-model>");
                    }
                    return;
                }
            }
        }
    }

    /// An extracted hotfix put its MSIs on the distribution share: each must be in
    /// <msi-products> with its file, or the model contradicts itself.
    fn check_extracted_msis(&mut self) {
        for (pos, id, codes) in std::mem::take(&mut self.extracted_msis) {
            for code in codes {
                if self.product_files.get(&code.to_ascii_uppercase()) != Some(&true) {
                    self.problem(
                        pos,
                        format!(
                            "hotfix `{id}` is extracted with MSI `{code}`, but <msi-products> has no such product with a `file`; extracting the package puts it on the share"
                        ),
                    );
                }
            }
        }
    }

    fn tag_start(&self, before: usize) -> usize {
        let bytes = self.src.as_bytes();
        let mut p = before;
        while p < bytes.len() && bytes[p].is_ascii_whitespace() {
            p += 1;
        }
        p
    }

    /// Reads the attributes of `e`, reporting unknown, duplicate and missing ones.
    fn attrs<'e>(
        &mut self,
        e: &'e BytesStart<'_>,
        pos: usize,
        allowed: &[&'static str],
        required: &[&'static str],
    ) -> Option<Attrs<'e>>
    where
        'a: 'e,
    {
        let tag = e.name().0;
        let raw_tag: &'a str = self.src.get(pos..).unwrap_or("");
        debug_assert!(allowed.len() <= MAX_ELEMENT_ATTRS);
        let mut attrs = Attrs::new(raw_tag);
        let mut ok = true;
        for attr in e.attributes() {
            let attr = match attr {
                Ok(a) => a,
                Err(err) => {
                    self.problem(pos, format!("<{tag}>: bad attribute: {err}"));
                    ok = false;
                    continue;
                }
            };
            let key = attr.key.0;
            let apos = || attr_pos(raw_tag, key, pos);
            let Some(&known) = allowed.iter().find(|k| **k == key) else {
                self.problem(apos(), format!("<{tag}>: unknown attribute `{key}`"));
                ok = false;
                continue;
            };
            let value = match attr.normalized_value(quick_xml::XmlVersion::Implicit1_0) {
                Ok(v) => v,
                Err(err) => {
                    self.problem(apos(), format!("<{tag}> {key}: {err}"));
                    ok = false;
                    continue;
                }
            };
            if value.len() > MAX_ATTR_BYTES {
                self.problem(
                    apos(),
                    format!("<{tag}> {key}: value longer than {MAX_ATTR_BYTES} bytes"),
                );
                ok = false;
                continue;
            }
            if has_control(&value) {
                self.problem(
                    apos(),
                    format!("<{tag}> {key}: control characters are not allowed"),
                );
                ok = false;
                continue;
            }
            attrs.push(known, value);
        }
        for req in required {
            if !attrs.pairs().iter().any(|(k, _)| k == req) {
                self.problem(pos, format!("<{tag}>: missing attribute `{req}`"));
                ok = false;
            }
        }
        ok.then_some(attrs)
    }

    /// A space-separated list of hotfix ids or package names, each checked.
    fn list<'v>(
        &mut self,
        attrs: &'v Attrs<'_>,
        key: &str,
        pos: usize,
        what: &str,
    ) -> Option<Vec<&'v str>> {
        let Some(v) = attrs.get(key) else {
            return Some(Vec::new());
        };
        let items: Vec<&str> = v.split(' ').filter(|s| !s.is_empty()).collect();
        if items.len() > MAX_LIST_ITEMS {
            self.problem(
                attrs.pos(key, pos),
                format!("`{key}` lists more than {MAX_LIST_ITEMS} items"),
            );
            return None;
        }
        let mut ok = true;
        for &item in &items {
            let check = if what == "hotfix id" {
                hotfix_manifest::validate_hotfix_id(item)
            } else {
                hotfix_manifest::validate_software_package_name(item)
            };
            if let Err(e) = check {
                self.problem(
                    attrs.pos(key, pos),
                    format!("`{key}`: bad {what} `{item}`: {e}"),
                );
                ok = false;
            }
        }
        ok.then_some(items)
    }

    fn hotfix_set(&mut self, attrs: &Attrs<'_>, key: &str, pos: usize) -> Option<SetId> {
        let items = self.list(attrs, key, pos, "hotfix id")?;
        let syms: Vec<Sym> = items
            .iter()
            .map(|h| self.builder.model.syms.intern(h))
            .collect();
        let before = syms.len();
        let set = self.builder.model.sets.intern(&syms);
        if self.builder.model.sets.members(set).len() != before {
            self.problem(attrs.pos(key, pos), format!("`{key}` lists a hotfix twice"));
        }
        Some(set)
    }

    fn enter_section(&mut self, section: Section, tag: &str, pos: usize) {
        if section <= self.section {
            self.problem(
                pos,
                format!(
                    "<{tag}> is out of order or repeated; sections go: install-hotfixes, bases, nodes, virtual-units, msi-products, workstations"
                ),
            );
        }
        self.section = section;
    }

    fn element(&mut self, stack: &[String], e: &BytesStart<'_>, pos: usize, empty: bool) {
        let tag = e.name().0;
        let parent = stack.last().map(String::as_str);
        match (parent, tag) {
            (None, "system-model") => {
                let Some(a) = self.attrs(e, pos, &["format", "ia-mode"], &["format", "ia-mode"])
                else {
                    return;
                };
                if a.get("format") != Some("1") {
                    self.problem(
                        a.pos("format", pos),
                        format!(
                            "unsupported model format (this build reads format=\"{MODEL_FORMAT}\")"
                        ),
                    );
                }
                match a.get("ia-mode").and_then(IaMode::parse) {
                    Some(m) => self.builder.model.mode = m,
                    None => self.problem(
                        a.pos("ia-mode", pos),
                        "ia-mode must be `monitoring` or `deployment`",
                    ),
                }
            }
            (None, other) => self.problem(
                pos,
                format!("root element must be <system-model>, not <{other}>"),
            ),
            (Some("system-model"), section) => match Section::from_tag(section) {
                Some(s) => {
                    if e.attributes().next().is_some() {
                        self.problem(pos, format!("<{section}> takes no attributes"));
                    }
                    self.enter_section(s, section, pos);
                }
                None => self.problem(
                    pos,
                    format!("unknown element <{section}> in <system-model>"),
                ),
            },
            (Some("install-hotfixes"), "hotfix") => self.extracted(e, pos),
            (Some("bases"), "base") => self.base(e, pos),
            (Some("nodes"), "node") => self.node(e, pos),
            (Some("virtual-units"), "vu") => self.vu_start(e, pos, empty),
            (Some("vu"), "package") => self.vu_package(e, pos),
            (Some("vu"), "instance") => self.instance(e, pos),
            (Some("instance"), "package") => self.instance_package(e, pos),
            (Some("msi-products"), "msi") => self.msi(e, pos),
            (Some("workstations"), "workstation") => self.workstation(e, pos),
            (Some(p), t) => self.problem(pos, format!("unknown element <{t}> in <{p}>")),
        }
    }

    fn end(&mut self, stack: &[String], pos: usize) {
        if stack.last().map(String::as_str) == Some("vu") {
            self.vu_end(pos);
        }
    }

    fn extracted(&mut self, e: &BytesStart<'_>, pos: usize) {
        let Some(a) = self.attrs(
            e,
            pos,
            &[
                "id",
                "release",
                "support-package",
                "packages",
                "requires",
                "msis",
            ],
            &["id", "release", "support-package"],
        ) else {
            return;
        };
        let id = a.get("id").unwrap_or_default();
        if let Err(err) = hotfix_manifest::validate_hotfix_id(id) {
            self.problem(a.pos("id", pos), format!("bad hotfix id `{id}`: {err}"));
            return;
        }
        if let Some(&first) = self.extracted_ids.get(id) {
            let (l, c) = self.line_col(first);
            self.problem(pos, format!("duplicate hotfix `{id}` (first at {l}:{c})"));
            return;
        }
        self.extracted_ids.insert(id.to_owned(), pos);
        let packages = self.list(&a, "packages", pos, "software package name");
        let requires = self.list(&a, "requires", pos, "hotfix id");
        let (Some(packages), Some(requires)) = (packages, requires) else {
            return;
        };
        let msis: Vec<String> = a
            .get("msis")
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        for m in &msis {
            if !is_guid(m) {
                self.problem(
                    a.pos("msis", pos),
                    format!("`msis`: `{m}` is not a {{GUID}} ProductCode"),
                );
                return;
            }
        }
        // Checked once <msi-products> is read (it comes later in the file).
        self.extracted_msis
            .push((a.pos("msis", pos), id.to_owned(), msis.clone()));
        let m: Vec<&str> = msis.iter().map(String::as_str).collect();
        self.builder.add_extracted(
            id,
            a.get("release").unwrap_or_default(),
            a.get("support-package").unwrap_or_default(),
            &packages,
            &requires,
            &m,
        );
    }

    fn base(&mut self, e: &BytesStart<'_>, pos: usize) {
        let Some(a) = self.attrs(
            e,
            pos,
            &["release", "support-package", "hotfixes"],
            &["release", "support-package"],
        ) else {
            return;
        };
        let release = a.get("release").unwrap_or_default();
        let sp = a.get("support-package").unwrap_or_default();
        if release.is_empty() || sp.is_empty() || release.contains(' ') || sp.contains(' ') {
            self.problem(
                pos,
                "release and support-package must be non-empty and without spaces",
            );
            return;
        }
        let key = format!("{release} {sp}");
        if self.base_keys.contains_key(&key) {
            self.problem(pos, format!("duplicate base installation `{key}`"));
            return;
        }
        let Some(set) = self.hotfix_set(&a, "hotfixes", pos) else {
            return;
        };
        let id = self.builder.add_base(release, sp, &[]);
        self.builder.model.bases[id as usize].hotfixes = set;
        self.base_keys.insert(key, id);
    }

    fn node(&mut self, e: &BytesStart<'_>, pos: usize) {
        let Some(a) = self.attrs(
            e,
            pos,
            &["name", "base", "reachable", "seen"],
            &["name", "base"],
        ) else {
            return;
        };
        let name = a.get("name").unwrap_or_default();
        let mut ok = true;
        if !valid_node_name(name) {
            self.problem(
                a.pos("name", pos),
                format!("bad node name `{name}`: use A-Z, 0-9 and _ (at most 64)"),
            );
            ok = false;
        } else if self.builder.node_by_name(name).is_some() {
            self.problem(a.pos("name", pos), format!("duplicate node name `{name}`"));
            ok = false;
        }
        let base_key = a.get("base").unwrap_or_default();
        let base = self.base_keys.get(base_key).copied();
        if base.is_none() {
            self.problem(
                a.pos("base", pos),
                format!("unknown base installation `{base_key}`"),
            );
            ok = false;
        }
        let reachable = match a.get("reachable") {
            None | Some("true") => true,
            Some("false") => false,
            Some(other) => {
                self.problem(
                    a.pos("reachable", pos),
                    format!("reachable must be true or false, not `{other}`"),
                );
                ok = false;
                true
            }
        };
        let seen = if a.get("seen").is_some() {
            match self.hotfix_set(&a, "seen", pos) {
                Some(s) => Some(s),
                None => {
                    ok = false;
                    None
                }
            }
        } else {
            None
        };
        if let (true, Some(base)) = (ok, base) {
            self.builder.add_node(name, base, reachable, seen);
        }
    }

    fn vu_start(&mut self, e: &BytesStart<'_>, pos: usize, empty: bool) {
        let mut vu = std::mem::take(&mut self.spare_vu);
        vu.reset(pos);
        match self.attrs(e, pos, &["name", "state"], &["name", "state"]) {
            Some(a) => {
                vu.name.push_str(a.get("name").unwrap_or_default());
                if !valid_object_name(&vu.name) {
                    self.problem(
                        a.pos("name", pos),
                        format!("bad virtual unit name `{}`: use A-Z, a-z, 0-9, `.`, `_`, `-` (at most 64)", vu.name),
                    );
                    vu.ok = false;
                } else if let Some(&first) = self.vu_names.get(&vu.name) {
                    let (l, c) = self.line_col(first);
                    self.problem(
                        a.pos("name", pos),
                        format!(
                            "duplicate virtual unit name `{}` (first at {l}:{c})",
                            vu.name
                        ),
                    );
                    vu.ok = false;
                } else {
                    self.vu_names.insert(vu.name.clone(), pos);
                }
                match a.get("state") {
                    Some("active") => vu.active = true,
                    Some("inactive") => vu.active = false,
                    other => {
                        self.problem(
                            a.pos("state", pos),
                            format!(
                                "state must be `active` or `inactive`, not `{}`",
                                other.unwrap_or_default()
                            ),
                        );
                        vu.ok = false;
                    }
                }
            }
            None => vu.ok = false,
        }
        let _ = empty; // an empty <vu/> ends right away and is reported as having no instances
        self.vu = Some(vu);
    }

    fn vu_package(&mut self, e: &BytesStart<'_>, pos: usize) {
        let a = self.attrs(
            e,
            pos,
            &["name", "version", "hotfixes"],
            &["name", "version"],
        );
        let Some(mut vu) = self.vu.take() else { return };
        let Some(a) = a else {
            vu.ok = false;
            self.vu = Some(vu);
            return;
        };
        if !vu.nodes.is_empty() || vu.instances_declared > 0 {
            self.problem(
                pos,
                format!(
                    "virtual unit `{}`: <package> must come before the <instance> elements",
                    vu.name
                ),
            );
            vu.ok = false;
        }
        let name = a.get("name").unwrap_or_default();
        let version = a.get("version").unwrap_or_default();
        if let Err(err) = hotfix_manifest::validate_software_package_name(name) {
            self.problem(
                a.pos("name", pos),
                format!("bad software package name `{name}`: {err}"),
            );
            vu.ok = false;
        }
        if version.is_empty() || version.contains(' ') {
            self.problem(
                a.pos("version", pos),
                "version must be non-empty and without spaces",
            );
            vu.ok = false;
        }
        let set = self.hotfix_set(&a, "hotfixes", pos);
        let sym = self.builder.model.syms.intern(name);
        if vu.packages.iter().any(|p| p.0 == sym) {
            self.problem(
                a.pos("name", pos),
                format!(
                    "virtual unit `{}` lists software package `{name}` twice",
                    vu.name
                ),
            );
            vu.ok = false;
        }
        match set {
            Some(set) => {
                let ver = self.builder.model.syms.intern(version);
                vu.packages.push((sym, ver, set));
                vu.package_pos.push(pos);
            }
            None => vu.ok = false,
        }
        self.vu = Some(vu);
    }

    fn instance(&mut self, e: &BytesStart<'_>, pos: usize) {
        let a = self.attrs(e, pos, &["node"], &["node"]);
        let Some(mut vu) = self.vu.take() else { return };
        vu.instances_declared += 1;
        vu.current_ok = false;
        match a {
            Some(a) => {
                let node = a.get("node").unwrap_or_default();
                match self.builder.node_by_name(node) {
                    Some(n) if vu.nodes.contains(&n) => {
                        self.problem(
                            a.pos("node", pos),
                            format!(
                                "virtual unit `{}` has two instances on node `{node}`",
                                vu.name
                            ),
                        );
                        vu.ok = false;
                    }
                    Some(n) => {
                        vu.nodes.push(n);
                        vu.current_ok = true;
                    }
                    None => {
                        self.problem(
                            a.pos("node", pos),
                            format!(
                                "virtual unit `{}`: unknown node `{node}` referenced",
                                vu.name
                            ),
                        );
                        vu.ok = false;
                    }
                }
            }
            None => vu.ok = false,
        }
        self.vu = Some(vu);
    }

    fn instance_package(&mut self, e: &BytesStart<'_>, pos: usize) {
        let a = self.attrs(e, pos, &["name", "staged", "applied"], &["name"]);
        let Some(mut vu) = self.vu.take() else { return };
        let Some(a) = a else {
            vu.ok = false;
            self.vu = Some(vu);
            return;
        };
        let name = a.get("name").unwrap_or_default();
        let idx = self
            .builder
            .model
            .syms
            .get(name)
            .and_then(|s| vu.packages.iter().position(|p| p.0 == s));
        let staged = if a.get("staged").is_some() {
            self.hotfix_set(&a, "staged", pos)
        } else {
            Some(EMPTY_SET)
        };
        let applied = if a.get("applied").is_some() {
            self.hotfix_set(&a, "applied", pos)
        } else {
            Some(EMPTY_SET)
        };
        match idx {
            None => {
                self.problem(
                    a.pos("name", pos),
                    format!(
                        "virtual unit `{}` has no software package `{name}`",
                        vu.name
                    ),
                );
                vu.ok = false;
            }
            Some(p) if vu.current_ok => {
                let inst = (vu.nodes.len() - 1) as u32;
                if vu.overrides.iter().any(|o| o.0 == inst && o.1 == p as u32) {
                    self.problem(
                        pos,
                        format!("instance lists software package `{name}` twice"),
                    );
                    vu.ok = false;
                }
                let staged = a.get("staged").and(staged);
                let applied = a.get("applied").and(applied);
                vu.overrides.push((inst, p as u32, staged, applied));
            }
            Some(_) => {}
        }
        self.vu = Some(vu);
    }

    fn vu_end(&mut self, _pos: usize) {
        let Some(vu) = self.vu.take() else { return };
        self.add_vu(&vu);
        self.spare_vu = vu;
    }

    /// Checks a VU read to its end and adds it to the model when it holds.
    fn add_vu(&mut self, vu: &PendingVu) {
        let mut ok = vu.ok;
        if vu.instances_declared < 2 {
            self.problem(
                vu.pos,
                format!(
                    "virtual unit `{}` has {} instance(s); a VU needs instances on at least 2 HAC nodes",
                    vu.name, vu.instances_declared
                ),
            );
            ok = false;
        }
        if vu.packages.is_empty() {
            self.problem(
                vu.pos,
                format!("virtual unit `{}` has no software package", vu.name),
            );
            ok = false;
        }
        // The IA model never lets a package carry a hotfix its nodes' base lacks.
        for (k, &(name, _, set)) in vu.packages.iter().enumerate() {
            if set == EMPTY_SET {
                continue; // carries no hotfix, so none its nodes' bases lack
            }
            for &n in &vu.nodes {
                let base = self.builder.model.nodes.base[n as usize];
                let base_set = self.builder.model.bases[base as usize].hotfixes;
                let missing: Vec<u32> = self
                    .builder
                    .model
                    .sets
                    .members(set)
                    .iter()
                    .copied()
                    .filter(|&h| !self.builder.model.sets.contains(base_set, h))
                    .collect();
                if let Some(&h) = missing.first() {
                    let msg = format!(
                        "virtual unit `{}`: software package `{}` carries hotfix `{}`, which base installation `{}` of node `{}` does not have",
                        vu.name,
                        self.builder.model.syms.str(name),
                        self.builder.model.syms.str(h),
                        self.builder.model.bases[base as usize].key(),
                        self.builder.model.nodes.name(n)
                    );
                    self.problem(vu.package_pos[k], msg);
                    ok = false;
                    break;
                }
            }
        }
        if !ok {
            return;
        }
        let v = self
            .builder
            .add_vu(&vu.name, vu.active, &vu.packages, &vu.nodes);
        for &(inst, p, staged, applied) in &vu.overrides {
            let idx = self.builder.model.state_index(v, inst, p);
            let configured = vu.packages[p as usize].2;
            self.builder.model.instance_states[idx] = InstanceState {
                staged: staged.unwrap_or(configured),
                applied: applied.unwrap_or(configured),
            };
        }
    }

    fn msi(&mut self, e: &BytesStart<'_>, pos: usize) {
        let keys = ["product-code", "upgrade-code", "name", "version", "file"];
        let Some(a) = self.attrs(e, pos, &keys, &keys[..4]) else {
            return;
        };
        let code = a.get("product-code").unwrap_or_default().to_owned();
        let mut ok = true;
        for k in ["product-code", "upgrade-code"] {
            let v = a.get(k).unwrap_or_default();
            if !is_guid(v) {
                self.problem(a.pos(k, pos), format!("{k} `{v}` is not a {{GUID}}"));
                ok = false;
            }
        }
        if self.product_codes.contains_key(&code.to_ascii_uppercase()) {
            self.problem(
                a.pos("product-code", pos),
                format!("duplicate MSI product code `{code}`"),
            );
            ok = false;
        }
        let file = a.get("file").map(str::to_owned);
        if let Some(f) = &file
            && (f.is_empty()
                || f.contains(['/', '\\'])
                || !f.to_ascii_lowercase().ends_with(".msi"))
        {
            self.problem(
                a.pos("file", pos),
                format!("file `{f}` must be a plain `.msi` file name"),
            );
            ok = false;
        }
        if !ok {
            return;
        }
        let id = self.builder.add_product(MsiProduct {
            product_code: code.clone(),
            upgrade_code: a.get("upgrade-code").unwrap_or_default().to_owned(),
            name: a.get("name").unwrap_or_default().to_owned(),
            version: a.get("version").unwrap_or_default().to_owned(),
            file,
        });
        self.product_codes.insert(code.to_ascii_uppercase(), id);
        self.product_files
            .insert(code.to_ascii_uppercase(), a.get("file").is_some());
    }

    fn workstation(&mut self, e: &BytesStart<'_>, pos: usize) {
        let Some(a) = self.attrs(e, pos, &["name", "products"], &["name"]) else {
            return;
        };
        let name = a.get("name").unwrap_or_default();
        let mut ok = true;
        if !valid_object_name(name) {
            self.problem(a.pos("name", pos), format!("bad workstation name `{name}`"));
            ok = false;
        } else if self.ws_names.contains_key(name) {
            self.problem(
                a.pos("name", pos),
                format!("duplicate workstation name `{name}`"),
            );
            ok = false;
        }
        let mut products: Vec<ProductId> = Vec::new();
        for code in a
            .get("products")
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
        {
            match self.product_codes.get(&code.to_ascii_uppercase()) {
                Some(&p) => products.push(p),
                None => {
                    self.problem(a.pos("products", pos), format!("workstation `{name}`: unknown MSI product `{code}` (list it under <msi-products>)"));
                    ok = false;
                }
            }
        }
        if ok {
            self.ws_names.insert(name.to_owned(), pos);
            self.builder.add_workstation(name, &products);
        }
    }
}

/// `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}` (hex digits, either case).
pub fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 38 || b[0] != b'{' || b[37] != b'}' {
        return false;
    }
    b[1..37].iter().enumerate().all(|(i, &c)| {
        if matches!(i, 8 | 13 | 18 | 23) {
            c == b'-'
        } else {
            c.is_ascii_hexdigit()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<system-model format="1" ia-mode="monitoring">
  <install-hotfixes>
    <hotfix id="HF-1" release="7.0" support-package="SP3" packages="ChatServer"/>
  </install-hotfixes>
  <bases>
    <base release="7.0" support-package="SP3" hotfixes="HF-1"/>
  </bases>
  <nodes>
    <node name="HAC01" base="7.0 SP3"/>
    <node name="HAC02" base="7.0 SP3" reachable="false"/>
  </nodes>
  <virtual-units>
    <vu name="CHAT_VU01" state="active">
      <package name="ChatServer" version="7.0.3.11" hotfixes="HF-1"/>
      <instance node="HAC01"/>
      <instance node="HAC02">
        <package name="ChatServer" staged="HF-1" applied=""/>
      </instance>
    </vu>
  </virtual-units>
  <msi-products>
    <msi product-code="{11111111-1111-1111-1111-111111111111}" upgrade-code="{22222222-2222-2222-2222-222222222222}" name="Agent Desktop" version="7.0.3.1" file="AgentDesktop.msi"/>
  </msi-products>
  <workstations>
    <workstation name="WS0001" products="{11111111-1111-1111-1111-111111111111}"/>
  </workstations>
</system-model>
"#;

    #[test]
    fn canonical_model_round_trips_byte_for_byte() {
        let m = load_str(SMALL).expect("valid");
        assert_eq!(save_string(&m), SMALL);
        assert_eq!(m.nodes.pending, vec![0, 1]);
    }

    #[test]
    fn refuses_a_dtd() {
        let bad = "<!DOCTYPE x [<!ENTITY a \"b\">]><system-model/>";
        let p = load_str(bad).expect_err("dtd");
        assert!(p[0].message.contains("DTD"), "{p:?}");
    }

    #[test]
    fn guid_check() {
        assert!(is_guid("{8F1C0A2B-0000-4000-8000-00000000ABCD}"));
        assert!(!is_guid("8F1C0A2B-0000-4000-8000-00000000ABCD"));
    }
}
