//! The whole verify path (`verify_reader`) on arbitrary zip bytes, trusting one fixed
//! key (fuzz/keys/fuzz.pub, which signed the seed packages).
//!
//! The sink checks what verify promises its callers: `begin` before any file, every
//! file name passes the name validator, never more bytes than the manifest declares,
//! `finish_file` only after exactly the declared size, and nothing after a failure is
//! recorded (a report with `ok == true` must have called `begin`).
#![no_main]

use std::io::Cursor;
use std::sync::OnceLock;

use hotfix_manifest::{FileEntry, validate_entry_name};
use hotfix_package::verify::{Authenticated, EntrySink, SinkError, verify_reader};
use hotfix_sign::{PublicKey, TrustSet};
use libfuzzer_sys::fuzz_target;

const FUZZ_PUB: &str = include_str!("../keys/fuzz.pub");

fn trust() -> &'static TrustSet {
    static TRUST: OnceLock<TrustSet> = OnceLock::new();
    TRUST.get_or_init(|| {
        let mut set = TrustSet::default();
        let key = PublicKey::parse(FUZZ_PUB).expect("fuzz.pub parses");
        set.insert(key, "fuzz/keys/fuzz.pub".as_ref())
            .expect("insert key");
        set
    })
}

#[derive(Default)]
struct CheckingSink {
    begun: bool,
    current: Option<(String, u64, u64)>,
    files: u64,
}

impl EntrySink for CheckingSink {
    fn begin(&mut self, auth: &Authenticated<'_>) -> Result<(), SinkError> {
        assert!(!self.begun, "begin called twice");
        assert!(
            !auth.signatures.is_empty(),
            "authenticated without signatures"
        );
        self.begun = true;
        Ok(())
    }
    fn start_file(&mut self, file: &FileEntry) -> Result<(), SinkError> {
        assert!(self.begun, "start_file before begin");
        assert!(self.current.is_none(), "start_file inside a file");
        if let Err(e) = validate_entry_name(&file.path) {
            panic!("sink handed an unsafe name {:?}: {e}", file.path);
        }
        self.current = Some((file.path.clone(), file.size, 0));
        Ok(())
    }
    fn write(&mut self, data: &[u8]) -> Result<(), SinkError> {
        let (name, size, written) = self.current.as_mut().expect("write outside a file");
        *written += data.len() as u64;
        assert!(*written <= *size, "{name}: more bytes than declared");
        Ok(())
    }
    fn finish_file(&mut self) -> Result<(), SinkError> {
        let (name, size, written) = self.current.take().expect("finish_file outside a file");
        assert_eq!(written, size, "{name}: finished short");
        self.files += 1;
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let mut sink = CheckingSink::default();
    if let Ok(report) = verify_reader(Cursor::new(data), "fuzz.zip", trust(), 1, &mut sink) {
        if report.ok {
            assert!(sink.begun, "ok report without begin");
            assert!(sink.current.is_none(), "ok report with a file left open");
        }
    }
});
