//! The `fengxin-node` command line (see `../shared/CLI.md`).
//!
//! Every command exits 0 on success and non-zero with a one-line reason on stderr otherwise;
//! with `--json`, errors are also printed on stdout as `{"error": {"kind", "message"}}`.

use crate::datadir::{DataDir, DataDirError, Role};
use crate::import::{self, Format, ImportError};
use clap::{Args, Parser, Subcommand};
use fengxin_types::{IdType, ListId, MemberName};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "fengxin-node",
    version,
    about = "Fengxin member node and operator tool"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a node: identity key, OPRF master seed, config, public member.json, database.
    Init {
        /// Data directory to create.
        #[arg(long)]
        data: PathBuf,
        /// Member name (a-z, 0-9, '-', '_').
        #[arg(long)]
        member: String,
        /// QUIC listen address.
        #[arg(long, default_value = "127.0.0.1:7400")]
        listen: String,
        /// Create a non-voting regulator node holding the view secret key.
        #[arg(long)]
        regulator: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Manage the member's lists.
    Lists {
        #[command(subcommand)]
        command: ListsCommand,
    },
    /// Write a deterministic sample list (CSV) for tests, benchmarks and demos.
    Sample {
        /// Identifier type.
        #[arg(long = "id-type")]
        id_type: String,
        /// Number of rows.
        #[arg(long)]
        count: usize,
        /// Generator seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// This machine's figures (p50/p95), to size a server.
    Bench {
        /// What to measure.
        #[arg(value_enum, default_value_t = crate::bench::Which::All)]
        which: crate::bench::Which,
        /// Rows for the import benchmark.
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A local demonstration: a fresh node, the bundled sample lists, their stats.
    Demo {
        /// Keep the data directory here instead of a temporary one.
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum ListsCommand {
    /// Import a CSV or JSON Lines file into a list.
    Import(ListFileArgs),
    /// Remove the identifiers listed in a file from a list.
    Remove(ListFileArgs),
    /// Per-list figures.
    Stats {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
struct ListFileArgs {
    /// Data directory.
    #[arg(long)]
    data: PathBuf,
    /// List id (fraud_txn, high_risk_account, marketing_abuse, credit_overdue, ...).
    #[arg(long)]
    list: String,
    /// Identifier type (cn_id, uscc, phone, bank_card, account, email, device_id).
    #[arg(long = "id-type")]
    id_type: String,
    /// Input file.
    #[arg(long)]
    file: PathBuf,
    /// Input format (default: from the file extension; `.jsonl` is JSON Lines, else CSV).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// A command failure: a stable kind and a one-line message.
#[derive(Debug)]
pub struct CliError {
    kind: &'static str,
    message: String,
}

impl CliError {
    /// A failure of the given kind.
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl From<DataDirError> for CliError {
    fn from(e: DataDirError) -> Self {
        let kind = match &e {
            DataDirError::SecretPermissions { .. } => "secret_permissions",
            DataDirError::NotInitialised(_) | DataDirError::AlreadyInitialised(_) => "data_dir",
            DataDirError::Store(_) => "store",
            _ => "data_dir",
        };
        Self::new(kind, e.to_string())
    }
}

impl From<ImportError> for CliError {
    fn from(e: ImportError) -> Self {
        let kind = match &e {
            ImportError::Store(_) => "store",
            _ => "input_file",
        };
        Self::new(kind, e.to_string())
    }
}

/// Runs the CLI and maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // clap prints help/version on stdout and usage errors on stderr.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let json = cli.command.json();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.message);
            if json {
                println!(
                    "{}",
                    serde_json::json!({"error": {"kind": e.kind, "message": e.message}})
                );
            }
            ExitCode::FAILURE
        }
    }
}

impl Command {
    fn json(&self) -> bool {
        match self {
            Command::Init { json, .. } | Command::Bench { json, .. } => *json,
            Command::Lists { command } => match command {
                ListsCommand::Import(a) | ListsCommand::Remove(a) => a.json,
                ListsCommand::Stats { json, .. } => *json,
            },
            Command::Sample { .. } | Command::Demo { .. } => false,
        }
    }
}

fn parse_list(s: &str) -> Result<ListId, CliError> {
    ListId::parse(s).map_err(|e| CliError::new("usage", format!("--list {s:?}: {e}")))
}

fn parse_id_type(s: &str) -> Result<IdType, CliError> {
    s.parse::<IdType>()
        .map_err(|e| CliError::new("usage", format!("--id-type: {e}")))
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::new("internal", e.to_string()))?;
    println!("{text}");
    Ok(())
}

fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Init {
            data,
            member,
            listen,
            regulator,
            json,
        } => {
            let name = MemberName::parse(&member)
                .map_err(|e| CliError::new("usage", format!("--member {member:?}: {e}")))?;
            let role = if regulator {
                Role::Regulator
            } else {
                Role::Member
            };
            let dir = DataDir::init(&data, name, listen, role)?;
            let member = dir.member_file()?;
            if json {
                print_json(&member)?;
            } else {
                println!(
                    "initialised {} node {} in {}\n  identity key {}\n  address {}",
                    match role {
                        Role::Member => "member",
                        Role::Regulator => "regulator",
                    },
                    member.name,
                    data.display(),
                    member.identity_key,
                    member.address
                );
            }
            Ok(())
        }
        Command::Lists { command } => run_lists(command),
        Command::Sample {
            id_type,
            count,
            seed,
            out,
        } => {
            let id_type = parse_id_type(&id_type)?;
            let file = std::fs::File::create(&out)
                .map_err(|e| CliError::new("io", format!("{}: {e}", out.display())))?;
            let mut w = std::io::BufWriter::new(file);
            fengxin_sample::write_csv(&mut w, id_type, count, seed)
                .map_err(|e| CliError::new("io", format!("{}: {e}", out.display())))?;
            std::io::Write::flush(&mut w)
                .map_err(|e| CliError::new("io", format!("{}: {e}", out.display())))?;
            Ok(())
        }
        Command::Bench { which, rows, json } => crate::bench::run(which, rows, json),
        Command::Demo { data } => demo(data.as_deref()),
    }
}

fn run_lists(command: ListsCommand) -> Result<(), CliError> {
    match command {
        ListsCommand::Import(a) => {
            let (dir, list, id_type, format) = open_for_file(&a)?;
            let store = dir.store()?;
            let report =
                import::import_file(&store, &dir.master_seed()?, &list, id_type, &a.file, format)?;
            if a.json {
                print_json(&report)?;
            } else {
                println!(
                    "{}: {} accepted, {} duplicates, {} rejected",
                    report.list,
                    report.accepted,
                    report.duplicates,
                    report.rejected.len()
                );
                print_rejections(&report.rejected);
            }
            Ok(())
        }
        ListsCommand::Remove(a) => {
            let (dir, list, id_type, format) = open_for_file(&a)?;
            let store = dir.store()?;
            let report =
                import::remove_file(&store, &dir.master_seed()?, &list, id_type, &a.file, format)?;
            if a.json {
                print_json(&report)?;
            } else {
                println!(
                    "{}: {} removed, {} not found, {} duplicates, {} rejected",
                    report.list,
                    report.removed,
                    report.not_found,
                    report.duplicates,
                    report.rejected.len()
                );
                print_rejections(&report.rejected);
            }
            Ok(())
        }
        ListsCommand::Stats { data, json } => {
            let dir = DataDir::open(&data)?;
            stats(&dir, json)
        }
    }
}

fn open_for_file(a: &ListFileArgs) -> Result<(DataDir, ListId, IdType, Format), CliError> {
    let list = parse_list(&a.list)?;
    let id_type = parse_id_type(&a.id_type)?;
    let dir = DataDir::open(&a.data)?;
    let format = a.format.unwrap_or_else(|| Format::from_path(&a.file));
    Ok((dir, list, id_type, format))
}

fn print_rejections(rejected: &[import::Rejection]) {
    const SHOWN: usize = 20;
    for r in rejected.iter().take(SHOWN) {
        println!("  row {}, field {}: {}", r.row, r.field, r.reason);
    }
    if rejected.len() > SHOWN {
        println!(
            "  ... and {} more (use --json for all)",
            rejected.len() - SHOWN
        );
    }
}

fn stats(dir: &DataDir, json: bool) -> Result<(), CliError> {
    let stats = dir
        .store()?
        .stats()
        .map_err(|e| CliError::new("store", e.to_string()))?;
    if json {
        return print_json(&serde_json::json!({ "lists": stats }));
    }
    if stats.is_empty() {
        println!("no lists");
    }
    for s in &stats {
        let by_type: Vec<String> = s.by_type.iter().map(|(t, n)| format!("{t} {n}")).collect();
        println!(
            "{:<20} epoch {:<3} entries {:<9} tags {:<9} ({})",
            s.list.as_str(),
            s.epoch,
            s.entries,
            s.tags,
            by_type.join(", ")
        );
    }
    Ok(())
}

/// The bundled sample lists (`node/samples/`): (file name, list, identifier type, contents).
const SAMPLES: &[(&str, &str, IdType, &str)] = &[
    (
        "bank_a_fraud_txn_cn_id.csv",
        ListId::FRAUD_TXN,
        IdType::CnId,
        include_str!("../samples/bank_a_fraud_txn_cn_id.csv"),
    ),
    (
        "bank_a_high_risk_account_bank_card.csv",
        ListId::HIGH_RISK_ACCOUNT,
        IdType::BankCard,
        include_str!("../samples/bank_a_high_risk_account_bank_card.csv"),
    ),
    (
        "bank_a_marketing_abuse_phone.csv",
        ListId::MARKETING_ABUSE,
        IdType::Phone,
        include_str!("../samples/bank_a_marketing_abuse_phone.csv"),
    ),
    (
        "bank_c_credit_overdue_cn_id_with_errors.csv",
        ListId::CREDIT_OVERDUE,
        IdType::CnId,
        include_str!("../samples/bank_c_credit_overdue_cn_id_with_errors.csv"),
    ),
];

fn demo(data: Option<&Path>) -> Result<(), CliError> {
    let tmp = match data {
        Some(p) => p.to_owned(),
        None => tempdir()?,
    };
    let root = if data.is_some() {
        tmp.clone()
    } else {
        tmp.join("bank-a")
    };
    let name = MemberName::parse("bank-a").map_err(|e| CliError::new("internal", e.to_string()))?;
    let dir = DataDir::init(&root, name, "127.0.0.1:7400".into(), Role::Member)?;
    println!("initialised member bank-a in {}", root.display());
    let store = dir.store()?;
    let seed = dir.master_seed()?;
    for (file, list, id_type, contents) in SAMPLES {
        let path = root.join(file);
        std::fs::write(&path, contents)
            .map_err(|e| CliError::new("io", format!("{}: {e}", path.display())))?;
        let list = parse_list(list)?;
        let report = import::import_file(&store, &seed, &list, *id_type, &path, Format::Csv)?;
        println!(
            "imported {file} into {}: {} accepted, {} duplicates, {} rejected",
            report.list,
            report.accepted,
            report.duplicates,
            report.rejected.len()
        );
        print_rejections(&report.rejected);
    }
    drop(store);
    stats(&dir, false)?;
    if data.is_none() {
        std::fs::remove_dir_all(&tmp)
            .map_err(|e| CliError::new("io", format!("{}: {e}", tmp.display())))?;
    }
    Ok(())
}

/// A fresh directory under the system temporary directory.
fn tempdir() -> Result<PathBuf, CliError> {
    let mut bytes = [0u8; 8];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    let p = std::env::temp_dir().join(format!("fengxin-demo-{}", hex::encode(bytes)));
    std::fs::create_dir_all(&p)
        .map_err(|e| CliError::new("io", format!("{}: {e}", p.display())))?;
    Ok(p)
}
