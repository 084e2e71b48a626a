//! The `fengxin-node` command line (see docs/cli.md).
//!
//! Every command exits 0 on success and non-zero with a one-line reason on stderr otherwise;
//! with `--json`, errors are also printed on stdout as `{"error": {"kind", "message"}}`
//! (the plumbing is `fengxin_api::cli`, shared with the `fengxin` client).

use crate::datadir::{DataDir, Role};
use crate::import::{self, Format};
use clap::{Args, Parser, Subcommand};
use fengxin_api::cli::drive;
pub use fengxin_api::cli::{print_json, CliError};
use fengxin_api::ErrorKind;
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
    /// Prove hit or miss for one tag (or identifier) against a list's current tree.
    Prove {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// List id.
        #[arg(long)]
        list: String,
        /// The tag (62 hex digits).
        #[arg(long, conflicts_with_all = ["id_type", "identifier"], required_unless_present = "identifier")]
        tag: Option<String>,
        /// Identifier type (with --identifier).
        #[arg(long = "id-type", requires = "identifier")]
        id_type: Option<String>,
        /// An identifier, tagged with the list's current key.
        #[arg(long, requires = "id_type")]
        identifier: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Assemble the consortium's genesis from members' public member.json files.
    Genesis {
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// Member data directories (or their member.json files).
        #[arg(long = "member", required = true, num_args = 1..)]
        members: Vec<PathBuf>,
        /// Regulator data directories (or member.json files).
        #[arg(long = "regulator")]
        regulators: Vec<PathBuf>,
        /// The credit scheme's parameters as a JSON file (docs/credits.md); the defaults
        /// otherwise.
        #[arg(long)]
        credits: Option<PathBuf>,
        /// The circuit keys genesis pins: a parameter directory, or a data directory with
        /// imported keys (default: $FENGXIN_PARAMS or the keys built into this binary).
        #[arg(long)]
        params: Option<PathBuf>,
        /// A development consortium: its nodes may run on the public development keys (with
        /// which anyone can forge proofs) and say so in every output. Refused otherwise.
        #[arg(long)]
        development: bool,
    },
    /// Run the node: QUIC peer endpoint and local API.
    Run {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Genesis file.
        #[arg(long)]
        genesis: PathBuf,
        /// Log lines on stderr: for people, or one JSON object per line.
        #[arg(long, value_enum, default_value_t = crate::daemon::LogFormat::Human)]
        log_format: crate::daemon::LogFormat,
    },
    /// Circuit parameters: development setup and checks against the manifest.
    Params {
        #[command(subcommand)]
        command: ParamsCommand,
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
        /// Tags in the tree built by the proof and tree benchmarks.
        #[arg(long, default_value_t = 1_000_000)]
        tree_tags: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A local consortium on loopback: three members, sample lists, screening with proofs.
    Demo {
        /// Keep the data directory here instead of a temporary one.
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum ParamsCommand {
    /// Run the deterministic development setup and write the keys and their manifest
    /// (development keys: not for production; production keys come from a ceremony).
    Setup {
        /// Output directory (default: $FENGXIN_PARAMS or the source tree's params/).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Load both keys, refusing any whose hash differs from the manifest (generating the
    /// development proving key on first use), and print the manifest.
    Check {
        /// The node whose keys to check (its imported keys, else the default directory).
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Import production keys (a ceremony's output) into a data directory, after checking
    /// that they decode, belong together, fit this build's circuit, prove and verify, and are
    /// not the development keys. Genesis then pins their verifying key.
    Import {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Proving key file (uncompressed, as membership.pk).
        #[arg(long)]
        pk: PathBuf,
        /// Verifying key file (compressed, as membership.vk).
        #[arg(long)]
        vk: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum ListsCommand {
    /// Import a CSV or JSON Lines file into a list.
    ///
    /// Prints `accepted` (entries stored), `duplicates` (valid rows already stored, or repeated
    /// in the file: stored once) and `rejected` (rows not stored, each with its row, field and
    /// reason; rows are numbered from 1 at the first data row, blank lines not counted). On big
    /// files, `staged N rows` lines on stderr report progress; nothing is committed until the
    /// whole file has been read.
    Import(ListFileArgs),
    /// Remove the identifiers listed in a file from a list.
    ///
    /// Only the `identifier` column is read; `reason`, `added_on` and `source_ref` are ignored.
    /// Prints the same fields as import: `accepted` counts rows whose entry was removed,
    /// `duplicates` rows repeating an identifier already removed by an earlier row, and
    /// `rejected` rows whose identifier is missing or invalid; also `removed` (= `accepted`) and
    /// `not_found` (valid identifiers not on the list). Each data row is counted once.
    Remove(ListFileArgs),
    /// Sign and store a publication of every list's (epoch, root, OPRF public key).
    Publish {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Set who may hold a list's snapshot: `shared` (the default: queriers fetch the padded
    /// snapshot and screen it locally) or `proof_only` (every answer a proof). Takes effect at
    /// the list's next publication; stop the node first (it holds the database).
    Policy {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// The list.
        #[arg(long, value_parser = parse_list_arg)]
        list: ListId,
        /// `shared` or `proof_only`.
        #[arg(long, value_parser = parse_policy_arg)]
        policy: fengxin_types::ListPolicy,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Start every list's next epoch under a new key (node stopped): ratchets the OPRF master
    /// seed to its next generation and erases the old one, re-tags every entry from the raw
    /// lists with the new epoch's key, and signs the new epochs' publications (the node
    /// submits them when it starts; queriers replace their held copies). Keys of earlier
    /// epochs cannot be derived from the new seed. Run again after an interruption, it
    /// finishes the rotation without ratcheting twice.
    Rotate {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
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
    #[arg(long = "id-type", value_parser = id_type_arg)]
    id_type: IdType,
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

/// Runs `fengxin-node`.
pub fn main() -> ExitCode {
    drive(|c: &Cli| c.command.json(), |c| run(c.command))
}

impl Command {
    fn json(&self) -> bool {
        match self {
            Command::Init { json, .. }
            | Command::Bench { json, .. }
            | Command::Prove { json, .. } => *json,
            Command::Lists { command } => match command {
                ListsCommand::Import(a) | ListsCommand::Remove(a) => a.json,
                ListsCommand::Stats { json, .. }
                | ListsCommand::Publish { json, .. }
                | ListsCommand::Rotate { json, .. }
                | ListsCommand::Policy { json, .. } => *json,
            },
            Command::Sample { .. }
            | Command::Params { .. }
            | Command::Demo { .. }
            | Command::Genesis { .. }
            | Command::Run { .. } => false,
        }
    }
}

fn parse_list_arg(s: &str) -> Result<ListId, String> {
    ListId::parse(s).map_err(|e| e.to_string())
}

fn parse_policy_arg(s: &str) -> Result<fengxin_types::ListPolicy, String> {
    match s {
        "shared" => Ok(fengxin_types::ListPolicy::Shared),
        "proof_only" => Ok(fengxin_types::ListPolicy::ProofOnly),
        other => Err(format!("{other:?}: expected shared or proof_only")),
    }
}

fn parse_list(s: &str) -> Result<ListId, CliError> {
    ListId::parse(s).map_err(|e| CliError::new(ErrorKind::Usage, format!("--list {s:?}: {e}")))
}

/// clap value parser for `--id-type`: an unknown type is an argument error naming the types.
fn id_type_arg(s: &str) -> Result<IdType, String> {
    s.parse::<IdType>().map_err(|e| {
        let known: Vec<&str> = IdType::ALL.iter().map(|t| t.as_str()).collect();
        format!("{e} (expected one of {})", known.join(", "))
    })
}

fn parse_id_type(s: &str) -> Result<IdType, CliError> {
    s.parse::<IdType>()
        .map_err(|e| CliError::new(ErrorKind::Usage, format!("--id-type: {e}")))
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
            let name = MemberName::parse(&member).map_err(|e| {
                CliError::new(ErrorKind::Usage, format!("--member {member:?}: {e}"))
            })?;
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
        Command::Genesis {
            out,
            members,
            regulators,
            credits,
            params,
            development,
        } => {
            let read = |paths: &[PathBuf]| -> Result<Vec<fengxin_api::MemberFile>, CliError> {
                paths.iter().map(|p| read_member_file(p)).collect()
            };
            let params = match params {
                Some(p) if p.join(crate::publish::PARAMS_SUBDIR).is_dir() => {
                    p.join(crate::publish::PARAMS_SUBDIR)
                }
                Some(p) => p,
                None => crate::publish::params_dir()?,
            };
            let mut genesis = crate::genesis::Genesis::assemble(
                &read(&members)?,
                &read(&regulators)?,
                &params,
                development,
            )?;
            if let Some(path) = credits {
                let usage = |e: &dyn std::fmt::Display| {
                    CliError::new(
                        ErrorKind::Usage,
                        format!("--credits {}: {e}", path.display()),
                    )
                };
                let bytes = std::fs::read(&path).map_err(|e| usage(&e))?;
                genesis.credits = serde_json::from_slice(&bytes).map_err(|e| usage(&e))?;
            }
            let mut text = serde_json::to_string_pretty(&genesis)
                .map_err(|e| CliError::new(ErrorKind::Internal, e.to_string()))?;
            text.push('\n');
            std::fs::write(&out, text)
                .map_err(|e| CliError::new(ErrorKind::Io, format!("{}: {e}", out.display())))?;
            println!(
                "genesis with {} members and {} regulators written to {}{}",
                genesis.members.len(),
                genesis.regulators.len(),
                out.display(),
                if genesis.development {
                    " (development consortium: public development keys, never for production)"
                } else {
                    ""
                }
            );
            Ok(())
        }
        Command::Run {
            data,
            genesis,
            log_format,
        } => crate::daemon::run(&data, &genesis, log_format),
        Command::Params { command } => {
            let dir = match &command {
                ParamsCommand::Setup { out: Some(o) } => o.clone(),
                ParamsCommand::Check { data: Some(d) } => crate::publish::params_dir_for(d)?,
                ParamsCommand::Import { data, .. } => data.join(crate::publish::PARAMS_SUBDIR),
                _ => crate::publish::params_dir()?,
            };
            let params =
                |e: &dyn std::fmt::Display| CliError::new(ErrorKind::Params, e.to_string());
            let manifest = match command {
                ParamsCommand::Setup { .. } => {
                    fengxin_proofs::keys::write_development_params(&dir).map_err(|e| params(&e))?
                }
                ParamsCommand::Import { data, pk, vk } => {
                    DataDir::open(&data)?;
                    let read = |p: &PathBuf| {
                        std::fs::read(p).map_err(|e| {
                            CliError::new(ErrorKind::Io, format!("{}: {e}", p.display()))
                        })
                    };
                    fengxin_proofs::keys::import_keys(&read(&pk)?, &read(&vk)?, &dir)
                        .map_err(|e| params(&e))?
                }
                ParamsCommand::Check { .. } => {
                    let prover = fengxin_proofs::keys::load_prover(&dir).map_err(|e| params(&e))?;
                    println!(
                        "proving key loaded: {} constraints",
                        prover.num_constraints()
                    );
                    fengxin_proofs::keys::Manifest::load(&dir).map_err(|e| params(&e))?
                }
            };
            print_json(&manifest)
        }
        Command::Prove {
            data,
            list,
            tag,
            id_type,
            identifier,
            json,
        } => {
            let list = parse_list(&list)?;
            let target = match (tag, id_type, identifier) {
                (Some(t), _, _) => crate::publish::ProveTarget::Tag(
                    fengxin_types::Tag::from_hex(&t)
                        .map_err(|e| CliError::new(ErrorKind::Usage, format!("--tag: {e}")))?,
                ),
                (None, Some(t), Some(v)) => {
                    crate::publish::ProveTarget::Identifier(parse_id_type(&t)?, v)
                }
                _ => {
                    return Err(CliError::new(
                        ErrorKind::Usage,
                        "give --tag or --id-type with --identifier",
                    ))
                }
            };
            let dir = DataDir::open(&data)?;
            let out = crate::publish::prove(&dir, &list, target)?;
            if json {
                print_json(&out)
            } else {
                println!(
                    "{} epoch {}: {} (root {}, tag {})\nproof {}",
                    out.list, out.epoch, out.result, out.root, out.tag, out.proof
                );
                Ok(())
            }
        }
        Command::Sample {
            id_type,
            count,
            seed,
            out,
        } => {
            let id_type = parse_id_type(&id_type)?;
            let file = std::fs::File::create(&out)
                .map_err(|e| CliError::new(ErrorKind::Io, format!("{}: {e}", out.display())))?;
            let mut w = std::io::BufWriter::new(file);
            fengxin_sample::write_csv(&mut w, id_type, count, seed)
                .map_err(|e| CliError::new(ErrorKind::Io, format!("{}: {e}", out.display())))?;
            std::io::Write::flush(&mut w)
                .map_err(|e| CliError::new(ErrorKind::Io, format!("{}: {e}", out.display())))?;
            Ok(())
        }
        Command::Bench {
            which,
            rows,
            tree_tags,
            json,
        } => crate::bench::run(which, rows, tree_tags, json),
        Command::Demo { data } => crate::demo::run(data.as_deref()),
    }
}

fn run_lists(command: ListsCommand) -> Result<(), CliError> {
    match command {
        ListsCommand::Import(a) => {
            let (dir, list, id_type, format) = open_for_file(&a)?;
            let store = dir.store()?;
            let report = import::import_file_with_progress(
                &store,
                &dir.master_seed()?,
                &list,
                id_type,
                &a.file,
                format,
                &mut print_staged,
            )?;
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
            let report = import::remove_file_with_progress(
                &store,
                &dir.master_seed()?,
                &list,
                id_type,
                &a.file,
                format,
                &mut print_staged,
            )?;
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
        ListsCommand::Publish { data, json } => {
            let dir = DataDir::open(&data)?;
            // A running node holds the database: it signs and submits the publications itself.
            let published = if data.join(fengxin_api::SOCKET).exists() {
                match fengxin_api::call(&data, &fengxin_api::ApiRequest::Publish) {
                    Ok(fengxin_api::ApiResponse::Published(p)) => p,
                    Ok(fengxin_api::ApiResponse::Error(e)) => return Err(e),
                    Ok(_) => return Err(CliError::new(ErrorKind::Protocol, "unexpected response")),
                    Err(_) => crate::publish::publish(&dir)?,
                }
            } else {
                crate::publish::publish(&dir)?
            };
            if json {
                return print_json(&published);
            }
            for p in &published {
                println!(
                    "{:<20} epoch {:<3} root {} oprf key {} {}",
                    p.list.as_str(),
                    p.epoch,
                    p.root,
                    p.oprf_public_key,
                    p.snapshot_entries
                        .map_or("proof_only".to_owned(), |n| format!(
                            "shared ({n} entries with padding)"
                        ))
                );
            }
            Ok(())
        }
        ListsCommand::Policy {
            data,
            list,
            policy,
            json,
        } => {
            let dir = DataDir::open(&data)?;
            let found = dir
                .store()?
                .set_policy(&list, policy)
                .map_err(|e| CliError::new(ErrorKind::Store, e.to_string()))?;
            if !found {
                return Err(CliError::new(
                    ErrorKind::NotFound,
                    format!("no list {list} on this node"),
                ));
            }
            if json {
                return print_json(&serde_json::json!({ "list": list, "policy": policy }));
            }
            println!("{list}: {} from its next publication", policy.as_str());
            Ok(())
        }
        ListsCommand::Rotate { data, json } => {
            let dir = DataDir::open(&data)?;
            let report = crate::publish::rotate(&dir)?;
            if json {
                return print_json(&report);
            }
            println!(
                "seed generation {}{}",
                report.generation,
                if report.ratcheted {
                    " (ratcheted; the old seed is erased)"
                } else {
                    " (finished an interrupted rotation)"
                }
            );
            for r in &report.rotated {
                println!(
                    "{:<20} epoch {} -> {}  {} entries re-tagged  root {}",
                    r.list.as_str(),
                    r.from,
                    r.to,
                    r.entries,
                    r.root
                );
            }
            println!(
                "{} publications signed; start the node to submit them",
                report.published.len()
            );
            Ok(())
        }
        ListsCommand::Stats { data, json } => {
            let dir = DataDir::open(&data)?;
            stats(&dir, json)
        }
    }
}

fn read_member_file(path: &Path) -> Result<fengxin_api::MemberFile, CliError> {
    let file = if path.is_dir() {
        path.join("member.json")
    } else {
        path.to_owned()
    };
    let bytes = std::fs::read(&file)
        .map_err(|e| CliError::new(ErrorKind::Io, format!("{}: {e}", file.display())))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| CliError::new(ErrorKind::Genesis, format!("{}: {e}", file.display())))
}

/// Progress on stderr (stdout carries only the report): rows staged in the uncommitted
/// transaction so far.
fn print_staged(rows: u64) {
    eprintln!("staged {rows} rows");
}

fn open_for_file(a: &ListFileArgs) -> Result<(DataDir, ListId, IdType, Format), CliError> {
    let list = parse_list(&a.list)?;
    let id_type = a.id_type;
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
        .map_err(|e| CliError::new(ErrorKind::Store, e.to_string()))?;
    if json {
        return print_json(&serde_json::json!({ "lists": stats }));
    }
    if stats.is_empty() {
        println!("no lists");
    }
    for s in &stats {
        let by_type: Vec<String> = s.by_type.iter().map(|(t, n)| format!("{t} {n}")).collect();
        println!(
            "{:<20} epoch {:<3} generation {:<3} entries {:<9} tags {:<9} {:<10} ({})",
            s.list.as_str(),
            s.epoch,
            s.generation,
            s.entries,
            s.tags,
            s.policy.as_str(),
            by_type.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CLI.md lists `bench [proofs|oprf|tree|all]`: each is accepted.
    #[test]
    fn bench_accepts_every_documented_target() {
        for which in ["proofs", "oprf", "tree", "all"] {
            let cli = Cli::try_parse_from(["fengxin-node", "bench", which, "--json"])
                .unwrap_or_else(|e| panic!("bench {which}: {e}"));
            assert!(matches!(cli.command, Command::Bench { json: true, .. }));
        }
        let cli = Cli::try_parse_from(["fengxin-node", "bench", "tree", "--tree-tags", "1000"])
            .expect("bench tree --tree-tags");
        assert!(matches!(
            cli.command,
            Command::Bench {
                which: crate::bench::Which::Tree,
                tree_tags: 1000,
                ..
            }
        ));
    }
}
