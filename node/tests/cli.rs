//! The `fengxin-node` binary as operators drive it: real processes, real files.

use fengxin_node::import::CHUNK;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_fengxin-node");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("spawn fengxin-node")
}

fn ok_json(args: &[&str]) -> serde_json::Value {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn init(dir: &Path) {
    let d = dir.to_str().expect("utf-8 path");
    ok_json(&["init", "--data", d, "--member", "bank-a", "--json"]);
}

#[test]
fn import_stats_and_json_shapes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("node");
    let d = data.to_str().expect("utf-8");
    init(&data);
    let file = tmp.path().join("ids.csv");
    std::fs::write(&file, "identifier,reason\n11010519491231002x,fraud\n110105491231002,dup\n110105194912310021,bad\n")
        .expect("write");
    let f = file.to_str().expect("utf-8");
    let args = [
        "lists",
        "import",
        "--data",
        d,
        "--list",
        "fraud_txn",
        "--id-type",
        "cn_id",
        "--file",
        f,
        "--json",
    ];
    let report = ok_json(&args);
    assert_eq!(report["list"], "fraud_txn");
    assert_eq!(report["accepted"], 1);
    assert_eq!(
        report["duplicates"], 1,
        "the 15-digit form upgrades to the same 18-digit id"
    );
    assert_eq!(report["rejected"][0]["row"], 3);
    assert_eq!(report["rejected"][0]["field"], "identifier");
    let again = ok_json(&args);
    assert_eq!(again["accepted"], 0);

    let stats = ok_json(&["lists", "stats", "--data", d, "--json"]);
    assert_eq!(stats["lists"][0]["list"], "fraud_txn");
    assert_eq!(stats["lists"][0]["entries"], 1);
    assert_eq!(stats["lists"][0]["tags"], 1);
    assert_eq!(stats["lists"][0]["epoch"], 1);

    // Usage errors are reported, not panicked on.
    let bad = run(&[
        "lists",
        "import",
        "--data",
        d,
        "--list",
        "Fraud!",
        "--id-type",
        "cn_id",
        "--file",
        f,
        "--json",
    ]);
    assert!(!bad.status.success());
    let err: serde_json::Value = serde_json::from_slice(&bad.stdout).expect("json error");
    assert_eq!(err["error"]["kind"], "usage");
    let bad = run(&[
        "lists",
        "import",
        "--data",
        d,
        "--list",
        "fraud_txn",
        "--id-type",
        "passport",
        "--file",
        f,
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("passport"));
}

#[cfg(unix)]
#[test]
fn refuses_a_readable_secret() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("node");
    init(&data);
    std::fs::set_permissions(
        data.join("identity.key"),
        std::fs::Permissions::from_mode(0o640),
    )
    .expect("chmod");
    let out = run(&[
        "lists",
        "stats",
        "--data",
        data.to_str().expect("utf-8"),
        "--json",
    ]);
    assert!(!out.status.success());
    let err: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json error");
    assert_eq!(err["error"]["kind"], "secret_permissions");
    assert!(String::from_utf8_lossy(&out.stderr).contains("identity.key"));
}

#[cfg(unix)]
#[test]
fn killed_mid_import_leaves_previous_state() {
    use std::io::BufRead;
    use std::os::unix::process::ExitStatusExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("node");
    let d = data.to_str().expect("utf-8");
    init(&data);
    let small = tmp.path().join("small.csv");
    std::fs::write(&small, "identifier,reason\nACC-1,mule\nACC-2,mule\n").expect("write");
    let import = |file: &Path| {
        vec![
            "lists".to_owned(),
            "import".into(),
            "--data".into(),
            d.into(),
            "--list".into(),
            "high_risk_account".into(),
            "--id-type".into(),
            "account".into(),
            "--file".into(),
            file.to_str().expect("utf-8").into(),
            "--json".into(),
        ]
    };
    let args = import(&small);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok_json(&args);
    let stats = ["lists", "stats", "--data", d, "--json"];
    let prove = [
        "prove",
        "--data",
        d,
        "--list",
        "high_risk_account",
        "--id-type",
        "account",
        "--identifier",
        "ACC-1",
        "--json",
    ];
    let before = ok_json(&stats);
    let proved_before = ok_json(&prove);
    assert_eq!(proved_before["result"], "hit");

    // Two and a half chunks: the first full chunk is staged in the write transaction while
    // more than a chunk is still to be read, tagged and committed.
    let rows = 2 * CHUNK + CHUNK / 2;
    let big = tmp.path().join("big.csv");
    let mut csv = String::from("identifier\n");
    for i in 0..rows {
        csv.push_str(&format!("ACC-BIG-{i:07}\n"));
    }
    std::fs::write(&big, csv).expect("write");
    let mut child = Command::new(BIN)
        .args(import(&big))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr piped");
    let mut lines = std::io::BufReader::new(stderr).lines();
    let staged = loop {
        match lines.next() {
            Some(Ok(line)) if line.starts_with("staged ") => break line,
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("reading the import's stderr: {e}"),
            None => panic!(
                "the import ended without reporting a staged chunk: {:?}",
                child.wait()
            ),
        }
    };
    assert_eq!(staged, format!("staged {CHUNK} rows"));
    // Data is staged, uncommitted: kill the process now.
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("reap");
    assert_eq!(
        status.signal(),
        Some(9),
        "the import must die by SIGKILL before it commits, not finish ({status:?})"
    );

    let after = ok_json(&stats);
    assert_eq!(
        after, before,
        "a killed import must leave the previous state (entries, tags, root)"
    );
    let proved_after = ok_json(&prove);
    assert_eq!(
        (
            &proved_after["result"],
            &proved_after["tag"],
            &proved_after["root"]
        ),
        (
            &proved_before["result"],
            &proved_before["tag"],
            &proved_before["root"]
        ),
        "a stored entry keeps its tag and the tree its root"
    );

    // The database is still usable, and the same import run again completes.
    let args = import(&big);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let report = ok_json(&args);
    assert_eq!(report["accepted"], rows as u64);
    assert_eq!(report["duplicates"], 0);
    assert_eq!(report["rejected"], serde_json::json!([]));
    let done = ok_json(&stats);
    assert_eq!(done["lists"][0]["entries"], rows as u64 + 2);
    assert_eq!(done["lists"][0]["tags"], rows as u64 + 2);
    assert_ne!(done["lists"][0]["root"], before["lists"][0]["root"]);
}

#[test]
fn publish_and_prove_print_the_documented_json() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("node");
    let d = data.to_str().expect("utf-8");
    init(&data);
    let file = tmp.path().join("ids.csv");
    std::fs::write(&file, "identifier\n11010519491231002X\n").expect("write");
    let f = file.to_str().expect("utf-8");
    ok_json(&[
        "lists",
        "import",
        "--data",
        d,
        "--list",
        "fraud_txn",
        "--id-type",
        "cn_id",
        "--file",
        f,
        "--json",
    ]);
    let published = ok_json(&["lists", "publish", "--data", d, "--json"]);
    let p = &published[0];
    assert_eq!(p["list"], "fraud_txn");
    assert_eq!(p["epoch"], 1);
    assert_eq!(p["root"].as_str().map(str::len), Some(64));
    assert_eq!(p["oprf_public_key"].as_str().map(str::len), Some(64));
    let stats = ok_json(&["lists", "stats", "--data", d, "--json"]);
    assert_eq!(stats["lists"][0]["root"], p["root"]);

    let hit = ok_json(&[
        "prove",
        "--data",
        d,
        "--list",
        "fraud_txn",
        "--id-type",
        "cn_id",
        "--identifier",
        "11010519491231002x",
        "--json",
    ]);
    assert_eq!(hit["result"], "hit");
    assert_eq!(hit["root"], p["root"]);
    assert_eq!(hit["epoch"], 1);
    assert_eq!(hit["proof"].as_str().map(str::len), Some(2 * 129));
    let tag = hit["tag"].as_str().expect("tag").to_owned();
    let again = ok_json(&[
        "prove",
        "--data",
        d,
        "--list",
        "fraud_txn",
        "--tag",
        &tag,
        "--json",
    ]);
    assert_eq!(
        (again["result"].clone(), again["tag"].clone()),
        (hit["result"].clone(), hit["tag"].clone())
    );
    let miss = ok_json(&[
        "prove",
        "--data",
        d,
        "--list",
        "fraud_txn",
        "--tag",
        &"01".repeat(31),
        "--json",
    ]);
    assert_eq!(miss["result"], "miss");

    for bad in [
        vec![
            "prove",
            "--data",
            d,
            "--list",
            "fraud_txn",
            "--tag",
            "00",
            "--json",
        ],
        vec![
            "prove",
            "--data",
            d,
            "--list",
            "marketing_abuse",
            "--tag",
            &tag,
            "--json",
        ],
    ] {
        let out = run(&bad);
        assert!(!out.status.success(), "{bad:?}");
        let err: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json error");
        assert!(err["error"]["kind"].is_string(), "{err}");
    }
}

/// A failed command with `--json`: non-zero exit, the error object on stdout, one line on stderr.
fn json_error(args: &[&str]) -> serde_json::Value {
    let out = run(args);
    assert!(!out.status.success(), "{args:?} succeeded");
    let err: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: no JSON on stdout ({e}): {:?}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{args:?}: stderr must be one line: {stderr:?}"
    );
    assert_eq!(
        err["error"]["message"]
            .as_str()
            .map(|m| !m.is_empty() && !m.contains('\n')),
        Some(true),
        "{err}"
    );
    err
}

#[test]
fn argument_errors_with_json_print_the_error_object() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("node");
    let d = data.to_str().expect("utf-8");
    init(&data);
    let file = tmp.path().join("ids.csv");
    std::fs::write(&file, "identifier\nACC-1\n").expect("write");
    let f = file.to_str().expect("utf-8");
    let base = [
        "lists",
        "import",
        "--data",
        d,
        "--list",
        "high_risk_account",
    ];
    let with = |extra: &[&'static str]| -> Vec<String> {
        base.iter()
            .copied()
            .chain(extra.iter().copied())
            .map(str::to_owned)
            .collect()
    };
    for (args, names) in [
        (with(&["--id-type", "account", "--json"]), "--file"),
        (
            with(&["--id-type", "account", "--format", "xml", "--json"]),
            "xml",
        ),
        (with(&["--id-type", "passport", "--json"]), "passport"),
    ] {
        let mut args = args;
        if names != "--file" {
            args.extend(["--file".to_owned(), f.to_owned()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let err = json_error(&args);
        assert_eq!(err["error"]["kind"], "usage", "{args:?}: {err}");
        let message = err["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(names), "{args:?}: {message}");
    }
    // Without --json, clap's own report, nothing on stdout.
    let out = run(&base);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--id-type"));
    // --help and --version are not errors.
    for args in [
        vec!["--help"],
        vec!["--version"],
        vec!["lists", "remove", "--help"],
    ] {
        let out = run(&args);
        assert!(out.status.success(), "{args:?}");
        assert!(!out.stdout.is_empty(), "{args:?}");
    }
    let help = run(&["lists", "remove", "--help", "--json"]);
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("`accepted` counts rows whose entry was removed"),
        "{help}"
    );
    // Nothing was imported by any of these.
    let stats = ok_json(&["lists", "stats", "--data", d, "--json"]);
    assert_eq!(stats["lists"], serde_json::json!([]));
}

#[test]
fn remove_prints_the_import_shape_and_needs_only_the_identifier() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("node");
    let d = data.to_str().expect("utf-8");
    init(&data);
    let file = tmp.path().join("ids.csv");
    std::fs::write(
        &file,
        "identifier,reason\nACC-1,mule\nACC-2,mule\nACC-3,mule\n",
    )
    .expect("write");
    let list_args = |cmd: &'static str, f: &Path| -> Vec<String> {
        [
            "lists",
            cmd,
            "--data",
            d,
            "--list",
            "high_risk_account",
            "--id-type",
            "account",
            "--file",
            f.to_str().expect("utf-8"),
            "--json",
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let import = list_args("import", &file);
    let import: Vec<&str> = import.iter().map(String::as_str).collect();
    let imported = ok_json(&import);

    // Malformed reason, date and source reference: ignored for removal.
    let rm = tmp.path().join("rm.csv");
    let long = "x".repeat(200);
    std::fs::write(
        &rm,
        format!(
            "identifier,reason,added_on,source_ref\nACC-1,\u{1}bad,2025-13-45,{long}\nacc-1,,,\nACC-9,,,\n,,,\nACC-2,x,yesterday,\n"
        ),
    )
    .expect("write");
    let remove = list_args("remove", &rm);
    let remove: Vec<&str> = remove.iter().map(String::as_str).collect();
    let removed = ok_json(&remove);
    let keys = |v: &serde_json::Value| -> Vec<String> {
        v.as_object()
            .expect("object")
            .keys()
            .filter(|k| ["list", "accepted", "duplicates", "rejected"].contains(&k.as_str()))
            .cloned()
            .collect()
    };
    assert_eq!(keys(&removed), keys(&imported));
    assert_eq!(keys(&removed).len(), 4);
    assert_eq!(removed["list"], "high_risk_account");
    assert_eq!(removed["accepted"], 2, "{removed}");
    assert_eq!(removed["removed"], 2);
    assert_eq!(removed["duplicates"], 1);
    assert_eq!(removed["not_found"], 1);
    let rejected = removed["rejected"].as_array().expect("array");
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["row"], 4);
    assert_eq!(rejected[0]["field"], "identifier");
    assert!(rejected[0]["reason"].is_string());
    let stats = ok_json(&["lists", "stats", "--data", d, "--json"]);
    assert_eq!(stats["lists"][0]["entries"], 1);
}

/// Output to a pipe whose reader is gone (`| head`) ends quietly, not with a panic.
#[test]
fn output_to_a_closed_pipe_ends_quietly() {
    let tmp = tempfile::tempdir().expect("tempdir");
    init(tmp.path());
    let d = tmp.path().to_str().expect("utf-8 path");
    for args in [
        vec!["lists", "stats", "--data", d],
        vec!["lists", "stats", "--data", d, "--json"],
    ] {
        let mut child = Command::new(BIN)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn fengxin-node");
        // The reader goes away before the first line is written.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(out.status.success(), "{args:?}: {:?} {stderr}", out.status);
    }
}

#[test]
fn genesis_takes_credit_parameters_from_a_file_and_refuses_unknown_fields() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("node");
    init(&data);
    let d = data.to_str().expect("utf-8");
    let out = tmp.path().join("genesis.json");
    let o = out.to_str().expect("utf-8");
    let mut params = serde_json::to_value(fengxin_ledger::CreditParams::default()).expect("json");
    params["base_allowance"] = 7.into();
    let credits = tmp.path().join("credits.json");
    std::fs::write(&credits, params.to_string()).expect("write");
    let c = credits.to_str().expect("utf-8");
    let done = run(&[
        "genesis",
        "--development",
        "--out",
        o,
        "--member",
        d,
        "--credits",
        c,
    ]);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let genesis: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).expect("genesis")).expect("json");
    assert_eq!(genesis["credits"]["base_allowance"], 7);

    // A misspelt parameter would otherwise be silently ignored: it is refused, naming the file.
    params["base_alowance"] = 9.into();
    std::fs::write(&credits, params.to_string()).expect("write");
    std::fs::remove_file(&out).expect("rm");
    let refused = run(&[
        "genesis",
        "--development",
        "--out",
        o,
        "--member",
        d,
        "--credits",
        c,
    ]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("base_alowance") && stderr.contains("credits.json"),
        "{stderr}"
    );
    assert!(
        !out.exists(),
        "no genesis written from a bad parameter file"
    );
}

/// Status through the running node's local API, with the reply's development mark.
fn status(data: &Path) -> (fengxin_api::Status, bool) {
    let reply = fengxin_api::call_reply(data, &fengxin_api::ApiRequest::Status).expect("status");
    match reply.response {
        fengxin_api::ApiResponse::Status(s) => (s, reply.development),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn development_keys_need_a_development_genesis_and_production_keys_are_imported() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("node");
    init(&data);
    let d = data.to_str().expect("utf-8");
    let out = tmp.path().join("genesis.json");
    let o = out.to_str().expect("utf-8");

    // The built-in keys are the public development keys: genesis refuses them unless asked.
    let refused = run(&["genesis", "--out", o, "--member", d]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("--development") && stderr.contains("params import"),
        "{stderr}"
    );
    assert!(!out.exists());
    let done = run(&["genesis", "--development", "--out", o, "--member", d]);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let mut genesis: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).expect("read")).expect("json");
    assert_eq!(genesis["development"], true);

    // A node refuses a genesis that pins the development keys without the mark.
    let builder = fengxin_node::consortium::Builder::new(Path::new(BIN), tmp.path());
    genesis
        .as_object_mut()
        .expect("object")
        .remove("development");
    let unmarked = tmp.path().join("unmarked.json");
    std::fs::write(&unmarked, genesis.to_string()).expect("write");
    let err = builder.start(&data, &unmarked).expect_err("refused");
    assert!(err.message.contains("development keys"), "{}", err.message);

    // A development node says so in its status and on every reply.
    let mut node = builder.start(&data, &out).expect("development node starts");
    let (s, marked) = status(&data);
    assert!(s.development && marked);
    fengxin_node::consortium::stop_node(&data, &mut node);

    // Production keys: a ceremony's output (here a one-party setup) imported into a new
    // member's data directory after its checks; genesis pins them without --development.
    let data = tmp.path().join("production-node");
    init(&data);
    let d = data.to_str().expect("utf-8");
    let keys = fengxin_proofs::keys::single_party_setup(&mut rand_core::OsRng).expect("setup");
    let (pk, vk) = (
        tmp.path().join("ceremony.pk"),
        tmp.path().join("ceremony.vk"),
    );
    std::fs::write(&pk, &keys.pk_bytes).expect("write");
    std::fs::write(&vk, &keys.vk_bytes).expect("write");
    let manifest = ok_json(&[
        "params",
        "import",
        "--data",
        d,
        "--pk",
        pk.to_str().expect("utf-8"),
        "--vk",
        vk.to_str().expect("utf-8"),
    ]);
    assert_eq!(manifest["kind"], "ceremony");
    let production = tmp.path().join("production.json");
    let p = production.to_str().expect("utf-8");
    let done = run(&["genesis", "--params", d, "--out", p, "--member", d]);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let pinned: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&production).expect("read")).expect("json");
    assert_eq!(
        pinned["verifying_key_sha256"],
        manifest["verifying_key"]["sha256"]
    );
    assert!(pinned.get("development").is_none());
    let mut node = builder
        .start(&data, &production)
        .expect("production node starts");
    let (s, marked) = status(&data);
    assert!(!s.development && !marked);
    fengxin_node::consortium::stop_node(&data, &mut node);
    // The development genesis no longer fits this node: it pins another verifying key.
    let err = builder.start(&data, &out).expect_err("refused");
    assert!(
        err.message.contains("differs from genesis"),
        "{}",
        err.message
    );
}
