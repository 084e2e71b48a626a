//! `fengxin-node demo`: a local consortium on loopback, end to end.
//!
//! Three members (bank-a, bank-b, bank-c) are initialised in a temporary directory with the
//! bundled sample lists, publish their roots, share a genesis file, and run as separate
//! `fengxin-node run` processes talking QUIC on loopback. bank-a then screens a handful of
//! identifiers against the others and prints the verified answers; the nodes shut down cleanly.

use crate::cli::CliError;
use crate::consortium::{wait_for_height, wait_for_outbox, Builder, MemberSpec};
use fengxin_api::ErrorKind;
use fengxin_api::{self as api, ApiRequest, ApiResponse};
use fengxin_types::{IdType, ListId, MemberName};
use std::path::Path;
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

/// The first identifier of a sample CSV's data rows.
fn first_identifier(csv: &str, row: usize) -> Option<String> {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    reader
        .records()
        .nth(row)
        .and_then(|r| r.ok())
        .and_then(|r| r.get(0).map(str::to_owned))
}

/// bank-a screens a file of 11 identifiers (8 on bank-b's fraud list) against bank-b in one
/// batch: against its held snapshot, in one blinded evaluation, with the label of every hit.
/// (Small, so that bank-a's screenings stay under the audit's enumeration limit of 20
/// identifiers while its peers screen nothing.)
fn screen_portfolio(root: &Path, a: &Path, wrong: &mut Vec<String>) -> Result<(), CliError> {
    let on_b: Vec<String> = (0..8)
        .filter_map(|i| first_identifier(SAMPLES[3].4, i))
        .collect();
    let mut portfolio = on_b.clone();
    portfolio.extend(fengxin_sample::identifiers(IdType::CnId, 3, 777));
    let path = root.join("bank_a_portfolio.csv");
    let mut text = String::from("identifier\n");
    for id in &portfolio {
        text.push_str(id.trim());
        text.push('\n');
    }
    std::fs::write(&path, text).map_err(io(&path))?;
    println!(
        "\n== bank-a screens a file of {} identifiers ({} on bank-b's list) against bank-b's \
         held snapshot, in one batch",
        portfolio.len(),
        on_b.len()
    );
    let request = ApiRequest::ScreenBatch {
        id_type: IdType::CnId,
        identifiers: portfolio,
        list: None,
        members: Some(vec![MemberName::parse(MEMBERS[1])
            .map_err(|e| CliError::new(ErrorKind::Internal, e.to_string()))?]),
        case_reference: Some("PORTFOLIO-2026-12".into()),
    };
    let report =
        match api::call(a, &request).map_err(|e| CliError::new(ErrorKind::Node, e.to_string()))? {
            ApiResponse::ScreenBatch(r) => r,
            other => {
                wrong.push(format!("portfolio: unexpected reply {other:?}"));
                return Ok(());
            }
        };
    for r in &report.results {
        println!(
            "  {:<7} {:<16} mode={:<8} verified={:<5} {} hits {:>8.1} ms{}",
            r.member.as_str(),
            r.list.as_ref().map_or("-", |l| l.as_str()),
            r.mode.map_or("-", |m| m.as_str()),
            r.verified,
            r.hits.len(),
            r.latency_ms,
            r.error
                .as_ref()
                .map_or(String::new(), |e| format!("  {}: {}", e.kind, e.message))
        );
        for (i, l) in r.hits.iter().zip(&r.labels).take(3) {
            println!(
                "    row {:<3} hit, label {} added {}",
                i + 1,
                l.reason,
                l.added_on.as_deref().unwrap_or("-")
            );
        }
        let want_hits: Vec<usize> = (0..on_b.len()).collect();
        let want_mode = fengxin_api::ScreenMode::Snapshot;
        if !r.verified || r.hits != want_hits || r.mode != Some(want_mode) {
            wrong.push(format!(
                "portfolio at {}: hits {:?} in {} mode (verified {}), expected {:?} in {} mode",
                r.member.as_str(),
                r.hits,
                r.mode.map_or("no", |m| m.as_str()),
                r.verified,
                want_hits,
                want_mode.as_str()
            ));
        }
        if r.labels.len() != r.hits.len() {
            wrong.push(format!(
                "portfolio at {}: hits without labels",
                r.member.as_str()
            ));
        }
    }
    Ok(())
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
    // bank-c shares no snapshot of its overdue list: it is answered with proofs only.
    let consortium = Builder::this_executable(root)?
        .with_proof_only(MEMBERS[2], ListId::CREDIT_OVERDUE)
        .start_consortium(&specs, Some(params), &mut |line| println!("{line}"))?;
    let dirs = &consortium.members;
    let regulator = consortium
        .regulator
        .as_ref()
        .ok_or_else(|| CliError::new(ErrorKind::Internal, "the demo runs a regulator"))?;

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
    let a = dirs[0].dir.as_path();
    // bank-a holds bank-b's fraud list snapshot, verified against its published root.
    crate::consortium::wait_for_snapshots(a, 1)?;
    println!(
        "\n== bank-a holds bank-b's verified snapshot (padded tags and sealed labels; bank-c's \
         overdue list is proof_only)"
    );
    println!("\n== bank-a screens (the others see only blinded elements, or tags for proofs)");
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
                        "  {:<7} {:<16} {:<5} mode={:<8} verified={:<5} root={:<8} {:>7.1} ms{}{}",
                        r.member.as_str(),
                        r.list.as_ref().map_or("-", |l| l.as_str()),
                        r.result.map_or("-", |v| v.as_str()),
                        r.mode.map_or("-", |m| m.as_str()),
                        r.verified,
                        r.root_status.map_or("-", |s| s.as_str()),
                        r.latency_ms,
                        r.label.as_ref().map_or(String::new(), |l| format!(
                            "  label {} added {}",
                            l.reason,
                            l.added_on.as_deref().unwrap_or("-")
                        )),
                        r.error
                            .as_ref()
                            .map_or(String::new(), |e| format!("  {}: {}", e.kind, e.message))
                    );
                    let proof_only = r.member.as_str() == MEMBERS[2]
                        && r.list.as_ref().map(|l| l.as_str()) == Some(ListId::CREDIT_OVERDUE);
                    let want_mode = if proof_only {
                        fengxin_api::ScreenMode::Proof
                    } else {
                        fengxin_api::ScreenMode::Snapshot
                    };
                    if r.mode != Some(want_mode) {
                        wrong.push(format!(
                            "{id_type} {masked}: {} answered in {} mode, expected {}",
                            r.member.as_str(),
                            r.mode.map_or("no", |m| m.as_str()),
                            want_mode.as_str()
                        ));
                    }
                    let should_hit = expected.is_some_and(|(m, l)| {
                        r.member.as_str() == m && r.list.as_ref().map(|l| l.as_str()) == Some(l)
                    });
                    let want = fengxin_api::Verdict::from_hit(should_hit);
                    // Every root was attested before screening began.
                    if r.root_status != Some(fengxin_api::RootStatus::Attested) {
                        wrong.push(format!(
                            "{id_type} {masked}: {} {}: root {}, expected attested",
                            r.member.as_str(),
                            r.list.as_ref().map_or("-", |l| l.as_str()),
                            r.root_status.map_or("unknown", |s| s.as_str()),
                        ));
                    }
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
    screen_portfolio(root, a, &mut wrong)?;
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
    for d in dirs {
        let target = api::call(a, &ApiRequest::LedgerStatus)
            .ok()
            .and_then(|r| match r {
                ApiResponse::LedgerStatus(s) => Some(s.height),
                _ => None,
            })
            .unwrap_or(0);
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            let s = match api::call(&d.dir, &ApiRequest::LedgerStatus) {
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
    for d in dirs {
        if let Ok(ApiResponse::Credits(c)) = api::call(&d.dir, &ApiRequest::Credits) {
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
    let c = dirs[2].dir.as_path();
    if let Ok(ApiResponse::Credits(credits)) = api::call(c, &ApiRequest::Credits) {
        // bank-a publishes several lists: ask for a batch one identifier too large for them all.
        let lists = SAMPLES.iter().filter(|s| s.0 == MEMBERS[0]).count().max(1);
        let want = credits.remaining.unwrap_or(0) as usize / lists + 1;
        let ids: Vec<String> = fengxin_sample::identifiers(IdType::CnId, want, 31_337).collect();
        let request = ApiRequest::ScreenBatch {
            id_type: IdType::CnId,
            identifiers: ids,
            list: None,
            members: Some(vec![dirs[0].name().clone()]),
            case_reference: None,
        };
        match api::call(c, &request).map_err(|e| CliError::new(ErrorKind::Node, e.to_string()))? {
            ApiResponse::Error(e) => println!(
                "  {} asks to screen {want} identifiers at {}: refused, {}: {}",
                dirs[2].name(),
                dirs[0].name(),
                e.kind,
                e.message
            ),
            other => println!("  unexpectedly answered: {other:?}"),
        }
    }

    println!("\n== regulator audit (decrypts receipt details and list sizes with the view key)");
    wait_for_height(&regulator.dir, dirs[0].dir.as_path())?;
    match api::call(
        &regulator.dir,
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
                        "  height {} {} -> {}: case {} tag {}… result {}",
                        r.height,
                        r.querier.as_str(),
                        r.responder.as_str(),
                        d.case_reference.as_deref().unwrap_or("-"),
                        d.tags
                            .first()
                            .map_or(String::new(), |t| t.to_hex()[..16].to_owned()),
                        d.results
                            .iter()
                            .map(|v| v.as_str())
                            .collect::<Vec<_>>()
                            .join(",")
                    );
                }
            }
            for m in &a.members {
                let sizes: Vec<String> = m
                    .list_sizes
                    .iter()
                    .map(|l| {
                        format!(
                            "{}={} ({})",
                            l.list,
                            l.size.map_or_else(|| "?".to_owned(), |v| v.to_string()),
                            l.root_status
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
    drop(consortium);
    println!("demo complete");
    Ok(())
}
