//! Every error the CLI can print, walked: each library error variant (one constructed
//! value per variant, lists kept exhaustive by a `match` in the defining crate) goes
//! through the function that turns it into what the user sees, and the rendering must
//! name what is wrong and end with a `hint:` that says what to do.

use crate::cli::CliError;

/// The hint the mappings fall back to when they know nothing better: not a hint.
const NO_HINT: &str = "see the message above";

/// Checks one rendering: the message names `what`, the hint is a real one.
fn check(kind: &str, debug: String, err: &CliError, what: &str, problems: &mut Vec<String>) {
    let shown = format!("{}\n{}", err.message, err.details.join("\n"));
    if !shown.contains(what) {
        problems.push(format!("{kind} {debug}: `{shown}` does not name {what:?}"));
    }
    match err.hint.as_deref() {
        None => problems.push(format!("{kind} {debug}: no hint")),
        Some(h) if h.trim().is_empty() || h == NO_HINT => {
            problems.push(format!("{kind} {debug}: no real hint ({h:?})"))
        }
        Some(_) => {}
    }
}

#[test]
fn every_error_variant_renders_what_is_wrong_and_a_hint() {
    use hotfix_package::error_examples as ex;
    let mut problems = Vec::new();
    for (e, what) in ex::build_errors() {
        let debug = format!("{e:?}");
        check(
            "BuildError",
            debug,
            &crate::build::build_error(e),
            what,
            &mut problems,
        );
    }
    for (e, what) in ex::inspect_errors() {
        let debug = format!("{e:?}");
        let message = e.to_string();
        let err = crate::inspect::inspect_error_message(&e, message);
        check("InspectError", debug, &err, what, &mut problems);
    }
    for (e, what) in ex::cosign_errors() {
        let debug = format!("{e:?}");
        check(
            "CosignError",
            debug,
            &crate::sign::cosign_error(e),
            what,
            &mut problems,
        );
    }
    for (e, what) in ex::verify_errors() {
        let debug = format!("{e:?}");
        check(
            "VerifyError",
            debug,
            &crate::verify::verify_error(e),
            what,
            &mut problems,
        );
    }
    for (e, what) in ex::extract_errors() {
        let debug = format!("{e:?}");
        check(
            "ExtractError",
            debug,
            &crate::extract::extract_error(e),
            what,
            &mut problems,
        );
    }
    for (e, what) in ex::list_errors() {
        let debug = format!("{e:?}");
        check(
            "ListError",
            debug,
            &crate::list::list_error(e),
            what,
            &mut problems,
        );
    }
    for (e, what) in hotfix_manifest::error_examples::spec_errors() {
        let debug = format!("{e:?}");
        check(
            "SpecError",
            debug,
            &crate::build::spec_error(e),
            what,
            &mut problems,
        );
    }
    // A manifest error reaches the user from a build (the manifest built from the
    // source breaks a rule) or from inspect (the package's manifest is refused).
    let again = hotfix_manifest::error_examples::manifest_errors();
    for ((e, what), (e2, _)) in hotfix_manifest::error_examples::manifest_errors()
        .into_iter()
        .zip(again)
    {
        let debug = format!("{e:?}");
        let err = hotfix_package::build::BuildError::Manifest { source: e };
        check(
            "ManifestError (build)",
            debug.clone(),
            &crate::build::build_error(err),
            what,
            &mut problems,
        );
        let err = hotfix_package::inspect::InspectError::Manifest {
            path: "dist/HF-1.zip".into(),
            source: Box::new(e2),
        };
        let message = err.to_string();
        check(
            "ManifestError (inspect)",
            debug,
            &crate::inspect::inspect_error_message(&err, message),
            what,
            &mut problems,
        );
    }
    // Every command that reads keys, signatures, policies or indexes renders a
    // hotfix-sign error through one of these two.
    for (e, what) in hotfix_sign::error_examples::sign_errors() {
        let debug = format!("{e:?}");
        let again = clone_sign_error(&e);
        check(
            "SignError",
            debug.clone(),
            &crate::passphrase::sign_error(e),
            &what,
            &mut problems,
        );
        check(
            "SignError (policy)",
            debug,
            &crate::trust::policy_error(again),
            &what,
            &mut problems,
        );
    }
    use hotfix_sim::error_examples as sim;
    for (e, what) in sim::model_errors() {
        let debug = format!("{e:?}");
        check(
            "ModelError",
            debug,
            &crate::sim::model_error(e),
            what,
            &mut problems,
        );
    }
    for (e, what) in sim::scenario_errors() {
        let debug = format!("{e:?}");
        check(
            "ScenarioError",
            debug,
            &crate::sim::scenario_error(e),
            what,
            &mut problems,
        );
    }
    for (e, what) in sim::setup_errors() {
        let debug = format!("{e:?}");
        check(
            "SetupError",
            debug,
            &crate::sim::setup_error(e),
            what,
            &mut problems,
        );
    }
    for (e, what) in sim::timing_errors() {
        let debug = format!("{e:?}");
        check(
            "TimingError",
            debug,
            &crate::sim::timing_error(e),
            what,
            &mut problems,
        );
    }
    for (e, what) in sim::sweep_errors() {
        let debug = format!("{e:?}");
        let shards = ["shard-0.json".into(), "shard-1.json".into()];
        let err = crate::sim::sweep::sweep_error(e, "scenario.toml", &shards);
        check("SweepError", debug, &err, what, &mut problems);
    }
    let uri =
        hotfix_pkcs11::Pkcs11Uri::parse("pkcs11:token=release;object=hotfix").expect("a valid URI");
    for (e, what) in hotfix_pkcs11::error_examples::pkcs11_errors() {
        let debug = format!("{e:?}");
        check(
            "Pkcs11Error",
            debug,
            &crate::pkcs11::error(e, &uri),
            what,
            &mut problems,
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The same error again (SignError is not Clone: it can hold an io::Error): rebuilt
/// from the examples by position.
fn clone_sign_error(e: &hotfix_sign::SignError) -> hotfix_sign::SignError {
    let debug = format!("{e:?}");
    hotfix_sign::error_examples::sign_errors()
        .into_iter()
        .map(|(e, _)| e)
        .find(|x| format!("{x:?}") == debug)
        .expect("the examples are deterministic")
}
