//! Deterministic generator of realistic system models of any size.
//!
//! Same parameters, same model, byte for byte (PCG-64 seeded from `seed`; no clock, no
//! global RNG). The model looks like a contact-center installation: HAC nodes `HAC…`
//! on one base installation, virtual units each hosting one to three of the platform's
//! software packages with instances on `instances` distinct nodes, and agent
//! workstations running the desktop component installed from an MSI.

use rand_core::{Rng, SeedableRng};
use rand_pcg::Pcg64;

use crate::model::{EMPTY_SET, IaMode, Model, ModelBuilder, MsiProduct, NodeId, ProductId, Sym};
use crate::ops::HotfixInfo;

/// Most nodes a generated model may have.
pub const MAX_NODES: u32 = 10_000_000;

/// A software package of the generated platform.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PackageParam {
    pub name: String,
    pub version: String,
}

/// A client component installed on the generated workstations.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MsiParam {
    pub name: String,
    pub upgrade_code: String,
    pub version: String,
    /// `None`: derived from the seed.
    pub product_code: Option<String>,
    pub file: String,
}

/// Parameters of [`generate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateParams {
    pub nodes: u32,
    pub vus: u32,
    /// Instances per VU (at least 2).
    pub instances: u32,
    pub workstations: u32,
    pub seed: u64,
    pub release: String,
    pub support_package: String,
    /// Software packages VUs are made of (each appears on at least one VU when
    /// `vus >= packages.len()`).
    pub packages: Vec<PackageParam>,
    /// Client components on every workstation.
    pub msis: Vec<MsiParam>,
    /// Number of nodes the IA cannot reach.
    pub unreachable: u32,
    /// Hotfixes already extracted into `Install/hotfixes` (as by `hotfix extract`).
    pub extracted: Vec<HotfixInfo>,
}

impl Default for GenerateParams {
    fn default() -> Self {
        let pkg = |name: &str, version: &str| PackageParam {
            name: name.into(),
            version: version.into(),
        };
        GenerateParams {
            nodes: 4,
            vus: 2,
            instances: 2,
            workstations: 0,
            seed: 0,
            release: "7.0".into(),
            support_package: "SP3".into(),
            packages: vec![
                pkg("ChatServer", "7.0.3.11"),
                pkg("RoutingEngine", "7.0.3.7"),
                pkg("CallDispatcher", "7.0.3.5"),
                pkg("EmailServer", "7.0.3.4"),
                pkg("ReportingServer", "7.0.3.2"),
                pkg("IvrServer", "7.0.3.3"),
            ],
            msis: vec![MsiParam {
                name: "Agent Desktop".into(),
                upgrade_code: "{6D2A9E41-3C7B-4F0E-9A51-7E0C2B4D8F13}".into(),
                version: "7.0.3.1".into(),
                product_code: None,
                file: "AgentDesktop-7.0.3.1.msi".into(),
            }],
            unreachable: 0,
            extracted: Vec::new(),
        }
    }
}

/// Why parameters were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ParamError {
    /// The parameter at fault, e.g. `instances`.
    pub key: &'static str,
    pub message: String,
}

fn perr(key: &'static str, message: impl Into<String>) -> ParamError {
    ParamError {
        key,
        message: message.into(),
    }
}

/// The version before `v`: last numeric component minus one (`7.0.3.12` → `7.0.3.11`),
/// or `v` itself when that is not possible.
pub fn previous_version(v: &str) -> String {
    if let Some((head, last)) = v.rsplit_once('.')
        && let Ok(n) = last.parse::<u64>()
        && n > 0
    {
        return format!("{head}.{}", n - 1);
    }
    v.to_owned()
}

impl GenerateParams {
    /// Makes the model fit a hotfix: its base installation, its software packages (at
    /// the version before the hotfix) and, for each MSI, the version it replaces on
    /// every workstation. With `extracted`, the hotfix is already in `Install/hotfixes`.
    pub fn fit(&mut self, info: &HotfixInfo, extracted: bool) {
        self.release.clone_from(&info.release);
        self.support_package.clone_from(&info.support_package);
        for (name, version) in info.packages.iter().rev() {
            self.packages.retain(|p| &p.name != name);
            self.packages.insert(
                0,
                PackageParam {
                    name: name.clone(),
                    version: previous_version(version),
                },
            );
        }
        for m in &info.msis {
            let up = &m.product.upgrade_code;
            self.msis
                .retain(|p| !p.upgrade_code.eq_ignore_ascii_case(up) && p.name != m.product.name);
            let stem = m
                .product
                .file
                .as_deref()
                .and_then(|f| f.strip_suffix(".msi").or_else(|| f.strip_suffix(".MSI")))
                .unwrap_or("Component")
                .to_owned();
            self.msis.push(MsiParam {
                name: m.product.name.clone(),
                upgrade_code: up.clone(),
                version: m.replaces_version.clone(),
                product_code: None,
                file: format!("{stem}-{}.msi", m.replaces_version),
            });
        }
        if extracted && !self.extracted.iter().any(|h| h.id == info.id) {
            self.extracted.push(info.clone());
        }
    }

    /// Checks the parameters without generating anything.
    pub fn check(&self) -> Result<(), ParamError> {
        if self.nodes == 0 || self.nodes > MAX_NODES {
            return Err(perr("nodes", format!("must be 1..={MAX_NODES}")));
        }
        if self.instances < 2 {
            return Err(perr(
                "instances",
                "a VU needs instances on at least 2 nodes",
            ));
        }
        if self.vus > 0 && self.instances > self.nodes {
            return Err(perr(
                "instances",
                format!(
                    "{} instances per VU need at least that many nodes (have {})",
                    self.instances, self.nodes
                ),
            ));
        }
        if u64::from(self.vus) * u64::from(self.instances) * 3 > u64::from(u32::MAX) {
            return Err(perr("vus", "too many VU instances for one model"));
        }
        if self.unreachable > self.nodes {
            return Err(perr("unreachable", "more unreachable nodes than nodes"));
        }
        if self.vus > 0 && self.packages.is_empty() {
            return Err(perr("packages", "VUs need at least one software package"));
        }
        if self.workstations > MAX_NODES {
            return Err(perr("workstations", format!("must be at most {MAX_NODES}")));
        }
        for p in &self.packages {
            hotfix_manifest::validate_software_package_name(&p.name).map_err(|e| {
                perr(
                    "packages",
                    format!("bad software package name `{}`: {e}", p.name),
                )
            })?;
        }
        if self.release.is_empty() || self.release.contains(' ') {
            return Err(perr("release", "must be non-empty, without spaces"));
        }
        if self.support_package.is_empty() || self.support_package.contains(' ') {
            return Err(perr("support-package", "must be non-empty, without spaces"));
        }
        Ok(())
    }
}

fn guid(rng: &mut Pcg64) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    format!(
        "{{{:08X}-{:04X}-4{:03X}-{:04X}-{:012X}}}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFF,
        0x8000 | ((b >> 48) & 0x3FFF),
        b & 0xFFFF_FFFF_FFFF
    )
}

/// Two to four capital letters from a package name: `ChatServer` → `CS`.
fn abbreviation(name: &str) -> String {
    let caps: String = name
        .chars()
        .filter(char::is_ascii_uppercase)
        .take(4)
        .collect();
    if caps.len() >= 2 {
        caps
    } else {
        name.chars()
            .filter(char::is_ascii_alphanumeric)
            .take(3)
            .collect::<String>()
            .to_ascii_uppercase()
    }
}

/// A uniform integer below `n` (n > 0).
fn below(rng: &mut Pcg64, n: u32) -> u32 {
    ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u32
}

/// Generates a model.
pub fn generate(params: &GenerateParams) -> Result<Model, ParamError> {
    params.check()?;
    let mut rng = Pcg64::seed_from_u64(params.seed);
    let mut b = ModelBuilder::new(IaMode::Monitoring);
    for h in &params.extracted {
        let packages: Vec<&str> = h.packages.iter().map(|(n, _)| n.as_str()).collect();
        let requires: Vec<&str> = h.requires.iter().map(String::as_str).collect();
        let msis: Vec<&str> = h
            .msis
            .iter()
            .map(|m| m.product.product_code.as_str())
            .collect();
        b.add_extracted(
            &h.id,
            &h.release,
            &h.support_package,
            &packages,
            &requires,
            &msis,
        );
    }
    let base = b.add_base(&params.release, &params.support_package, &[]);

    let width = params.nodes.to_string().len().max(2);
    let mut name = String::new();
    for n in 0..params.nodes {
        use std::fmt::Write as _;
        name.clear();
        let _ = write!(name, "HAC{:0width$}", n + 1);
        b.add_node(&name, base, true, None);
    }
    let mut left = params.unreachable;
    while left > 0 {
        let n = below(&mut rng, params.nodes) as usize;
        if b.model.nodes.reachable[n] {
            b.model.nodes.reachable[n] = false;
            left -= 1;
        }
    }

    let pkgs: Vec<(Sym, Sym)> = params
        .packages
        .iter()
        .map(|p| {
            (
                b.model.syms.intern(&p.name),
                b.model.syms.intern(&p.version),
            )
        })
        .collect();
    let abbrs: Vec<String> = params
        .packages
        .iter()
        .map(|p| abbreviation(&p.name))
        .collect();
    let vwidth = params.vus.to_string().len().max(2);
    let mut nodes: Vec<NodeId> = Vec::with_capacity(params.instances as usize);
    let mut chosen: Vec<(Sym, Sym, u32)> = Vec::with_capacity(3);
    for v in 0..params.vus {
        // Round-robin primary package so every package is hosted somewhere; a third of
        // the VUs host a second one, a tenth a third.
        let primary = (v as usize) % pkgs.len();
        chosen.clear();
        chosen.push((pkgs[primary].0, pkgs[primary].1, EMPTY_SET));
        let extra = match below(&mut rng, 30) {
            0..=2 => 2,
            3..=9 => 1,
            _ => 0,
        };
        for _ in 0..extra.min(pkgs.len() - 1) {
            let k = below(&mut rng, pkgs.len() as u32) as usize;
            if !chosen.iter().any(|c| c.0 == pkgs[k].0) {
                chosen.push((pkgs[k].0, pkgs[k].1, EMPTY_SET));
            }
        }
        nodes.clear();
        while nodes.len() < params.instances as usize {
            let n = below(&mut rng, params.nodes);
            if !nodes.contains(&n) {
                nodes.push(n);
            }
        }
        nodes.sort_unstable();
        let vu_name = format!("{}_VU{:0vwidth$}", abbrs[primary], v + 1);
        b.add_vu(&vu_name, true, &chosen, &nodes);
    }

    let mut installed: Vec<ProductId> = Vec::new();
    for m in &params.msis {
        let code = m.product_code.clone().unwrap_or_else(|| guid(&mut rng));
        installed.push(b.add_product(MsiProduct {
            product_code: code,
            upgrade_code: m.upgrade_code.clone(),
            name: m.name.clone(),
            version: m.version.clone(),
            file: Some(m.file.clone()),
        }));
    }
    for h in &params.extracted {
        for m in &h.msis {
            if b.model.product_id(&m.product.product_code).is_none() {
                b.add_product(m.product.clone());
            }
        }
    }
    let wwidth = params.workstations.to_string().len().max(4);
    for w in 0..params.workstations {
        b.add_workstation(&format!("WS{:0wwidth$}", w + 1), &installed);
    }
    Ok(b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_model() {
        let p = GenerateParams {
            nodes: 50,
            vus: 20,
            instances: 3,
            workstations: 5,
            seed: 9,
            ..GenerateParams::default()
        };
        let a = crate::model_xml::save_string(&generate(&p).expect("gen"));
        let b = crate::model_xml::save_string(&generate(&p).expect("gen"));
        assert_eq!(a, b);
        let other = GenerateParams { seed: 10, ..p };
        assert_ne!(
            a,
            crate::model_xml::save_string(&generate(&other).expect("gen"))
        );
    }

    #[test]
    fn generated_model_loads_back() {
        let p = GenerateParams {
            nodes: 30,
            vus: 12,
            workstations: 3,
            unreachable: 2,
            ..GenerateParams::default()
        };
        let xml = crate::model_xml::save_string(&generate(&p).expect("gen"));
        let m = crate::model_xml::load_str(&xml).expect("loads");
        assert_eq!(crate::model_xml::save_string(&m), xml);
        assert_eq!(m.nodes.reachable.iter().filter(|r| !**r).count(), 2);
    }

    #[test]
    fn refuses_single_instance_vus() {
        let p = GenerateParams {
            instances: 1,
            ..GenerateParams::default()
        };
        assert_eq!(generate(&p).expect_err("refused").key, "instances");
    }

    #[test]
    fn previous_version_steps_back_the_last_number() {
        assert_eq!(previous_version("7.0.3.12"), "7.0.3.11");
        assert_eq!(previous_version("7.0.3.0"), "7.0.3.0");
        assert_eq!(previous_version("x"), "x");
    }
}
