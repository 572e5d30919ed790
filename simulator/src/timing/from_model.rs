//! Builds the timing [`Topology`] from the simulator's system model and a hotfix.
//!
//! Only the VUs that carry a software package the hotfix corrects take part; the payload
//! per package is the real size of its files in the package's manifest; the
//! workstations are those with any version of one of the hotfix's MSI components
//! installed (same UpgradeCode). The model is only read.

use crate::model::Model;
use crate::ops::HotfixInfo;

use super::topology::{PackageInfo, Topology};
use super::{Procedure, TimingError};

impl Topology {
    /// The part of `model` that a rollout of `info` touches.
    ///
    /// For a removal the affected VUs are the ones whose package carries the hotfix,
    /// for an install every VU with a package the hotfix corrects.
    pub fn from_model(
        model: &Model,
        info: &HotfixInfo,
        procedure: Procedure,
    ) -> Result<Topology, TimingError> {
        let node_count = u32::try_from(model.nodes.len())
            .map_err(|_| TimingError::Topology("too many nodes".into()))?;
        let packages: Vec<PackageInfo> = info
            .packages
            .iter()
            .enumerate()
            .map(|(i, (name, _))| PackageInfo {
                name: name.clone(),
                payload_bytes: info.package_bytes.get(i).copied().unwrap_or(0),
            })
            .collect();
        let hotfix_sym = model.syms.get(&info.id);
        let mut t = Topology {
            node_count,
            node_names: (0..node_count)
                .map(|n| model.nodes.name(n).to_owned())
                .collect(),
            unreachable: (0..node_count)
                .filter(|&n| {
                    !model
                        .nodes
                        .reachable
                        .get(n as usize)
                        .copied()
                        .unwrap_or(true)
                })
                .collect(),
            packages,
            ..Topology::default()
        };
        t.vu_node_offsets.push(0);
        t.vu_package_offsets.push(0);
        for vu in &model.vus {
            let slots = vu.pkg_start as usize..(vu.pkg_start + vu.pkg_len) as usize;
            let before = t.vu_packages.len();
            for slot in &model.packages[slots] {
                let name = model.syms.str(slot.name);
                let Some(k) = info.packages.iter().position(|(n, _)| n == name) else {
                    continue;
                };
                let carries = hotfix_sym.is_some_and(|h| model.sets.contains(slot.hotfixes, h));
                let affected = match procedure {
                    Procedure::Install => true,
                    Procedure::Remove => carries,
                };
                if affected {
                    t.vu_packages.push(k as u32);
                }
            }
            if t.vu_packages.len() == before {
                continue;
            }
            let inst = vu.inst_start as usize..(vu.inst_start + vu.inst_len) as usize;
            t.vu_nodes.extend_from_slice(&model.instance_nodes[inst]);
            t.vu_node_offsets.push(t.vu_nodes.len() as u32);
            t.vu_package_offsets.push(t.vu_packages.len() as u32);
            t.vu_names.push(vu.name.to_string());
        }
        t.msi_count = info.msis.len() as u32;
        if t.msi_count > 0 {
            let codes: Vec<&str> = info
                .msis
                .iter()
                .map(|m| m.product.upgrade_code.as_str())
                .collect();
            let users: Vec<usize> = (0..model.workstations.len())
                .filter(|&w| {
                    let set = model.workstations.installed[w];
                    model.product_sets.members(set).iter().any(|&p| {
                        model.msi_products.get(p as usize).is_some_and(|m| {
                            codes
                                .iter()
                                .any(|c| c.eq_ignore_ascii_case(&m.upgrade_code))
                        })
                    })
                })
                .collect();
            t.workstations = users.len() as u32;
            t.workstation_names = users
                .iter()
                .map(|&w| model.workstations.names[w].to_string())
                .collect();
        }
        t.validate()?;
        Ok(t)
    }
}
