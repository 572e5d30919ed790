//! The simulator's system model reader (`model_xml::load_str`) on arbitrary text.
//! Whatever it accepts must write back (`save_string`) to text it accepts again and
//! that writes back to the same bytes.
#![no_main]

use hotfix_sim::model_xml::{load_str, save_string};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(model) = load_str(text) else {
        return;
    };
    let written = save_string(&model);
    let again = match load_str(&written) {
        Ok(m) => m,
        Err(problems) => panic!("accepted model does not read back from its own XML: {problems:?}"),
    };
    assert_eq!(
        written,
        save_string(&again),
        "model XML round trip is not stable"
    );
});
