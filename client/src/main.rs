//! `fengxin`: the CLI for risk teams and regulators. It talks to the member's own node through
//! the node's local API (the contract crate `fengxin_api`) and verifies proofs offline. It links
//! neither the node's runtime, its network nor its databases.

use clap::{Args, Parser, Subcommand};
use fengxin_api::cli::{print_json, CliError};
use fengxin_api::{ApiRequest, ApiResponse, ErrorKind, ProveOutput, ScreenReport};
use fengxin_types::{IdType, ListId, MemberName};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod file;

#[derive(Parser, Debug)]
#[command(
    name = "fengxin",
    version,
    about = "Fengxin for risk teams and regulators"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Verify a `fengxin-node prove` JSON object; exit 0 only if the proof is valid.
    ///
    /// The proof binds the root, the tag and the result. With `--node`, the root is checked
    /// against the ledger: it must be a member's publication of the object's list and epoch,
    /// and not refuted by the regulator (an attested or pending root is reported as such).
    /// Without it, the list and epoch are the prover's claim and the root is not checked.
    Verify {
        /// The JSON file, or `-` for standard input.
        #[arg(long)]
        proof: String,
        /// A node's data directory: check the root against its replica of the ledger.
        #[arg(long)]
        node: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Screen one identifier, or a file of them, against the other members' lists, through the
    /// member's node.
    #[command(group(clap::ArgGroup::new("input").required(true).args(["value", "file"])))]
    Screen {
        /// The node's data directory.
        #[arg(long)]
        node: PathBuf,
        /// Identifier type (cn_id, uscc, phone, bank_card, account, email, device_id).
        #[arg(long = "id-type", value_parser = parse_arg::<IdType>)]
        id_type: IdType,
        /// The identifier (or --file).
        value: Option<String>,
        /// Screen every identifier of a CSV file (with an `identifier` column) or a JSON Lines
        /// file (objects with an `identifier` field): one record per (row, member, list).
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
        /// The file's format (default from its extension: .jsonl/.ndjson are JSON Lines,
        /// anything else CSV); the records are written in the same format.
        // `conflicts_with` rather than `requires = "file"`: clap skips `requires` when the
        // argument present conflicts with the one required (clap issue 4520).
        #[arg(long, value_enum, conflicts_with = "value")]
        format: Option<file::Format>,
        /// Write the records to this file instead of standard output.
        #[arg(long, value_name = "PATH", conflicts_with = "value")]
        out: Option<PathBuf>,
        /// Only this list.
        #[arg(long, value_parser = parse_arg::<ListId>)]
        list: Option<ListId>,
        /// Only these members (repeatable).
        #[arg(long = "member", value_parser = parse_arg::<MemberName>)]
        members: Vec<MemberName>,
        /// The case reference, sealed to the regulator with the receipt's details (one
        /// identifier only).
        #[arg(long = "case", conflicts_with = "file")]
        case_reference: Option<String>,
        /// Print JSON (with --file: a summary after the records).
        #[arg(long)]
        json: bool,
    },
    /// Feedback on the hits of one of this member's receipts (moves the responder's quality).
    Feedback {
        /// The node's data directory.
        #[arg(long)]
        node: PathBuf,
        /// The receipt id (from `fengxin receipts --json`).
        #[arg(long, value_parser = parse_arg::<fengxin_api::RecordId>)]
        receipt: fengxin_api::RecordId,
        /// `confirmed` or `false_positive`.
        #[arg(long, value_parser = parse_arg::<fengxin_api::Feedback>)]
        verdict: fengxin_api::Feedback,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The ledger's query receipts this member is party to.
    Receipts {
        /// The node's data directory.
        #[arg(long)]
        node: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Own credit balance, allowance and their history.
    Credits {
        /// The node's data directory.
        #[arg(long)]
        node: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Regulator only: decrypted records, per-member figures, list sizes and flags.
    Audit {
        /// The regulator node's data directory.
        #[arg(long)]
        node: PathBuf,
        /// From this height.
        #[arg(long)]
        from: Option<u64>,
        /// Up to this height.
        #[arg(long)]
        to: Option<u64>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Regulator only: ask a member to open a random sample of a list's tags; each is checked
    /// against a verified evaluation under the published key. Shows the sampled identifiers.
    Openings {
        /// The regulator node's data directory.
        #[arg(long)]
        node: PathBuf,
        /// The member.
        #[arg(long)]
        member: MemberName,
        /// The list (its current publication).
        #[arg(long)]
        list: ListId,
        /// How many tags (1 to 1,024).
        #[arg(long, default_value_t = 16)]
        count: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The consortium ledger, as the member's node sees it.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Governance: admit or remove members by a vote of at least 2/3 of members.
    Council {
        #[command(subcommand)]
        command: CouncilCommand,
    },
}

/// A motion about one member.
#[derive(Args, Debug)]
struct MemberMotion {
    /// The proposing member's node data directory.
    #[arg(long)]
    node: PathBuf,
    /// The member the motion is about.
    #[arg(long, value_parser = parse_arg::<MemberName>)]
    member: MemberName,
    /// A note for the council.
    #[arg(long, default_value = "")]
    note: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum CouncilCommand {
    /// Propose admitting the member described by its public member.json.
    Admit {
        /// The proposing member's node data directory.
        #[arg(long)]
        node: PathBuf,
        /// The candidate's member.json.
        #[arg(long)]
        candidate: PathBuf,
        /// A note for the council.
        #[arg(long, default_value = "")]
        note: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Propose removing a member.
    Remove(MemberMotion),
    /// Propose lifting the suspension of a member's screening (after an equivocation).
    Reinstate(MemberMotion),
    /// Propose overruling the regulator's refutation of a member's published root: the
    /// publication then counts as attested.
    Overrule {
        /// The proposing member's node data directory.
        #[arg(long)]
        node: PathBuf,
        /// The member whose root was refuted.
        #[arg(long)]
        member: MemberName,
        /// The list.
        #[arg(long)]
        list: ListId,
        /// The publication epoch.
        #[arg(long)]
        epoch: u64,
        /// A note for the council (why the refutation is wrong).
        #[arg(long, default_value = "")]
        note: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Vote on an open motion (in favour unless --against).
    Vote {
        /// The voting member's node data directory.
        #[arg(long)]
        node: PathBuf,
        /// The motion id (from `fengxin council motions`).
        #[arg(long, value_parser = parse_arg::<fengxin_api::RecordId>)]
        motion: fengxin_api::RecordId,
        /// Vote against.
        #[arg(long)]
        against: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The motions on the ledger, open and decided.
    Motions {
        /// The node's data directory.
        #[arg(long)]
        node: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum LedgerCommand {
    /// Height, head block hash and validators.
    Status {
        /// The node's data directory.
        #[arg(long)]
        node: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One committed block.
    Block {
        /// The node's data directory.
        #[arg(long)]
        node: PathBuf,
        /// Block height.
        #[arg(long)]
        height: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn fail(kind: ErrorKind, message: impl Into<String>) -> CliError {
    CliError::new(kind, message)
}

/// clap value parser for the contract's types: a bad value is an argument error with the
/// type's own reason.
fn parse_arg<T>(s: &str) -> Result<T, String>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    s.parse::<T>().map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    fengxin_api::cli::drive(
        |c: &Cli| match &c.command {
            Command::Verify { json, .. }
            | Command::Screen { json, .. }
            | Command::Receipts { json, .. }
            | Command::Feedback { json, .. }
            | Command::Credits { json, .. }
            | Command::Audit { json, .. }
            | Command::Openings { json, .. }
            | Command::Ledger {
                command: LedgerCommand::Status { json, .. } | LedgerCommand::Block { json, .. },
            }
            | Command::Council {
                command:
                    CouncilCommand::Admit { json, .. }
                    | CouncilCommand::Remove(MemberMotion { json, .. })
                    | CouncilCommand::Reinstate(MemberMotion { json, .. })
                    | CouncilCommand::Overrule { json, .. }
                    | CouncilCommand::Vote { json, .. }
                    | CouncilCommand::Motions { json, .. },
            } => *json,
        },
        |c| run(c.command),
    )
}

fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Verify { proof, node, json } => {
            let out = verify(&proof)?;
            let ledger = match &node {
                Some(dir) => Some(check_root(dir, &out)?),
                None => None,
            };
            if json {
                let mut v = serde_json::json!({
                    "valid": true,
                    "list": out.list,
                    "epoch": out.epoch,
                    "root": out.root,
                    "tag": out.tag,
                    "result": out.result,
                    "bound": ["root", "tag", "result"],
                    "root_checked": ledger.is_some(),
                });
                match &ledger {
                    Some(p) => {
                        v["checked"] = serde_json::json!(["list", "epoch", "member"]);
                        v["published_by"] = serde_json::json!(p.member);
                        v["root_status"] = serde_json::json!(p.status);
                        v["current"] = serde_json::json!(p.current);
                    }
                    None => v["claimed"] = serde_json::json!(["list", "epoch"]),
                }
                println!("{v}");
            } else {
                println!(
                    "valid: {} for tag {} against root {} (bound by the proof)",
                    out.result, out.tag, out.root
                );
                match &ledger {
                    Some(p) => println!(
                        "root checked on the ledger: {}'s publication of list {}, epoch {} \
                         (height {}{}), {}",
                        p.member,
                        out.list,
                        out.epoch,
                        p.height,
                        if p.current {
                            ", current"
                        } else {
                            ", superseded"
                        },
                        match p.status {
                            fengxin_api::RootStatus::Attested => format!(
                                "attested by {}",
                                p.regulator.as_ref().map_or("the regulator", |r| r.as_str())
                            ),
                            _ => "pending attestation (the regulator has not checked the \
                                  tree behind it yet)"
                                .to_owned(),
                        }
                    ),
                    None => println!(
                        "root not checked: list {} and epoch {} are the prover's claim (the \
                         proof does not bind them); give --node DIR to check the root against \
                         the ledger",
                        out.list, out.epoch
                    ),
                }
            }
            Ok(())
        }
        Command::Screen {
            node,
            id_type,
            value,
            file,
            format,
            out,
            list,
            members,
            case_reference,
            json,
        } => {
            if let Some(file) = file {
                let args = file::FileScreen {
                    node,
                    id_type,
                    file,
                    format,
                    out,
                    list,
                    members,
                    json,
                };
                return file::screen_file(args, DEVELOPMENT_WARNING);
            }
            let Some(value) = value else {
                return Err(fail(ErrorKind::Usage, "give an identifier or --file PATH"));
            };
            let request = ApiRequest::Screen {
                id_type,
                identifier: value,
                list,
                members: (!members.is_empty()).then_some(members),
                case_reference,
            };
            let report = match call(&node, &request)? {
                ApiResponse::Screen(r) => r,
                other => return unexpected(other),
            };
            if json {
                print_json(&report)?;
            } else {
                print_report(&report);
            }
            Ok(())
        }
        Command::Receipts { node, json } => match call(&node, &ApiRequest::Receipts)? {
            ApiResponse::Receipts(v) if json => print_json(&v),
            ApiResponse::Receipts(v) => {
                println!(
                    "{} receipts for {} at height {}",
                    v.receipts.len(),
                    v.member,
                    v.height
                );
                println!(
                    "{:<8} {:<12} {:<12} {:<20} {:>5} {:>6}  id",
                    "height", "querier", "responder", "list", "epoch", "count"
                );
                for r in &v.receipts {
                    println!(
                        "{:<8} {:<12} {:<12} {:<20} {:>5} {:>6}  {}{}",
                        r.height,
                        r.querier.as_str(),
                        r.responder.as_str(),
                        r.list.as_str(),
                        r.epoch,
                        r.count,
                        r.id.short(),
                        r.feedback
                            .map_or(String::new(), |f| format!("  ({})", f.as_str()))
                    );
                }
                Ok(())
            }
            other => unexpected(other),
        },
        Command::Feedback {
            node,
            receipt,
            verdict,
            json,
        } => match call(&node, &ApiRequest::Feedback { receipt, verdict })? {
            ApiResponse::Submitted(ids) if json => {
                print_json(&serde_json::json!({ "submitted": ids }))
            }
            ApiResponse::Submitted(ids) => {
                println!("feedback submitted as record {}", join(&ids));
                Ok(())
            }
            other => unexpected(other),
        },
        Command::Council { command } => council(command),
        Command::Credits { node, json } => match call(&node, &ApiRequest::Credits)? {
            ApiResponse::Credits(c) if json => print_json(&c),
            ApiResponse::Credits(c) => {
                println!("{} at height {} (epoch {})", c.member, c.height, c.epoch);
                println!("balance    {}", c.balance);
                println!("quality    {}‰", c.quality);
                match (c.allowance, c.remaining) {
                    (Some(a), Some(r)) => {
                        println!(
                            "allowance  {a} identifiers this epoch, {} used, {r} left",
                            c.used
                        )
                    }
                    _ => println!("allowance  - ({} used)", c.used),
                }
                println!("history:");
                for e in &c.history {
                    println!(
                        "  height {:<5} {:>+8} = {:>8}  {}",
                        e.height, e.delta, e.balance, e.reason
                    );
                }
                Ok(())
            }
            other => unexpected(other),
        },
        Command::Audit {
            node,
            from,
            to,
            json,
        } => match call(&node, &ApiRequest::Audit { from, to })? {
            ApiResponse::Audit(a) if json => print_json(&a),
            ApiResponse::Audit(a) => {
                print_audit(&a);
                Ok(())
            }
            other => unexpected(other),
        },
        Command::Openings {
            node,
            member,
            list,
            count,
            json,
        } => match call(
            &node,
            &ApiRequest::Openings {
                member,
                list,
                count,
            },
        )? {
            ApiResponse::Openings(r) => {
                if json {
                    print_json(&r)?;
                } else {
                    println!(
                        "{}'s {} epoch {} (root {}, {} entries): {} of {} sampled tags verified",
                        r.member, r.list, r.epoch, r.root, r.entries, r.verified, r.sampled
                    );
                    for o in &r.openings {
                        println!(
                            "  {}…  {:<9} {} {}{}",
                            &o.tag[..16],
                            o.identifier_type.as_deref().unwrap_or("-"),
                            o.identifier.as_deref().unwrap_or("-"),
                            if o.verified {
                                "verified"
                            } else {
                                "NOT VERIFIED"
                            },
                            o.reason
                                .as_ref()
                                .map_or(String::new(), |why| format!(": {why}"))
                        );
                    }
                }
                // Exit 0 only if every sampled tag was opened to its identifier.
                if r.verified == r.sampled {
                    Ok(())
                } else {
                    Err(CliError::new(
                        ErrorKind::Protocol,
                        format!(
                            "{} of {} sampled tags were not opened to their identifier",
                            r.sampled - r.verified,
                            r.sampled
                        ),
                    ))
                }
            }
            other => unexpected(other),
        },
        Command::Ledger {
            command: LedgerCommand::Status { node, json },
        } => match call(&node, &ApiRequest::LedgerStatus)? {
            ApiResponse::LedgerStatus(s) if json => print_json(&s),
            ApiResponse::LedgerStatus(s) => {
                println!("height      {}", s.height);
                println!("block hash  {}", s.block_hash);
                println!("chain id    {}", s.chain_id);
                println!(
                    "node        {} ({}, term {})",
                    s.node,
                    s.role.as_str(),
                    s.term
                );
                println!(
                    "leader      {}",
                    s.leader.as_ref().map_or("-", MemberName::as_str)
                );
                println!("validators  {}", join(&s.validators));
                if !s.learners.is_empty() {
                    println!("learners    {}", join(&s.learners));
                }
                if s.outbox > 0 {
                    println!("outbox      {} records not yet committed", s.outbox);
                }
                Ok(())
            }
            other => unexpected(other),
        },
        Command::Ledger {
            command: LedgerCommand::Block { node, height, json },
        } => match call(&node, &ApiRequest::LedgerBlock { height })? {
            ApiResponse::LedgerBlock(b) if json => print_json(&b),
            ApiResponse::LedgerBlock(b) => {
                println!("block {} {}", b.height, b.hash);
                println!("  prev      {}", b.prev_hash);
                println!(
                    "  proposer  {} (term {}, {} records proposed, {} accepted)",
                    b.proposer,
                    b.term,
                    b.proposed,
                    b.records.len()
                );
                for r in &b.records {
                    println!(
                        "  {:<12} {} by {}  {}",
                        r.kind,
                        r.id.short(),
                        r.author,
                        r.summary
                    );
                }
                Ok(())
            }
            other => unexpected(other),
        },
    }
}

/// The local API request proposing `action` about the member `m` names.
fn member_motion(
    m: MemberMotion,
    action: impl FnOnce(MemberName) -> fengxin_ledger::MotionAction,
) -> (PathBuf, ApiRequest, bool) {
    let request = ApiRequest::Propose {
        action: action(m.member),
        note: m.note,
    };
    (m.node, request, m.json)
}

/// Names or ids, comma-separated.
fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn council(command: CouncilCommand) -> Result<(), CliError> {
    let (node, request, json) = match command {
        CouncilCommand::Admit {
            node,
            candidate,
            note,
            json,
        } => {
            let text = std::fs::read(&candidate)
                .map_err(|e| fail(ErrorKind::Io, format!("{}: {e}", candidate.display())))?;
            let m: fengxin_api::MemberFile = serde_json::from_slice(&text).map_err(|e| {
                fail(
                    ErrorKind::InvalidInput,
                    format!("{}: {e}", candidate.display()),
                )
            })?;
            let key = fengxin_crypto::IdentityPublicKey::from_slice(m.identity_key.as_bytes())
                .map_err(|e| fail(ErrorKind::InvalidInput, format!("identity key: {e}")))?;
            let action = fengxin_ledger::MotionAction::Admit {
                name: m.name,
                identity_key: key.to_bytes(),
                address: m.address,
            };
            (node, ApiRequest::Propose { action, note }, json)
        }
        CouncilCommand::Remove(m) => {
            member_motion(m, |name| fengxin_ledger::MotionAction::Remove { name })
        }
        CouncilCommand::Reinstate(m) => {
            member_motion(m, |name| fengxin_ledger::MotionAction::Reinstate { name })
        }
        CouncilCommand::Overrule {
            node,
            member,
            list,
            epoch,
            note,
            json,
        } => {
            let epoch = fengxin_types::Epoch::new(epoch)
                .map_err(|e| fail(ErrorKind::Usage, format!("--epoch: {e}")))?;
            let action = fengxin_ledger::MotionAction::Overrule {
                member,
                list,
                epoch,
            };
            (node, ApiRequest::Propose { action, note }, json)
        }
        CouncilCommand::Vote {
            node,
            motion,
            against,
            json,
        } => (
            node,
            ApiRequest::Vote {
                motion,
                approve: !against,
            },
            json,
        ),
        CouncilCommand::Motions { node, json } => (node, ApiRequest::Motions, json),
    };
    match call(&node, &request)? {
        ApiResponse::Submitted(ids) if json => print_json(&serde_json::json!({ "submitted": ids })),
        ApiResponse::Submitted(ids) => {
            println!("submitted record {}", join(&ids));
            Ok(())
        }
        ApiResponse::Motions(m) if json => print_json(&m),
        ApiResponse::Motions(m) => {
            for x in &m {
                println!(
                    "{} {:<8} by {}: {:?} — for {} against {}{}{}",
                    x.id,
                    x.status.as_str(),
                    x.proposer,
                    x.action,
                    join(&x.approve),
                    join(&x.reject),
                    if x.note.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", x.note)
                    },
                    x.void
                        .as_ref()
                        .map_or_else(String::new, |why| format!(" [void: {why}]"))
                );
            }
            Ok(())
        }
        other => unexpected(other),
    }
}

fn print_audit(a: &fengxin_api::AuditReport) {
    println!(
        "audit of heights {}..={} ({} receipts)",
        a.from,
        a.to,
        a.records.len()
    );
    for r in &a.records {
        let what = match (&r.details, &r.error) {
            (Some(d), _) => {
                let hits = d.results.iter().filter(|v| v.is_hit()).count();
                format!("{} hit(s) of {}", hits, d.results.len())
            }
            (None, Some(e)) => format!("unreadable: {e}"),
            _ => "-".into(),
        };
        println!(
            "  height {:<4} {} -> {} {} x{}: {}",
            r.height,
            r.querier.as_str(),
            r.responder.as_str(),
            r.list,
            r.count,
            what
        );
    }
    println!(
        "{:<10} {:>7} {:>7} {:>6} {:>7} {:>7} {:>6} {:>8} {:>7}  list sizes",
        "member", "queries", "ids", "hits", "served", "ids", "hits", "balance", "allow."
    );
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
            "{:<10} {:>7} {:>7} {:>6} {:>7} {:>7} {:>6} {:>8} {:>7}  {}",
            m.member,
            m.queries_made,
            m.identifiers_screened,
            m.hits_received,
            m.queries_served,
            m.identifiers_served,
            m.hits_served,
            m.balance,
            m.allowance
                .map_or_else(|| "-".to_owned(), |v| v.to_string()),
            sizes.join(" ")
        );
    }
    if a.flags.is_empty() {
        println!("flags: none");
    }
    for f in &a.flags {
        println!(
            "FLAG {} {}{}: {}",
            f.rule.as_str(),
            f.member,
            f.responder
                .as_ref()
                .map_or(String::new(), |r| format!(" (against {r})")),
            f.evidence
        );
    }
}

fn unexpected<T>(response: ApiResponse) -> Result<T, CliError> {
    match response {
        ApiResponse::Error(e) => Err(e),
        _ => Err(fail(
            ErrorKind::Protocol,
            "unexpected response from the node",
        )),
    }
}

fn print_report(report: &ScreenReport) {
    println!(
        "{:<12} {:<20} {:<6} {:<9} {:<9} {:>10}",
        "member", "list", "result", "verified", "root", "latency"
    );
    for r in &report.results {
        println!(
            "{:<12} {:<20} {:<6} {:<9} {:<9} {:>8.1}ms{}",
            r.member.as_str(),
            r.list.as_ref().map_or("-", ListId::as_str),
            r.result.map_or("-", |v| v.as_str()),
            if r.verified { "yes" } else { "NO" },
            r.root_status.map_or("-", |s| s.as_str()),
            r.latency_ms,
            r.error
                .as_ref()
                .map_or(String::new(), |e| format!("  {}: {}", e.kind, e.message))
        );
    }
}

/// One call to the node's local API. A development node's reply is announced on stderr
/// (whatever the output format), since its "verified" means nothing.
fn call(node: &Path, request: &ApiRequest) -> Result<ApiResponse, CliError> {
    let reply = fengxin_api::call_reply(node, request)?;
    if reply.development {
        eprintln!("{DEVELOPMENT_WARNING}");
    }
    Ok(reply.response)
}

/// What every command says about a development consortium's node.
const DEVELOPMENT_WARNING: &str = "warning: development consortium: its circuit keys are public, \
     so its proofs can be forged and nothing it reports is verified; never for production";

/// The ledger's publication of the proof's root for its list and epoch: an error if there is
/// none, or if the regulator refuted it. A root published by several members (same tags) is
/// reported for the first of them, unless one of them is refuted.
fn check_root(node: &Path, out: &ProveOutput) -> Result<fengxin_api::RootPublication, CliError> {
    let request = ApiRequest::Root {
        list: out.list.clone(),
        epoch: out.epoch,
        root: out.root,
    };
    let view = match call(node, &request)? {
        ApiResponse::Root(v) => v,
        ApiResponse::Error(e) => return Err(e),
        other => {
            return Err(fail(
                ErrorKind::Protocol,
                format!("unexpected reply {other:?}"),
            ))
        }
    };
    if let Some(refuted) = view
        .published_by
        .iter()
        .find(|p| p.status == fengxin_api::RootStatus::Refuted)
    {
        return Err(fail(
            ErrorKind::RefutedRoot,
            format!(
                "root {} of {}'s list {} epoch {} was refuted by {}: {}",
                out.root,
                refuted.member,
                out.list,
                out.epoch,
                refuted
                    .regulator
                    .as_ref()
                    .map_or("the regulator", |r| r.as_str()),
                refuted.reason.as_deref().unwrap_or("no reason given")
            ),
        ));
    }
    view.published_by.into_iter().next().ok_or_else(|| {
        fail(
            ErrorKind::UnpublishedRoot,
            format!(
                "root {} is no member's publication of list {} epoch {} on the ledger",
                out.root, out.list, out.epoch
            ),
        )
    })
}

/// Checks a `prove` object: decodes every field and verifies the proof with the pinned key.
fn verify(source: &str) -> Result<ProveOutput, CliError> {
    let mut text = String::new();
    if source == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| fail(ErrorKind::Io, e.to_string()))?;
    } else {
        text = std::fs::read_to_string(source)
            .map_err(|e| fail(ErrorKind::Io, format!("{source}: {e}")))?;
    }
    let out: ProveOutput = serde_json::from_str(&text)
        .map_err(|e| fail(ErrorKind::InvalidInput, format!("not a prove object: {e}")))?;
    let root = fengxin_tree::Root::from_bytes(out.root.as_bytes())
        .map_err(|e| fail(ErrorKind::InvalidInput, format!("root: {e}")))?;
    let (tag, result) = (out.tag, out.result.is_hit());
    let proof = fengxin_proofs::MembershipProof::from_bytes(&out.proof.0)
        .map_err(|e| fail(ErrorKind::InvalidProof, format!("proof: {e}")))?;
    let verifier = fengxin_proofs::keys::configured_verifier()
        .map_err(|e| fail(ErrorKind::Params, e.to_string()))?;
    verifier
        .verify(&fengxin_proofs::PublicInputs { root, tag, result }, &proof)
        .map_err(|e| {
            fail(
                ErrorKind::InvalidProof,
                format!("proof does not verify for this root, tag and result: {e}"),
            )
        })?;
    Ok(out)
}
