//! Writes the hostile corpus: `good.zip`, one `<attack>.zip` per attack, `trusted.pub`
//! (the public key that signed them; the secret key is thrown away) and `corpus.tsv`
//! (`file<TAB>rule<TAB>entry<TAB>threshold`, what verify must report for each).
//!
//! `cargo run -p hotfix-package --example make-hostile-corpus -- tests/data/hostile`
//!
//! The same generator drives `tests/hostile.rs`; the committed copy in
//! `tests/data/hostile/` exists so the CLI tests (and anyone with another zip tool) can
//! try the files without building them.

#[path = "../tests/support/mod.rs"]
#[allow(dead_code, unused_imports, clippy::all)]
mod support;

use std::fmt::Write as _;
use std::path::PathBuf;

use support::corpus::{self, Keys};

/// As `hotfix verify` prints names: control and bidi characters escaped.
fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let hidden = c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if hidden {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .ok_or("usage: make-hostile-corpus OUTDIR")?;
    std::fs::create_dir_all(&out)?;
    let keys = Keys::new();
    std::fs::write(
        out.join("trusted.pub"),
        keys.signer
            .public_key()
            .to_file_text("hostile corpus signer (test key)"),
    )?;
    std::fs::write(out.join("good.zip"), corpus::good_package(&keys))?;
    let mut index = String::from("# file\trule\tentry\tthreshold\n");
    for a in corpus::attacks(&keys) {
        let file = format!("{}.zip", a.name);
        std::fs::write(out.join(&file), &a.bytes)?;
        writeln!(
            index,
            "{file}\t{}\t{}\t{}",
            a.rule,
            printable(a.entry.as_deref().unwrap_or("-")),
            a.threshold
        )?;
    }
    std::fs::write(out.join("corpus.tsv"), index)?;
    eprintln!("wrote the hostile corpus to {}", out.display());
    Ok(())
}
