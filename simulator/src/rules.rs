//! Rule ids: every way a run can fail, as one typed enum serialized as its kebab-case id.
//!
//! Three families: a **step** rule is broken by one runbook step (the IA refuses it, or
//! carries it out and the effect is the problem); an **end** rule is an "eventually"
//! property that fails on the model at the end of a runbook; a **timing** rule is a
//! failure only the timing engine sees (a node or workstation that finally failed, a
//! rollout that stopped). `docs/SIMULATOR.md` has a table with one row per id; a test
//! keeps the two in step.

use serde::{Deserialize, Serialize};

/// When a rule is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    Step,
    End,
    Timing,
}

/// A rule id. Serialized (and shown) as its kebab-case id, e.g. `hotfix-not-in-base`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum RuleId {
    MonitoringModeReadOnly,
    VuMustBeInactive,
    HotfixNotExtracted,
    SupportPackageMismatch,
    RequiredHotfixMissing,
    HotfixNotInBase,
    RefreshBeforeAdd,
    HotfixNotForPackage,
    BaseRemovalWhileInUse,
    BaseRemovalBeforeSynchronize,
    HotfixAlreadyInBase,
    HotfixNotRegistered,
    HotfixAlreadyInPackage,
    HotfixNotInPackage,
    RefreshDiscardsPending,
    NodeUnreachable,
    UnknownObject,
    MsiNotInstalled,
    MsiNotAvailable,
    MsiAlreadyInstalled,
    MsiBothVersions,
    HotfixWithdrawn,
    HotfixNotCurrent,
    InstancesUpdated,
    HotfixChangesSomething,
    BaseClearedAfterRemoval,
    BaseRemovalApplied,
    InstancesSynchronized,
    NoPendingChanges,
    VusReactivated,
    EndsInMonitoringMode,
    ModelSavedAfterLastChange,
    WorkstationsUpdated,
    ModelRestored,
    NodeFailed,
    MsiInstallFailed,
    RolloutStopped,
    TimingNodesConverged,
    TimingNoPendingChange,
    TimingWorkstationsUpdated,
    TimingRolloutCompleted,
    VuDownOutsideWindow,
    TimingWithinWindows,
}

impl RuleId {
    /// Every rule id, step rules first, then end and timing rules.
    pub const ALL: &'static [RuleId] = &[
        RuleId::MonitoringModeReadOnly,
        RuleId::VuMustBeInactive,
        RuleId::HotfixNotExtracted,
        RuleId::SupportPackageMismatch,
        RuleId::RequiredHotfixMissing,
        RuleId::HotfixNotInBase,
        RuleId::RefreshBeforeAdd,
        RuleId::HotfixNotForPackage,
        RuleId::BaseRemovalWhileInUse,
        RuleId::BaseRemovalBeforeSynchronize,
        RuleId::HotfixAlreadyInBase,
        RuleId::HotfixNotRegistered,
        RuleId::HotfixAlreadyInPackage,
        RuleId::HotfixNotInPackage,
        RuleId::RefreshDiscardsPending,
        RuleId::NodeUnreachable,
        RuleId::UnknownObject,
        RuleId::MsiNotInstalled,
        RuleId::MsiNotAvailable,
        RuleId::MsiAlreadyInstalled,
        RuleId::MsiBothVersions,
        RuleId::HotfixWithdrawn,
        RuleId::HotfixNotCurrent,
        RuleId::InstancesUpdated,
        RuleId::HotfixChangesSomething,
        RuleId::BaseClearedAfterRemoval,
        RuleId::BaseRemovalApplied,
        RuleId::InstancesSynchronized,
        RuleId::NoPendingChanges,
        RuleId::VusReactivated,
        RuleId::EndsInMonitoringMode,
        RuleId::ModelSavedAfterLastChange,
        RuleId::WorkstationsUpdated,
        RuleId::ModelRestored,
        RuleId::NodeFailed,
        RuleId::MsiInstallFailed,
        RuleId::RolloutStopped,
        RuleId::TimingNodesConverged,
        RuleId::TimingNoPendingChange,
        RuleId::TimingWorkstationsUpdated,
        RuleId::TimingRolloutCompleted,
        RuleId::VuDownOutsideWindow,
        RuleId::TimingWithinWindows,
    ];

    /// The id as written in results and docs.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::MonitoringModeReadOnly => "monitoring-mode-read-only",
            RuleId::VuMustBeInactive => "vu-must-be-inactive",
            RuleId::HotfixNotExtracted => "hotfix-not-extracted",
            RuleId::SupportPackageMismatch => "support-package-mismatch",
            RuleId::RequiredHotfixMissing => "required-hotfix-missing",
            RuleId::HotfixNotInBase => "hotfix-not-in-base",
            RuleId::RefreshBeforeAdd => "refresh-before-add",
            RuleId::HotfixNotForPackage => "hotfix-not-for-package",
            RuleId::BaseRemovalWhileInUse => "base-removal-while-in-use",
            RuleId::BaseRemovalBeforeSynchronize => "base-removal-before-synchronize",
            RuleId::HotfixAlreadyInBase => "hotfix-already-in-base",
            RuleId::HotfixNotRegistered => "hotfix-not-registered",
            RuleId::HotfixAlreadyInPackage => "hotfix-already-in-package",
            RuleId::HotfixNotInPackage => "hotfix-not-in-package",
            RuleId::RefreshDiscardsPending => "refresh-discards-pending",
            RuleId::NodeUnreachable => "node-unreachable",
            RuleId::UnknownObject => "unknown-object",
            RuleId::MsiNotInstalled => "msi-not-installed",
            RuleId::MsiNotAvailable => "msi-not-available",
            RuleId::MsiAlreadyInstalled => "msi-already-installed",
            RuleId::MsiBothVersions => "msi-both-versions",
            RuleId::HotfixWithdrawn => "hotfix-withdrawn",
            RuleId::HotfixNotCurrent => "hotfix-not-current",
            RuleId::InstancesUpdated => "instances-updated",
            RuleId::HotfixChangesSomething => "hotfix-changes-something",
            RuleId::BaseClearedAfterRemoval => "base-cleared-after-removal",
            RuleId::BaseRemovalApplied => "base-removal-applied",
            RuleId::InstancesSynchronized => "instances-synchronized",
            RuleId::NoPendingChanges => "no-pending-changes",
            RuleId::VusReactivated => "vus-reactivated",
            RuleId::EndsInMonitoringMode => "ends-in-monitoring-mode",
            RuleId::ModelSavedAfterLastChange => "model-saved-after-last-change",
            RuleId::WorkstationsUpdated => "workstations-updated",
            RuleId::ModelRestored => "model-restored",
            RuleId::NodeFailed => "node-failed",
            RuleId::MsiInstallFailed => "msi-install-failed",
            RuleId::RolloutStopped => "rollout-stopped",
            RuleId::TimingNodesConverged => "timing-nodes-converged",
            RuleId::TimingNoPendingChange => "timing-no-pending-change",
            RuleId::TimingWorkstationsUpdated => "timing-workstations-updated",
            RuleId::TimingRolloutCompleted => "timing-rollout-completed",
            RuleId::VuDownOutsideWindow => "vu-down-outside-window",
            RuleId::TimingWithinWindows => "timing-within-windows",
        }
    }

    /// When the rule is judged.
    pub fn family(self) -> Family {
        match self {
            RuleId::MonitoringModeReadOnly
            | RuleId::VuMustBeInactive
            | RuleId::HotfixNotExtracted
            | RuleId::SupportPackageMismatch
            | RuleId::RequiredHotfixMissing
            | RuleId::HotfixNotInBase
            | RuleId::RefreshBeforeAdd
            | RuleId::HotfixNotForPackage
            | RuleId::BaseRemovalWhileInUse
            | RuleId::BaseRemovalBeforeSynchronize
            | RuleId::HotfixAlreadyInBase
            | RuleId::HotfixNotRegistered
            | RuleId::HotfixAlreadyInPackage
            | RuleId::HotfixNotInPackage
            | RuleId::RefreshDiscardsPending
            | RuleId::NodeUnreachable
            | RuleId::UnknownObject
            | RuleId::MsiNotInstalled
            | RuleId::MsiNotAvailable
            | RuleId::MsiAlreadyInstalled
            | RuleId::MsiBothVersions
            | RuleId::HotfixWithdrawn
            | RuleId::HotfixNotCurrent => Family::Step,
            RuleId::InstancesUpdated
            | RuleId::HotfixChangesSomething
            | RuleId::BaseClearedAfterRemoval
            | RuleId::BaseRemovalApplied
            | RuleId::InstancesSynchronized
            | RuleId::NoPendingChanges
            | RuleId::VusReactivated
            | RuleId::EndsInMonitoringMode
            | RuleId::ModelSavedAfterLastChange
            | RuleId::WorkstationsUpdated
            | RuleId::ModelRestored => Family::End,
            _ => Family::Timing,
        }
    }

    /// The rule with id `id`.
    pub fn parse(id: &str) -> Option<RuleId> {
        RuleId::ALL.iter().copied().find(|r| r.as_str() == id)
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_serializes_as_its_str_and_parses_back() {
        for &r in RuleId::ALL {
            assert_eq!(
                serde_json::to_string(&r).expect("json"),
                format!("\"{}\"", r.as_str())
            );
            assert_eq!(RuleId::parse(r.as_str()), Some(r));
        }
        let mut ids: Vec<&str> = RuleId::ALL.iter().map(|r| r.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), RuleId::ALL.len());
    }

    #[test]
    fn every_property_name_is_a_rule_id() {
        for p in crate::properties::PROPERTIES {
            if p.kind == crate::properties::Kind::Eventually {
                assert_eq!(
                    RuleId::parse(p.name).map(RuleId::family),
                    Some(Family::End),
                    "{}",
                    p.name
                );
            }
        }
    }
}
