//! The logical system model: what the Infrastructure Administrator (IA) knows about a
//! clustered contact-center system, and what each HAC node actually runs.
//!
//! The model is index-based so that a million nodes fit in a few hundred bytes each:
//! nodes are a struct of arrays, names live in one string arena, every per-instance
//! hotfix list is a [`SetId`] into a table of distinct sets (almost every instance of
//! a system shares one of a handful of sets), and the instances of a virtual unit are a
//! contiguous range of flat arrays. The only per-object heap allocations are the names
//! of virtual units and workstations.
//!
//! This module never does I/O and never panics on a consistent model; the XML reader
//! ([`crate::model_xml`]) and the generator ([`crate::generate`]) are the only ways in,
//! and both establish the invariants documented on [`Model`].

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use rustc_hash::FxHasher;

/// Name → id maps. The names come from a model file or a generator the user owns, not
/// from the network, so a fast non-keyed hasher is enough (SipHash was about a tenth of
/// loading a million-node model).
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Index of a HAC node in [`Model::nodes`].
pub type NodeId = u32;
/// Index of a virtual unit in [`Model::vus`].
pub type VuId = u32;
/// Index of a base installation in [`Model::bases`].
pub type BaseId = u32;
/// Index of a client workstation in [`Model::workstations`].
pub type WsId = u32;
/// Index of an MSI product in [`Model::msi_products`].
pub type ProductId = u32;
/// An interned string (hotfix id, software package name or version) in [`Model::syms`].
pub type Sym = u32;
/// An interned sorted set of ids in a [`SetTable`]; [`EMPTY_SET`] is the empty set.
pub type SetId = u32;

/// The empty set in every [`SetTable`].
pub const EMPTY_SET: SetId = 0;

/// Longest node, virtual unit or workstation name, in bytes.
pub const MAX_OBJECT_NAME_BYTES: usize = 64;

/// Mode of the Infrastructure Administrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IaMode {
    /// Read-only: no configuration change is allowed.
    #[default]
    Monitoring,
    /// Changes to the system model are allowed.
    Deployment,
}

impl IaMode {
    /// `monitoring` or `deployment`, as in the XML and in runbooks.
    pub fn as_str(self) -> &'static str {
        match self {
            IaMode::Monitoring => "monitoring",
            IaMode::Deployment => "deployment",
        }
    }

    /// Parses [`IaMode::as_str`].
    pub fn parse(s: &str) -> Option<IaMode> {
        match s {
            "monitoring" => Some(IaMode::Monitoring),
            "deployment" => Some(IaMode::Deployment),
            _ => None,
        }
    }
}

/// Checks a HAC node name: `[A-Z0-9_]+`, at most [`MAX_OBJECT_NAME_BYTES`].
pub fn valid_node_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_OBJECT_NAME_BYTES
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// Checks a virtual unit or workstation name: `[A-Za-z0-9][A-Za-z0-9._-]*`, at most
/// [`MAX_OBJECT_NAME_BYTES`]. The domain text fixes only node names; these names appear
/// in checklists and runbooks, so they get the same kind of plain, quotable charset.
pub fn valid_object_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= MAX_OBJECT_NAME_BYTES
        && bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Interned strings: each distinct hotfix id, package name and version is stored once.
#[derive(Debug, Clone, Default)]
pub struct Interner {
    strings: Vec<Box<str>>,
    index: FastMap<Box<str>, Sym>,
}

impl Interner {
    /// The symbol for `s`, adding it when new.
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.index.get(s) {
            return sym;
        }
        let sym = self.strings.len() as Sym;
        self.strings.push(s.into());
        self.index.insert(s.into(), sym);
        sym
    }

    /// The symbol for `s` if it was interned.
    pub fn get(&self, s: &str) -> Option<Sym> {
        self.index.get(s).copied()
    }

    /// The string of a symbol.
    pub fn str(&self, sym: Sym) -> &str {
        self.strings.get(sym as usize).map_or("", |s| s)
    }
}

/// Interned sorted sets of `u32` ids (hotfix symbols, MSI products). Sets are values:
/// changing a set yields a new [`SetId`], so a million instances that carry the same
/// hotfixes share one entry.
#[derive(Debug, Clone)]
pub struct SetTable {
    sets: Vec<Box<[u32]>>,
    index: FastMap<Box<[u32]>, SetId>,
}

impl Default for SetTable {
    fn default() -> Self {
        let empty: Box<[u32]> = Box::new([]);
        let mut index = FastMap::default();
        index.insert(empty.clone(), EMPTY_SET);
        SetTable {
            sets: vec![empty],
            index,
        }
    }
}

impl SetTable {
    /// The id of the set holding `items` (any order, duplicates ignored).
    pub fn intern(&mut self, items: &[u32]) -> SetId {
        // Small sets (nearly all of them) are sorted on the stack and looked up without
        // allocating; only a new set is stored.
        let mut small = [0u32; 16];
        if let Some(buf) = small.get_mut(..items.len()) {
            buf.copy_from_slice(items);
            buf.sort_unstable();
            let mut len = 0;
            for i in 0..buf.len() {
                if len == 0 || buf[i] != buf[len - 1] {
                    buf[len] = buf[i];
                    len += 1;
                }
            }
            return self.intern_slice(&buf[..len]);
        }
        let mut v = items.to_vec();
        v.sort_unstable();
        v.dedup();
        self.intern_sorted(v)
    }

    /// [`Self::intern`] of a sorted, duplicate-free slice.
    fn intern_slice(&mut self, v: &[u32]) -> SetId {
        match self.index.get(v) {
            Some(&id) => id,
            None => self.intern_sorted(v.to_vec()),
        }
    }

    fn intern_sorted(&mut self, v: Vec<u32>) -> SetId {
        if let Some(&id) = self.index.get(v.as_slice()) {
            return id;
        }
        let id = self.sets.len() as SetId;
        let boxed: Box<[u32]> = v.into_boxed_slice();
        self.sets.push(boxed.clone());
        self.index.insert(boxed, id);
        id
    }

    /// The members of a set, sorted.
    pub fn members(&self, set: SetId) -> &[u32] {
        self.sets.get(set as usize).map_or(&[], |s| s)
    }

    /// Whether `set` holds `item`.
    pub fn contains(&self, set: SetId, item: u32) -> bool {
        self.members(set).binary_search(&item).is_ok()
    }

    /// `set` plus `item`.
    pub fn with(&mut self, set: SetId, item: u32) -> SetId {
        if self.contains(set, item) {
            return set;
        }
        let mut v = self.members(set).to_vec();
        let at = v.partition_point(|&x| x < item);
        v.insert(at, item);
        self.intern_sorted(v)
    }

    /// `set` without `item`.
    pub fn without(&mut self, set: SetId, item: u32) -> SetId {
        if !self.contains(set, item) {
            return set;
        }
        let v: Vec<u32> = self
            .members(set)
            .iter()
            .copied()
            .filter(|&x| x != item)
            .collect();
        self.intern_sorted(v)
    }
}

/// Node names stored back to back in one string, so a node costs no allocation.
#[derive(Debug, Clone, Default)]
pub struct NameArena {
    text: String,
    ends: Vec<u32>,
}

impl NameArena {
    /// Appends a name and returns its index.
    pub fn push(&mut self, name: &str) -> u32 {
        self.text.push_str(name);
        self.ends.push(self.text.len() as u32);
        (self.ends.len() - 1) as u32
    }

    /// The name at `i` (empty when out of range).
    pub fn get(&self, i: u32) -> &str {
        let i = i as usize;
        let Some(&end) = self.ends.get(i) else {
            return "";
        };
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text.get(start as usize..end as usize).unwrap_or("")
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// Name → index over a [`NameArena`] without a copy of the names: an open-addressing
/// table whose slots hold a name's hash, index and place in the arena's text, so that
/// a lookup touches the table and the text once each (a million random lookups are
/// bound by those two cache misses). A million node names cost 32 MiB here instead of a
/// boxed string and a map entry each (80 MiB).
#[derive(Debug, Clone, Default)]
pub struct NameIndex {
    /// `[hash, index + 1, start of the name in the arena's text, its length]`; an index
    /// of 0 marks an empty slot. Length is 0 or a power of two, kept at most half full.
    slots: Vec<[u32; 4]>,
    len: usize,
}

impl NameIndex {
    fn hash(name: &str) -> u32 {
        use std::hash::Hasher;
        let mut h = FxHasher::default();
        h.write(name.as_bytes());
        // `finish` rotates the well-mixed high bits of the product down: the low bits
        // are the good ones (the slot is taken from them).
        h.finish() as u32
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<[u32; 4]>()
    }

    /// The index of `name` in `arena`, if indexed.
    pub fn get(&self, arena: &NameArena, name: &str) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let h = Self::hash(name);
        let mut i = h as usize & mask;
        loop {
            let [sh, id, start, len] = self.slots[i];
            if id == 0 {
                return None;
            }
            if sh == h
                && len as usize == name.len()
                && arena
                    .text
                    .as_bytes()
                    .get(start as usize..(start + len) as usize)
                    == Some(name.as_bytes())
            {
                return Some(id - 1);
            }
            i = (i + 1) & mask;
        }
    }

    /// Indexes entry `id` of `arena` (the caller checks that its name is new).
    pub fn insert(&mut self, arena: &NameArena, id: u32) {
        if (self.len + 1) * 2 > self.slots.len() {
            let cap = (self.slots.len() * 2).max(16);
            let old = std::mem::replace(&mut self.slots, vec![[0; 4]; cap]);
            for slot in old.into_iter().filter(|s| s[1] != 0) {
                self.place(slot);
            }
        }
        let start = if id == 0 {
            0
        } else {
            arena.ends.get(id as usize - 1).copied().unwrap_or(0)
        };
        let name = arena.get(id);
        self.place([Self::hash(name), id + 1, start, name.len() as u32]);
        self.len += 1;
    }

    fn place(&mut self, slot: [u32; 4]) {
        let mask = self.slots.len() - 1;
        let mut i = slot[0] as usize & mask;
        while self.slots[i][1] != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = slot;
    }
}

/// A base installation: the platform release at one support package level, and the
/// hotfixes registered with it in the IA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    /// e.g. `7.0`.
    pub release: String,
    /// e.g. `SP3`.
    pub support_package: String,
    /// Hotfix ids ([`Sym`]s) added to this base installation.
    pub hotfixes: SetId,
}

impl Base {
    /// `7.0 SP3`: how nodes, runbooks and checklists name a base installation.
    pub fn key(&self) -> String {
        format!("{} {}", self.release, self.support_package)
    }
}

/// A hotfix package extracted into `Install/hotfixes`, as far as the IA can see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractedHotfix {
    pub id: Sym,
    pub release: String,
    pub support_package: String,
    /// Names of the software packages it corrects, sorted.
    pub packages: Vec<Sym>,
    /// Ids of hotfixes that must be in the base installation first, sorted.
    pub requires: Vec<Sym>,
    /// ProductCodes of the MSIs it brought to the distribution share, sorted.
    pub msis: Vec<String>,
}

/// HAC nodes as a struct of arrays, all indexed by [`NodeId`].
#[derive(Debug, Clone, Default)]
pub struct Nodes {
    pub names: NameArena,
    /// The node's base installation.
    pub base: Vec<BaseId>,
    /// False when the IA cannot reach the node's agent.
    pub reachable: Vec<bool>,
    /// The base installation's hotfixes as the node saw them at the last
    /// "Refresh All Nodes".
    pub seen: Vec<SetId>,
    /// Number of (instance, software package) slots on the node whose synchronized
    /// state is not applied yet. Derived; kept up to date by operations.
    pub pending: Vec<u32>,
    /// Sum of `pending` (derived).
    pub pending_total: u64,
}

impl Nodes {
    pub fn len(&self) -> usize {
        self.base.len()
    }

    pub fn is_empty(&self) -> bool {
        self.base.is_empty()
    }

    pub fn name(&self, n: NodeId) -> &str {
        self.names.get(n)
    }
}

/// A virtual unit. Its software packages are `packages[pkg_start..pkg_start+pkg_len]`,
/// its instances `instance_nodes[inst_start..inst_start+inst_len]`, and the state of
/// package `p` on instance `i` is `instance_states[state_start + i * pkg_len + p]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vu {
    pub name: Box<str>,
    pub active: bool,
    pub pkg_start: u32,
    pub pkg_len: u32,
    pub inst_start: u32,
    pub inst_len: u32,
    pub state_start: u32,
}

/// A software package of a virtual unit, as configured in the IA's system model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackageSlot {
    pub name: Sym,
    pub version: Sym,
    /// Hotfixes the IA model says the package carries.
    pub hotfixes: SetId,
}

/// What one node's instance of one software package has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceState {
    /// Pushed to the node by "Synchronize Instances", not yet applied.
    pub staged: SetId,
    /// Committed on the node ("Apply Changes"): what the node runs.
    pub applied: SetId,
}

/// An MSI product: installed on workstations and/or available on the software
/// distribution share (then `file` names the MSI to push).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsiProduct {
    /// `{GUID}`, unique in the model.
    pub product_code: String,
    /// `{GUID}` shared by every version of one component.
    pub upgrade_code: String,
    pub name: String,
    pub version: String,
    /// MSI file name on the distribution share, when installable.
    pub file: Option<String>,
}

/// Client workstations: names and the set of installed [`ProductId`]s.
#[derive(Debug, Clone, Default)]
pub struct Workstations {
    pub names: Vec<Box<str>>,
    /// Into [`Model::product_sets`].
    pub installed: Vec<SetId>,
}

impl Workstations {
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// The whole system model.
///
/// Invariants (established by [`crate::model_xml::load_file`] and [`crate::generate`]):
/// names are valid and unique per kind; every node's base exists; every virtual unit has
/// at least two instances on distinct nodes; package names are unique within a virtual
/// unit; every set id is valid; `nodes.pending` matches `instance_states`;
/// `node_instances` is the reverse index of `instance_nodes`.
#[derive(Debug, Clone, Default)]
pub struct Model {
    pub mode: IaMode,
    pub syms: Interner,
    /// Sets of hotfix [`Sym`]s.
    pub sets: SetTable,
    /// Sets of [`ProductId`]s.
    pub product_sets: SetTable,
    pub extracted: Vec<ExtractedHotfix>,
    pub bases: Vec<Base>,
    pub nodes: Nodes,
    pub vus: Vec<Vu>,
    pub packages: Vec<PackageSlot>,
    /// Node of each instance; instances of one VU are contiguous (see [`Vu`]).
    pub instance_nodes: Vec<NodeId>,
    pub instance_states: Vec<InstanceState>,
    pub msi_products: Vec<MsiProduct>,
    pub workstations: Workstations,
    /// Reverse index: instances on node `n` are
    /// `node_instances[node_inst_start[n]..node_inst_start[n + 1]]` (global instance
    /// indices into `instance_nodes`).
    pub node_inst_start: Vec<u32>,
    pub node_instances: Vec<u32>,
    /// Which VU each instance belongs to (derived).
    pub instance_vu: Vec<VuId>,
    node_index: NameIndex,
    vu_index: FastMap<Box<str>, VuId>,
    ws_index: FastMap<Box<str>, WsId>,
}

impl Model {
    /// Node by name.
    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        self.node_index.get(&self.nodes.names, name)
    }

    /// Virtual unit by name.
    pub fn vu_id(&self, name: &str) -> Option<VuId> {
        self.vu_index.get(name).copied()
    }

    /// Workstation by name.
    pub fn ws_id(&self, name: &str) -> Option<WsId> {
        self.ws_index.get(name).copied()
    }

    /// Base installation by its key (`7.0 SP3`).
    pub fn base_id(&self, key: &str) -> Option<BaseId> {
        self.bases
            .iter()
            .position(|b| b.key() == key)
            .map(|i| i as BaseId)
    }

    /// Base installation by release and support package.
    pub fn base_for(&self, release: &str, support_package: &str) -> Option<BaseId> {
        self.bases
            .iter()
            .position(|b| b.release == release && b.support_package == support_package)
            .map(|i| i as BaseId)
    }

    /// An extracted hotfix by id.
    pub fn extracted(&self, id: &str) -> Option<&ExtractedHotfix> {
        let sym = self.syms.get(id)?;
        self.extracted.iter().find(|h| h.id == sym)
    }

    /// MSI product by product code (case-insensitive, as Windows compares GUIDs).
    pub fn product_id(&self, product_code: &str) -> Option<ProductId> {
        self.msi_products
            .iter()
            .position(|p| p.product_code.eq_ignore_ascii_case(product_code))
            .map(|i| i as ProductId)
    }

    pub fn vu(&self, v: VuId) -> &Vu {
        &self.vus[v as usize]
    }

    /// The software packages of a VU.
    pub fn vu_packages(&self, v: VuId) -> &[PackageSlot] {
        let vu = &self.vus[v as usize];
        &self.packages[vu.pkg_start as usize..(vu.pkg_start + vu.pkg_len) as usize]
    }

    /// Index (within the VU) of the package named `name`.
    pub fn vu_package_index(&self, v: VuId, name: &str) -> Option<u32> {
        let sym = self.syms.get(name)?;
        self.vu_packages(v)
            .iter()
            .position(|p| p.name == sym)
            .map(|i| i as u32)
    }

    /// The nodes holding the instances of a VU.
    pub fn vu_nodes(&self, v: VuId) -> &[NodeId] {
        let vu = &self.vus[v as usize];
        &self.instance_nodes[vu.inst_start as usize..(vu.inst_start + vu.inst_len) as usize]
    }

    /// Index into `instance_states` of package `p` on instance `i` of VU `v`.
    pub fn state_index(&self, v: VuId, i: u32, p: u32) -> usize {
        let vu = &self.vus[v as usize];
        (vu.state_start + i * vu.pkg_len + p) as usize
    }

    /// Global instance indices on node `n`.
    pub fn node_instance_list(&self, n: NodeId) -> &[u32] {
        let n = n as usize;
        match (self.node_inst_start.get(n), self.node_inst_start.get(n + 1)) {
            (Some(&a), Some(&b)) => &self.node_instances[a as usize..b as usize],
            _ => &[],
        }
    }

    /// Rebuilds every derived index (name lookups, reverse instance index, pending
    /// counters). Called once after loading or generating.
    pub fn finish(&mut self) {
        if self.node_index.len() != self.nodes.len() {
            self.node_index = NameIndex::default();
            for n in 0..self.nodes.len() as NodeId {
                self.node_index.insert(&self.nodes.names, n);
            }
        }
        self.vu_index = self
            .vus
            .iter()
            .enumerate()
            .map(|(i, v)| (v.name.clone(), i as VuId))
            .collect();
        self.ws_index = self
            .workstations
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as WsId))
            .collect();
        self.instance_vu = vec![0; self.instance_nodes.len()];
        for (v, vu) in self.vus.iter().enumerate() {
            for i in vu.inst_start..vu.inst_start + vu.inst_len {
                self.instance_vu[i as usize] = v as VuId;
            }
        }
        // Counting sort of instances by node.
        let n = self.nodes.len();
        let mut start = vec![0u32; n + 1];
        for &node in &self.instance_nodes {
            if let Some(s) = start.get_mut(node as usize + 1) {
                *s += 1;
            }
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut list = vec![0u32; self.instance_nodes.len()];
        for (i, &node) in self.instance_nodes.iter().enumerate() {
            if let Some(f) = fill.get_mut(node as usize) {
                list[*f as usize] = i as u32;
                *f += 1;
            }
        }
        self.node_inst_start = start;
        self.node_instances = list;
        self.nodes.pending = vec![0; n];
        self.nodes.pending_total = 0;
        for vu in &self.vus {
            for i in 0..vu.inst_len {
                let node = self.instance_nodes[(vu.inst_start + i) as usize] as usize;
                for p in 0..vu.pkg_len {
                    let s = self.instance_states[(vu.state_start + i * vu.pkg_len + p) as usize];
                    if s.staged != s.applied
                        && let Some(c) = self.nodes.pending.get_mut(node)
                    {
                        *c += 1;
                        self.nodes.pending_total += 1;
                    }
                }
            }
        }
    }

    /// Number of (instance, package) slots.
    pub fn state_count(&self) -> usize {
        self.instance_states.len()
    }

    /// Hotfix ids of a set, as strings.
    pub fn hotfix_names(&self, set: SetId) -> Vec<&str> {
        self.sets
            .members(set)
            .iter()
            .map(|&h| self.syms.str(h))
            .collect()
    }

    /// Approximate heap bytes held by the model (for the memory-per-node budget).
    pub fn approx_heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let n = self.nodes.len();
        self.nodes.names.text.capacity()
            + self.nodes.names.ends.capacity() * 4
            + n * (size_of::<BaseId>() + 1 + size_of::<SetId>() + 4)
            + self.node_index.heap_bytes()
            + self.nodes.names.text.len()
            + self.vus.capacity() * size_of::<Vu>()
            + self.vus.iter().map(|v| v.name.len()).sum::<usize>()
            + self.vu_index.capacity() * (size_of::<Box<str>>() + 4 + 8)
            + self.packages.capacity() * size_of::<PackageSlot>()
            + self.instance_nodes.capacity() * 4
            + self.instance_vu.capacity() * 4
            + self.instance_states.capacity() * size_of::<InstanceState>()
            + self.node_inst_start.capacity() * 4
            + self.node_instances.capacity() * 4
            + self
                .workstations
                .names
                .iter()
                .map(|n| n.len() + 16)
                .sum::<usize>()
            + self.workstations.installed.capacity() * 4
    }
}

/// Builds a [`Model`] piece by piece; used by the XML reader and the generator, which
/// check names and references before calling it.
#[derive(Debug, Default)]
pub struct ModelBuilder {
    pub model: Model,
}

impl ModelBuilder {
    pub fn new(mode: IaMode) -> Self {
        let mut b = ModelBuilder::default();
        b.model.mode = mode;
        b
    }

    pub fn add_base(&mut self, release: &str, support_package: &str, hotfixes: &[&str]) -> BaseId {
        let syms: Vec<Sym> = hotfixes.iter().map(|h| self.model.syms.intern(h)).collect();
        let set = self.model.sets.intern(&syms);
        self.model.bases.push(Base {
            release: release.to_owned(),
            support_package: support_package.to_owned(),
            hotfixes: set,
        });
        (self.model.bases.len() - 1) as BaseId
    }

    pub fn add_extracted(
        &mut self,
        id: &str,
        release: &str,
        support_package: &str,
        packages: &[&str],
        requires: &[&str],
        msis: &[&str],
    ) {
        let id = self.model.syms.intern(id);
        let mut packages: Vec<Sym> = packages.iter().map(|p| self.model.syms.intern(p)).collect();
        packages.sort_unstable();
        packages.dedup();
        let mut requires: Vec<Sym> = requires.iter().map(|p| self.model.syms.intern(p)).collect();
        requires.sort_unstable();
        requires.dedup();
        let mut msis: Vec<String> = msis.iter().map(|m| (*m).to_owned()).collect();
        msis.sort_unstable();
        msis.dedup();
        self.model.extracted.push(ExtractedHotfix {
            id,
            release: release.to_owned(),
            support_package: support_package.to_owned(),
            packages,
            requires,
            msis,
        });
    }

    /// Adds a node; `seen` defaults to its base's hotfixes (a refreshed node).
    pub fn add_node(
        &mut self,
        name: &str,
        base: BaseId,
        reachable: bool,
        seen: Option<SetId>,
    ) -> NodeId {
        let id = self.model.nodes.names.push(name);
        self.model.node_index.insert(&self.model.nodes.names, id);
        let seen = seen.unwrap_or_else(|| {
            self.model
                .bases
                .get(base as usize)
                .map_or(EMPTY_SET, |b| b.hotfixes)
        });
        self.model.nodes.base.push(base);
        self.model.nodes.reachable.push(reachable);
        self.model.nodes.seen.push(seen);
        id
    }

    /// Adds a VU with its packages `(name, version, hotfixes)` and instance nodes; every
    /// instance starts synchronized and applied. Returns the VU id.
    pub fn add_vu(
        &mut self,
        name: &str,
        active: bool,
        packages: &[(Sym, Sym, SetId)],
        nodes: &[NodeId],
    ) -> VuId {
        let m = &mut self.model;
        let vu = Vu {
            name: name.into(),
            active,
            pkg_start: m.packages.len() as u32,
            pkg_len: packages.len() as u32,
            inst_start: m.instance_nodes.len() as u32,
            inst_len: nodes.len() as u32,
            state_start: m.instance_states.len() as u32,
        };
        for &(name, version, hotfixes) in packages {
            m.packages.push(PackageSlot {
                name,
                version,
                hotfixes,
            });
        }
        for &n in nodes {
            m.instance_nodes.push(n);
            for &(_, _, h) in packages {
                m.instance_states.push(InstanceState {
                    staged: h,
                    applied: h,
                });
            }
        }
        m.vus.push(vu);
        (m.vus.len() - 1) as VuId
    }

    pub fn add_product(&mut self, p: MsiProduct) -> ProductId {
        self.model.msi_products.push(p);
        (self.model.msi_products.len() - 1) as ProductId
    }

    pub fn add_workstation(&mut self, name: &str, products: &[ProductId]) -> WsId {
        let set = self.model.product_sets.intern(products);
        self.model.workstations.names.push(name.into());
        self.model.workstations.installed.push(set);
        (self.model.workstations.len() - 1) as WsId
    }

    /// A node added earlier, by name.
    pub fn node_by_name(&self, name: &str) -> Option<NodeId> {
        self.model.node_index.get(&self.model.nodes.names, name)
    }

    pub fn finish(mut self) -> Model {
        self.model.finish();
        self.model
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_follow_the_domain_charset() {
        assert!(valid_node_name("HAC_01"));
        assert!(!valid_node_name("hac01"));
        assert!(!valid_node_name("HAC-01"));
        assert!(!valid_node_name(""));
        assert!(!valid_node_name(&"A".repeat(65)));
    }

    #[test]
    fn sets_are_shared_values() {
        let mut t = SetTable::default();
        let a = t.intern(&[3, 1]);
        let one = t.intern(&[1]);
        let b = t.with(one, 3);
        assert_eq!(a, b);
        assert_eq!(t.members(a), &[1, 3]);
        assert_eq!(t.without(a, 3), one);
        assert_eq!(t.without(one, 1), EMPTY_SET);
    }

    #[test]
    fn name_arena_returns_each_name() {
        let mut a = NameArena::default();
        a.push("A");
        a.push("BC");
        assert_eq!(a.get(0), "A");
        assert_eq!(a.get(1), "BC");
        assert_eq!(a.get(2), "");
    }

    #[test]
    fn name_index_finds_every_name_across_growth() {
        let mut arena = NameArena::default();
        let mut index = NameIndex::default();
        assert_eq!(index.get(&arena, "HAC1"), None);
        for i in 0..5000u32 {
            let id = arena.push(&format!("HAC{i:07}"));
            index.insert(&arena, id);
        }
        assert_eq!(index.len(), 5000);
        for i in (0..5000u32).step_by(7) {
            assert_eq!(index.get(&arena, &format!("HAC{i:07}")), Some(i));
        }
        assert_eq!(index.get(&arena, "HAC0005000"), None);
        assert_eq!(index.get(&arena, ""), None);
    }

    #[test]
    fn sets_of_any_size_intern_alike() {
        let mut t = SetTable::default();
        let big: Vec<u32> = (0..40).rev().chain(0..40).collect();
        let sorted: Vec<u32> = (0..40).collect();
        let from_big = t.intern(&big);
        assert_eq!(from_big, t.intern(&sorted));
        assert_eq!(t.members(from_big), sorted.as_slice());
        let small = t.intern(&[5, 2, 5, 2, 9]);
        assert_eq!(t.members(small), &[2, 5, 9]);
        assert_eq!(t.intern(&[9, 2, 5]), small);
    }
}
