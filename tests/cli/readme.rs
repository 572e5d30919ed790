//! The README's walkthroughs run as written: their `sh` blocks are run in order, in a
//! scratch folder that sees the repository's `packages/` and `simulator/`, with the
//! `hotfix` under test first on `PATH`. A command fails the test when its exit code is not
//! the one its comment promises (`# exit N`, else 0), or when a command expected to
//! succeed prints `error:`.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::support::repo_root;

/// One command of the walkthrough: the README line it is on, its text and the exit code
/// its comment promises.
#[derive(Debug, PartialEq)]
struct Step {
    line: usize,
    command: String,
    expect: i32,
}

/// The README sections whose `sh` blocks run, in this order, as one session.
const SECTIONS: [&str; 3] = [
    "Two-minute walkthrough",
    "Trust lifecycle walkthrough",
    HARDWARE_SECTION,
];

/// The section that needs SoftHSM2; skipped where it is missing, unless
/// HOTFIX_REQUIRE_INTEROP is set.
const HARDWARE_SECTION: &str = "Hardware-key walkthrough (PKCS#11)";

/// The commands of the `sh` blocks under the walkthrough sections, in order.
fn walkthrough_steps(readme: &str) -> Vec<Step> {
    steps_of(readme, &SECTIONS)
}

/// The commands of the `sh` blocks under the named sections, in README order.
fn steps_of(readme: &str, sections: &[&str]) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut in_section = false;
    let mut in_block = false;
    for (i, line) in readme.lines().enumerate() {
        if let Some(title) = line.strip_prefix("## ") {
            in_section = sections.contains(&title.trim());
            continue;
        }
        if !in_section {
            continue;
        }
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_block = !in_block && trimmed == "```sh";
            continue;
        }
        if !in_block || trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (command, comment) = match trimmed.split_once(" #") {
            Some((c, comment)) => (c.trim_end(), comment.trim()),
            None => (trimmed, ""),
        };
        let expect = comment
            .strip_prefix("exit ")
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        steps.push(Step {
            line: i + 1,
            command: command.to_owned(),
            expect,
        });
    }
    steps
}

#[test]
fn walkthrough_parser_reads_commands_and_promised_exit_codes() {
    let readme = "## Two-minute walkthrough\n\n```sh\n# a comment\nexport A='b c'\n\
                  hotfix sim run x.toml      # exit 1, names the rule\n```\n\n\
                  ```text\nnot run\n```\n## Next\n```sh\nnot run either\n```\n";
    assert_eq!(
        walkthrough_steps(readme),
        vec![
            Step {
                line: 5,
                command: "export A='b c'".into(),
                expect: 0
            },
            Step {
                line: 6,
                command: "hotfix sim run x.toml".into(),
                expect: 1
            },
        ]
    );
}

#[cfg(unix)]
#[test]
fn readme_walkthrough_runs_as_written() {
    let root = repo_root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let hardware = crate::support::have_tool("softhsm2-util");
    let sections: Vec<&str> = SECTIONS
        .into_iter()
        .filter(|s| hardware || *s != HARDWARE_SECTION)
        .collect();
    let steps = steps_of(&readme, &sections);
    assert!(
        steps.len() >= 10,
        "the walkthrough lost its commands: {steps:?}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    for shared in ["packages", "simulator"] {
        std::os::unix::fs::symlink(root.join(shared), dir.path().join(shared)).expect("symlink");
    }
    let logs = dir.path().join(".walkthrough");
    std::fs::create_dir(&logs).expect("mkdir");

    // One shell, so `export` and `cd` carry from one command to the next, as they do for
    // a person pasting the blocks; each command's exit code and output are kept apart.
    let mut script = String::new();
    for (n, step) in steps.iter().enumerate() {
        let log = logs.join(n.to_string());
        writeln!(
            script,
            "{{ {cmd}\n}} >'{log}.out' 2>'{log}.err'; echo $? >'{log}.rc'",
            cmd = step.command,
            log = log.display()
        )
        .expect("write");
    }
    let bin = Path::new(env!("CARGO_BIN_EXE_hotfix"));
    let path = format!(
        "{}:{}",
        bin.parent().expect("bin dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let status = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env_remove("HOTFIX_PASSPHRASE")
        .env_remove("HOTFIX_TRUSTED")
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("SOFTHSM2_CONF")
        .env_remove("HOTFIX_PKCS11_MODULE")
        .env_remove("HOTFIX_PKCS11_PIN")
        .status()
        .expect("bash");
    assert!(status.success(), "the walkthrough script itself failed");

    let read = |n: usize, ext: &str| {
        std::fs::read_to_string(logs.join(format!("{n}.{ext}"))).unwrap_or_default()
    };
    let mut failures = Vec::new();
    for (n, step) in steps.iter().enumerate() {
        let rc: i32 = read(n, "rc").trim().parse().unwrap_or(-1);
        let stderr = read(n, "err");
        let printed_error = stderr.lines().any(|l| l.starts_with("error:"));
        if rc != step.expect || (step.expect == 0 && printed_error) {
            failures.push(format!(
                "README.md:{}: `{}` exited {rc} (expected {}):\n{}{}",
                step.line,
                step.command,
                step.expect,
                read(n, "out"),
                stderr
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(Path::new(&dir.path().join("contact/Install/hotfixes/HF-7.0.3-0042")).is_dir());
    // The trust walkthrough installed under the policy, and refused the withdrawn hotfix.
    assert!(
        dir.path()
            .join("site/Install/hotfixes/HF-7.0.3-0042")
            .is_dir()
    );
    assert!(
        !dir.path()
            .join("site2/Install/hotfixes/HF-7.0.3-0042")
            .exists()
    );
    let sbom = std::fs::read_to_string(dir.path().join("HF-7.0.3-0042.cdx.json")).expect("sbom");
    assert!(sbom.contains("\"bomFormat\": \"CycloneDX\""), "{sbom}");
    if hardware {
        // Signed on the token: a public key came out, no secret key file.
        assert!(dir.path().join("dist-token/HF-7.0.3-0042.zip").is_file());
        assert!(dir.path().join("keys/token-release.pub").is_file());
        assert!(!dir.path().join("keys/token-release.key").exists());
    }
}
