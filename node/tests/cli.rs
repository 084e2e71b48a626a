//! The `fengxin-node` binary as operators drive it: real processes, real files.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

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

#[test]
fn killed_mid_import_leaves_previous_state() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("node");
    let d = data.to_str().expect("utf-8");
    init(&data);
    let small = tmp.path().join("small.csv");
    std::fs::write(&small, "identifier\nACC-1\nACC-2\n").expect("write");
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
    let before = ok_json(&["lists", "stats", "--data", d, "--json"]);

    let big = tmp.path().join("big.csv");
    let mut csv = String::from("identifier\n");
    for i in 0..300_000 {
        csv.push_str(&format!("ACC-BIG-{i:07}\n"));
    }
    std::fs::write(&big, csv).expect("write");
    let mut child = Command::new(BIN)
        .args(import(&big))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        child.try_wait().expect("poll").is_none(),
        "import finished in {:?} before it could be killed; the file must be larger",
        started.elapsed()
    );
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");

    let after = ok_json(&["lists", "stats", "--data", d, "--json"]);
    assert_eq!(
        after, before,
        "a killed import must leave the previous state"
    );
    // The database is still usable.
    let more = tmp.path().join("more.csv");
    std::fs::write(&more, "identifier\nACC-3\n").expect("write");
    let args = import(&more);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(ok_json(&args)["accepted"], 1);
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
