//! The `fengxin` binary's argument errors follow the CLI contract: with `--json`, an error
//! object on stdout and one line on stderr; `--help` and `--version` succeed.

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_fengxin");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("spawn fengxin")
}

#[test]
fn argument_errors_with_json_print_the_error_object() {
    for (args, names) in [
        // No identifier value, no --id-type.
        (
            vec!["screen", "--node", "/nonexistent", "--json"],
            "--id-type",
        ),
        // Not a number.
        (
            vec![
                "ledger",
                "block",
                "--node",
                "/nonexistent",
                "--height",
                "tall",
                "--json",
            ],
            "tall",
        ),
        // An option no command has.
        (
            vec!["receipts", "--node", "/nonexistent", "--colour", "--json"],
            "--colour",
        ),
    ] {
        let out = run(&args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: no JSON on stdout ({e}): {:?}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        assert_eq!(err["error"]["kind"], "usage", "{args:?}: {err}");
        let message = err["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(names), "{args:?}: {message}");
        assert!(!message.contains('\n'), "{message:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{args:?}: stderr must be one line: {stderr:?}"
        );
        assert!(stderr.contains(names), "{stderr}");
    }
    // Without --json: clap's report on stderr, nothing on stdout.
    let out = run(&["screen", "--node", "/nonexistent"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(!out.stderr.is_empty());
}

#[test]
fn help_and_version_succeed() {
    for args in [
        vec!["--help"],
        vec!["--version"],
        vec!["screen", "--help", "--json"],
    ] {
        let out = run(&args);
        assert!(out.status.success(), "{args:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("fengxin") || stdout.contains("Usage"),
            "{args:?}: {stdout}"
        );
        assert!(serde_json::from_str::<serde_json::Value>(&stdout).is_err());
    }
}
