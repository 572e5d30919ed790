//! What reaches a terminal and what reaches a pipe: progress bars are drawn on a
//! terminal only (never with `--quiet` or JSON, never into a pipe), without colour under
//! `NO_COLOR`; `-v` lists each file; `scripts/demo`'s step titles are bold on a terminal
//! only.
//!
//! The terminal is a pseudo-terminal made by `script` (util-linux): stdout goes to a
//! file, so what `script` copies out of the terminal is the command's stderr alone.
//! `HOTFIX_PROGRESS_REFRESH_MS=0` makes the bar redraw at every update, so it appears
//! however fast the command runs. Without `script` the tests skip, unless
//! HOTFIX_REQUIRE_INTEROP is set.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use crate::support::{have_tool, hotfix, repo_root};
use crate::verify::{Fixture, fixture};

/// What a command wrote to its terminal (stderr), to stdout (a file), and its exit code.
struct OnTty {
    terminal: String,
    stdout: String,
    code: i32,
}

/// Single-quoted for `sh -c`.
fn quote(s: &OsStr) -> String {
    format!("'{}'", s.to_string_lossy().replace('\'', r"'\''"))
}

/// Runs `program args` with stderr on a pseudo-terminal and stdout into a file, with
/// `env` added (and `NO_COLOR` removed unless `env` sets it).
fn on_tty(work: &Path, program: &OsStr, args: &[OsString], env: &[(&str, &str)]) -> OnTty {
    let stdout = work.join(format!("tty-stdout-{}.txt", std::process::id()));
    let mut line = quote(program);
    for a in args {
        line.push(' ');
        line.push_str(&quote(a));
    }
    line.push_str(" >");
    line.push_str(&quote(stdout.as_os_str()));
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-q", "-e", "-f", "-c"])
        .arg(&line)
        .arg("/dev/null")
        .env("SHELL", "/bin/sh")
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("HOTFIX_TRUSTED")
        .env_remove("HOTFIX_PASSPHRASE")
        .env("HOTFIX_PROGRESS_REFRESH_MS", "0")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run script");
    let result = OnTty {
        terminal: String::from_utf8_lossy(&out.stdout).into_owned(),
        stdout: std::fs::read_to_string(&stdout).unwrap_or_default(),
        code: out.status.code().unwrap_or(-1),
    };
    let _ = std::fs::remove_file(&stdout);
    result
}

fn hotfix_on_tty(work: &Path, args: &[&OsStr], env: &[(&str, &str)]) -> OnTty {
    let bin = assert_cmd::cargo::cargo_bin("hotfix");
    let args: Vec<OsString> = args.iter().map(|a| a.to_os_string()).collect();
    on_tty(work, bin.as_os_str(), &args, env)
}

/// Whether `s` holds an SGR (colour or bold) escape sequence: ESC [ digits/; m.
fn has_sgr(s: &str) -> bool {
    s.match_indices("\x1b[").any(|(at, _)| {
        let rest = &s[at + 2..];
        let params = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b';')
            .count();
        rest.as_bytes().get(params) == Some(&b'm')
    })
}

/// `verify PACKAGE --trusted PUBLIC` plus `extra`, as arguments.
fn verify_cmd_args<'a>(fx: &'a Fixture, public: &'a Path, extra: &'a [&'a str]) -> Vec<&'a OsStr> {
    let mut args = vec![
        OsStr::new("verify"),
        fx.package.as_os_str(),
        OsStr::new("--trusted"),
        public.as_os_str(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    args
}

/// The payload paths the sample package's manifest lists.
fn payload_paths(fx: &Fixture) -> Vec<String> {
    let out = hotfix()
        .arg("inspect")
        .arg(&fx.package)
        .args(["--output-format", "json"])
        .output()
        .expect("inspect");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let mut paths = Vec::new();
    collect_paths(&v, &mut paths);
    assert!(!paths.is_empty(), "no payload paths in {v}");
    paths
}

/// Every `"path"` string beside a `"sha256"` in the inspect report (the payload files).
fn collect_paths(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            if let (Some(serde_json::Value::String(p)), Some(_)) = (m.get("path"), m.get("sha256"))
            {
                out.push(p.clone());
            }
            m.values().for_each(|x| collect_paths(x, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_paths(x, out)),
        _ => {}
    }
}

#[test]
fn verify_draws_a_bar_with_bytes_rate_and_eta_on_a_terminal_and_without_colour_under_no_color() {
    if !have_tool("script") {
        return;
    }
    let fx = fixture();
    let public = Fixture::public(&fx.signer);
    let args = verify_cmd_args(&fx, &public, &[]);

    let tty = hotfix_on_tty(fx.dir.path(), &args, &[]);
    assert_eq!(tty.code, 0, "{}", tty.terminal);
    assert!(tty.stdout.starts_with("OK: "), "{}", tty.stdout);
    for part in ["verifying", "KiB/", "/s", "eta "] {
        assert!(
            tty.terminal.contains(part),
            "no {part:?} on the terminal: {:?}",
            tty.terminal
        );
    }
    assert!(
        has_sgr(&tty.terminal),
        "colour on a terminal: {:?}",
        tty.terminal
    );

    let plain = hotfix_on_tty(fx.dir.path(), &args, &[("NO_COLOR", "1")]);
    assert_eq!(plain.code, 0, "{}", plain.terminal);
    assert!(plain.terminal.contains("verifying"), "{:?}", plain.terminal);
    assert!(
        !has_sgr(&plain.terminal),
        "colour despite NO_COLOR: {:?}",
        plain.terminal
    );
}

#[test]
fn no_bar_with_quiet_or_json_on_a_terminal_nor_into_a_pipe() {
    if !have_tool("script") {
        return;
    }
    let fx = fixture();
    let public = Fixture::public(&fx.signer);
    for extra in [&["--quiet"][..], &["--output-format", "json"][..]] {
        let tty = hotfix_on_tty(fx.dir.path(), &verify_cmd_args(&fx, &public, extra), &[]);
        assert_eq!(tty.code, 0, "{extra:?}: {}", tty.terminal);
        assert!(
            !tty.terminal.contains("verifying") && !tty.terminal.contains('\x1b'),
            "{extra:?} drew on the terminal: {:?}",
            tty.terminal
        );
        assert!(!tty.stdout.is_empty(), "{extra:?}: no result on stdout");
    }

    // stderr a pipe, the redraw knob at its most eager: still nothing but notes.
    let out = hotfix()
        .env("HOTFIX_PROGRESS_REFRESH_MS", "0")
        .env_remove("NO_COLOR")
        .args(verify_cmd_args(&fx, &public, &[]))
        .output()
        .expect("verify");
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("verifying") && !stderr.contains('\x1b') && !stderr.contains('\r'),
        "progress into a pipe: {stderr:?}"
    );
}

#[test]
fn verbose_lists_each_file_on_stderr_into_a_pipe_and_beside_the_bar() {
    let fx = fixture();
    let public = Fixture::public(&fx.signer);
    let paths = payload_paths(&fx);
    let out = hotfix()
        .args(verify_cmd_args(&fx, &public, &["-v"]))
        .output()
        .expect("verify");
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("verified "))
        .collect();
    assert_eq!(lines.len(), paths.len(), "{stderr}");
    for p in &paths {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("verified {p} ("))),
            "{p} not listed: {stderr}"
        );
    }
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
    // Without -v: no per-file line.
    let out = hotfix()
        .args(verify_cmd_args(&fx, &public, &[]))
        .output()
        .expect("verify");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("verified "));

    if have_tool("script") {
        let tty = hotfix_on_tty(fx.dir.path(), &verify_cmd_args(&fx, &public, &["-v"]), &[]);
        assert_eq!(tty.code, 0, "{}", tty.terminal);
        assert!(tty.terminal.contains("verifying"), "{:?}", tty.terminal);
        for p in &paths {
            assert!(
                tty.terminal.contains(&format!("verified {p} (")),
                "{p} not listed on the terminal"
            );
        }
    }
}

#[test]
fn build_extract_and_list_check_show_their_phases_on_a_terminal() {
    if !have_tool("script") {
        return;
    }
    let fx = fixture();
    let work = fx.dir.path();
    let public = Fixture::public(&fx.signer);
    let out = work.join("tty-dist");
    let build = hotfix_on_tty(
        work,
        &[
            OsStr::new("build"),
            crate::support::sample_source().as_os_str(),
            OsStr::new("--key"),
            fx.signer.as_os_str(),
            OsStr::new("--output"),
            out.as_os_str(),
        ],
        &[("NO_COLOR", "1")],
    );
    assert_eq!(build.code, 0, "{}", build.terminal);
    // The bar names what it waits for once the payload is written.
    for part in ["building", "signing", "syncing"] {
        assert!(
            build.terminal.contains(part),
            "no {part:?}: {:?}",
            build.terminal
        );
    }

    let install = work.join("tty-install");
    std::fs::create_dir_all(&install).expect("mkdir");
    let extract = hotfix_on_tty(
        work,
        &[
            OsStr::new("extract"),
            fx.package.as_os_str(),
            OsStr::new("--install-dir"),
            install.as_os_str(),
            OsStr::new("--trusted"),
            public.as_os_str(),
        ],
        &[("NO_COLOR", "1")],
    );
    assert_eq!(extract.code, 0, "{}", extract.terminal);
    assert!(
        extract.terminal.contains("extracting") && extract.terminal.contains("syncing"),
        "{:?}",
        extract.terminal
    );

    let list_args = |check: bool| {
        let mut a = vec![
            OsStr::new("list"),
            OsStr::new("--install-dir"),
            install.as_os_str(),
        ];
        if check {
            a.push(OsStr::new("--check"));
        }
        a
    };
    let checked = hotfix_on_tty(work, &list_args(true), &[("NO_COLOR", "1")]);
    assert_eq!(checked.code, 0, "{}", checked.terminal);
    assert!(
        checked.terminal.contains("checking"),
        "{:?}",
        checked.terminal
    );
    let listed = hotfix_on_tty(work, &list_args(false), &[("NO_COLOR", "1")]);
    assert_eq!(listed.code, 0, "{}", listed.terminal);
    assert!(
        !listed.terminal.contains("checking"),
        "a plain list rehashes nothing: {:?}",
        listed.terminal
    );
}

#[test]
fn sweep_counts_seeds_on_a_terminal_only() {
    if !have_tool("script") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario: PathBuf = repo_root().join("simulator/scenarios/timing-canary.toml");
    let args = [
        OsStr::new("sim"),
        OsStr::new("sweep"),
        scenario.as_os_str(),
        OsStr::new("--seeds"),
        OsStr::new("1..=3"),
        OsStr::new("--no-fail"),
    ];
    let tty = hotfix_on_tty(dir.path(), &args, &[("NO_COLOR", "1")]);
    assert_eq!(tty.code, 0, "{}", tty.terminal);
    assert!(tty.terminal.contains("3/3 seeds"), "{:?}", tty.terminal);
    let out = hotfix().args(args).output().expect("sweep");
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("seeds,") && !stderr.contains('\x1b'),
        "{stderr:?}"
    );
}

/// `scripts/lib/style.sh`'s `step` (the demo's step titles), run on a terminal or into
/// a pipe.
fn step_output(tty: bool, no_color: bool) -> String {
    let lib = repo_root().join("scripts/lib/style.sh");
    let line = format!(". {} && step 'make a key'", quote(lib.as_os_str()));
    let env: &[(&str, &str)] = if no_color { &[("NO_COLOR", "1")] } else { &[] };
    if tty {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = on_tty(
            dir.path(),
            OsStr::new("bash"),
            &[OsString::from("-c"), OsString::from(line)],
            env,
        );
        assert_eq!(r.code, 0, "{}", r.terminal);
        return r.terminal;
    }
    let mut cmd = std::process::Command::new("bash");
    cmd.args(["-c", &line]).env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("bash");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn demo_step_titles_are_bold_on_a_terminal_only_and_never_under_no_color() {
    // Into a pipe or a log file: plain text, whatever NO_COLOR says.
    assert_eq!(step_output(false, false), "\n== make a key\n");
    assert_eq!(step_output(false, true), "\n== make a key\n");
    if have_tool("script") {
        let bold = step_output(true, false);
        assert!(bold.contains("\x1b[1m== make a key\x1b[0m"), "{bold:?}");
        let plain = step_output(true, true);
        assert!(plain.contains("== make a key"), "{plain:?}");
        assert!(!has_sgr(&plain), "bold despite NO_COLOR: {plain:?}");
    }
    // The demo takes its titles from there and writes no escape code of its own.
    let demo = std::fs::read_to_string(repo_root().join("scripts/demo")).expect("demo");
    assert!(
        demo.contains(". scripts/lib/style.sh"),
        "the demo sources the style"
    );
    assert!(
        !demo.contains("\\033") && !demo.contains("\\e[") && !demo.contains("\\x1b"),
        "scripts/demo writes escape codes itself"
    );
}

#[test]
fn sign_lists_each_file_with_verbose_and_draws_its_copy_on_a_terminal() {
    let fx = fixture();
    let paths = payload_paths(&fx);
    let out = hotfix()
        .arg("sign")
        .arg(&fx.package)
        .arg("--key")
        .arg(&fx.other)
        .arg("-v")
        .output()
        .expect("sign");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let copied = stderr.lines().filter(|l| l.starts_with("copied ")).count();
    assert_eq!(copied, paths.len(), "{stderr}");
    for p in &paths {
        assert!(stderr.contains(&format!("copied {p} (")), "{p}: {stderr}");
    }

    if have_tool("script") {
        let third = fx.path("third");
        hotfix()
            .args(["keygen", "--no-passphrase", "--output"])
            .arg(&third)
            .assert()
            .success();
        let key = third.with_extension("key");
        let tty = hotfix_on_tty(
            fx.dir.path(),
            &[
                OsStr::new("sign"),
                fx.package.as_os_str(),
                OsStr::new("--key"),
                key.as_os_str(),
            ],
            &[("NO_COLOR", "1")],
        );
        assert_eq!(tty.code, 0, "{}", tty.terminal);
        for part in ["signing", "copying", "syncing"] {
            assert!(
                tty.terminal.contains(part),
                "no {part:?}: {:?}",
                tty.terminal
            );
        }
    }
}
