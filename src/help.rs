//! What every command's `--help` and man page add to the argument list: examples and
//! the environment variables the command reads. Kept in one table so that a command
//! without an example or an ENVIRONMENT entry is easy to spot (a test walks every
//! subcommand), and so that the man pages (`hotfix man`) say exactly what `--help` says.
//!
//! This must never change what a command parses, only what its help prints.

/// An environment variable and what it does, shown under ENVIRONMENT.
struct Env(&'static str, &'static str);

const NO_COLOR: Env = Env(
    "NO_COLOR",
    "set (to anything) to print no colour or bold, as on a pipe (https://no-color.org)",
);
const PASSPHRASE: Env = Env(
    "HOTFIX_PASSPHRASE",
    "the secret key's passphrase, for non-interactive use (otherwise it is prompted for on the terminal)",
);
const PKCS11_MODULE: Env = Env(
    "HOTFIX_PKCS11_MODULE",
    "the PKCS#11 module to load for a pkcs11: --key URI without module-path",
);
const PKCS11_PIN: Env = Env(
    "HOTFIX_PKCS11_PIN",
    "the token's user PIN for a pkcs11: --key URI, for non-interactive use (otherwise pin-source in the URI, else a prompt)",
);
const TRUSTED: Env = Env(
    "HOTFIX_TRUSTED",
    "default for --trusted: a .pub file, a folder of them, or a signed trust policy",
);
const PROGRESS_REFRESH: Env = Env(
    "HOTFIX_PROGRESS_REFRESH_MS",
    "milliseconds between redraws of the progress bar on a terminal (default 100; 0 redraws at every update, for tests and diagnostics)",
);
const SOURCE_DATE_EPOCH: Env = Env(
    "SOURCE_DATE_EPOCH",
    "the creation time to record (seconds since 1970, UTC), for byte-identical rebuilds",
);

/// Examples and environment of the command at `path` (words after `hotfix`).
fn entry(path: &str) -> Option<(&'static [&'static str], &'static [Env])> {
    const NONE: &[Env] = &[NO_COLOR];
    Some(match path {
        "" => (
            &[
                "hotfix keygen --output keys/release",
                "hotfix build packages/HF-7.0.3-0042 --key keys/release.key --output dist/",
                "hotfix verify dist/HF-7.0.3-0042.zip --trusted keys/trusted/",
                "hotfix man --output-dir man/",
            ],
            &[
                NO_COLOR,
                PASSPHRASE,
                PKCS11_MODULE,
                PKCS11_PIN,
                TRUSTED,
                SOURCE_DATE_EPOCH,
                PROGRESS_REFRESH,
            ],
        ),
        "keygen" => (
            &[
                "hotfix keygen --output keys/release --comment \"release key 2026\"",
                "hotfix keygen --no-passphrase --output ci/test   # test keys only",
            ],
            &[PASSPHRASE, PKCS11_MODULE, PKCS11_PIN, NO_COLOR],
        ),
        "build" => (
            &[
                "hotfix build packages/HF-7.0.3-0042 --key keys/release.key --output dist/",
                "SOURCE_DATE_EPOCH=1764028800 hotfix build packages/HF-7.0.3-0042 --key keys/release.key --output dist/ --output-format json",
            ],
            &[
                PASSPHRASE,
                PKCS11_MODULE,
                PKCS11_PIN,
                SOURCE_DATE_EPOCH,
                NO_COLOR,
                PROGRESS_REFRESH,
            ],
        ),
        "sign" => (
            &["hotfix sign dist/HF-7.0.3-0042.zip --key keys/approver.key"],
            &[PASSPHRASE, PKCS11_MODULE, PKCS11_PIN, NO_COLOR],
        ),
        "verify" => (
            &[
                "hotfix verify dist/HF-7.0.3-0042.zip --trusted keys/trusted/ --threshold 2",
                "hotfix verify dist/HF-7.0.3-0042.zip --trusted policy/v3.toml --output-format json",
            ],
            &[TRUSTED, NO_COLOR, PROGRESS_REFRESH],
        ),
        "inspect" => (
            &[
                "hotfix inspect dist/HF-7.0.3-0042.zip",
                "hotfix inspect dist/HF-7.0.3-0042.zip --output-format json",
            ],
            NONE,
        ),
        "extract" => (
            &[
                "hotfix extract dist/HF-7.0.3-0042.zip --install-dir /opt/contact --trusted keys/trusted/",
            ],
            &[TRUSTED, NO_COLOR, PROGRESS_REFRESH],
        ),
        "list" => (
            &[
                "hotfix list --install-dir /opt/contact",
                "hotfix list --install-dir /opt/contact --check --trusted keys/trusted/",
            ],
            &[TRUSTED, NO_COLOR, PROGRESS_REFRESH],
        ),
        "sbom" => (
            &["hotfix sbom dist/HF-7.0.3-0042.zip > HF-7.0.3-0042.cdx.json"],
            NONE,
        ),
        "completions" => (
            &["hotfix completions bash > /etc/bash_completion.d/hotfix"],
            NONE,
        ),
        "man" => (
            &[
                "hotfix man | man -l -",
                "hotfix man build | man -l -",
                "hotfix man --output-dir /usr/local/share/man/man1",
            ],
            NONE,
        ),
        "sim" => (
            &["hotfix sim run simulator/scenarios/install-standard.toml --report report.html"],
            NONE,
        ),
        "sim model" => (
            &["hotfix sim model generate --nodes 1000 --vus 200 --output model.xml"],
            NONE,
        ),
        "trust" => (&["hotfix trust show policy/v1.toml"], NONE),
        "index" => (&["hotfix index show index/v1.toml"], NONE),
        "sim run" | "sim plan" | "sim merge" | "sim model generate" => (&[], NONE),
        "sim sweep" | "sim compare" => (&[], &[NO_COLOR, PROGRESS_REFRESH]),
        "sim model check" => (
            &["hotfix sim model check simulator/scenarios/models/contact-center.xml"],
            NONE,
        ),
        "trust init" => (
            &[
                "hotfix trust init --root keys/root1.pub --root keys/root2.pub --root keys/root3.pub --root-threshold 2 --output policy/v1.toml",
            ],
            NONE,
        ),
        "trust add-key" => (
            &["hotfix trust add-key policy/v1.toml --key keys/release.pub --role release"],
            NONE,
        ),
        "trust revoke" => (
            &[
                "hotfix trust revoke policy/v2.toml --key keys/release.pub --reason \"laptop stolen\" --output policy/v3.toml",
            ],
            NONE,
        ),
        "trust rotate-root" => (
            &[
                "hotfix trust rotate-root policy/v1.toml --root keys/root2.pub --root keys/root3.pub --root keys/root4.pub --root-threshold 2 --output policy/v2.toml",
            ],
            NONE,
        ),
        "trust sign" => (
            &["hotfix trust sign policy/v1.toml --key keys/root1.key"],
            &[PASSPHRASE, PKCS11_MODULE, PKCS11_PIN, NO_COLOR],
        ),
        "trust show" => (&["hotfix trust show policy/v1.toml"], NONE),
        "trust verify" => (
            &["hotfix trust verify policy/v3.toml --from policy/v1.toml --chain policy/v2.toml"],
            NONE,
        ),
        "index init" => (
            &[
                "hotfix index init --release 7.0 --support-package SP3 --valid-days 30 --output index/v1.toml",
            ],
            NONE,
        ),
        "index add" => (
            &["hotfix index add index/v1.toml dist/HF-7.0.3-0042.zip"],
            NONE,
        ),
        "index withdraw" => (
            &[
                "hotfix index withdraw index/v1.toml --id HF-7.0.3-0042 --reason \"breaks chat routing\" --output index/v2.toml",
            ],
            NONE,
        ),
        "index sign" => (
            &["hotfix index sign index/v1.toml --key keys/release.key"],
            &[PASSPHRASE, PKCS11_MODULE, PKCS11_PIN, NO_COLOR],
        ),
        "index show" => (&["hotfix index show index/v1.toml"], NONE),
        "index verify" => (
            &["hotfix index verify index/v1.toml --trusted policy/v1.toml"],
            NONE,
        ),
        _ => return None,
    })
}

/// The text after the argument list: `Example:` lines (unless the command's own
/// description already has them) and the ENVIRONMENT section.
fn after_help(path: &str, has_examples: bool) -> Option<String> {
    let (examples, env) = entry(path)?;
    let mut s = String::new();
    if !has_examples && !examples.is_empty() {
        s.push_str(if examples.len() == 1 {
            "Example:\n"
        } else {
            "Examples:\n"
        });
        for e in examples {
            s.push_str("  ");
            s.push_str(e);
            s.push('\n');
        }
        s.push('\n');
    }
    s.push_str("ENVIRONMENT:\n");
    for Env(name, what) in env {
        s.push_str(&format!("  {name}\n      {what}\n"));
    }
    Some(s.trim_end().to_owned())
}

/// `cmd` with every subcommand's examples and environment added (see the module comment).
pub fn decorate(cmd: clap::Command) -> clap::Command {
    fn walk(cmd: clap::Command, path: &str) -> clap::Command {
        let has_examples = cmd
            .get_long_about()
            .or(cmd.get_about())
            .is_some_and(|a| a.to_string().contains("Example"));
        let mut cmd = match after_help(path, has_examples) {
            Some(text) => {
                // Keep what the command says after its arguments already (exit codes).
                let text = match cmd.get_after_help() {
                    Some(before) => format!("{before}\n\n{text}"),
                    None => text,
                };
                cmd.after_long_help(text)
            }
            None => cmd,
        };
        let names: Vec<String> = cmd
            .get_subcommands()
            .map(|s| s.get_name().to_owned())
            .collect();
        for name in names {
            let sub_path = if path.is_empty() {
                name.clone()
            } else {
                format!("{path} {name}")
            };
            cmd = cmd.mut_subcommand(&name, |s| walk(s, &sub_path));
        }
        cmd
    }
    walk(cmd, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command's path (words after `hotfix`), parents included, `help` excluded.
    fn paths(cmd: &clap::Command) -> Vec<Vec<String>> {
        fn walk(cmd: &clap::Command, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
            out.push(at.clone());
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                at.push(sub.get_name().to_owned());
                walk(sub, at, out);
                at.pop();
            }
        }
        let mut out = Vec::new();
        walk(cmd, &mut Vec::new(), &mut out);
        out
    }

    #[test]
    fn every_command_has_a_table_entry() {
        let cmd = crate::cli_command();
        for p in paths(&cmd) {
            let path = p.join(" ");
            assert!(entry(&path).is_some(), "no help entry for `hotfix {path}`");
        }
    }
}
