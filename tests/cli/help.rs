//! Every command's `--help` has an example, and `hotfix man` writes one page per command,
//! each page it names existing.

use std::io::Read;

use crate::support::hotfix;

fn help_of(path: &[String]) -> String {
    let o = hotfix().args(path).arg("--help").output().expect("help");
    assert!(o.status.success(), "hotfix {} --help", path.join(" "));
    String::from_utf8(o.stdout).expect("UTF-8 help")
}

/// The subcommands a help text lists under `Commands:` (`help` left out).
fn listed_commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|n| n != "help")
        .collect()
}

/// Every command path, found by walking `--help` from the top.
fn every_command() -> Vec<Vec<String>> {
    let mut out = vec![Vec::new()];
    let mut i = 0;
    while i < out.len() {
        let path = out[i].clone();
        for name in listed_commands(&help_of(&path)) {
            let mut sub = path.clone();
            sub.push(name);
            out.push(sub);
        }
        i += 1;
    }
    out
}

#[test]
fn every_command_help_has_an_example() {
    let all = every_command();
    assert!(all.len() > 25, "{all:?}");
    for path in &all {
        let help = help_of(path);
        assert!(
            help.contains("Example"),
            "`hotfix {} --help` has no example:\n{help}",
            path.join(" ")
        );
    }
    for (path, var) in [
        ("build", "SOURCE_DATE_EPOCH"),
        ("build", "HOTFIX_PASSPHRASE"),
        ("sign", "HOTFIX_PASSPHRASE"),
        ("keygen", "HOTFIX_PASSPHRASE"),
        ("verify", "HOTFIX_TRUSTED"),
        ("extract", "NO_COLOR"),
    ] {
        let help = help_of(&[path.to_owned()]);
        assert!(
            help.contains("ENVIRONMENT") && help.contains(var),
            "`hotfix {path} --help` does not name {var}:\n{help}"
        );
    }
}

#[test]
fn man_writes_a_page_for_every_command_and_every_page_named_exists() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("man");
    hotfix()
        .args(["man", "--output-dir"])
        .arg(&out)
        .assert()
        .success();
    for path in every_command() {
        let name = std::iter::once("hotfix".to_owned())
            .chain(path.iter().cloned())
            .collect::<Vec<_>>()
            .join("-");
        assert!(out.join(format!("{name}.1")).is_file(), "no page {name}.1");
    }
    let mut named = 0;
    for entry in std::fs::read_dir(&out).expect("read_dir") {
        let page = std::fs::read_to_string(entry.expect("entry").path()).expect("page");
        let page = page.replace("\\-", "-");
        for (at, _) in page.match_indices("(1)") {
            let start = page[..at]
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .map_or(0, |i| i + 1);
            let name = &page[start..at];
            if name.starts_with("hotfix") {
                named += 1;
                assert!(
                    out.join(format!("{name}.1")).is_file(),
                    "{name}(1) is named but not written"
                );
            }
        }
    }
    assert!(named > 10, "the pages name {named} other pages");

    // One page to stdout.
    let o = hotfix().args(["man", "sim", "run"]).output().expect("man");
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("hotfix-sim-run"));
    assert!(String::from_utf8_lossy(&o.stdout).contains("Example"));
}

#[test]
fn man_into_a_pipe_closed_early_prints_no_error() {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("hotfix"))
        .arg("man")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 64];
    stdout.read_exact(&mut first).expect("read");
    drop(stdout); // like `| head`
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.is_empty(), "{err}");
}
