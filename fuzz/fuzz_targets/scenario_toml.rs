//! The simulator's scenario reader (`Scenario::parse`) on arbitrary text. The scenario
//! "lives" in simulator/scenarios/, so relative paths in seeds (models/...) resolve to
//! real files the way they do for a real scenario.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use hotfix_sim::scenario::Scenario;
use libfuzzer_sys::fuzz_target;

fn scenario_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../simulator/scenarios/fuzz.toml")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Scenario::parse(scenario_path(), text);
});
