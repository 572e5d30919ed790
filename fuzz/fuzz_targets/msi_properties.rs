//! `hotfix_msi::read_properties_from` on arbitrary bytes through a `Cursor`.
//!
//! hotfix-msi deliberately catches panics raised inside the third-party `msi` crate and
//! turns them into "damaged file" errors. libfuzzer-sys's panic hook would abort on
//! those before `catch_unwind` sees them, so this target installs a hook that stays
//! silent for panics located in the `msi` crate (counted, see docs/FUZZING.md) and
//! aborts, as libFuzzer expects, for a panic anywhere else.
#![no_main]

use std::io::Cursor;
use std::path::Path;
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

use libfuzzer_sys::fuzz_target;

static MSI_CRATE_PANICS: AtomicU64 = AtomicU64::new(0);

fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let file = info.location().map(|l| l.file()).unwrap_or("");
            let in_msi_crate = file.contains("/msi-0.") || file.contains("\\msi-0.");
            if in_msi_crate {
                let n = MSI_CRATE_PANICS.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    eprintln!("[msi_properties] caught panic #{n} inside the msi crate: {info}");
                }
                return;
            }
            eprintln!("{info}");
            eprintln!("{}", std::backtrace::Backtrace::force_capture());
            std::process::abort();
        }));
    });
}

fuzz_target!(|data: &[u8]| {
    install_hook();
    let _ = hotfix_msi::read_properties_from(
        Cursor::new(data),
        data.len() as u64,
        Path::new("fuzz.msi"),
    );
});
