//! Helpers for end-to-end tests: a consortium of real `fengxin-node` processes on loopback.

use fengxin_api::{self as api, ApiRequest, ApiResponse, ScreenReport};
use std::path::{Path, PathBuf};
use std::process::Child;

pub use fengxin_node::consortium::{Builder, Seat as MemberDir};

/// A free UDP port on loopback.
pub fn free_port() -> u16 {
    fengxin_node::consortium::free_port().expect("a free loopback port")
}

/// Runs the node binary with `args` and returns stdout; panics with stderr on failure.
pub fn node_cmd(bin: &Path, args: &[&str]) -> String {
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
    Builder::new(bin, Path::new("."))
        .command(&args)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Creates a member with `fengxin-node init` in `root/name`.
pub fn init_member(bin: &Path, root: &Path, name: &str) -> MemberDir {
    Builder::new(bin, root)
        .member(name)
        .unwrap_or_else(|e| panic!("init {name}: {e}"))
}

/// Creates a regulator node's data directory (`fengxin-node init --regulator`) under `root`.
pub fn init_regulator(bin: &Path, root: &Path) -> PathBuf {
    Builder::new(bin, root)
        .regulator()
        .unwrap_or_else(|e| panic!("init regulator: {e}"))
        .dir
}

/// Writes `root/genesis.json` naming `members` (data directories or member files) and the
/// `regulator`, if any; returns its path.
pub fn write_genesis(
    bin: &Path,
    root: &Path,
    members: &[&Path],
    regulator: Option<&Path>,
) -> PathBuf {
    let regulators: Vec<&Path> = regulator.into_iter().collect();
    Builder::new(bin, root)
        .genesis(members, &regulators, None)
        .unwrap_or_else(|e| panic!("genesis: {e}"))
}

/// Creates `names` as members, each importing `rows` sample identifiers (seeded `seed + k`
/// for the k-th member) into `fraud_txn` and publishing; returns each with its rows.
pub fn members_with_lists(
    bin: &Path,
    root: &Path,
    names: &[&str],
    rows: usize,
    seed: u64,
) -> Vec<(MemberDir, Vec<String>)> {
    names
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let m = init_member(bin, root, name);
            let csv = root.join(format!("{name}.csv"));
            let ids: Vec<String> =
                fengxin_sample::identifiers(fengxin_types::IdType::CnId, rows, seed + k as u64)
                    .collect();
            std::fs::write(&csv, format!("identifier\n{}\n", ids.join("\n"))).expect("write");
            import_and_publish(bin, &m, "fraud_txn", "cn_id", &csv);
            (m, ids)
        })
        .collect()
}

/// Creates `name` as a member whose `fraud_txn` list is `ids` (`cn_id`), each with `reason`,
/// imported from `root/NAME.csv` and published.
pub fn member_with_labelled_list(
    bin: &Path,
    root: &Path,
    name: &str,
    ids: &[String],
    reason: &str,
) -> MemberDir {
    let m = init_member(bin, root, name);
    let csv = write_labelled_csv(&root.join(format!("{name}.csv")), ids, reason);
    import_and_publish(bin, &m, "fraud_txn", "cn_id", &csv);
    m
}

/// `member`'s result in a screening report; panics if the report has none.
pub fn result_of<'a>(report: &'a ScreenReport, member: &str) -> &'a api::ScreenResult {
    report
        .results
        .iter()
        .find(|r| r.member.as_str() == member)
        .unwrap_or_else(|| panic!("no result of {member}: {report:?}"))
}

/// `n` sample resident ids (`cn_id`), seeded.
pub fn sample_ids(seed: u64, n: usize) -> Vec<String> {
    fengxin_sample::identifiers(fengxin_types::IdType::CnId, n, seed).collect()
}

/// Writes a list file of `ids`, each with `reason` and the day added 2026-11-30; returns its
/// path.
pub fn write_labelled_csv(path: &Path, ids: &[String], reason: &str) -> PathBuf {
    let mut text = String::from("identifier,reason,added_on\n");
    for id in ids {
        text.push_str(&format!("{id},{reason},2026-11-30\n"));
    }
    std::fs::write(path, text).expect("write csv");
    path.to_owned()
}

/// Imports a CSV file into a list and publishes.
pub fn import_and_publish(bin: &Path, m: &MemberDir, list: &str, id_type: &str, csv: &Path) {
    let builder = Builder::new(bin, m.dir.parent().unwrap_or(Path::new(".")));
    let list = fengxin_types::ListId::parse(list).expect("list");
    let id_type = id_type.parse().expect("identifier type");
    builder
        .import(m, &list, id_type, csv)
        .unwrap_or_else(|e| panic!("import: {e}"));
    builder
        .publish(m)
        .unwrap_or_else(|e| panic!("publish: {e}"));
}

/// The public member file (`member.json`) in a data directory: a regulator's, say, which
/// [`init_regulator`] returns only the directory of (a [`MemberDir`] carries its own).
pub fn member_file(dir: &Path) -> api::MemberFile {
    let bytes = std::fs::read(dir.join("member.json")).expect("member.json");
    serde_json::from_slice(&bytes).expect("parse member.json")
}

/// The identity key a member file names.
pub fn identity_of(file: &api::MemberFile) -> fengxin_crypto::IdentityPublicKey {
    fengxin_crypto::IdentityPublicKey::from_slice(file.identity_key.as_bytes())
        .expect("an identity key")
}

/// A member with no node: a fresh identity key and its public member file written to
/// `root/NAME.json` (for genesis), at a free loopback address. Adversarial tests sign its
/// records and speak for it with the project's own crates.
pub fn member_without_node(
    root: &Path,
    name: &str,
) -> (fengxin_crypto::IdentityKey, PathBuf, api::MemberFile) {
    let key = fengxin_crypto::IdentityKey::generate(&mut rand_core::OsRng);
    let file = root.join(format!("{name}.json"));
    let member = api::MemberFile {
        version: 1,
        name: fengxin_types::MemberName::parse(name).expect("member name"),
        identity_key: api::IdentityKeyHex(key.public().to_bytes()),
        address: format!("127.0.0.1:{}", free_port()),
        role: api::Role::Member,
        view_public_key: None,
    };
    std::fs::write(&file, serde_json::to_vec(&member).expect("json")).expect("write");
    (key, file, member)
}

/// The path as UTF-8 (test paths are).
pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 test path")
}

/// A running node process, shut down gracefully on drop.
#[derive(Debug)]
pub struct RunningNode {
    /// Data directory.
    pub dir: PathBuf,
    child: Child,
    /// Killed already: dropping must not ask the data directory's (new) node to stop.
    killed: bool,
}

impl RunningNode {
    /// Starts `fengxin-node run` and waits for it to report ready (stderr goes to `node.log`).
    pub fn start(bin: &Path, dir: &Path, genesis: &Path) -> Self {
        let child = Builder::new(bin, dir)
            .start(dir, genesis)
            .unwrap_or_else(|e| panic!("node did not start: {e:?}"));
        Self {
            dir: dir.to_owned(),
            child,
            killed: false,
        }
    }

    /// Screens through this node's local API.
    pub fn screen(&self, id_type: &str, identifier: &str) -> ScreenReport {
        match api::call(
            &self.dir,
            &ApiRequest::Screen {
                id_type: id_type.parse().expect("identifier type"),
                identifier: identifier.into(),
                list: None,
                members: None,
                case_reference: None,
            },
        )
        .expect("local API call")
        {
            ApiResponse::Screen(r) => r,
            other => panic!("unexpected reply {other:?}"),
        }
    }

    /// Kills the process with SIGKILL (no shutdown of any kind) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.killed = true;
    }

    /// Asks the node to shut down through its local API and waits for it to exit; returns its
    /// exit status (`None` if it had not exited after 40 s, in which case it is killed).
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let _ = api::call(&self.dir, &ApiRequest::Shutdown);
        self.killed = true;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        if self.killed {
            return;
        }
        fengxin_node::consortium::stop_node(&self.dir, &mut self.child);
    }
}

/// Screens the `cn_id` `identifier` through `node` and checks `member`'s answer: verified, in
/// snapshot mode, and a hit whose label's reason is `hit` or, for `None`, a miss without one.
#[track_caller]
pub fn assert_snapshot_answer(
    node: &RunningNode,
    member: &str,
    identifier: &str,
    hit: Option<&str>,
) {
    let report = node.screen("cn_id", identifier);
    let r = result_of(&report, member);
    assert!(r.verified, "{r:?}");
    assert_eq!(r.mode, Some(api::ScreenMode::Snapshot), "{r:?}");
    let verdict = if hit.is_some() {
        api::Verdict::Hit
    } else {
        api::Verdict::Miss
    };
    assert_eq!(r.result, Some(verdict), "{r:?}");
    assert_eq!(r.label.as_ref().map(|l| l.reason.as_str()), hit, "{r:?}");
}

/// The complete held copies in a data directory (`held/*.entries`), sorted by name.
pub fn held_copies(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("held"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".entries"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Waits up to a minute until the complete held copies in `dir` satisfy `expected`.
pub fn held_copies_until(dir: &Path, expected: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let names = held_copies(dir);
        if expected(&names) {
            return names;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "held copies: {names:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Every file under `dir` (recursively) whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    hits.push(p);
                }
            }
        }
    }
    hits
}

/// CPU time (user + system) the process `pid` has used so far, from `/proc/PID/stat`.
pub fn cpu_time(pid: u32) -> std::time::Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    let hz = 100; // USER_HZ is 100 on Linux for /proc accounting
    std::time::Duration::from_millis(ticks * 1000 / hz)
}
