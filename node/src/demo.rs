//! `fengxin-node demo`: a local consortium on loopback, end to end.
//!
//! Three members (bank-a, bank-b, bank-c) are initialised in a temporary directory with the
//! bundled sample lists, publish their roots, share a genesis file, and run as separate
//! `fengxin-node run` processes talking QUIC on loopback. bank-a then screens a handful of
//! identifiers against the others and prints the verified answers; the nodes shut down cleanly.

use crate::cli::CliError;
use crate::datadir::{DataDir, Role};
use crate::import::{self, Format};
use fengxin_api::ErrorKind;
use fengxin_api::{self as api, ApiRequest, ApiResponse};
use fengxin_types::{IdType, ListId, MemberName};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A bundled sample list: (member, file name, list, identifier type, contents).
type Sample = (
    &'static str,
    &'static str,
    &'static str,
    IdType,
    &'static str,
);

/// The bundled sample lists (`node/samples/`).
const SAMPLES: &[Sample] = &[
    (
        "bank-a",
        "bank_a_fraud_txn_cn_id.csv",
        ListId::FRAUD_TXN,
        IdType::CnId,
        include_str!("../samples/bank_a_fraud_txn_cn_id.csv"),
    ),
    (
        "bank-a",
        "bank_a_high_risk_account_bank_card.csv",
        ListId::HIGH_RISK_ACCOUNT,
        IdType::BankCard,
        include_str!("../samples/bank_a_high_risk_account_bank_card.csv"),
    ),
    (
        "bank-a",
        "bank_a_marketing_abuse_phone.csv",
        ListId::MARKETING_ABUSE,
        IdType::Phone,
        include_str!("../samples/bank_a_marketing_abuse_phone.csv"),
    ),
    (
        "bank-b",
        "bank_b_fraud_txn_cn_id.csv",
        ListId::FRAUD_TXN,
        IdType::CnId,
        include_str!("../samples/bank_b_fraud_txn_cn_id.csv"),
    ),
    (
        "bank-c",
        "bank_c_credit_overdue_cn_id_with_errors.csv",
        ListId::CREDIT_OVERDUE,
        IdType::CnId,
        include_str!("../samples/bank_c_credit_overdue_cn_id_with_errors.csv"),
    ),
];

const MEMBERS: [&str; 3] = ["bank-a", "bank-b", "bank-c"];

fn io(path: &Path) -> impl Fn(std::io::Error) -> CliError + '_ {
    move |e| CliError::new(ErrorKind::Io, format!("{}: {e}", path.display()))
}

/// A free UDP port on loopback (bound and released; good enough for a local demo).
pub fn free_port() -> Result<u16, CliError> {
    let s = std::net::UdpSocket::bind("127.0.0.1:0")
        .map_err(|e| CliError::new(ErrorKind::Io, e.to_string()))?;
    Ok(s.local_addr()
        .map_err(|e| CliError::new(ErrorKind::Io, e.to_string()))?
        .port())
}

/// The first identifier of a sample CSV's data rows.
fn first_identifier(csv: &str, row: usize) -> Option<String> {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    reader
        .records()
        .nth(row)
        .and_then(|r| r.ok())
        .and_then(|r| r.get(0).map(str::to_owned))
}

/// Node processes started for a local consortium; shut down gracefully on drop.
pub struct Nodes(Vec<(PathBuf, Child)>);

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

/// Starts `fengxin-node run` (this executable) for `dir` and waits for it to report ready.
pub fn start_node(dir: &Path, genesis: &Path) -> Result<Child, CliError> {
    let exe = std::env::current_exe().map_err(|e| CliError::new(ErrorKind::Io, e.to_string()))?;
    start_node_with(&exe, dir, genesis)
}

/// Starts `exe run` for `dir` (stderr to `dir/node.log`) and waits for it to report ready.
pub fn start_node_with(exe: &Path, dir: &Path, genesis: &Path) -> Result<Child, CliError> {
    let mut child = Command::new(exe)
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
        let log = std::fs::read_to_string(dir.join("node.log")).unwrap_or_default();
        return Err(CliError::new(
            ErrorKind::Node,
            format!("{} did not start: {}", dir.display(), log.trim()),
        ));
    }
    Ok(child)
}

/// Runs the demo in `root` (a fresh temporary directory unless given).
pub fn run(data: Option<&Path>) -> Result<(), CliError> {
    let root = match data {
        Some(p) => p.to_owned(),
        None => {
            let mut bytes = [0u8; 8];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
            std::env::temp_dir().join(format!("fengxin-demo-{}", hex::encode(bytes)))
        }
    };
    std::fs::create_dir_all(&root).map_err(io(&root))?;
    let result = run_in(&root);
    if data.is_none() {
        let _ = std::fs::remove_dir_all(&root);
    }
    result
}

/// A member to set up: name and (file name, list, identifier type, CSV contents) imports.
pub type MemberSpec<'a> = (&'a str, Vec<(String, &'a str, IdType, String)>);

/// Initialises members on loopback ports, imports and publishes their lists, writes genesis,
/// and starts one `fengxin-node run` process per member. With `verbose`, narrates each step.
pub fn start_consortium(
    root: &Path,
    specs: &[MemberSpec<'_>],
    verbose: bool,
) -> Result<(Vec<DataDir>, Nodes), CliError> {
    start_consortium_with(root, specs, None, verbose).map(|(d, _, n)| (d, n))
}

/// As [`start_consortium`], optionally with a regulator node (`credits` are the genesis credit
/// parameters): returns the members' and the regulator's data directories.
pub fn start_consortium_with(
    root: &Path,
    specs: &[MemberSpec<'_>],
    regulator: Option<fengxin_ledger::CreditParams>,
    verbose: bool,
) -> Result<(Vec<DataDir>, Option<DataDir>, Nodes), CliError> {
    let say = |s: String| {
        if verbose {
            println!("{s}");
        }
    };
    say(format!("== consortium in {}", root.display()));
    let mut dirs = Vec::new();
    for (name, _) in specs {
        let member = MemberName::parse(name)
            .map_err(|e| CliError::new(ErrorKind::Internal, e.to_string()))?;
        let listen = format!("127.0.0.1:{}", free_port()?);
        let d = DataDir::init(&root.join(name), member, listen.clone(), Role::Member)?;
        say(format!(
            "{name}: identity {} at {listen}",
            d.identity()?.public()
        ));
        dirs.push(d);
    }
    say("\n== member lists (raw entries stay in each member's own database)".into());
    for ((name, imports), d) in specs.iter().zip(&dirs) {
        for (file, list, id_type, contents) in imports {
            let path = d.root().join(file);
            std::fs::write(&path, contents).map_err(io(&path))?;
            let list = ListId::parse(list)
                .map_err(|e| CliError::new(ErrorKind::Internal, e.to_string()))?;
            let report = import::import_file(
                &d.store()?,
                &d.master_seed()?,
                &list,
                *id_type,
                &path,
                Format::Csv,
            )?;
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
    say("\n== publications (root and OPRF key per list, signed by the member)".into());
    for d in &dirs {
        for p in crate::publish::publish(d)? {
            say(format!(
                "{}: {} epoch {} root {}…",
                d.config().member,
                p.list,
                p.epoch,
                p.root.short()
            ));
        }
    }
    let genesis_path = root.join("genesis.json");
    let members: Vec<_> = dirs
        .iter()
        .map(|d| d.member_file())
        .collect::<Result<_, _>>()?;
    let regulator_dir = match regulator {
        Some(_) => {
            let listen = format!("127.0.0.1:{}", free_port()?);
            let name = MemberName::parse("regulator")
                .map_err(|e| CliError::new(ErrorKind::Internal, e.to_string()))?;
            let d = DataDir::init(
                &root.join("regulator"),
                name,
                listen.clone(),
                Role::Regulator,
            )?;
            say(format!(
                "regulator: identity {} at {listen}, view key {}…",
                d.identity()?.public(),
                d.member_file()?
                    .view_public_key
                    .map_or(String::new(), |k| k.short())
            ));
            Some(d)
        }
        None => None,
    };
    let regulators: Vec<_> = regulator_dir
        .iter()
        .map(|d| d.member_file())
        .collect::<Result<_, _>>()?;
    let mut genesis =
        crate::genesis::Genesis::assemble(&members, &regulators, &crate::publish::params_dir()?)?;
    if let Some(params) = regulator {
        genesis.credits = params;
    }
    std::fs::write(
        &genesis_path,
        serde_json::to_vec_pretty(&genesis)
            .map_err(|e| CliError::new(ErrorKind::Internal, e.to_string()))?,
    )
    .map_err(io(&genesis_path))?;
    say(format!(
        "\n== starting nodes (QUIC with mutual TLS on loopback; {})",
        genesis.params_label
    ));
    let mut nodes = Nodes(Vec::new());
    for d in &dirs {
        let child = start_node(d.root(), &genesis_path)?;
        say(format!(
            "{} running (pid {})",
            d.config().member,
            child.id()
        ));
        nodes.0.push((d.root().to_owned(), child));
    }
    if let Some(d) = &regulator_dir {
        let child = start_node(d.root(), &genesis_path)?;
        say(format!(
            "regulator running (pid {}), a non-voting replica",
            child.id()
        ));
        nodes.0.push((d.root().to_owned(), child));
    }
    let expected: usize = dirs
        .iter()
        .map(|d| crate::publish::read_publications(d.root()).map_or(0, |p| p.len()))
        .sum();
    for d in &dirs {
        wait_for_publications(d.root(), expected)?;
    }
    say(format!(
        "ledger: {expected} list publications committed (roots and OPRF keys every querier checks against)"
    ));
    Ok((dirs, regulator_dir, nodes))
}

/// Waits until the node's ledger holds `expected` current publications.
pub fn wait_for_publications(dir: &Path, expected: usize) -> Result<(), CliError> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(ApiResponse::Status(s)) = api::call(dir, &ApiRequest::Status) {
            if s.publications >= expected {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            return Err(CliError::new(
                ErrorKind::Ledger,
                format!("{}: publications not committed within 60 s", dir.display()),
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until `dir`'s ledger reaches the height `reference` reports.
pub fn wait_for_height(dir: &Path, reference: &Path) -> Result<(), CliError> {
    let target = match api::call(reference, &ApiRequest::LedgerStatus) {
        Ok(ApiResponse::LedgerStatus(s)) => s.height,
        _ => 0,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(ApiResponse::LedgerStatus(s)) = api::call(dir, &ApiRequest::LedgerStatus) {
            if s.height >= target {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            return Err(CliError::new(
                ErrorKind::Ledger,
                format!("{}: height {target} not reached within 60 s", dir.display()),
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until the node's outbox is empty (everything it submitted is committed).
pub fn wait_for_outbox(dir: &Path) -> Result<fengxin_api::LedgerStatus, CliError> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(ApiResponse::LedgerStatus(s)) = api::call(dir, &ApiRequest::LedgerStatus) {
            if s.outbox == 0 {
                return Ok(s);
            }
        }
        if Instant::now() > deadline {
            return Err(CliError::new(
                ErrorKind::Ledger,
                format!("{}: submissions not committed within 60 s", dir.display()),
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn run_in(root: &Path) -> Result<(), CliError> {
    let specs: Vec<MemberSpec<'_>> = MEMBERS
        .iter()
        .map(|m| {
            let imports = SAMPLES
                .iter()
                .filter(|s| s.0 == *m)
                .map(|(_, file, list, t, contents)| {
                    ((*file).to_owned(), *list, *t, (*contents).to_owned())
                })
                .collect();
            (*m, imports)
        })
        .collect();
    let params = fengxin_ledger::CreditParams {
        base_allowance: 20,
        ..Default::default()
    };
    let (dirs, regulator, nodes) = start_consortium_with(root, &specs, Some(params), true)?;
    let regulator =
        regulator.ok_or_else(|| CliError::new(ErrorKind::Internal, "the demo runs a regulator"))?;

    let on_b = first_identifier(SAMPLES[3].4, 0).unwrap_or_default();
    let on_c = first_identifier(SAMPLES[4].4, 0).unwrap_or_default();
    let nowhere = fengxin_sample::identifiers(IdType::CnId, 1, 424_242)
        .next()
        .unwrap_or_default();
    let card = first_identifier(SAMPLES[1].4, 0).unwrap_or_default();
    // Each case names the one (member, list) that must answer hit; every other member's
    // lists must answer a verified miss. The demo fails otherwise.
    let b_fraud = (SAMPLES[3].0, SAMPLES[3].2);
    let c_overdue = (SAMPLES[4].0, SAMPLES[4].2);
    let queries = [
        (
            IdType::CnId,
            on_b,
            "on bank-b's fraud list (written untidily there)",
            Some(b_fraud),
        ),
        (
            IdType::CnId,
            on_c,
            "on bank-c's overdue list",
            Some(c_overdue),
        ),
        (IdType::CnId, nowhere, "on no list", None),
        (IdType::BankCard, card, "bank-a's own card list only", None),
    ];
    println!("\n== bank-a screens (the others see only blinded elements and tags)");
    let a = dirs[0].root();
    let mut wrong = Vec::new();
    for (case, (id_type, value, note, expected)) in queries.into_iter().enumerate() {
        let request = ApiRequest::Screen {
            id_type,
            identifier: value.clone(),
            list: None,
            members: None,
            case_reference: Some(format!("KYC-2026-{:04}", case + 1)),
        };
        let masked: String = value.trim().chars().take(4).chain("…".chars()).collect();
        println!("{id_type} {masked} ({note}):");
        match api::call(a, &request).map_err(|e| CliError::new(ErrorKind::Node, e.to_string()))? {
            ApiResponse::Screen(report) => {
                if report.results.is_empty() {
                    wrong.push(format!("{id_type} {masked}: no member answered"));
                }
                for r in report.results {
                    println!(
                        "  {:<7} {:<16} {:<5} verified={:<5} {:>7.1} ms{}",
                        r.member.as_str(),
                        r.list.as_ref().map_or("-", |l| l.as_str()),
                        r.result.map_or("-", |v| v.as_str()),
                        r.verified,
                        r.latency_ms,
                        r.error
                            .as_ref()
                            .map_or(String::new(), |e| format!("  {}: {}", e.kind, e.message))
                    );
                    let should_hit = expected.is_some_and(|(m, l)| {
                        r.member.as_str() == m && r.list.as_ref().map(|l| l.as_str()) == Some(l)
                    });
                    let want = fengxin_api::Verdict::from_hit(should_hit);
                    if !r.verified || r.result != Some(want) {
                        wrong.push(format!(
                            "{id_type} {masked}: {} {} answered {} (verified {}), expected a \
                             verified {want}",
                            r.member.as_str(),
                            r.list.as_ref().map_or("-", |l| l.as_str()),
                            r.result.map_or("nothing", |v| v.as_str()),
                            r.verified
                        ));
                    }
                }
            }
            ApiResponse::Error(e) => {
                println!("  error {}: {}", e.kind, e.message);
                wrong.push(format!("{id_type} {masked}: {}: {}", e.kind, e.message));
            }
            other => {
                println!("  unexpected reply {other:?}");
                wrong.push(format!("{id_type} {masked}: unexpected reply"));
            }
        }
    }
    if !wrong.is_empty() {
        return Err(CliError::new(
            ErrorKind::Demo,
            format!("screening gave wrong answers: {}", wrong.join("; ")),
        ));
    }
    println!(
        "\n== ledger: query receipts (the querier's signed request, countersigned and submitted \
         by the responder; no identifier, tag or result)"
    );
    wait_for_outbox(a)?;
    if let ApiResponse::Receipts(v) = api::call(a, &ApiRequest::Receipts)
        .map_err(|e| CliError::new(ErrorKind::Node, e.to_string()))?
    {
        for r in &v.receipts {
            println!(
                "  height {:<3} {} asked {} about {} ({} identifier{}) receipt {}…",
                r.height,
                r.querier.as_str(),
                r.responder.as_str(),
                r.list,
                r.count,
                if r.count == 1 { "" } else { "s" },
                r.id.short()
            );
        }
    }
    // bank-a's analysts confirm the first hit (bank-b's fraud list): bank-b's quality rises.
    let first_at_b = match api::call(a, &ApiRequest::Receipts) {
        Ok(ApiResponse::Receipts(v)) => v
            .receipts
            .into_iter()
            .find(|r| r.responder.as_str() == MEMBERS[1])
            .map(|r| r.id),
        _ => None,
    };
    if let Some(receipt) = first_at_b {
        let request = ApiRequest::Feedback {
            receipt,
            verdict: fengxin_api::Feedback::Confirmed,
        };
        match api::call(a, &request).map_err(|e| CliError::new(ErrorKind::Node, e.to_string()))? {
            ApiResponse::Submitted(_) => println!(
                "  feedback: bank-a confirms the hit of receipt {}…",
                receipt.short()
            ),
            other => println!("  feedback not submitted: {other:?}"),
        }
        wait_for_outbox(a)?;
    }

    println!("\n== ledger status on every node (replicated over QUIC; the same chain everywhere)");
    let mut heads = std::collections::BTreeSet::new();
    for d in &dirs {
        let target = api::call(a, &ApiRequest::LedgerStatus)
            .ok()
            .and_then(|r| match r {
                ApiResponse::LedgerStatus(s) => Some(s.height),
                _ => None,
            })
            .unwrap_or(0);
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            let s = match api::call(d.root(), &ApiRequest::LedgerStatus) {
                Ok(ApiResponse::LedgerStatus(s)) => Some(s),
                _ => None,
            };
            match s {
                Some(s) if s.height >= target || Instant::now() > deadline => break s,
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        println!(
            "  {:<7} height {:<3} block {} {:<9} validators {}",
            status.node,
            status.height,
            status.block_hash,
            status.role.as_str(),
            status
                .validators
                .iter()
                .map(MemberName::as_str)
                .collect::<Vec<_>>()
                .join(",")
        );
        heads.insert((status.height, status.block_hash));
    }
    if heads.len() != 1 {
        return Err(CliError::new(
            ErrorKind::Ledger,
            format!("nodes disagree on the chain head: {heads:?}"),
        ));
    }

    println!(
        "\n== credits (public balances move with every receipt; allowances stay confidential)"
    );
    for d in &dirs {
        if let Ok(ApiResponse::Credits(c)) = api::call(d.root(), &ApiRequest::Credits) {
            println!(
                "  {:<7} balance {:>6}  quality {}‰  allowance {} this epoch, {} used ({} changes on the ledger)",
                c.member.as_str(),
                c.balance,
                c.quality,
                c.allowance.map_or_else(|| "-".to_owned(), |a| a.to_string()),
                c.used,
                c.history.len()
            );
            if let Some(last) = c.history.last() {
                println!(
                    "          last: height {} {:+} {}",
                    last.height, last.delta, last.reason
                );
            }
        }
    }
    println!("\n== a member over its allowance is refused");
    let c = dirs[2].root();
    if let Ok(ApiResponse::Credits(credits)) = api::call(c, &ApiRequest::Credits) {
        // bank-a publishes several lists: ask for a batch one identifier too large for them all.
        let lists = SAMPLES.iter().filter(|s| s.0 == MEMBERS[0]).count().max(1);
        let want = credits.remaining.unwrap_or(0) as usize / lists + 1;
        let ids: Vec<String> = fengxin_sample::identifiers(IdType::CnId, want, 31_337).collect();
        let request = ApiRequest::ScreenBatch {
            id_type: IdType::CnId,
            identifiers: ids,
            list: None,
            members: Some(vec![dirs[0].config().member.clone()]),
            case_reference: None,
        };
        match api::call(c, &request).map_err(|e| CliError::new(ErrorKind::Node, e.to_string()))? {
            ApiResponse::Error(e) => println!(
                "  {} asks to screen {want} identifiers at {}: refused, {}: {}",
                dirs[2].config().member,
                dirs[0].config().member,
                e.kind,
                e.message
            ),
            other => println!("  unexpectedly answered: {other:?}"),
        }
    }

    println!("\n== regulator audit (decrypts receipt details and list sizes with the view key)");
    wait_for_height(regulator.root(), dirs[0].root())?;
    match api::call(
        regulator.root(),
        &ApiRequest::Audit {
            from: None,
            to: None,
        },
    )
    .map_err(|e| CliError::new(ErrorKind::Node, e.to_string()))?
    {
        ApiResponse::Audit(a) => {
            println!(
                "  {} receipts decrypted",
                a.records.iter().filter(|r| r.details.is_some()).count()
            );
            for r in a.records.iter().take(3) {
                if let Some(d) = &r.details {
                    println!(
                        "  height {} {} -> {}: case {} tag {}… result {:?}",
                        r.height,
                        r.querier.as_str(),
                        r.responder.as_str(),
                        d.case_reference.as_deref().unwrap_or("-"),
                        d.tags
                            .first()
                            .map_or(String::new(), |t| t.to_hex()[..16].to_owned()),
                        d.results
                    );
                }
            }
            for m in &a.members {
                let sizes: Vec<String> = m
                    .list_sizes
                    .iter()
                    .map(|l| {
                        format!(
                            "{}={}",
                            l.list,
                            l.size.map_or_else(|| "?".to_owned(), |v| v.to_string())
                        )
                    })
                    .collect();
                println!(
                    "  {:<7} queries {:>2} ({} ids, {} hits)  served {:>2}  balance {:>6}  allowance {:>4}  sizes {}",
                    m.member,
                    m.queries_made,
                    m.identifiers_screened,
                    m.hits_received,
                    m.queries_served,
                    m.balance,
                    m.allowance.map_or_else(|| "-".to_owned(), |v| v.to_string()),
                    sizes.join(" ")
                );
            }
            if a.flags.is_empty() {
                println!("  flags: none");
            }
            for f in &a.flags {
                println!("  FLAG {} {}: {}", f.rule.as_str(), f.member, f.evidence);
            }
        }
        ApiResponse::Error(e) => println!("  error {}: {}", e.kind, e.message),
        other => println!("  unexpected {other:?}"),
    }

    println!("\n== shutting down");
    drop(nodes);
    println!("demo complete");
    Ok(())
}
