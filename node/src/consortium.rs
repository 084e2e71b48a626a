//! A local consortium on loopback, built through the node's own commands.
//!
//! [`Builder`] runs a `fengxin-node` executable for every step an operator would take:
//! `init` (one data directory per member and the regulator), `lists import`, `lists publish`,
//! `genesis` and `run`, reading each command's `--json` output through the contract types.
//! The demo (`fengxin-node demo`), the receipts benchmark and the end-to-end tests all build
//! their consortia with it, so they exercise the same commands a bank's operator types.

use crate::cli::CliError;
use fengxin_api::{self as api, ApiRequest, ApiResponse, ErrorKind, MemberFile};
use fengxin_api::{ImportReport, Published};
use fengxin_types::{IdType, ListId, MemberName};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long [`Builder::start`] and the `wait_for_*` helpers wait before giving up.
const WAIT: Duration = Duration::from_secs(60);

fn io(path: &Path) -> impl Fn(std::io::Error) -> CliError + '_ {
    move |e| CliError::new(ErrorKind::Io, format!("{}: {e}", path.display()))
}

/// A free UDP port on loopback (bound and released; good enough for a local consortium).
pub fn free_port() -> Result<u16, CliError> {
    let s = std::net::UdpSocket::bind("127.0.0.1:0")
        .map_err(|e| CliError::new(ErrorKind::Io, e.to_string()))?;
    Ok(s.local_addr()
        .map_err(|e| CliError::new(ErrorKind::Io, e.to_string()))?
        .port())
}

/// One party's data directory, as `fengxin-node init --json` described it.
#[derive(Debug, Clone)]
pub struct Seat {
    /// The data directory.
    pub dir: PathBuf,
    /// Its public member file (name, identity key, address, role, view key).
    pub file: MemberFile,
}

impl Seat {
    /// The party's name.
    pub fn name(&self) -> &MemberName {
        &self.file.name
    }

    /// The QUIC address it listens on.
    pub fn address(&self) -> &str {
        &self.file.address
    }
}

/// Builds consortia under `root` with the `fengxin-node` executable `exe`.
#[derive(Debug, Clone)]
pub struct Builder {
    exe: PathBuf,
    root: PathBuf,
    /// (member, list) pairs published `proof_only`.
    proof_only: Vec<(String, String)>,
    /// Credit parameters of a consortium without a regulator.
    credits: Option<fengxin_ledger::CreditParams>,
}

impl Builder {
    /// A builder running `exe` (a `fengxin-node` binary) with data directories under `root`.
    pub fn new(exe: &Path, root: &Path) -> Self {
        Self {
            exe: exe.to_owned(),
            root: root.to_owned(),
            proof_only: Vec::new(),
            credits: None,
        }
    }

    /// Has [`Builder::start_consortium`] write `params` into a genesis without a regulator
    /// (with one, the regulator's parameters are used).
    pub fn with_credits(mut self, params: fengxin_ledger::CreditParams) -> Self {
        self.credits = Some(params);
        self
    }

    /// Has [`Builder::start_consortium`] publish `member`'s `list` as `proof_only` (its
    /// snapshot not shared).
    pub fn with_proof_only(mut self, member: &str, list: &str) -> Self {
        self.proof_only.push((member.to_owned(), list.to_owned()));
        self
    }

    /// A builder running this executable (for `fengxin-node`'s own subcommands).
    pub fn this_executable(root: &Path) -> Result<Self, CliError> {
        let exe =
            std::env::current_exe().map_err(|e| CliError::new(ErrorKind::Io, e.to_string()))?;
        Ok(Self::new(&exe, root))
    }

    /// The directory the consortium lives in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The executable every step runs.
    pub fn exe(&self) -> &Path {
        &self.exe
    }

    /// Runs the executable with `args`; its stdout on success, its stderr as the error.
    pub fn command(&self, args: &[&std::ffi::OsStr]) -> Result<String, CliError> {
        let out = Command::new(&self.exe)
            .args(args)
            .output()
            .map_err(|e| CliError::new(ErrorKind::Io, format!("{}: {e}", self.exe.display())))?;
        if !out.status.success() {
            let shown: Vec<_> = args.iter().map(|a| a.to_string_lossy()).collect();
            return Err(CliError::new(
                ErrorKind::Node,
                format!(
                    "fengxin-node {} failed ({}): {}",
                    shown.join(" "),
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            ));
        }
        String::from_utf8(out.stdout)
            .map_err(|e| CliError::new(ErrorKind::Protocol, format!("output not UTF-8: {e}")))
    }

    fn json<T: serde::de::DeserializeOwned>(
        &self,
        args: &[&std::ffi::OsStr],
    ) -> Result<T, CliError> {
        let out = self.command(args)?;
        serde_json::from_str(&out).map_err(|e| {
            CliError::new(
                ErrorKind::Protocol,
                format!("unexpected output of fengxin-node: {e}: {}", out.trim()),
            )
        })
    }

    fn init(&self, name: &str, regulator: bool) -> Result<Seat, CliError> {
        let dir = self.root.join(name);
        let listen = format!("127.0.0.1:{}", free_port()?);
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "init".as_ref(),
            "--data".as_ref(),
            dir.as_os_str(),
            "--member".as_ref(),
            name.as_ref(),
            "--listen".as_ref(),
            listen.as_ref(),
            "--json".as_ref(),
        ];
        if regulator {
            args.push("--regulator".as_ref());
        }
        let file = self.json(&args)?;
        Ok(Seat { dir, file })
    }

    /// `fengxin-node init` for member `name` in `root/name` on a free loopback port.
    pub fn member(&self, name: &str) -> Result<Seat, CliError> {
        self.init(name, false)
    }

    /// `fengxin-node init --regulator` in `root/regulator` on a free loopback port.
    pub fn regulator(&self) -> Result<Seat, CliError> {
        self.init("regulator", true)
    }

    /// `fengxin-node lists import` of `file` into `list` of `seat`.
    pub fn import(
        &self,
        seat: &Seat,
        list: &ListId,
        id_type: IdType,
        file: &Path,
    ) -> Result<ImportReport, CliError> {
        self.json(&[
            "lists".as_ref(),
            "import".as_ref(),
            "--data".as_ref(),
            seat.dir.as_os_str(),
            "--list".as_ref(),
            list.as_str().as_ref(),
            "--id-type".as_ref(),
            id_type.as_str().as_ref(),
            "--file".as_ref(),
            file.as_os_str(),
            "--json".as_ref(),
        ])
    }

    /// Writes `contents` to `seat`'s directory as `file_name` and imports it.
    pub fn import_text(
        &self,
        seat: &Seat,
        list: &ListId,
        id_type: IdType,
        file_name: &str,
        contents: &str,
    ) -> Result<ImportReport, CliError> {
        let path = seat.dir.join(file_name);
        std::fs::write(&path, contents).map_err(io(&path))?;
        self.import(seat, list, id_type, &path)
    }

    /// `fengxin-node lists publish`: every list of `seat` at its next epoch.
    pub fn publish(&self, seat: &Seat) -> Result<Vec<Published>, CliError> {
        self.json(&[
            "lists".as_ref(),
            "publish".as_ref(),
            "--data".as_ref(),
            seat.dir.as_os_str(),
            "--json".as_ref(),
        ])
    }

    /// `fengxin-node genesis --development` into `root/genesis.json` naming `members` and
    /// `regulators` (data directories or member files), with `credits` as the credit parameters
    /// (the defaults otherwise); returns the file's path. A local consortium runs on the
    /// development keys, and its genesis says so.
    pub fn genesis(
        &self,
        members: &[&Path],
        regulators: &[&Path],
        credits: Option<&fengxin_ledger::CreditParams>,
    ) -> Result<PathBuf, CliError> {
        let out = self.root.join("genesis.json");
        let credits_file = self.root.join("credits.json");
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "genesis".as_ref(),
            "--development".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ];
        for m in members {
            args.extend(["--member".as_ref(), m.as_os_str()]);
        }
        for r in regulators {
            args.extend(["--regulator".as_ref(), r.as_os_str()]);
        }
        if let Some(params) = credits {
            let json = serde_json::to_vec_pretty(params)
                .map_err(|e| CliError::new(ErrorKind::Internal, e.to_string()))?;
            std::fs::write(&credits_file, json).map_err(io(&credits_file))?;
            args.extend(["--credits".as_ref(), credits_file.as_os_str()]);
        }
        self.command(&args)?;
        Ok(out)
    }

    /// `fengxin-node run` for `dir` (stderr to `dir/node.log`), once it reports ready.
    pub fn start(&self, dir: &Path, genesis: &Path) -> Result<Child, CliError> {
        let mut child = Command::new(&self.exe)
            .arg("run")
            .arg("--data")
            .arg(dir)
            .arg("--genesis")
            .arg(genesis)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(dir.join("node.log")).map_err(io(dir))?,
            ))
            .spawn()
            .map_err(|e| CliError::new(ErrorKind::Io, format!("starting a node: {e}")))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| CliError::new(ErrorKind::Io, "no stdout"))?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(io(dir))?;
        if line.trim() != "ready" {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(dir.join("node.log")).unwrap_or_default();
            return Err(CliError::new(
                ErrorKind::Node,
                format!("{} did not start: {}", dir.display(), log.trim()),
            ));
        }
        Ok(child)
    }

    /// Sets up `specs` (each member's imports), publishes, writes genesis (with a regulator
    /// when `regulator` gives the credit parameters), starts every node and waits until the
    /// ledger holds every publication. `say` narrates each step.
    pub fn start_consortium(
        &self,
        specs: &[MemberSpec<'_>],
        regulator: Option<fengxin_ledger::CreditParams>,
        say: &mut dyn FnMut(String),
    ) -> Result<Consortium, CliError> {
        say(format!("== consortium in {}", self.root.display()));
        std::fs::create_dir_all(&self.root).map_err(io(&self.root))?;
        let mut members = Vec::new();
        for (name, _) in specs {
            let seat = self.member(name)?;
            say(format!(
                "{name}: identity {} at {}",
                seat.file.identity_key,
                seat.address()
            ));
            members.push(seat);
        }
        say("\n== member lists (raw entries stay in each member's own database)".into());
        for ((name, imports), seat) in specs.iter().zip(&members) {
            for (file, list, id_type, contents) in imports {
                let list = ListId::parse(list)
                    .map_err(|e| CliError::new(ErrorKind::Usage, e.to_string()))?;
                let report = self.import_text(seat, &list, *id_type, file, contents)?;
                say(format!(
                    "{name}: {file} -> {}: {} accepted, {} duplicates, {} rejected{}",
                    report.list,
                    report.accepted,
                    report.duplicates,
                    report.rejected.len(),
                    report.rejected.first().map_or(String::new(), |r| format!(
                        " (e.g. row {}, {}: {})",
                        r.row, r.field, r.reason
                    ))
                ));
            }
        }
        for (member, list) in &self.proof_only {
            if let Some(seat) = members.iter().find(|s| s.name().as_str() == member) {
                self.json::<serde_json::Value>(&[
                    "lists".as_ref(),
                    "policy".as_ref(),
                    "--data".as_ref(),
                    seat.dir.as_os_str(),
                    "--list".as_ref(),
                    list.as_ref(),
                    "--policy".as_ref(),
                    "proof_only".as_ref(),
                    "--json".as_ref(),
                ])?;
                say(format!(
                    "{member}: {list} is proof_only (its snapshot is not shared)"
                ));
            }
        }
        say("\n== publications (root and OPRF key per list, signed by the member)".into());
        let mut expected = 0;
        for seat in &members {
            for p in self.publish(seat)? {
                expected += 1;
                say(format!(
                    "{}: {} epoch {} root {}… {}",
                    seat.name(),
                    p.list,
                    p.epoch,
                    p.root.short(),
                    p.snapshot_entries
                        .map_or("proof_only".to_owned(), |n| format!(
                            "shared: snapshot of {n} entries with padding"
                        ))
                ));
            }
        }
        let regulator_seat = match regulator {
            Some(_) => {
                let seat = self.regulator()?;
                say(format!(
                    "regulator: identity {} at {}, view key {}…",
                    seat.file.identity_key,
                    seat.address(),
                    seat.file
                        .view_public_key
                        .map_or(String::new(), |k| k.short())
                ));
                Some(seat)
            }
            None => None,
        };
        let member_dirs: Vec<&Path> = members.iter().map(|s| s.dir.as_path()).collect();
        let regulator_dirs: Vec<&Path> = regulator_seat.iter().map(|s| s.dir.as_path()).collect();
        let genesis = self.genesis(
            &member_dirs,
            &regulator_dirs,
            regulator.as_ref().or(self.credits.as_ref()),
        )?;
        let label = crate::genesis::Genesis::load(&genesis)?.params_label;
        say(format!(
            "\n== starting nodes (QUIC with mutual TLS on loopback; {label})"
        ));
        let mut nodes = Nodes(Vec::new());
        for seat in members.iter().chain(&regulator_seat) {
            let child = self.start(&seat.dir, &genesis)?;
            say(if seat.file.role == api::Role::Regulator {
                format!(
                    "regulator running (pid {}), a non-voting replica",
                    child.id()
                )
            } else {
                format!("{} running (pid {})", seat.name(), child.id())
            });
            nodes.0.push((seat.dir.clone(), child));
        }
        for seat in &members {
            wait_for_publications(&seat.dir, expected)?;
        }
        say(format!(
            "ledger: {expected} list publications committed (roots and OPRF keys every querier \
             checks against)"
        ));
        if regulator_seat.is_some() {
            for seat in &members {
                wait_for_attestations(&seat.dir, expected)?;
            }
            say(format!(
                "regulator: {expected} roots attested (each tree rebuilt from its sealed tags: \
                 sorted, linked, and as many entries as the committed size)"
            ));
        }
        Ok(Consortium {
            members,
            regulator: regulator_seat,
            genesis,
            nodes,
        })
    }
}

/// A member to set up: name and (file name, list, identifier type, CSV contents) imports.
pub type MemberSpec<'a> = (&'a str, Vec<(String, &'a str, IdType, String)>);

/// A running consortium: its parties, its genesis file and its node processes (shut down
/// gracefully when dropped).
pub struct Consortium {
    /// The members, in the order of their specs.
    pub members: Vec<Seat>,
    /// The regulator, if one was asked for.
    pub regulator: Option<Seat>,
    /// The genesis file.
    pub genesis: PathBuf,
    /// The node processes.
    pub nodes: Nodes,
}

/// Node processes started for a local consortium; shut down gracefully on drop.
pub struct Nodes(Vec<(PathBuf, Child)>);

impl Nodes {
    /// The process id of the node running in `dir`.
    pub fn pid(&self, dir: &Path) -> Option<u32> {
        self.0.iter().find(|(d, _)| d == dir).map(|(_, c)| c.id())
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for (dir, child) in &mut self.0 {
            stop_node(dir, child);
        }
    }
}

/// Asks the node of `dir` to shut down through its local API, waits up to 5 s, then kills it.
pub fn stop_node(dir: &Path, child: &mut Child) {
    let _ = api::call(dir, &ApiRequest::Shutdown);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Polls `dir`'s node until `done` holds for its answer to `request`, for up to a minute.
fn wait_until<T>(
    dir: &Path,
    request: &ApiRequest,
    what: &str,
    mut done: impl FnMut(ApiResponse) -> Option<T>,
) -> Result<T, CliError> {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = api::call(dir, request).ok().and_then(&mut done) {
            return Ok(v);
        }
        if Instant::now() > deadline {
            return Err(CliError::new(
                ErrorKind::Ledger,
                format!("{}: {what} within {} s", dir.display(), WAIT.as_secs()),
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until the node's ledger holds `expected` current publications.
pub fn wait_for_publications(dir: &Path, expected: usize) -> Result<(), CliError> {
    wait_until(
        dir,
        &ApiRequest::Status,
        "publications not committed",
        |r| matches!(r, ApiResponse::Status(s) if s.publications >= expected).then_some(()),
    )
}

/// Waits until `dir`'s ledger holds at least `expected` current publications with an attested
/// root.
pub fn wait_for_attestations(dir: &Path, expected: usize) -> Result<(), CliError> {
    wait_until(dir, &ApiRequest::Status, "roots not attested", |r| {
        matches!(r, ApiResponse::Status(s) if s.attested >= expected).then_some(())
    })
}

/// Waits until the node in `dir` holds at least `expected` verified snapshots of other
/// members' lists.
pub fn wait_for_snapshots(dir: &Path, expected: usize) -> Result<(), CliError> {
    wait_until(dir, &ApiRequest::Status, "snapshots not held", |r| {
        matches!(r, ApiResponse::Status(s) if s.held_snapshots >= expected).then_some(())
    })
}

/// Waits until `dir`'s ledger reaches the height `reference` reports.
pub fn wait_for_height(dir: &Path, reference: &Path) -> Result<(), CliError> {
    let target = match api::call(reference, &ApiRequest::LedgerStatus) {
        Ok(ApiResponse::LedgerStatus(s)) => s.height,
        _ => 0,
    };
    wait_until(
        dir,
        &ApiRequest::LedgerStatus,
        &format!("height {target} not reached"),
        |r| matches!(r, ApiResponse::LedgerStatus(s) if s.height >= target).then_some(()),
    )
}

/// Waits until the node's outbox is empty (everything it submitted is committed).
pub fn wait_for_outbox(dir: &Path) -> Result<fengxin_api::LedgerStatus, CliError> {
    wait_until(
        dir,
        &ApiRequest::LedgerStatus,
        "submissions not committed",
        |r| match r {
            ApiResponse::LedgerStatus(s) if s.outbox == 0 => Some(s),
            _ => None,
        },
    )
}
