//! The discrete-event engine: one thread, one event queue, struct-of-arrays state.
//!
//! Resources modelled:
//! - the **IA** is one sequential operator: its actions take their latency one after the
//!   other (`ia_free_at`), and cost no events (their times are added up arithmetically);
//! - **transfers** hold one of `max_parallel_transfers` slots from the start of the
//!   connection (`latency`) to the last byte. While `n` transfers are in their data phase,
//!   each runs at `min(link, floor(uplink / n))` bytes/s (processor sharing). This is
//!   simulated exactly with a virtual clock `vs` (micro-bytes served to each transfer so
//!   far): a transfer of `b` bytes that starts when the clock reads `vs0` ends when it
//!   reads `vs0 + b·10^6`, so only the earliest end is ever scheduled;
//! - **applies** hold one of `max_parallel_applies` slots for their drawn duration;
//! - **workstations** hold one of `concurrency` push slots for remove + install.
//!
//! Per rollout wave: every node of the wave is synchronized (transfer), then every node
//! that received its files is applied; the wave ends when all are done or given up.
//! Must never panic on any scenario input: every count and index is checked before use.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use super::config::{
    Activation, CanaryUnit, Dist, Micros, NodeRef, Procedure, Reaction, SiteNodes, SiteSpec,
    Strategy, TimingConfig, invalid,
};
use super::queue::EventQueue;
use super::result::{
    Convergence, Downtime, FailedItem, FailedList, MixedWindow, NodeCounts, Retries, Series,
    SiteResult, StepSpan, StopInfo, TimingResult, WorkstationCounts, secs,
};
use super::rng::{self, Stream, chance, prob_threshold};
use super::topology::Topology;
use super::{IaOp, Plan, Step, TimingError};

/// Counters the engine reports besides the result.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counters {
    pub events: u64,
    /// Time spent in the event loop alone (not building the engine's state or the
    /// result).
    pub loop_seconds: f64,
    pub peak_queue: u64,
    pub state_bytes: usize,
}

// Event kinds, packed into the top 5 bits of the payload.
const EV_STEP_DONE: u32 = 0;
const EV_LATENCY_DONE: u32 = 1;
const EV_TRANSFER_TIMEOUT: u32 = 2;
const EV_TRANSFER_COMPLETION: u32 = 3;
const EV_TRANSFER_RETRY: u32 = 4;
const EV_APPLY_DONE: u32 = 5;
const EV_APPLY_FAILED: u32 = 6;
const EV_APPLY_RETRY: u32 = 7;
const EV_WAVE_START: u32 = 8;
const EV_ROLLBACK_DONE: u32 = 9;
const EV_WS_REMOVED: u32 = 10;
const EV_WS_INSTALLED: u32 = 11;
const EV_WS_FAILED: u32 = 12;
const EV_WS_RETRY: u32 = 13;
/// The distribution share has reached a site (target: the site index).
const EV_SITE_READY: u32 = 14;
/// A transfer to a node at a remote site (from the site's copy of the share) ended.
const EV_SITE_TRANSFER_DONE: u32 = 15;

const KIND_SHIFT: u32 = 27;
const TARGET_MASK: u32 = (1 << KIND_SHIFT) - 1;

#[inline]
fn ev(kind: u32, target: u32) -> u32 {
    (kind << KIND_SHIFT) | (target & TARGET_MASK)
}

// Node states.
const N_IDLE: u8 = 0;
const N_QUEUED: u8 = 1;
const N_TRANSFERRING: u8 = 2;
const N_TRANSFERRED: u8 = 3;
const N_APPLYING: u8 = 4;
const N_CONVERGED: u8 = 5;
const N_FAILED: u8 = 6;
const N_ROLLED_BACK: u8 = 7;
const N_ROLLING_BACK: u8 = 8;

// Workstation states.
const W_IDLE: u8 = 0;
const W_BUSY: u8 = 1;
const W_DONE: u8 = 2;
const W_FAILED: u8 = 3;
/// The old version removed by a remove-only step, the new one not installed (yet).
const W_REMOVED: u8 = 4;

// What a workstation step does.
const WS_BOTH: u8 = 0;
const WS_REMOVE: u8 = 1;
const WS_INSTALL: u8 = 2;

/// `NodeWord::flags`: the node counts as on the new version (for mixed windows).
const F_NEW: u8 = 1;

const NEVER: Micros = u64::MAX;
const NO_PKG: u32 = u32::MAX;
const MULTI: u32 = 1 << 31;

/// Micro-bytes per byte: the unit of the virtual transfer clock.
const MICRO: u128 = 1_000_000;

struct Engine<'a> {
    topo: &'a Topology,
    cfg: &'a TimingConfig,
    plan: &'a Plan,
    seed: u64,
    q: EventQueue,
    now: Micros,
    events: u64,
    step: usize,
    ia_free_at: Micros,

    // Node → distinct affected packages: the package itself when there is one (the usual
    // case, one memory access), else `MULTI | i` with `pkg_multi[i]` = count, then the
    // packages. `NO_PKG` for unaffected nodes.
    /// Hot per-node fields packed in one word, so that an event on a node touches one
    /// cache line (at a million nodes, events arrive in random node order).
    node: Vec<NodeWord>,
    pkg_multi: Vec<u32>,
    // Per-node state (struct of arrays).
    /// Convergences in the order they happened (so already sorted by time): appending
    /// here is cheaper than a random write into a per-node array, and needs no sort.
    converged: Vec<(Micros, u32)>,
    /// A node converged a second time (a later synchronize + apply): `converged` holds
    /// duplicates to drop at the end.
    reconverged: bool,
    outages: BTreeMap<u32, Micros>,
    /// Outages that start with a step: (1-based step, node).
    step_outages: Vec<(u32, u32)>,
    /// Finally failed nodes: (time, node, step, what).
    node_failures: Vec<(Micros, u32, u32, &'static str)>,
    ws_failures: Vec<(Micros, u32, u32)>,
    /// Workstations whose MSI install always fails, by topology index (sorted).
    ws_named_fail: Vec<u32>,
    /// Per plan step: start, end, targets.
    spans: Vec<(Micros, Micros, u32)>,
    unreachable_p: Option<u64>,
    transfer_fail_p: Option<u64>,
    apply_fail_p: Option<u64>,
    ws_fail_p: Option<u64>,
    affected: u32,

    // Node → VUs, only when VUs are activated as they converge.
    node_vu_off: Vec<u32>,
    node_vus: Vec<u32>,
    vu_left: Vec<u32>,
    vu_inactive_at: Vec<Micros>,
    vu_active_at: Vec<Micros>,

    // Per package: nodes in total, nodes on the new version, mixed-time bookkeeping.
    pkg_total: Vec<u32>,
    pkg_new: Vec<u32>,
    pkg_mixed: Vec<Micros>,
    pkg_last: Vec<Micros>,
    pkg_first: Vec<Micros>,
    pkg_end: Vec<Micros>,

    // Rollout waves over `wave_nodes` (the affected nodes in `order` for a rollout, a
    // runbook step's nodes for an apply).
    order: Vec<u32>,
    wave_nodes: Vec<u32>,
    /// The current waves only apply (files came with earlier synchronize steps).
    apply_only: bool,
    /// The current transfers are a synchronize step of their own.
    sync_only: bool,
    rollout_started: bool,
    /// `wave_nodes` is `order`, taken for a rollout step (see `restore_order`).
    waves_own_order: bool,
    wave_bounds: Vec<u32>,
    wave: usize,
    wave_transfers_left: u32,
    wave_applies_left: u32,
    wave_ready: Vec<u32>,
    canary: bool,
    stopping: bool,
    stop: Option<StopInfo>,
    rolled_back_nodes: u32,
    failed_nodes: u32,
    rollback_left: u32,
    rollback_times: Vec<Micros>,
    rollout_start: Micros,
    rollout_end: Micros,

    // Transfers.
    tq: VecDeque<u32>,
    slots: u32,
    peak_slots: u32,
    /// Transfers in their data phase: `finish tag << 28 | node << 1 | fails`.
    data: TagQueue,
    vs: u128,
    vs_at: Micros,
    rate: u64,
    next_completion: Micros,
    bytes_sent: u64,

    // Applies.
    aq: VecDeque<u32>,
    applying: u32,

    // Workstations.
    ws_state: Vec<u8>,
    ws_attempt: Vec<u8>,
    ws_next: u32,
    ws_busy: u32,
    ws_retry_q: VecDeque<u32>,
    ws_left: u32,
    ws_enabled: bool,
    ws_list: Vec<u32>,
    ws_mode: u8,
    /// Times at which workstations got the new version, in time order.
    ws_done_at: Vec<Micros>,
    /// Start of the first workstation step that had workstations.
    ws_push_at: Micros,
    /// Probability threshold of a workstation being off at the assignment (logon model).
    ws_off_p: Option<u64>,

    // Sites (empty without `[[timing.sites]]`): node → site index + 1 (0: the
    // management host's site), when each site's share arrived, nodes waiting for it.
    node_site: Vec<u16>,
    site_ready_at: Vec<Micros>,
    site_waiting: Vec<Vec<u32>>,

    retries: Retries,
}

pub(crate) fn run(
    topo: &Topology,
    plan: &Plan,
    cfg: &TimingConfig,
    seed: u64,
) -> Result<(TimingResult, Counters), TimingError> {
    let mut e = Engine::new(topo, plan, cfg, seed)?;
    let started = std::time::Instant::now();
    e.start_step(0);
    while let Some(entry) = e.q.pop() {
        e.now = entry.time;
        e.events += 1;
        e.handle(entry.payload >> KIND_SHIFT, entry.payload & TARGET_MASK);
    }
    let loop_seconds = started.elapsed().as_secs_f64();
    let counters = Counters {
        events: e.events,
        loop_seconds,
        peak_queue: e.q.peak_len() as u64,
        state_bytes: e.state_bytes(),
    };
    Ok((e.finish(), counters))
}

/// The hot state of one node: its affected package (or `MULTI | i`, or `NO_PKG`), its
/// state (`N_*`) and the attempt number of its current phase.
#[derive(Debug, Clone, Copy)]
struct NodeWord {
    pkg: u32,
    state: u8,
    attempt: u8,
    flags: u8,
}

/// Min-queue of packed transfer tags. Tags pushed in increasing order (the usual case:
/// equal payloads started one after the other) go to a FIFO, which costs O(1); the others
/// go to a binary heap. `peek`/`pop` take the smaller head of the two.
#[derive(Debug, Default)]
struct TagQueue {
    fifo: VecDeque<u128>,
    heap: BinaryHeap<Reverse<u128>>,
}

impl TagQueue {
    #[inline]
    fn push(&mut self, key: u128) {
        if self.fifo.back().is_none_or(|&b| b <= key) {
            self.fifo.push_back(key);
        } else {
            self.heap.push(Reverse(key));
        }
    }

    #[inline]
    fn peek(&self) -> Option<u128> {
        match (self.fifo.front(), self.heap.peek()) {
            (Some(&a), Some(&Reverse(b))) => Some(a.min(b)),
            (Some(&a), None) => Some(a),
            (None, Some(&Reverse(b))) => Some(b),
            (None, None) => None,
        }
    }

    #[inline]
    fn pop(&mut self) {
        match (self.fifo.front(), self.heap.peek()) {
            (Some(&a), Some(&Reverse(b))) if b < a => {
                self.heap.pop();
            }
            (Some(_), _) => {
                self.fifo.pop_front();
            }
            _ => {
                self.heap.pop();
            }
        }
    }

    fn len(&self) -> usize {
        self.fifo.len() + self.heap.len()
    }

    fn capacity(&self) -> usize {
        self.fifo.capacity() + self.heap.capacity()
    }
}

/// CSR over `0..n` of the pairs `(a, b)` that `each` produces (it is called twice: to
/// count, then to fill), each row sorted and deduplicated. No global sort: two linear
/// passes plus a sort of each (short) row.
fn csr_build(n: u32, each: impl Fn(&mut dyn FnMut(u32, u32))) -> (Vec<u32>, Vec<u32>) {
    let mut off = vec![0u32; n as usize + 1];
    each(&mut |a, _| off[a as usize + 1] += 1);
    for i in 0..n as usize {
        off[i + 1] += off[i];
    }
    let mut vals = vec![0u32; off[n as usize] as usize];
    let mut fill = off.clone();
    each(&mut |a, b| {
        vals[fill[a as usize] as usize] = b;
        fill[a as usize] += 1;
    });
    // Sort and deduplicate each row in place, compacting as we go.
    let mut w = 0usize;
    let mut start = 0usize;
    for i in 0..n as usize {
        let end = off[i + 1] as usize;
        let row = &mut vals[start..end];
        if row.len() > 1 {
            row.sort_unstable();
        }
        let row_start = w;
        for k in start..end {
            let v = vals[k];
            if w == row_start || vals[w - 1] != v {
                vals[w] = v;
                w += 1;
            }
        }
        off[i] = row_start as u32;
        start = end;
    }
    off[n as usize] = w as u32;
    vals.truncate(w);
    (off, vals)
}

impl<'a> Engine<'a> {
    fn new(
        topo: &'a Topology,
        plan: &'a Plan,
        cfg: &'a TimingConfig,
        seed: u64,
    ) -> Result<Self, TimingError> {
        let n = topo.node_count;
        let v = topo.vu_count();
        // Node → distinct affected packages.
        let (off, pkgs) = csr_build(n, |emit| {
            for vu in 0..v {
                for &node in topo.nodes_of(vu) {
                    for &p in topo.packages_of(vu) {
                        emit(node, p);
                    }
                }
            }
        });
        let mut pkg_total = vec![0u32; topo.packages.len()];
        for &p in &pkgs {
            pkg_total[p as usize] += 1;
        }
        let mut node_pkg = vec![NO_PKG; n as usize];
        let mut pkg_multi = Vec::new();
        for i in 0..n as usize {
            let list = &pkgs[off[i] as usize..off[i + 1] as usize];
            match list {
                [] => {}
                [p] => node_pkg[i] = *p,
                _ => {
                    node_pkg[i] = MULTI | pkg_multi.len() as u32;
                    pkg_multi.push(list.len() as u32);
                    pkg_multi.extend_from_slice(list);
                }
            }
        }
        drop((off, pkgs));
        let order: Vec<u32> = (0..n).filter(|&i| node_pkg[i as usize] != NO_PKG).collect();
        let affected = order.len() as u32;

        let (node_vu_off, node_vus, vu_left) = if cfg.activate == Activation::WhenConverged {
            let (off, vals) = csr_build(n, |emit| {
                for vu in 0..v {
                    if topo.packages_of(vu).is_empty() {
                        continue;
                    }
                    for &node in topo.nodes_of(vu) {
                        emit(node, vu);
                    }
                }
            });
            let mut left = vec![0u32; v as usize];
            for &vu in &vals {
                left[vu as usize] += 1;
            }
            (off, vals, left)
        } else {
            (Vec::new(), Vec::new(), Vec::new())
        };

        let node_site = site_of_nodes(topo, &cfg.sites)?;
        let mut outages = BTreeMap::new();
        let mut step_outages = Vec::new();
        for &u in &topo.unreachable {
            outages.insert(u, 0);
        }
        for o in &cfg.faults.unreachable {
            let idx = match &o.node {
                NodeRef::Index(i) => Some(*i).filter(|&i| i < n),
                NodeRef::Name(s) => topo.find_node(s),
            };
            let Some(idx) = idx else {
                return Err(TimingError::InvalidValue {
                    table: "faults.unreachable".into(),
                    key: "node".into(),
                    message: match &o.node {
                        NodeRef::Name(name) => {
                            format!("no node `{name}` in the topology ({n} nodes)")
                        }
                        NodeRef::Index(i) => format!("no node {i} in the topology ({n} nodes)"),
                    },
                });
            };
            if let Some(step) = o.at_step {
                step_outages.push((step, idx));
                continue;
            }
            let slot = outages.entry(idx).or_insert(o.from);
            *slot = (*slot).min(o.from);
        }

        let f = &cfg.faults;
        let ws = if topo.msi_count > 0 {
            topo.workstations
        } else {
            0
        };
        let mut ws_named_fail = Vec::with_capacity(f.msi_install_fails.len());
        for name in &f.msi_install_fails {
            let found = if topo.workstation_names.is_empty() {
                name.strip_prefix('W')
                    .and_then(|i| i.parse::<u32>().ok())
                    .filter(|&i| i < topo.workstations)
            } else {
                topo.workstation_names
                    .iter()
                    .position(|w| w == name)
                    .map(|i| i as u32)
            };
            let Some(w) = found else {
                return Err(TimingError::InvalidValue {
                    table: "faults".into(),
                    key: "msi_install_fails".into(),
                    message: format!(
                        "no workstation {name:?} runs a component of the hotfix ({} do)",
                        topo.workstations
                    ),
                });
            };
            ws_named_fail.push(w);
        }
        ws_named_fail.sort_unstable();
        ws_named_fail.dedup();
        Ok(Engine {
            topo,
            cfg,
            plan,
            seed,
            q: EventQueue::new(),
            now: 0,
            events: 0,
            step: 0,
            ia_free_at: 0,
            converged: Vec::with_capacity(affected as usize),
            reconverged: false,
            node: node_pkg
                .into_iter()
                .map(|pkg| NodeWord {
                    pkg,
                    state: N_IDLE,
                    attempt: 0,
                    flags: 0,
                })
                .collect(),
            pkg_multi,
            outages,
            step_outages,
            node_failures: Vec::new(),
            ws_failures: Vec::new(),
            ws_named_fail,
            spans: Vec::with_capacity(plan.steps.len()),
            unreachable_p: prob_threshold(f.node_unreachable_probability),
            transfer_fail_p: prob_threshold(f.transfer_failure_probability),
            apply_fail_p: prob_threshold(f.apply_failure_probability),
            ws_fail_p: prob_threshold(f.workstation_failure_probability),
            affected,
            node_vu_off,
            node_vus,
            vu_left,
            vu_inactive_at: vec![NEVER; v as usize],
            vu_active_at: vec![NEVER; v as usize],
            pkg_new: vec![0; pkg_total.len()],
            pkg_mixed: vec![0; pkg_total.len()],
            pkg_last: vec![0; pkg_total.len()],
            pkg_first: vec![NEVER; pkg_total.len()],
            pkg_end: vec![NEVER; pkg_total.len()],
            pkg_total,
            order,
            wave_nodes: Vec::new(),
            apply_only: false,
            sync_only: false,
            rollout_started: false,
            waves_own_order: false,
            wave_bounds: Vec::new(),
            wave: 0,
            wave_transfers_left: 0,
            wave_applies_left: 0,
            wave_ready: Vec::new(),
            canary: cfg.rollout.strategy == Strategy::Canary,
            stopping: false,
            stop: None,
            rolled_back_nodes: 0,
            failed_nodes: 0,
            rollback_left: 0,
            rollback_times: Vec::new(),
            rollout_start: 0,
            rollout_end: 0,
            tq: VecDeque::new(),
            slots: 0,
            peak_slots: 0,
            data: TagQueue::default(),
            vs: 0,
            vs_at: 0,
            rate: 0,
            next_completion: NEVER,
            bytes_sent: 0,
            aq: VecDeque::new(),
            applying: 0,
            ws_state: vec![W_IDLE; ws as usize],
            ws_attempt: vec![0; ws as usize],
            ws_next: 0,
            ws_busy: 0,
            ws_retry_q: VecDeque::new(),
            ws_left: 0,
            ws_enabled: false,
            ws_list: Vec::new(),
            ws_mode: WS_BOTH,
            ws_done_at: Vec::new(),
            ws_push_at: NEVER,
            node_site,
            site_ready_at: vec![NEVER; cfg.sites.len() + 1],
            site_waiting: vec![Vec::new(); cfg.sites.len() + 1],
            ws_off_p: cfg
                .workstations
                .logon
                .as_ref()
                .and_then(|l| prob_threshold(l.off_probability)),
            retries: Retries::default(),
        })
    }

    fn state_bytes(&self) -> usize {
        self.node.capacity() * std::mem::size_of::<NodeWord>()
            + self.pkg_multi.capacity() * 4
            + self.converged.capacity() * 16
            + self.node_vu_off.capacity() * 4
            + self.node_vus.capacity() * 4
            + self.vu_left.capacity() * 4
            + self.vu_inactive_at.capacity() * 8
            + self.vu_active_at.capacity() * 8
            + self.order.capacity() * 4
            + self.wave_nodes.capacity() * 4
            + self.wave_bounds.capacity() * 4
            + self.wave_ready.capacity() * 4
            + self.tq.capacity() * 4
            + self.aq.capacity() * 4
            + self.data.capacity() * 16
            + self.ws_state.capacity() * 2
            + self.q.peak_len() * 16
    }

    #[inline]
    fn at(&mut self, time: Micros, kind: u32, target: u32) {
        self.q.push(time, ev(kind, target));
    }

    // ------------------------------------------------------------------ plan steps

    /// Runs an IA action now (or when the IA is free) and returns when it finishes.
    fn ia(&mut self, d: &Dist, index: u32) -> Micros {
        let start = self.now.max(self.ia_free_at);
        // Each (step, index) has its own draw so IA latencies do not depend on order.
        let lat = d.sample(self.seed, Stream::Ia, index, self.step as u32);
        self.ia_free_at = start.saturating_add(lat);
        self.ia_free_at
    }

    /// An IA action that takes a VU down: it starts only inside a maintenance window
    /// (the operator waits for the next one to open).
    fn ia_down(&mut self, d: &Dist, index: u32) -> Micros {
        if let Some(w) = &self.cfg.windows {
            let start = self.now.max(self.ia_free_at);
            self.ia_free_at = w.next_open(start);
        }
        self.ia(d, index)
    }

    fn start_step(&mut self, i: usize) {
        if let Some(last) = self.spans.last_mut().filter(|s| s.1 == NEVER) {
            last.1 = self.now;
        }
        self.step = i;
        if !self.step_outages.is_empty() {
            let now = self.now;
            let step = i as u32 + 1;
            for k in 0..self.step_outages.len() {
                let (s, node) = self.step_outages[k];
                if s == step {
                    let slot = self.outages.entry(node).or_insert(now);
                    *slot = (*slot).min(now);
                }
            }
        }
        let Some(&step) = self.plan.steps.get(i) else {
            return;
        };
        self.spans.push((self.now, NEVER, 0));
        let ia = &self.cfg.ia;
        let done = match step {
            Step::Idle => Some(self.now),
            Step::Ia(op) => {
                let d = match op {
                    IaOp::SetMode => &ia.set_mode,
                    IaOp::Inactivate => &ia.inactivate,
                    IaOp::Activate => &ia.activate,
                    IaOp::AddToBase => &ia.add_to_base,
                    IaOp::RemoveFromBase => &ia.remove_from_base,
                    IaOp::RefreshAllNodes => &ia.refresh_all_nodes,
                    IaOp::AddToPackage => &ia.add_to_package,
                    IaOp::DeleteFromPackage => &ia.delete_from_package,
                    IaOp::SaveModel => &ia.save_model,
                };
                if op == IaOp::Inactivate {
                    Some(self.ia_down(d, 0))
                } else {
                    Some(self.ia(d, 0))
                }
            }
            Step::Synchronize(l) => {
                self.start_sync(l as usize);
                None
            }
            Step::Apply { list, all_hosts } => {
                let plan = self.plan;
                let nodes: Vec<u32> = plan.node_lists[list as usize]
                    .iter()
                    .copied()
                    .filter(|&n| n < self.topo.node_count)
                    .collect();
                self.set_targets(nodes.len() as u32);
                self.apply_only = true;
                self.start_waves(nodes, all_hosts);
                None
            }
            Step::WsRemove(l) | Step::WsInstall(l) => {
                let plan = self.plan;
                let n = self.ws_state.len() as u32;
                let list: Vec<u32> = plan.ws_lists[l as usize]
                    .iter()
                    .copied()
                    .filter(|&w| w < n)
                    .collect();
                let mode = if matches!(step, Step::WsRemove(_)) {
                    WS_REMOVE
                } else {
                    WS_INSTALL
                };
                self.begin_ws(list, mode)
            }
            Step::SetMode => Some(self.ia(&ia.set_mode, 0)),
            Step::AddToBase => Some(self.ia(&ia.add_to_base, 0)),
            Step::RemoveFromBase => Some(self.ia(&ia.remove_from_base, 0)),
            Step::RefreshAllNodes => Some(self.ia(&ia.refresh_all_nodes, 0)),
            Step::SaveModel => Some(self.ia(&ia.save_model, 0)),
            Step::InactivateVus => {
                let mut t = self.now;
                for vu in 0..self.topo.vu_count() {
                    if self.vu_inactive_at[vu as usize] == NEVER {
                        t = self.ia_down(&ia.inactivate, vu);
                        self.vu_inactive_at[vu as usize] = t;
                    }
                }
                Some(t)
            }
            Step::ActivateVus => {
                let mut t = self.now.max(self.ia_free_at);
                for vu in 0..self.topo.vu_count() {
                    let inactive = self.vu_inactive_at[vu as usize] != NEVER;
                    if inactive && self.vu_active_at[vu as usize] == NEVER {
                        t = self.ia(&ia.activate, vu);
                        self.vu_active_at[vu as usize] = t;
                    }
                }
                Some(t)
            }
            Step::ChangePackages => {
                let d = match self.plan.procedure {
                    Procedure::Install => &ia.add_to_package,
                    Procedure::Remove => &ia.delete_from_package,
                };
                let mut t = self.now.max(self.ia_free_at);
                let mut k = 0u32;
                for vu in 0..self.topo.vu_count() {
                    for _ in self.topo.packages_of(vu) {
                        t = self.ia(d, k);
                        k = k.wrapping_add(1);
                    }
                }
                Some(t)
            }
            Step::Rollout => {
                self.apply_only = false;
                // The waves run over `order` itself (no copy at a million nodes); it
                // comes back when the rollout ends.
                self.waves_own_order = true;
                let nodes = std::mem::take(&mut self.order);
                self.set_targets(nodes.len() as u32);
                self.start_waves(nodes, true);
                None
            }
            Step::Workstations => {
                let all: Vec<u32> = (0..self.ws_state.len() as u32).collect();
                self.begin_ws(all, WS_BOTH)
            }
            Step::Wait(d) => {
                let start = self.now.max(self.ia_free_at);
                self.ia_free_at = start.saturating_add(d);
                Some(self.ia_free_at)
            }
            Step::InactivateVuList(l) => {
                let plan = self.plan;
                let mut t = self.now.max(self.ia_free_at);
                for &vu in &plan.vu_lists[l as usize] {
                    if self.vu_inactive_at[vu as usize] == NEVER {
                        t = self.ia_down(&ia.inactivate, vu);
                        self.vu_inactive_at[vu as usize] = t;
                    }
                }
                Some(t)
            }
            Step::ActivateVuList(l) => {
                let plan = self.plan;
                let mut t = self.now.max(self.ia_free_at);
                for &vu in &plan.vu_lists[l as usize] {
                    let inactive = self.vu_inactive_at[vu as usize] != NEVER;
                    if inactive && self.vu_active_at[vu as usize] == NEVER {
                        t = self.ia(&ia.activate, vu);
                        self.vu_active_at[vu as usize] = t;
                    }
                }
                Some(t)
            }
            Step::ChangePackagesList(l) => {
                let plan = self.plan;
                let d = match plan.procedure {
                    Procedure::Install => &ia.add_to_package,
                    Procedure::Remove => &ia.delete_from_package,
                };
                let mut t = self.now.max(self.ia_free_at);
                for &vu in &plan.vu_lists[l as usize] {
                    // The same draw index as the standard plan's ChangePackages.
                    let k0 = self.topo.vu_package_offsets[vu as usize];
                    for (j, _) in self.topo.packages_of(vu).iter().enumerate() {
                        t = self.ia(d, k0 + j as u32);
                    }
                }
                Some(t)
            }
        };
        if let Some(t) = done {
            self.at(t, EV_STEP_DONE, 0);
        }
    }

    fn next_step(&mut self) {
        self.start_step(self.step + 1);
    }

    fn set_targets(&mut self, n: u32) {
        if let Some(last) = self.spans.last_mut() {
            last.2 = n;
        }
    }

    /// A synchronize step: transfers to its nodes (those not failed), then the next step.
    fn start_sync(&mut self, l: usize) {
        let plan = self.plan;
        self.sync_only = true;
        self.wave_ready.clear();
        self.wave_transfers_left = 0;
        let mut targets = 0u32;
        for &node in &plan.node_lists[l] {
            if node >= self.topo.node_count || self.node[node as usize].state == N_FAILED {
                continue;
            }
            targets += 1;
            let w = &mut self.node[node as usize];
            w.state = N_QUEUED;
            w.attempt = 0;
            self.tq.push_back(node);
            self.wave_transfers_left += 1;
        }
        self.set_targets(targets);
        self.dispatch_transfers();
        if self.wave_transfers_left == 0 {
            self.transfers_complete();
        }
    }

    /// A workstation step over `list`; returns when it is done if it has nothing to do.
    fn begin_ws(&mut self, list: Vec<u32>, mode: u8) -> Option<Micros> {
        self.set_targets(list.len() as u32);
        if self.stopping || list.is_empty() {
            return Some(self.now);
        }
        if self.ws_push_at == NEVER || (mode != WS_INSTALL && !self.ws_done_at.is_empty()) {
            // A new rollout to the workstations (a removal after an install): its own
            // figures.
            self.ws_push_at = self.now;
            self.ws_done_at.clear();
        }
        if mode == WS_REMOVE && self.cfg.workstations.logon.is_some() {
            // A group-policy assignment: the old version goes at the same logon as the
            // new one comes (the install step's), so removing is only marked here.
            for &w in &list {
                self.ws_state[w as usize] = W_REMOVED;
            }
            return Some(self.now);
        }
        self.ws_left = list.len() as u32;
        self.ws_list = list;
        self.ws_next = 0;
        self.ws_mode = mode;
        self.ws_enabled = true;
        self.dispatch_ws();
        None
    }

    fn handle(&mut self, kind: u32, target: u32) {
        match kind {
            EV_STEP_DONE => self.next_step(),
            EV_LATENCY_DONE => self.latency_done(target),
            EV_TRANSFER_TIMEOUT => self.transfer_finished(target, false),
            EV_TRANSFER_COMPLETION => self.transfer_completion(),
            EV_TRANSFER_RETRY => self.transfer_retry(target),
            EV_APPLY_DONE => self.apply_done(target),
            EV_APPLY_FAILED => self.apply_failed(target),
            EV_APPLY_RETRY => self.apply_retry(target),
            EV_WAVE_START => self.start_wave(),
            EV_ROLLBACK_DONE => self.rollback_done(target),
            EV_WS_REMOVED => self.ws_removed(target),
            EV_WS_INSTALLED => self.ws_installed(target),
            EV_WS_FAILED => self.ws_failed(target),
            EV_WS_RETRY => self.ws_retry(target),
            EV_SITE_READY => self.site_ready(target),
            EV_SITE_TRANSFER_DONE => {
                let attempt = u32::from(self.node[target as usize].attempt);
                let fail = chance(
                    self.seed,
                    Stream::TransferFail,
                    target,
                    attempt,
                    self.transfer_fail_p,
                );
                let ok = !fail && !self.is_unreachable(target);
                self.transfer_finished(target, ok);
            }
            _ => debug_assert!(false, "unknown event kind {kind}"),
        }
    }

    // ------------------------------------------------------------------ rollout waves

    /// Waves over `nodes`: the rollout strategy's when `strategy` (a rollout, or "Apply
    /// All Changes to All Hosts"), else one wave (apply on one node).
    fn start_waves(&mut self, nodes: Vec<u32>, strategy: bool) {
        if !self.rollout_started {
            self.rollout_started = true;
            self.rollout_start = self.now;
        }
        self.wave_nodes = nodes;
        let n = self.wave_nodes.len() as u32;
        let r = &self.cfg.rollout;
        let mut bounds = vec![0u32];
        if !strategy {
            if n > 0 {
                bounds.push(n);
            }
            self.wave_bounds = bounds;
            self.wave = 0;
            if self.wave_bounds.len() < 2 {
                self.end_rollout();
            } else {
                self.start_wave();
            }
            return;
        }
        if r.strategy == Strategy::Canary && n > 0 {
            // The canary wave goes first: move its nodes to the front of `order`.
            let first: Vec<u32> = match r.canary {
                CanaryUnit::Node => vec![self.wave_nodes[0]],
                CanaryUnit::Vu => {
                    let vu =
                        (0..self.topo.vu_count()).find(|&v| !self.topo.packages_of(v).is_empty());
                    let mut nodes: Vec<u32> = vu
                        .map(|v| self.topo.nodes_of(v).to_vec())
                        .unwrap_or_default();
                    nodes.sort_unstable();
                    nodes.dedup();
                    nodes
                }
            };
            if !first.is_empty() {
                let mut is_first = vec![false; self.topo.node_count as usize];
                for &x in &first {
                    is_first[x as usize] = true;
                }
                // Only canary nodes that are among this step's nodes.
                let mut reordered: Vec<u32> = first;
                if self.apply_only {
                    let mut here = vec![false; self.topo.node_count as usize];
                    for &x in &self.wave_nodes {
                        here[x as usize] = true;
                    }
                    reordered.retain(|&x| here[x as usize]);
                    is_first.fill(false);
                    for &x in &reordered {
                        is_first[x as usize] = true;
                    }
                }
                let len = reordered.len() as u32;
                reordered.extend(
                    self.wave_nodes
                        .iter()
                        .copied()
                        .filter(|&x| !is_first[x as usize]),
                );
                self.wave_nodes = reordered;
                if len > 0 {
                    bounds.push(len);
                }
            }
        }
        let start = *bounds.last().unwrap_or(&0);
        let remaining = n - start;
        let batch = match (r.strategy, r.batch_size, r.batch_percent) {
            // A rolling rollout's waves are runbook steps; each apply is all at once.
            (Strategy::AllAtOnce | Strategy::Rolling, _, _) => remaining.max(1),
            (_, Some(k), _) => k,
            (_, None, Some(p)) => {
                // ceil(p% of all affected nodes), at least one.
                let k = (f64::from(n) * p / 100.0).ceil() as u32;
                k.max(1)
            }
            (_, None, None) => remaining.max(1),
        };
        let mut b = start;
        while b < n {
            b = b.saturating_add(batch).min(n);
            bounds.push(b);
        }
        self.wave_bounds = bounds;
        self.wave = 0;
        if self.wave_bounds.len() < 2 {
            self.end_rollout();
        } else {
            self.start_wave();
        }
    }

    fn start_wave(&mut self) {
        if self.stopping {
            self.end_rollout();
            return;
        }
        let (a, b) = (
            self.wave_bounds[self.wave] as usize,
            self.wave_bounds[self.wave + 1] as usize,
        );
        self.wave_ready.clear();
        if self.apply_only {
            // Apply what earlier synchronize steps brought; a node without files (never
            // synchronized, or failed) has nothing to apply.
            self.wave_transfers_left = 0;
            for i in a..b {
                let node = self.wave_nodes[i];
                if self.node[node as usize].state == N_TRANSFERRED {
                    self.wave_ready.push(node);
                }
            }
        } else {
            self.wave_transfers_left = (b - a) as u32;
            for i in a..b {
                let node = self.wave_nodes[i];
                self.node[node as usize].state = N_QUEUED;
                self.tq.push_back(node);
            }
        }
        self.dispatch_transfers();
        if self.wave_transfers_left == 0 {
            self.transfers_complete();
        }
    }

    fn wave_count(&self) -> usize {
        self.wave_bounds.len().saturating_sub(1)
    }

    fn transfers_complete(&mut self) {
        if self.sync_only {
            self.sync_only = false;
            self.wave_ready.clear();
            self.next_step();
            return;
        }
        if self.stopping {
            // The files are on the node, the change stays pending: nothing new starts.
            self.wave_ready.clear();
            self.wave_done();
            return;
        }
        self.wave_applies_left = self.wave_ready.len() as u32;
        let ready = std::mem::take(&mut self.wave_ready);
        self.aq.extend(ready.iter().copied());
        self.wave_ready = ready;
        self.wave_ready.clear();
        for &node in &self.aq {
            self.node[node as usize].attempt = 0;
        }
        self.dispatch_applies();
        if self.wave_applies_left == 0 {
            self.wave_done();
        }
    }

    fn wave_done(&mut self) {
        self.wave += 1;
        if self.stopping || self.wave >= self.wave_count() {
            self.end_rollout();
            return;
        }
        let wait = if self.canary && self.wave == 1 {
            self.cfg.rollout.canary_wait
        } else {
            self.cfg.rollout.pause
        };
        if wait == 0 {
            self.start_wave();
        } else {
            let t = self.now.saturating_add(wait);
            self.at(t, EV_WAVE_START, 0);
        }
    }

    fn end_rollout(&mut self) {
        if self.stopping
            && self.cfg.faults.on_failure == Reaction::Rollback
            && self.stop.as_ref().is_some_and(|s| !s.rolled_back)
        {
            if let Some(s) = self.stop.as_mut() {
                s.rolled_back = true;
            }
            // Roll back every converged node, in rollout order, on the apply slots.
            let back: Vec<u32> = self
                .wave_nodes
                .iter()
                .copied()
                .filter(|&x| self.node[x as usize].state == N_CONVERGED)
                .collect();
            self.rollback_left = back.len() as u32;
            if self.rollback_left > 0 {
                self.aq.extend(back);
                self.dispatch_rollbacks();
                return;
            }
        }
        self.rollout_end = self.now;
        self.apply_only = false;
        self.restore_order();
        self.next_step();
    }

    /// Gives `order` back after a rollout step took it for its waves.
    fn restore_order(&mut self) {
        if self.waves_own_order {
            self.waves_own_order = false;
            self.order = std::mem::take(&mut self.wave_nodes);
        }
    }

    fn dispatch_rollbacks(&mut self) {
        let max = self.cfg.max_parallel_applies;
        while max == 0 || self.applying < max {
            let Some(node) = self.aq.pop_front() else {
                break;
            };
            self.applying += 1;
            self.node[node as usize].state = N_ROLLING_BACK;
            let d = self.cfg.apply.sample(self.seed, Stream::Rollback, node, 0);
            let t = self.now.saturating_add(d);
            self.at(t, EV_ROLLBACK_DONE, node);
        }
    }

    fn rollback_done(&mut self, node: u32) {
        self.applying -= 1;
        self.node[node as usize].state = N_ROLLED_BACK;
        self.rolled_back_nodes += 1;
        self.rollback_times.push(self.now);
        if self.node[node as usize].flags & F_NEW != 0 {
            self.node[node as usize].flags &= !F_NEW;
            self.pkg_update(node, false);
        }
        self.rollback_left -= 1;
        self.dispatch_rollbacks();
        if self.rollback_left == 0 {
            self.rollout_end = self.now;
            self.apply_only = false;
            self.restore_order();
            self.next_step();
        }
    }

    // ------------------------------------------------------------------ failures

    fn unreachable_since(&self, node: u32) -> Micros {
        let mut t = self.outages.get(&node).copied().unwrap_or(NEVER);
        if chance(self.seed, Stream::Unreachable, node, 0, self.unreachable_p) {
            t = t.min(self.cfg.faults.node_unreachable_from);
        }
        t
    }

    #[inline]
    fn is_unreachable(&self, node: u32) -> bool {
        (self.unreachable_p.is_some() || !self.outages.is_empty())
            && self.unreachable_since(node) <= self.now
    }

    /// A node has finally failed: mark it and react as the scenario says.
    fn node_failed(&mut self, node: u32, what: &'static str) {
        self.node[node as usize].state = N_FAILED;
        self.failed_nodes += 1;
        self.node_failures
            .push((self.now, node, self.step as u32 + 1, what));
        let r = &self.cfg.rollout;
        let reason = match self.cfg.faults.on_failure {
            Reaction::Stop | Reaction::Rollback => Some(format!(
                "{what} failed on {} and the runbook says {}",
                self.topo.node_name(node),
                if self.cfg.faults.on_failure == Reaction::Stop {
                    "stop"
                } else {
                    "roll back"
                }
            )),
            Reaction::Retry | Reaction::Skip => {
                let failed = self.failed_nodes;
                if self.canary && self.wave == 0 {
                    Some(format!(
                        "canary failed: {what} failed on {}",
                        self.topo.node_name(node)
                    ))
                } else if r.max_failures.is_some_and(|m| failed > m) {
                    Some(format!(
                        "{failed} failed nodes exceed max_failures = {}",
                        r.max_failures.unwrap_or(0)
                    ))
                } else if r
                    .max_failure_percent
                    .is_some_and(|p| f64::from(failed) * 100.0 > p * f64::from(self.affected))
                {
                    Some(format!(
                        "{failed} failed nodes exceed max_failure_percent = {}%",
                        r.max_failure_percent.unwrap_or(0.0)
                    ))
                } else {
                    None
                }
            }
        };
        if let Some(reason) = reason {
            self.trigger_stop(reason);
        }
    }

    fn trigger_stop(&mut self, reason: String) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        self.stop = Some(StopInfo {
            at_s: secs(self.now),
            reason,
            rolled_back: false,
        });
        // Nothing new starts: queued nodes are never attempted.
        while let Some(node) = self.tq.pop_front() {
            self.node[node as usize].state = N_IDLE;
            self.wave_transfers_left -= 1;
        }
        while let Some(node) = self.aq.pop_front() {
            // Files received, never applied: the change stays pending.
            self.node[node as usize].state = N_TRANSFERRED;
            self.wave_applies_left -= 1;
        }
        // The wave may now be complete; callers check counts after this returns.
    }

    // ------------------------------------------------------------------ transfers

    /// The distinct affected packages on `node`.
    fn pkgs_of(&self, node: u32) -> &[u32] {
        let code = &self.node[node as usize].pkg;
        if *code == NO_PKG {
            &[]
        } else if code & MULTI == 0 {
            std::slice::from_ref(code)
        } else {
            let i = (code & !MULTI) as usize;
            let count = self.pkg_multi[i] as usize;
            &self.pkg_multi[i + 1..i + 1 + count]
        }
    }

    fn node_bytes(&self, node: u32) -> u64 {
        match self.plan.procedure {
            Procedure::Remove => self.cfg.removal_bytes,
            Procedure::Install => self
                .pkgs_of(node)
                .iter()
                .map(|&p| self.topo.packages[p as usize].payload_bytes)
                .fold(0u64, u64::saturating_add),
        }
    }

    fn dispatch_transfers(&mut self) {
        let max = self.cfg.max_parallel_transfers;
        while !self.stopping && (max == 0 || self.slots < max) {
            let Some(node) = self.tq.pop_front() else {
                break;
            };
            if !self.node_site.is_empty() && !self.share_at_site(node) {
                continue;
            }
            self.slots += 1;
            self.peak_slots = self.peak_slots.max(self.slots);
            self.node[node as usize].state = N_TRANSFERRING;
            if self.is_unreachable(node) {
                let t = self.now.saturating_add(self.cfg.transfer_timeout);
                self.at(t, EV_TRANSFER_TIMEOUT, node);
            } else {
                let t = self.now.saturating_add(self.cfg.latency);
                self.at(t, EV_LATENCY_DONE, node);
            }
        }
    }

    /// Whether the distribution share is at `node`'s site; if not, the node waits for it
    /// (holding no transfer slot), and the share's replication over the site's WAN link
    /// starts if it has not yet.
    fn share_at_site(&mut self, node: u32) -> bool {
        let s = self.node_site[node as usize] as usize;
        if self.site_ready_at[1..].contains(&NEVER) {
            // The first transfer of the run starts the replication of the share to every
            // site, each over its own WAN link, in parallel.
            let bytes = u128::from(self.share_bytes());
            for (i, site) in self.cfg.sites.iter().enumerate() {
                if self.site_ready_at[i + 1] != NEVER {
                    continue;
                }
                let send = (bytes * 1_000_000).div_ceil(u128::from(site.wan_bandwidth.max(1)));
                let t = self
                    .now
                    .saturating_add(site.wan_latency)
                    .saturating_add(u64::try_from(send).unwrap_or(u64::MAX / 4));
                self.site_ready_at[i + 1] = t;
                self.q.push(t, ev(EV_SITE_READY, i as u32 + 1));
            }
        }
        if s == 0 || self.site_ready_at[s] <= self.now {
            return true;
        }
        self.site_waiting[s].push(node);
        false
    }

    /// Bytes of the distribution share: every affected package's payload (a removal:
    /// the model change).
    fn share_bytes(&self) -> u64 {
        match self.plan.procedure {
            Procedure::Remove => self.cfg.removal_bytes,
            Procedure::Install => self
                .topo
                .packages
                .iter()
                .map(|p| p.payload_bytes)
                .fold(0u64, u64::saturating_add),
        }
    }

    fn site_ready(&mut self, s: u32) {
        // The waiting nodes go first, in the order they came.
        let waiting = std::mem::take(&mut self.site_waiting[s as usize]);
        for &node in waiting.iter().rev() {
            self.tq.push_front(node);
        }
        self.dispatch_transfers();
    }

    fn latency_done(&mut self, node: u32) {
        if self.is_unreachable(node) {
            let rest = self.cfg.transfer_timeout.saturating_sub(self.cfg.latency);
            let t = self.now.saturating_add(rest);
            self.at(t, EV_TRANSFER_TIMEOUT, node);
            return;
        }
        let bytes = self.node_bytes(node);
        let attempt = u32::from(self.node[node as usize].attempt);
        let fail = chance(
            self.seed,
            Stream::TransferFail,
            node,
            attempt,
            self.transfer_fail_p,
        );
        // A failing attempt breaks off after a uniform fraction of its bytes.
        let sent = if fail {
            let x = rng::draw(self.seed, Stream::TransferFailPoint, node, attempt);
            ((u128::from(bytes) * u128::from(x)) >> 64) as u64
        } else {
            bytes
        };
        self.bytes_sent = self.bytes_sent.saturating_add(sent);
        if !self.node_site.is_empty() && self.node_site[node as usize] != 0 {
            // From the site's copy of the share, over the node's own link: the
            // management host's uplink is not involved.
            let send = (u128::from(sent) * 1_000_000).div_ceil(u128::from(self.cfg.link_bandwidth));
            let t = self
                .now
                .saturating_add(u64::try_from(send).unwrap_or(u64::MAX / 4));
            self.at(t, EV_SITE_TRANSFER_DONE, node);
            return;
        }
        self.advance_clock();
        let tag = self.vs + u128::from(sent) * MICRO;
        // Node index < 2^27, so node and outcome fit in the low 28 bits.
        let key = (tag.min(u128::MAX >> 28) << 28) | u128::from((node << 1) | u32::from(fail));
        self.data.push(key);
        self.reschedule_completion();
    }

    fn advance_clock(&mut self) {
        if self.now > self.vs_at {
            self.vs += u128::from(self.now - self.vs_at) * u128::from(self.rate);
        }
        self.vs_at = self.now;
    }

    /// Recomputes the per-transfer rate and schedules the earliest completion.
    fn reschedule_completion(&mut self) {
        let n = self.data.len() as u64;
        self.rate = match self.cfg.uplink_bandwidth.checked_div(n) {
            None => 0,
            Some(share) => self.cfg.link_bandwidth.min(share).max(1),
        };
        let Some(key) = self.data.peek() else {
            self.next_completion = NEVER;
            return;
        };
        let tag = key >> 28;
        let left = tag.saturating_sub(self.vs);
        // u64 division when it fits (always, below 18 TB in flight): u128 division is slow.
        let dt = match u64::try_from(left) {
            Ok(l) => u128::from(l.div_ceil(self.rate)),
            Err(_) => left.div_ceil(u128::from(self.rate)),
        };
        let t = self
            .now
            .saturating_add(u64::try_from(dt).unwrap_or(u64::MAX / 2));
        if t != self.next_completion {
            self.next_completion = t;
            self.at(t, EV_TRANSFER_COMPLETION, 0);
        }
    }

    fn transfer_completion(&mut self) {
        if self.now != self.next_completion {
            return; // superseded by a later reschedule
        }
        self.advance_clock();
        self.next_completion = NEVER;
        while let Some(key) = self.data.peek() {
            if key >> 28 > self.vs {
                break;
            }
            self.data.pop();
            let packed = (key & ((1 << 28) - 1)) as u32;
            let node = packed >> 1;
            let ok = packed & 1 == 0 && !self.is_unreachable(node);
            self.transfer_finished(node, ok);
        }
        self.reschedule_completion();
    }

    fn transfer_finished(&mut self, node: u32, ok: bool) {
        self.slots -= 1;
        if ok {
            self.node[node as usize].state = N_TRANSFERRED;
            self.wave_ready.push(node);
            self.transfer_outcome();
        } else {
            let a = self.node[node as usize].attempt;
            if u32::from(a) < self.cfg.faults.max_retries && !self.stopping {
                self.node[node as usize].attempt = a + 1;
                self.retries.transfer += 1;
                let t = self
                    .now
                    .saturating_add(self.cfg.faults.backoff_for(u32::from(a) + 1));
                self.node[node as usize].state = N_QUEUED;
                self.at(t, EV_TRANSFER_RETRY, node);
            } else {
                self.node_failed(node, "transfer");
                self.transfer_outcome();
            }
        }
        self.dispatch_transfers();
    }

    /// One node of the wave is done with synchronizing (either way).
    fn transfer_outcome(&mut self) {
        self.wave_transfers_left -= 1;
        if self.wave_transfers_left == 0 {
            self.transfers_complete();
        }
    }

    fn transfer_retry(&mut self, node: u32) {
        if self.stopping {
            self.node[node as usize].state = N_FAILED;
            self.failed_nodes += 1;
            self.node_failures
                .push((self.now, node, self.step as u32 + 1, "transfer"));
            self.transfer_outcome();
            return;
        }
        self.tq.push_back(node);
        self.dispatch_transfers();
    }

    // ------------------------------------------------------------------ applies

    fn dispatch_applies(&mut self) {
        let max = self.cfg.max_parallel_applies;
        while !self.stopping && (max == 0 || self.applying < max) {
            let Some(node) = self.aq.pop_front() else {
                break;
            };
            self.applying += 1;
            self.node[node as usize].state = N_APPLYING;
            let attempt = u32::from(self.node[node as usize].attempt);
            if self.is_unreachable(node) {
                let t = self.now.saturating_add(self.cfg.transfer_timeout);
                self.at(t, EV_APPLY_FAILED, node);
                continue;
            }
            let d = self
                .cfg
                .apply
                .sample(self.seed, Stream::Apply, node, attempt);
            let t = self.now.saturating_add(d);
            let fail = chance(
                self.seed,
                Stream::ApplyFail,
                node,
                attempt,
                self.apply_fail_p,
            );
            self.at(t, if fail { EV_APPLY_FAILED } else { EV_APPLY_DONE }, node);
        }
    }

    fn apply_done(&mut self, node: u32) {
        self.applying -= 1;
        if self.is_unreachable(node) {
            // Went down while applying.
            self.applying += 1;
            self.apply_failed(node);
            return;
        }
        self.node[node as usize].state = N_CONVERGED;
        self.converged.push((self.now, node));
        if self.node[node as usize].flags & F_NEW == 0 {
            self.node[node as usize].flags |= F_NEW;
            self.pkg_update(node, true);
        } else {
            self.reconverged = true;
        }
        if !self.vu_left.is_empty() {
            let (a, b) = (
                self.node_vu_off[node as usize] as usize,
                self.node_vu_off[node as usize + 1] as usize,
            );
            for i in a..b {
                let vu = self.node_vus[i] as usize;
                self.vu_left[vu] -= 1;
                if self.vu_left[vu] == 0
                    && self.vu_inactive_at[vu] != NEVER
                    && self.vu_active_at[vu] == NEVER
                {
                    let t = self.ia(&self.cfg.ia.activate, vu as u32);
                    self.vu_active_at[vu] = t;
                }
            }
        }
        self.apply_outcome();
    }

    fn apply_failed(&mut self, node: u32) {
        self.applying -= 1;
        let a = self.node[node as usize].attempt;
        if u32::from(a) < self.cfg.faults.max_retries && !self.stopping {
            self.node[node as usize].attempt = a + 1;
            self.retries.apply += 1;
            let t = self
                .now
                .saturating_add(self.cfg.faults.backoff_for(u32::from(a) + 1));
            self.node[node as usize].state = N_TRANSFERRED;
            self.at(t, EV_APPLY_RETRY, node);
        } else {
            self.node_failed(node, "apply");
            self.apply_outcome();
        }
        self.dispatch_applies();
    }

    fn apply_retry(&mut self, node: u32) {
        if self.stopping {
            self.node[node as usize].state = N_FAILED;
            self.failed_nodes += 1;
            self.node_failures
                .push((self.now, node, self.step as u32 + 1, "apply"));
            self.apply_outcome();
            return;
        }
        self.aq.push_back(node);
        self.dispatch_applies();
    }

    fn apply_outcome(&mut self) {
        self.wave_applies_left -= 1;
        self.dispatch_applies();
        if self.wave_applies_left == 0 {
            self.wave_done();
        }
    }

    /// A node moved to (`true`) or from the new version: update each package's window.
    fn pkg_update(&mut self, node: u32, to_new: bool) {
        let code = self.node[node as usize].pkg;
        if code == NO_PKG {
            return;
        }
        let count = if code & MULTI == 0 {
            1
        } else {
            self.pkg_multi[(code & !MULTI) as usize]
        };
        for k in 0..count {
            let p = if code & MULTI == 0 {
                code as usize
            } else {
                self.pkg_multi[(code & !MULTI) as usize + 1 + k as usize] as usize
            };
            let total = self.pkg_total[p];
            let was_mixed = self.pkg_new[p] > 0 && self.pkg_new[p] < total;
            if was_mixed {
                self.pkg_mixed[p] += self.now - self.pkg_last[p];
            }
            if to_new {
                self.pkg_new[p] += 1;
            } else {
                self.pkg_new[p] -= 1;
            }
            self.pkg_last[p] = self.now;
            let is_mixed = self.pkg_new[p] > 0 && self.pkg_new[p] < total;
            if is_mixed && self.pkg_first[p] == NEVER {
                self.pkg_first[p] = self.now;
            }
            if was_mixed && !is_mixed {
                self.pkg_end[p] = self.now;
            }
        }
    }

    // ------------------------------------------------------------------ workstations

    /// With a logon model, how long until workstation `w` next logs on (attempt 0: after
    /// the assignment, maybe switched off for days first; later: after a failed attempt).
    fn logon_delay(&self, w: u32, attempt: u32) -> Micros {
        let Some(l) = &self.cfg.workstations.logon else {
            return 0;
        };
        let mut d = l.next.sample(self.seed, Stream::WsLogon, w, attempt);
        if attempt == 0 && chance(self.seed, Stream::WsOff, w, 0, self.ws_off_p) {
            d = d.saturating_add(l.off.sample(self.seed, Stream::WsOffFor, w, 0));
        }
        d
    }

    fn dispatch_ws(&mut self) {
        // Under a group-policy push every workstation installs itself at its logon.
        let max = if self.cfg.workstations.logon.is_some() {
            u32::MAX
        } else {
            self.cfg.workstations.concurrency
        };
        while self.ws_busy < max && !self.stopping {
            let w = if let Some(w) = self.ws_retry_q.pop_front() {
                // A retry reinstalls only: the old version is already gone.
                self.ws_busy += 1;
                let attempt = u32::from(self.ws_attempt[w as usize]);
                let delay = self.logon_delay(w, attempt);
                self.start_ws_install(w, delay);
                continue;
            } else if let Some(&w) = self.ws_list.get(self.ws_next as usize) {
                self.ws_next += 1;
                w
            } else {
                break;
            };
            self.ws_busy += 1;
            let before = self.ws_state[w as usize];
            self.ws_state[w as usize] = W_BUSY;
            let delay = self.logon_delay(w, 0);
            if self.ws_mode == WS_INSTALL {
                // Under a logon model, a removal the runbook asked for before happens
                // now, at the same logon.
                let removal = if before == W_REMOVED && self.cfg.workstations.logon.is_some() {
                    self.cfg
                        .workstations
                        .remove
                        .sample(self.seed, Stream::WsRemove, w, 0)
                } else {
                    0
                };
                self.start_ws_install(w, delay.saturating_add(removal));
                continue;
            }
            let d = self
                .cfg
                .workstations
                .remove
                .sample(self.seed, Stream::WsRemove, w, 0);
            let t = self.now.saturating_add(delay).saturating_add(d);
            self.at(t, EV_WS_REMOVED, w);
        }
    }

    fn start_ws_install(&mut self, w: u32, delay: Micros) {
        let attempt = u32::from(self.ws_attempt[w as usize]);
        let d = self
            .cfg
            .workstations
            .install
            .sample(self.seed, Stream::WsInstall, w, attempt);
        let fail = self.ws_named_fail.binary_search(&w).is_ok()
            || chance(self.seed, Stream::WsFail, w, attempt, self.ws_fail_p);
        let t = self.now.saturating_add(delay).saturating_add(d);
        self.at(t, if fail { EV_WS_FAILED } else { EV_WS_INSTALLED }, w);
    }

    fn ws_removed(&mut self, w: u32) {
        if self.ws_mode == WS_REMOVE {
            self.ws_busy -= 1;
            self.ws_state[w as usize] = W_REMOVED;
            self.ws_finished();
        } else {
            self.start_ws_install(w, 0);
        }
    }

    fn ws_installed(&mut self, w: u32) {
        self.ws_busy -= 1;
        self.ws_state[w as usize] = W_DONE;
        self.ws_done_at.push(self.now);
        self.ws_finished();
    }

    fn ws_failed(&mut self, w: u32) {
        self.ws_busy -= 1;
        let a = self.ws_attempt[w as usize];
        if u32::from(a) < self.cfg.faults.max_retries && !self.stopping {
            self.ws_attempt[w as usize] = a + 1;
            self.retries.workstation += 1;
            // Under a logon model the retry is the next logon (drawn when it starts).
            let t = if self.cfg.workstations.logon.is_some() {
                self.now
            } else {
                self.now
                    .saturating_add(self.cfg.faults.backoff_for(u32::from(a) + 1))
            };
            self.at(t, EV_WS_RETRY, w);
            self.dispatch_ws();
            return;
        }
        self.ws_state[w as usize] = W_FAILED;
        self.ws_failures.push((self.now, w, self.step as u32 + 1));
        match self.cfg.faults.on_failure {
            Reaction::Stop | Reaction::Rollback => {
                let reason = format!(
                    "MSI install failed on workstation {}",
                    self.topo.workstation_name(w)
                );
                self.trigger_stop(reason);
            }
            Reaction::Retry | Reaction::Skip => {}
        }
        self.ws_finished();
    }

    fn ws_retry(&mut self, w: u32) {
        if self.stopping {
            self.ws_state[w as usize] = W_FAILED;
            self.ws_failures.push((self.now, w, self.step as u32 + 1));
            self.ws_finished();
            return;
        }
        self.ws_retry_q.push_back(w);
        self.dispatch_ws();
    }

    fn ws_finished(&mut self) {
        self.ws_left -= 1;
        self.dispatch_ws();
        let untouched = if self.stopping {
            self.ws_list.len() as u32 - self.ws_next
        } else {
            0
        };
        if self.ws_enabled && self.ws_left == untouched && self.ws_busy == 0 {
            self.ws_enabled = false;
            self.next_step();
        }
    }

    // ------------------------------------------------------------------ results

    fn finish(mut self) -> TimingResult {
        let end = self.now;
        self.restore_order();
        for span in &mut self.spans {
            if span.1 == NEVER {
                span.1 = end;
            }
        }
        if self.reconverged {
            // Keep each node's last convergence, in time order.
            let mut last: Vec<(u32, Micros)> =
                self.converged.iter().map(|&(t, n)| (n, t)).collect();
            last.sort_unstable();
            last.dedup_by(|later, earlier| {
                if later.0 == earlier.0 {
                    earlier.1 = later.1;
                    true
                } else {
                    false
                }
            });
            let mut conv: Vec<(Micros, u32)> = last.into_iter().map(|(n, t)| (t, n)).collect();
            conv.sort_unstable();
            self.converged = conv;
        }
        // Close mixed windows still open.
        let mut mixed = Vec::with_capacity(self.pkg_total.len());
        for p in 0..self.pkg_total.len() {
            let total = self.pkg_total[p];
            let open = self.pkg_new[p] > 0 && self.pkg_new[p] < total;
            if open {
                self.pkg_mixed[p] += end - self.pkg_last[p];
                self.pkg_end[p] = end;
            }
            mixed.push(MixedWindow {
                package: self.topo.packages[p].name.clone(),
                nodes: total,
                window_s: secs(self.pkg_mixed[p]),
                first_s: (self.pkg_first[p] != NEVER).then(|| secs(self.pkg_first[p])),
                last_s: (self.pkg_end[p] != NEVER).then(|| secs(self.pkg_end[p])),
                open_at_end: open,
            });
        }

        let mut counts = NodeCounts {
            affected: self.affected,
            ..NodeCounts::default()
        };
        for &node in &self.order {
            match self.node[node as usize].state {
                N_CONVERGED => counts.converged += 1,
                N_FAILED => counts.failed += 1,
                N_TRANSFERRED => counts.pending_change += 1,
                N_ROLLED_BACK => counts.rolled_back += 1,
                _ => counts.not_attempted += 1,
            }
        }
        // Times of nodes still converged at the end, in time order (no sort needed).
        let conv: Vec<Micros> = self
            .converged
            .iter()
            .filter(|&&(_, n)| self.node[n as usize].state == N_CONVERGED)
            .map(|&(t, _)| t)
            .collect();
        let ever: Vec<Micros> = self.converged.iter().map(|&(t, _)| t).collect();
        let pct = |q: usize| -> f64 {
            let n = conv.len();
            let idx = (q * n).div_ceil(100).saturating_sub(1);
            secs(conv[idx.min(n - 1)])
        };
        let convergence = (!conv.is_empty()).then(|| Convergence {
            p50_s: pct(50),
            p95_s: pct(95),
            p99_s: pct(99),
            max_s: secs(*conv.last().unwrap_or(&0)),
        });

        // Curve of nodes on the new version over time: +1 per convergence, −1 per rollback.
        let series_converged = curve(&ever, &self.rollback_times, end);

        let mut downtimes = Vec::with_capacity(self.vu_inactive_at.len());
        for v in 0..self.vu_inactive_at.len() {
            let (a, b) = (self.vu_inactive_at[v], self.vu_active_at[v]);
            if a != NEVER {
                let b = if b == NEVER { end } else { b };
                downtimes.push(b.saturating_sub(a));
            }
        }
        let vu_downtime = (!downtimes.is_empty()).then(|| {
            let sum: u128 = downtimes.iter().map(|&d| u128::from(d)).sum();
            Downtime {
                vus: downtimes.len() as u32,
                mean_s: sum as f64 / downtimes.len() as f64 / 1e6,
                max_s: secs(downtimes.iter().copied().max().unwrap_or(0)),
            }
        });

        let mut ws = WorkstationCounts {
            total: self.ws_state.len() as u32,
            ..WorkstationCounts::default()
        };
        for &s in &self.ws_state {
            match s {
                W_DONE => ws.updated += 1,
                W_FAILED => ws.failed += 1,
                // Removed, never installed: neither version.
                W_REMOVED => ws.not_attempted += 1,
                _ => ws.not_attempted += 1,
            }
        }
        if ws.total > 0 && self.ws_push_at != NEVER {
            let at = |q: u64| -> Option<f64> {
                let k = (q * u64::from(ws.total)).div_ceil(100).max(1) as usize;
                self.ws_done_at.get(k - 1).map(|&t| secs(t))
            };
            ws.push_at_s = Some(secs(self.ws_push_at));
            ws.updated_50_s = at(50);
            ws.updated_95_s = at(95);
            ws.updated_100_s = at(100);
            // New servers talk to old clients from the first server on the new version
            // until the last workstation runs the new client (or the end of the run).
            if let Some(&(first, _)) = self.converged.iter().min() {
                let last = if ws.updated == ws.total {
                    self.ws_done_at.last().copied().unwrap_or(end)
                } else {
                    end
                };
                ws.client_server_mixed_s = Some(secs(last.saturating_sub(first)));
                ws.client_server_mixed_open = ws.updated < ws.total;
            }
        }

        let windows = self.cfg.windows.as_ref().map(|w| {
            let topo = self.topo;
            let (down, up) = (&self.vu_inactive_at, &self.vu_active_at);
            w.evaluate(
                (0..down.len()).filter(|&v| down[v] != NEVER).map(|v| {
                    let until = if up[v] == NEVER { end } else { up[v] };
                    (topo.vu_name(v as u32), down[v], until)
                }),
                end,
            )
        });
        let sites = self.site_results();
        let passed = counts.converged == counts.affected
            && counts.pending_change == 0
            && ws.updated == ws.total
            && self.stop.is_none()
            && windows.as_ref().is_none_or(|w| w.fits);
        TimingResult {
            windows,
            sites,
            seed: self.seed,
            procedure: self.plan.procedure,
            strategy: self.cfg.rollout.strategy,
            passed,
            makespan_s: secs(end),
            rollout_start_s: secs(self.rollout_start),
            rollout_end_s: secs(self.rollout_end),
            waves: if self.cfg.rollout.strategy == Strategy::Rolling {
                // One "Apply All Changes to All Hosts" per rolling wave.
                self.plan
                    .steps
                    .iter()
                    .filter(|s| {
                        matches!(
                            s,
                            Step::Apply {
                                all_hosts: true,
                                ..
                            }
                        )
                    })
                    .count() as u32
            } else {
                self.wave_count() as u32
            },
            nodes: counts,
            convergence_s: convergence,
            vu_downtime_s: vu_downtime,
            mixed_version: mixed,
            bytes_sent: self.bytes_sent,
            retries: self.retries.clone(),
            workstations: ws,
            peak_concurrent_transfers: self.peak_slots,
            stopped: self.stop.clone(),
            steps: self
                .spans
                .iter()
                .enumerate()
                .map(|(i, &(a, b, n))| StepSpan {
                    step: i as u32 + 1,
                    start_s: secs(a),
                    end_s: secs(b),
                    targets: n,
                })
                .collect(),
            failed_nodes: FailedList {
                count: self.node_failures.len() as u32,
                first: self
                    .node_failures
                    .iter()
                    .take(FailedList::MAX_NAMED)
                    .map(|&(t, n, step, what)| FailedItem {
                        name: self.topo.node_name(n),
                        what,
                        step,
                        at_s: secs(t),
                    })
                    .collect(),
            },
            failed_workstations: FailedList {
                count: self.ws_failures.len() as u32,
                first: self
                    .ws_failures
                    .iter()
                    .take(FailedList::MAX_NAMED)
                    .map(|&(t, w, step)| FailedItem {
                        name: self.topo.workstation_name(w),
                        what: "msi-install",
                        step,
                        at_s: secs(t),
                    })
                    .collect(),
            },
            series: Series {
                converged_nodes: if self.plan.node_lists.is_empty() {
                    Vec::new()
                } else {
                    self.converged
                        .iter()
                        .filter(|&&(_, n)| self.node[n as usize].state == N_CONVERGED)
                        .map(|&(_, n)| n)
                        .collect()
                },
                converged: series_converged,
                vu_downtime: downtimes,
                makespan: end,
                rollout_start: self.rollout_start,
                rollout_end: self.rollout_end,
            },
        }
    }
}

impl Engine<'_> {
    /// Per site: affected nodes, converged ones and their convergence times.
    fn site_results(&self) -> Vec<SiteResult> {
        if self.node_site.is_empty() {
            return Vec::new();
        }
        let n = self.cfg.sites.len() + 1;
        let mut nodes = vec![0u32; n];
        for &node in &self.order {
            nodes[self.node_site[node as usize] as usize] += 1;
        }
        let mut times: Vec<Vec<Micros>> = vec![Vec::new(); n];
        // `converged` is in time order, so each site's list is too (the last
        // convergence of a node counts, as for the whole run).
        for &(t, node) in &self.converged {
            if self.node[node as usize].state == N_CONVERGED {
                times[self.node_site[node as usize] as usize].push(t);
            }
        }
        let mut out = Vec::new();
        for s in 0..n {
            if s == 0 && nodes[0] == 0 {
                continue;
            }
            let t = &times[s];
            out.push(SiteResult {
                name: if s == 0 {
                    "local".into()
                } else {
                    self.cfg.sites[s - 1].name.clone()
                },
                nodes: nodes[s],
                converged: t.len() as u32,
                share_at_s: if s == 0 {
                    Some(0.0)
                } else {
                    let r = self.site_ready_at[s];
                    (r != NEVER).then(|| secs(r))
                },
                p50_s: (!t.is_empty()).then(|| secs(t[t.len().div_ceil(2) - 1])),
                max_s: t.last().map(|&x| secs(x)),
            });
        }
        out
    }
}

/// Node → site index + 1 (0: the management host's site); empty without sites.
fn site_of_nodes(topo: &Topology, sites: &[SiteSpec]) -> Result<Vec<u16>, TimingError> {
    if sites.is_empty() {
        return Ok(Vec::new());
    }
    if sites.len() >= usize::from(u16::MAX) {
        return Err(invalid("timing.sites", "name", "at most 65,534 sites"));
    }
    let n = topo.node_count as usize;
    let mut of = vec![0u16; n];
    let mut next_share = 0usize;
    let mut by_name: Option<std::collections::HashMap<&str, u32>> = None;
    for (i, site) in sites.iter().enumerate() {
        let id = i as u16 + 1;
        let put = |node: usize, of: &mut Vec<u16>| -> Result<(), TimingError> {
            if of[node] != 0 && of[node] != id {
                return Err(invalid(
                    "timing.sites",
                    "nodes",
                    format!(
                        "node {} is in sites `{}` and `{}`",
                        topo.node_name(node as u32),
                        sites[of[node] as usize - 1].name,
                        site.name
                    ),
                ));
            }
            of[node] = id;
            Ok(())
        };
        match &site.nodes {
            SiteNodes::Names(names) => {
                let map = by_name.get_or_insert_with(|| {
                    topo.node_names
                        .iter()
                        .enumerate()
                        .map(|(i, s)| (s.as_str(), i as u32))
                        .collect()
                });
                for name in names {
                    let node = map.get(name.as_str()).copied().or_else(|| {
                        topo.node_names
                            .is_empty()
                            .then(|| topo.find_node(name))
                            .flatten()
                    });
                    let Some(node) = node else {
                        return Err(invalid(
                            "timing.sites",
                            "nodes",
                            format!("site `{}`: no node `{name}` in the topology", site.name),
                        ));
                    };
                    put(node as usize, &mut of)?;
                }
            }
            SiteNodes::Prefix(p) => {
                let mut hit = false;
                for node in 0..n {
                    if topo.node_name(node as u32).starts_with(p.as_str()) {
                        put(node, &mut of)?;
                        hit = true;
                    }
                }
                if !hit {
                    return Err(invalid(
                        "timing.sites",
                        "prefix",
                        format!("site `{}`: no node name starts with `{p}`", site.name),
                    ));
                }
            }
            SiteNodes::Share(f) => {
                let k = ((n as f64) * f).round() as usize;
                let end = (next_share + k).min(n);
                for node in next_share..end {
                    put(node, &mut of)?;
                }
                next_share = end;
            }
        }
    }
    Ok(of)
}

/// Step curve of `+1` at each time in `up` and `−1` at each in `down` (both sorted),
/// reduced to at most ~512 points (the last value in each time bucket).
fn curve(up: &[Micros], down: &[Micros], end: Micros) -> Vec<(Micros, u32)> {
    const POINTS: u64 = 512;
    let bucket_of = |t: Micros| -> u64 {
        if end == 0 {
            0
        } else {
            (u128::from(t) * u128::from(POINTS) / u128::from(end)) as u64
        }
    };
    let mut out: Vec<(Micros, u32)> = vec![(0, 0)];
    let (mut i, mut j) = (0, 0);
    let mut level: i64 = 0;
    while i < up.len() || j < down.len() {
        let t = match (up.get(i), down.get(j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => break,
        };
        while i < up.len() && up[i] == t {
            level += 1;
            i += 1;
        }
        while j < down.len() && down[j] == t {
            level -= 1;
            j += 1;
        }
        let point = (t, level.max(0) as u32);
        match out.last_mut() {
            Some(last) if last.0 != 0 && bucket_of(last.0) == bucket_of(t) => *last = point,
            _ => out.push(point),
        }
    }
    if out.last().is_some_and(|l| l.0 < end) {
        let level = out.last().map_or(0, |l| l.1);
        out.push((end, level));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_queue_pops_in_order_whatever_the_push_order() {
        let mut q = TagQueue::default();
        let mut x: u64 = 12345;
        let mut keys = Vec::new();
        for i in 0..2000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Mostly increasing, sometimes not: both halves of the queue are used.
            let k = u128::from(if x.is_multiple_of(4) { x % 5000 } else { i * 3 });
            q.push(k);
            keys.push(k);
        }
        keys.sort_unstable();
        let mut out = Vec::new();
        while let Some(k) = q.peek() {
            q.pop();
            out.push(k);
        }
        assert_eq!(out, keys);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn csr_rows_are_sorted_and_deduplicated() {
        let pairs = [(2, 5), (0, 1), (2, 3), (2, 5), (0, 1), (3, 0)];
        let (off, vals) = csr_build(4, |emit| {
            for &(a, b) in &pairs {
                emit(a, b);
            }
        });
        assert_eq!(off, vec![0, 1, 1, 3, 4]);
        assert_eq!(vals, vec![1, 3, 5, 0]);
    }
}
