//! `Manifest::from_xml` on arbitrary bytes: never panics, and whatever it accepts
//! round-trips (`to_xml` → `from_xml` gives the same manifest and the same bytes).
#![no_main]

use hotfix_manifest::Manifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(manifest) = Manifest::from_xml(data) else {
        return;
    };
    let xml = manifest.to_xml();
    let again = match Manifest::from_xml(&xml) {
        Ok(m) => m,
        Err(e) => panic!("accepted manifest does not read back from its own XML: {e}"),
    };
    assert_eq!(manifest, again, "to_xml -> from_xml changed the manifest");
    assert_eq!(xml, again.to_xml(), "to_xml is not deterministic");
    if let Err(e) = manifest.validate() {
        panic!("accepted manifest fails validate(): {e}");
    }
});
