//! `fengxin screen --file`: screens every identifier of a CSV or JSON Lines file through the
//! member's node, in batches, and writes one record per (row, member, list) in the input's
//! format.
//!
//! Rows are numbered from 1 at the first data row, as `fengxin-node lists import` numbers
//! them: for CSV, the n-th record after the header; for JSON Lines, the n-th non-blank line. A
//! row that is not a valid identifier is one record with its row number, the identifier as
//! given and the reason; it is never sent. A file-level problem (unreadable, not UTF-8, no
//! `identifier` column or field) fails the command.
//!
//! Memory is bounded whatever the file's size: the file is read twice, once to count and check
//! its rows (so that the progress bar has a total and a file-level problem is found before
//! anything is sent), then again to screen them; at most [`MAX_PENDING`] rows are held at once,
//! and each batch's records are written before the next rows are read.

use fengxin_api::cli::CliError;
use fengxin_api::{ApiRequest, ApiResponse, BatchScreenReport, ErrorKind, HitLabel};
use fengxin_types::{CanonicalId, CivilDate, IdType, ListId, MemberName};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Valid identifiers sent to the node per request.
pub const BATCH: usize = 16_384;
/// Rows (valid and rejected) held before a batch is sent anyway: bounds memory for a file whose
/// rows are mostly invalid.
pub const MAX_PENDING: usize = 4 * BATCH;

/// Input (and output) format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated values with a header row that has an `identifier` column.
    Csv,
    /// One JSON object per line, with an `identifier` string field.
    Jsonl,
}

impl Format {
    /// The format implied by a file name (`.jsonl`/`.ndjson` → JSON Lines, otherwise CSV).
    pub fn from_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("ndjson") => {
                Format::Jsonl
            }
            _ => Format::Csv,
        }
    }
}

/// What `fengxin screen --file` was asked.
#[derive(Debug)]
pub struct FileScreen {
    /// The node's data directory.
    pub node: PathBuf,
    /// The identifiers' type.
    pub id_type: IdType,
    /// The input file.
    pub file: PathBuf,
    /// `--format`, if given (otherwise from the file's extension).
    pub format: Option<Format>,
    /// `--out`, if given (otherwise standard output).
    pub out: Option<PathBuf>,
    /// Only this list.
    pub list: Option<ListId>,
    /// Only these members (all others if empty).
    pub members: Vec<MemberName>,
    /// Print the JSON summary on stdout.
    pub json: bool,
}

/// One data row of the input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// From 1 at the first data row.
    pub row: u64,
    /// The identifier as given (empty if the row has none).
    pub identifier: String,
    /// Why the row cannot be screened; `None` for a valid identifier.
    pub error: Option<String>,
}

/// The data rows of a CSV or JSON Lines file, one at a time. A row-level problem is a [`Row`]
/// with an error; a file-level problem is an `Err` item, after which the iteration ends.
pub struct Rows<R> {
    source: Source<R>,
    name: String,
    id_type: IdType,
    today: CivilDate,
    row: u64,
    /// JSON Lines: whether any row so far is an object with an `identifier` key.
    any_identifier: bool,
    done: bool,
}

enum Source<R> {
    Csv {
        reader: csv::Reader<R>,
        record: csv::ByteRecord,
        /// The `identifier` column's index.
        column: usize,
        /// Columns in the header.
        width: usize,
    },
    Jsonl {
        reader: R,
        line: Vec<u8>,
        first: bool,
    },
}

fn input_error(message: String) -> CliError {
    CliError::new(ErrorKind::InputFile, message)
}

impl Rows<BufReader<File>> {
    /// Opens `path` and, for CSV, reads its header.
    pub fn open(path: &Path, format: Format, id_type: IdType) -> Result<Self, CliError> {
        let file = File::open(path).map_err(|e| {
            CliError::new(
                ErrorKind::Io,
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        Rows::new(
            BufReader::with_capacity(1 << 20, file),
            format,
            id_type,
            path.display().to_string(),
        )
    }
}

impl<R: BufRead> Rows<R> {
    /// Reads rows from `reader` (named `name` in messages); for CSV, reads the header now.
    pub fn new(reader: R, format: Format, id_type: IdType, name: String) -> Result<Self, CliError> {
        let source = match format {
            Format::Csv => {
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(true)
                    .flexible(true)
                    .from_reader(reader);
                let header = reader
                    .byte_headers()
                    .map_err(|e| input_error(format!("cannot read {name}: {e}")))?
                    .clone();
                if header.is_empty() {
                    return Err(input_error(format!("{name} is empty (no header row)")));
                }
                let mut column = None;
                for (i, raw) in header.iter().enumerate() {
                    let text = std::str::from_utf8(raw)
                        .map_err(|_| input_error(format!("{name} is not UTF-8 (header)")))?;
                    if text.trim_start_matches('\u{feff}').trim() == "identifier" {
                        if column.is_some() {
                            return Err(input_error(format!(
                                "{name}: column `identifier` appears twice"
                            )));
                        }
                        column = Some(i);
                    }
                }
                let Some(column) = column else {
                    return Err(input_error(format!(
                        "{name} has no `identifier` column (header: {})",
                        String::from_utf8_lossy(header.as_slice())
                    )));
                };
                Source::Csv {
                    reader,
                    record: csv::ByteRecord::new(),
                    column,
                    width: header.len(),
                }
            }
            Format::Jsonl => Source::Jsonl {
                reader,
                line: Vec::new(),
                first: true,
            },
        };
        Ok(Rows {
            source,
            name,
            id_type,
            today: CivilDate::today_china(),
            row: 0,
            any_identifier: false,
            done: false,
        })
    }

    fn next_row(&mut self) -> Result<Option<Row>, CliError> {
        let name = &self.name;
        let (row, identifier, error) = match &mut self.source {
            Source::Csv {
                reader,
                record,
                column,
                width,
            } => {
                let more = reader
                    .read_byte_record(record)
                    .map_err(|e| input_error(format!("cannot read {name}: {e}")))?;
                if !more {
                    return Ok(None);
                }
                self.row += 1;
                let row = self.row;
                let raw = record.get(*column);
                if record.len() > *width {
                    let given = raw.map(String::from_utf8_lossy).unwrap_or_default();
                    let reason = format!("{} fields, the header has {width}", record.len());
                    (row, given.into_owned(), Some(reason))
                } else {
                    match raw {
                        None => (row, String::new(), Some("missing identifier".to_owned())),
                        Some(raw) => {
                            let text = std::str::from_utf8(raw).map_err(|_| {
                                input_error(format!("{name} is not UTF-8 (row {row})"))
                            })?;
                            (row, text.to_owned(), None)
                        }
                    }
                }
            }
            Source::Jsonl {
                reader,
                line,
                first,
            } => loop {
                line.clear();
                let n = reader.read_until(b'\n', line).map_err(|e| {
                    CliError::new(ErrorKind::Io, format!("cannot read {name}: {e}"))
                })?;
                if n == 0 {
                    if self.row > 0 && !self.any_identifier {
                        return Err(input_error(format!(
                            "{name}: none of its {} rows has an `identifier` field",
                            self.row
                        )));
                    }
                    return Ok(None);
                }
                let text = std::str::from_utf8(line).map_err(|_| {
                    input_error(format!("{name} is not UTF-8 (row {})", self.row + 1))
                })?;
                let text = if std::mem::take(first) {
                    text.trim_start_matches('\u{feff}')
                } else {
                    text
                };
                let text = text.trim();
                if text.is_empty() {
                    continue;
                }
                self.row += 1;
                let (has_identifier, identifier, error) = json_row(text);
                self.any_identifier |= has_identifier;
                break (self.row, identifier, error);
            },
        };
        let error = error.or_else(|| {
            CanonicalId::parse(self.id_type, &identifier, self.today)
                .err()
                .map(|e| e.to_string())
        });
        Ok(Some(Row {
            row,
            identifier,
            error,
        }))
    }
}

/// One JSON Lines row: whether it is an object with an `identifier` key, the identifier as
/// given (empty if it is not a string) and, if the row is malformed, why.
fn json_row(text: &str) -> (bool, String, Option<String>) {
    let mut map = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) => map,
        Ok(_) => return (false, String::new(), Some("expected a JSON object".into())),
        Err(e) => return (false, String::new(), Some(format!("invalid JSON: {e}"))),
    };
    match map.remove("identifier") {
        Some(serde_json::Value::String(s)) => (true, s, None),
        Some(other) => (
            true,
            String::new(),
            Some(format!("identifier: expected a string, got {other}")),
        ),
        None => (false, String::new(), Some("missing identifier".into())),
    }
}

impl<R: BufRead> Iterator for Rows<R> {
    type Item = Result<Row, CliError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_row() {
            Ok(Some(row)) => Some(Ok(row)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// One output record: a (row, member, list) answer, or a rejected row (no member).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record<'a> {
    /// The input row.
    pub row: u64,
    /// The identifier as given.
    pub identifier: &'a str,
    /// The responder (absent for a rejected row).
    pub member: Option<&'a MemberName>,
    /// The responder's list.
    pub list: Option<&'a ListId>,
    /// `hit` or `miss`, only when verified.
    pub result: Option<&'static str>,
    /// `proof` or `snapshot`.
    pub mode: Option<&'static str>,
    /// Whether the answer verified (absent for a rejected row).
    pub verified: Option<bool>,
    /// The entry's label, on a hit that has one.
    pub label: Option<&'a HitLabel>,
    /// Why the row was rejected, or why the member gave no verified answer.
    pub error: Option<String>,
}

impl<'a> Record<'a> {
    /// The record of a row that is not screened.
    pub fn rejected(row: &'a Row) -> Self {
        Record {
            row: row.row,
            identifier: &row.identifier,
            member: None,
            list: None,
            result: None,
            mode: None,
            verified: None,
            label: None,
            error: row.error.clone(),
        }
    }
}

/// CSV columns, in order.
pub const COLUMNS: [&str; 9] = [
    "row",
    "identifier",
    "member",
    "list",
    "result",
    "mode",
    "verified",
    "label",
    "error",
];

/// A label as one CSV field: `reason@added_on`, or `reason` without a date.
pub fn compact_label(label: &HitLabel) -> String {
    match &label.added_on {
        Some(day) => format!("{}@{day}", label.reason),
        None => label.reason.clone(),
    }
}

/// Writes records as CSV (with a header) or JSON Lines.
pub enum RecordWriter<W: Write> {
    /// CSV.
    Csv(Box<csv::Writer<W>>),
    /// JSON Lines.
    Jsonl(W),
}

fn csv_io(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

impl<W: Write> RecordWriter<W> {
    /// A writer in `format`; CSV starts with its header.
    pub fn new(format: Format, out: W) -> std::io::Result<Self> {
        Ok(match format {
            Format::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(COLUMNS).map_err(csv_io)?;
                RecordWriter::Csv(Box::new(w))
            }
            Format::Jsonl => RecordWriter::Jsonl(out),
        })
    }

    /// Writes one record.
    pub fn write(&mut self, r: &Record<'_>) -> std::io::Result<()> {
        match self {
            RecordWriter::Csv(w) => {
                let fields = [
                    r.row.to_string(),
                    r.identifier.to_owned(),
                    r.member.map_or_else(String::new, |m| m.as_str().to_owned()),
                    r.list.map_or_else(String::new, |l| l.as_str().to_owned()),
                    r.result.unwrap_or_default().to_owned(),
                    r.mode.unwrap_or_default().to_owned(),
                    r.verified.map_or_else(String::new, |v| v.to_string()),
                    r.label.map_or_else(String::new, compact_label),
                    r.error.clone().unwrap_or_default(),
                ];
                w.write_record(&fields).map_err(csv_io)
            }
            RecordWriter::Jsonl(w) => {
                serde_json::to_writer(&mut *w, r)?;
                w.write_all(b"\n")
            }
        }
    }

    /// Flushes what is written so far to the underlying writer.
    pub fn flush(&mut self) -> std::io::Result<()> {
        match self {
            RecordWriter::Csv(w) => w.flush(),
            RecordWriter::Jsonl(w) => w.flush(),
        }
    }
}

/// The run's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Data rows read.
    pub rows: u64,
    /// Valid rows sent to the node.
    pub screened: u64,
    /// Rows that are not a valid identifier.
    pub rejected: u64,
    /// (row, member, list) hits.
    pub hits: u64,
}

/// A batch's records, in row order: one per (valid row, result), one per rejected row.
/// Returns the number of hits. `report` answers the valid rows of `rows`, in order.
pub fn write_batch<W: Write>(
    out: &mut RecordWriter<W>,
    rows: &[Row],
    report: &BatchScreenReport,
) -> Result<u64, WriteError> {
    let valid = rows.iter().filter(|r| r.error.is_none()).count();
    if report.count != valid {
        return Err(WriteError::Reply(format!(
            "the node answered {} identifiers of a batch of {valid}",
            report.count
        )));
    }
    // For each result, the label slot of each position: `Some(label)` at a hit.
    let mut hit_at: Vec<Vec<Option<Option<&HitLabel>>>> = Vec::with_capacity(report.results.len());
    for r in &report.results {
        let mut at = vec![None; if r.verified { valid } else { 0 }];
        if r.verified {
            for (i, &pos) in r.hits.iter().enumerate() {
                let slot = at.get_mut(pos).ok_or_else(|| {
                    WriteError::Reply(format!(
                        "{} reported a hit at position {pos} of a batch of {valid}",
                        r.member
                    ))
                })?;
                *slot = Some(r.labels.get(i));
            }
        }
        hit_at.push(at);
    }
    let mut hits = 0;
    let mut pos = 0;
    for row in rows {
        if row.error.is_some() {
            out.write(&Record::rejected(row)).map_err(WriteError::Io)?;
            continue;
        }
        for (r, at) in report.results.iter().zip(&hit_at) {
            let hit = at.get(pos).copied().flatten();
            let result = r
                .verified
                .then_some(if hit.is_some() { "hit" } else { "miss" });
            hits += u64::from(hit.is_some());
            let record = Record {
                row: row.row,
                identifier: &row.identifier,
                member: Some(&r.member),
                list: r.list.as_ref(),
                result,
                mode: r.mode.map(|m| m.as_str()),
                verified: Some(r.verified),
                label: hit.flatten(),
                error: r
                    .error
                    .as_ref()
                    .map(|e| format!("{}: {}", e.kind, e.message)),
            };
            out.write(&record).map_err(WriteError::Io)?;
        }
        pos += 1;
    }
    Ok(hits)
}

/// Why a batch's records could not be written.
#[derive(Debug)]
pub enum WriteError {
    /// The output failed.
    Io(std::io::Error),
    /// The node's reply does not fit the batch.
    Reply(String),
}

/// Why a run stopped early.
enum Halt {
    /// Standard output was closed (`| head`): end quietly, as every command does.
    Closed,
    /// A failure to report.
    Fail(CliError),
}

impl From<CliError> for Halt {
    fn from(e: CliError) -> Self {
        Halt::Fail(e)
    }
}

/// The progress bar on stderr (drawn only when stderr is a terminal).
struct Progress {
    bar: ProgressBar,
}

impl Progress {
    fn counting() -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} counting rows: {human_pos}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress { bar }
    }

    /// Switches to screening: a bar when the total is known, a spinner otherwise.
    fn screening(&self, total: Option<u64>) {
        let template = match total {
            Some(_) => {
                "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} rows \
                 ({per_sec}, ETA {eta})"
            }
            None => "{spinner} [{elapsed_precise}] {human_pos} rows ({per_sec})",
        };
        self.bar.set_style(
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        if let Some(n) = total {
            self.bar.set_length(n);
        }
        // Elapsed time, rate and ETA count from here, not from the counting pass.
        self.bar.reset();
    }

    /// Prints a line on stderr without tearing the bar.
    fn note(&self, line: &str) {
        self.bar.suspend(|| eprintln!("{line}"));
    }
}

/// Where the records go.
fn open_output(out: Option<&Path>) -> Result<Box<dyn Write>, CliError> {
    Ok(match out {
        Some(path) => {
            let file = File::create(path).map_err(|e| {
                CliError::new(
                    ErrorKind::Io,
                    format!("cannot write {}: {e}", path.display()),
                )
            })?;
            Box::new(std::io::BufWriter::with_capacity(1 << 20, file))
        }
        None => Box::new(std::io::BufWriter::with_capacity(
            1 << 16,
            std::io::stdout(),
        )),
    })
}

/// Runs `fengxin screen --file`.
pub fn screen_file(args: FileScreen, development_warning: &str) -> Result<(), CliError> {
    let start = Instant::now();
    let format = args.format.unwrap_or_else(|| Format::from_path(&args.file));
    if let Some(out) = &args.out {
        let same = match (
            std::fs::canonicalize(out),
            std::fs::canonicalize(&args.file),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same {
            return Err(CliError::new(
                ErrorKind::Usage,
                format!("--out {} is the input file", out.display()),
            ));
        }
    }
    let progress = Progress::counting();
    let outcome = run(&args, format, &progress, development_warning);
    match outcome {
        Ok(counts) => {
            progress.bar.finish_and_clear();
            summarise(&args, counts, start.elapsed())
        }
        Err(Halt::Closed) => {
            progress.bar.finish_and_clear();
            Ok(())
        }
        Err(Halt::Fail(e)) => {
            progress.bar.abandon();
            Err(e)
        }
    }
}

/// The first pass: counts the data rows and finds any file-level problem before anything is
/// sent. Only for a regular file (a pipe cannot be read twice).
fn count_rows(args: &FileScreen, format: Format, progress: &Progress) -> Result<u64, CliError> {
    let mut n = 0u64;
    for row in Rows::open(&args.file, format, args.id_type)? {
        row?;
        n += 1;
        if n % 4096 == 0 {
            progress.bar.set_position(n);
        }
    }
    Ok(n)
}

fn run(
    args: &FileScreen,
    format: Format,
    progress: &Progress,
    development_warning: &str,
) -> Result<Counts, Halt> {
    let regular = std::fs::metadata(&args.file).is_ok_and(|m| m.is_file());
    let total = if regular {
        Some(count_rows(args, format, progress)?)
    } else {
        None
    };
    let rows = Rows::open(&args.file, format, args.id_type)?;
    progress.screening(total);
    let mut out = RecordWriter::new(format, open_output(args.out.as_deref())?)
        .map_err(|e| output_error(args, e))?;
    let mut batch = Batcher {
        args,
        progress,
        out: &mut out,
        counts: Counts::default(),
        warned: false,
        development_warning,
    };
    let mut pending: Vec<Row> = Vec::new();
    let mut valid = 0usize;
    for row in rows {
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                let from = pending.first().map_or(batch.counts.rows + 1, |r| r.row);
                return Err(Halt::Fail(CliError::new(
                    e.kind,
                    format!(
                        "{}; rows from {from} on were not screened (the records of earlier \
                         rows are written)",
                        e.message
                    ),
                )));
            }
        };
        if row.error.is_none() {
            valid += 1;
        }
        pending.push(row);
        if valid == BATCH || pending.len() >= MAX_PENDING {
            batch.send(&mut pending)?;
            valid = 0;
        }
    }
    if !pending.is_empty() {
        batch.send(&mut pending)?;
    }
    batch.out.flush().map_err(|e| output_error(args, e))?;
    Ok(batch.counts)
}

/// An output failure: quiet on a closed stdout, an error otherwise.
fn output_error(args: &FileScreen, e: std::io::Error) -> Halt {
    match &args.out {
        None if e.kind() == std::io::ErrorKind::BrokenPipe => Halt::Closed,
        None => Halt::Fail(CliError::new(ErrorKind::Io, format!("stdout: {e}"))),
        Some(path) => Halt::Fail(CliError::new(
            ErrorKind::Io,
            format!("cannot write {}: {e}", path.display()),
        )),
    }
}

/// Sends batches and writes their records.
struct Batcher<'a, W: Write> {
    args: &'a FileScreen,
    progress: &'a Progress,
    out: &'a mut RecordWriter<W>,
    counts: Counts,
    warned: bool,
    development_warning: &'a str,
}

impl<W: Write> Batcher<'_, W> {
    /// Screens the valid rows of `pending`, writes every row's records and empties it.
    fn send(&mut self, pending: &mut Vec<Row>) -> Result<(), Halt> {
        let (Some(first), Some(last)) = (pending.first(), pending.last()) else {
            return Ok(());
        };
        let (first, last) = (first.row, last.row);
        let identifiers: Vec<String> = pending
            .iter()
            .filter(|r| r.error.is_none())
            .map(|r| r.identifier.clone())
            .collect();
        let not_screened = |e: CliError| {
            Halt::Fail(CliError::new(
                e.kind,
                format!(
                    "{}; rows {first} to {last} and any after them were not screened (the \
                     records of earlier rows are written)",
                    e.message
                ),
            ))
        };
        let report = if identifiers.is_empty() {
            BatchScreenReport {
                identifier_type: self.args.id_type,
                count: 0,
                results: Vec::new(),
                development: false,
            }
        } else {
            let sent = identifiers.len() as u64;
            let request = ApiRequest::ScreenBatch {
                id_type: self.args.id_type,
                identifiers,
                list: self.args.list.clone(),
                members: (!self.args.members.is_empty()).then(|| self.args.members.clone()),
                case_reference: None,
            };
            let reply = fengxin_api::call_reply(&self.args.node, &request).map_err(not_screened)?;
            if reply.development && !self.warned {
                self.warned = true;
                self.progress.note(self.development_warning);
            }
            let report = match reply.response {
                ApiResponse::ScreenBatch(r) => r,
                ApiResponse::Error(e) => return Err(not_screened(e)),
                _ => {
                    return Err(not_screened(CliError::new(
                        ErrorKind::Protocol,
                        "unexpected response from the node",
                    )))
                }
            };
            self.counts.screened += sent;
            report
        };
        let hits = match write_batch(self.out, pending, &report) {
            Ok(h) => h,
            Err(WriteError::Io(e)) => return Err(output_error(self.args, e)),
            Err(WriteError::Reply(m)) => {
                return Err(not_screened(CliError::new(ErrorKind::Protocol, m)))
            }
        };
        self.out.flush().map_err(|e| output_error(self.args, e))?;
        self.counts.hits += hits;
        self.counts.rows += pending.len() as u64;
        self.counts.rejected += pending.iter().filter(|r| r.error.is_some()).count() as u64;
        self.progress.bar.inc(pending.len() as u64);
        pending.clear();
        Ok(())
    }
}

/// The summary: JSON on stdout with `--json`, a line on stderr otherwise.
fn summarise(args: &FileScreen, c: Counts, elapsed: Duration) -> Result<(), CliError> {
    let seconds = elapsed.as_secs_f64();
    let rate = if seconds > 0.0 {
        (c.screened as f64 / seconds * 10.0).round() / 10.0
    } else {
        0.0
    };
    if args.json {
        let summary = serde_json::json!({
            "rows": c.rows,
            "screened": c.screened,
            "rejected": c.rejected,
            "hits": c.hits,
            "identifiers_per_second": rate,
        });
        match writeln!(std::io::stdout().lock(), "{summary}") {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                return Err(CliError::new(ErrorKind::Io, format!("stdout: {e}")))
            }
            _ => {}
        }
    } else {
        eprintln!(
            "{} rows: {} screened, {} rejected, {} hits ({rate} identifiers/s){}",
            c.rows,
            c.screened,
            c.rejected,
            c.hits,
            args.out
                .as_ref()
                .map_or_else(String::new, |p| format!("; records in {}", p.display()))
        );
    }
    Ok(())
}

/// Reads all of `text` as rows (for tests and small inputs).
#[cfg(test)]
fn read_all(text: &str, format: Format, id_type: IdType) -> Result<Vec<Row>, CliError> {
    Rows::new(text.as_bytes(), format, id_type, "input".into())?.collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use fengxin_api::{BatchScreenResult, ScreenError, ScreenErrorKind, ScreenMode};

    fn ids(n: usize) -> Vec<String> {
        fengxin_sample::identifiers(IdType::CnId, n, 7).collect()
    }

    #[test]
    fn format_from_extension() {
        assert_eq!(Format::from_path(Path::new("a.jsonl")), Format::Jsonl);
        assert_eq!(Format::from_path(Path::new("a.NDJSON")), Format::Jsonl);
        assert_eq!(Format::from_path(Path::new("a.csv")), Format::Csv);
        assert_eq!(Format::from_path(Path::new("a.txt")), Format::Csv);
        assert_eq!(Format::from_path(Path::new("a")), Format::Csv);
    }

    #[test]
    fn csv_rows_numbered_from_the_first_data_row_blank_lines_skipped() {
        let v = ids(3);
        let text = format!(
            "\u{feff}name,identifier\nalice,{}\n\nbob,{}\n\n\ncarol,\"{}\"\n",
            v[0], v[1], v[2]
        );
        let rows = read_all(&text, Format::Csv, IdType::CnId).unwrap();
        let got: Vec<(u64, &str, bool)> = rows
            .iter()
            .map(|r| (r.row, r.identifier.as_str(), r.error.is_none()))
            .collect();
        assert_eq!(
            got,
            vec![(1, &*v[0], true), (2, &*v[1], true), (3, &*v[2], true)]
        );
    }

    #[test]
    fn csv_bad_rows_are_reported_with_row_and_reason() {
        let v = ids(2);
        let text = format!(
            "identifier,reason\n{},x\nnot-an-id,x\n{},x,extra\n\n,x\n{}\n",
            v[0], v[1], v[1]
        );
        let rows = read_all(&text, Format::Csv, IdType::CnId).unwrap();
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0].error, None);
        assert_eq!((rows[1].row, rows[1].identifier.as_str()), (2, "not-an-id"));
        assert!(rows[1].error.is_some());
        assert_eq!(rows[2].row, 3);
        assert_eq!(rows[2].identifier, v[1]);
        assert_eq!(rows[2].error.as_deref(), Some("3 fields, the header has 2"));
        assert_eq!(rows[3].row, 4);
        assert_eq!(rows[3].identifier, "");
        assert_eq!(rows[3].error.as_deref(), Some("identifier is empty"));
        // Fewer fields than the header is fine while the identifier is there.
        assert_eq!((rows[4].row, rows[4].error.as_deref()), (5, None));

        // The identifier column missing from a short row.
        let rows = read_all("reason,identifier\nx\n", Format::Csv, IdType::CnId).unwrap();
        assert_eq!(rows[0].error.as_deref(), Some("missing identifier"));
    }

    #[test]
    fn csv_file_level_problems_are_errors() {
        for (text, needle) in [
            ("id,reason\n1,2\n", "no `identifier` column"),
            ("", "empty"),
            ("identifier,identifier\n", "twice"),
        ] {
            let e = read_all(text, Format::Csv, IdType::CnId).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InputFile);
            assert!(e.message.contains(needle), "{}", e.message);
        }
        let mut bytes = b"identifier\n".to_vec();
        bytes.extend_from_slice(b"\xff\xfe\n");
        let e = Rows::new(&bytes[..], Format::Csv, IdType::CnId, "f".into())
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap_err();
        assert!(e.message.contains("not UTF-8 (row 1)"), "{}", e.message);
    }

    #[test]
    fn jsonl_rows_and_bad_rows() {
        let v = ids(2);
        let text = format!(
            "{{\"identifier\": \"{}\", \"note\": 1}}\n\n   \n[1,2]\n{{oops\n{{\"identifier\": 5}}\n\
             {{\"name\": \"x\"}}\n{{\"identifier\": \"bad\"}}\n{{\"identifier\": \"{}\"}}",
            v[0], v[1]
        );
        let rows = read_all(&text, Format::Jsonl, IdType::CnId).unwrap();
        let got: Vec<(u64, &str)> = rows
            .iter()
            .map(|r| (r.row, r.identifier.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, &*v[0]),
                (2, ""),
                (3, ""),
                (4, ""),
                (5, ""),
                (6, "bad"),
                (7, &*v[1])
            ]
        );
        assert_eq!(rows[0].error, None);
        assert_eq!(rows[1].error.as_deref(), Some("expected a JSON object"));
        assert!(rows[2]
            .error
            .as_deref()
            .unwrap()
            .starts_with("invalid JSON"));
        assert_eq!(
            rows[3].error.as_deref(),
            Some("identifier: expected a string, got 5")
        );
        assert_eq!(rows[4].error.as_deref(), Some("missing identifier"));
        assert!(rows[5].error.is_some());
        assert_eq!(rows[6].error, None);
    }

    #[test]
    fn jsonl_file_level_problems_are_errors() {
        let e = read_all(
            "{\"id\": \"x\"}\n{\"id\": \"y\"}\n",
            Format::Jsonl,
            IdType::CnId,
        )
        .unwrap_err();
        assert!(
            e.message
                .contains("none of its 2 rows has an `identifier` field"),
            "{}",
            e.message
        );
        let bytes = b"{\"identifier\": \"\xff\"}\n";
        let e = Rows::new(&bytes[..], Format::Jsonl, IdType::CnId, "f".into())
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap_err();
        assert!(e.message.contains("not UTF-8 (row 1)"), "{}", e.message);
        // No rows at all is an empty run, not an error.
        assert!(read_all("\n\n", Format::Jsonl, IdType::CnId)
            .unwrap()
            .is_empty());
    }

    fn result(member: &str, hits: Vec<usize>, labels: Vec<HitLabel>) -> BatchScreenResult {
        BatchScreenResult {
            member: MemberName::parse(member).unwrap(),
            list: Some(ListId::parse("fraud_txn").unwrap()),
            hits,
            verified: true,
            mode: Some(ScreenMode::Snapshot),
            labels,
            root_status: None,
            error: None,
            latency_ms: 1.0,
        }
    }

    fn rows_for_output() -> Vec<Row> {
        vec![
            Row {
                row: 1,
                identifier: "a,\"b\"".into(),
                error: None,
            },
            Row {
                row: 2,
                identifier: "bad, \"one\"".into(),
                error: Some("character ',' is not allowed".into()),
            },
            Row {
                row: 3,
                identifier: "c".into(),
                error: None,
            },
        ]
    }

    fn report() -> BatchScreenReport {
        let mut failed = result("bank-c", vec![], vec![]);
        failed.verified = false;
        failed.mode = Some(ScreenMode::Proof);
        failed.error = Some(ScreenError {
            kind: ScreenErrorKind::from_code("peer_unreachable"),
            reason: Some("timeout".into()),
            message: "no answer".into(),
        });
        BatchScreenReport {
            identifier_type: IdType::CnId,
            count: 2,
            results: vec![
                result(
                    "bank-b",
                    vec![1],
                    vec![HitLabel {
                        reason: "card_fraud".into(),
                        added_on: Some("2024-03-01".into()),
                    }],
                ),
                failed,
            ],
            development: false,
        }
    }

    #[test]
    fn csv_records_quote_identifiers_and_interleave_rejections() {
        let mut buf = Vec::new();
        let hits = {
            let mut w = RecordWriter::new(Format::Csv, &mut buf).unwrap();
            let hits = write_batch(&mut w, &rows_for_output(), &report()).unwrap();
            w.flush().unwrap();
            hits
        };
        assert_eq!(hits, 1);
        let text = String::from_utf8(buf).unwrap();
        let expected = "row,identifier,member,list,result,mode,verified,label,error\n\
            1,\"a,\"\"b\"\"\",bank-b,fraud_txn,miss,snapshot,true,,\n\
            1,\"a,\"\"b\"\"\",bank-c,fraud_txn,,proof,false,,peer_unreachable: no answer\n\
            2,\"bad, \"\"one\"\"\",,,,,,,\"character ',' is not allowed\"\n\
            3,c,bank-b,fraud_txn,hit,snapshot,true,card_fraud@2024-03-01,\n\
            3,c,bank-c,fraud_txn,,proof,false,,peer_unreachable: no answer\n";
        assert_eq!(text, expected);
        // And it reads back as the same fields.
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let first = r.records().next().unwrap().unwrap();
        assert_eq!(&first[1], "a,\"b\"");
    }

    #[test]
    fn jsonl_records_have_every_field() {
        let mut buf = Vec::new();
        {
            let mut w = RecordWriter::new(Format::Jsonl, &mut buf).unwrap();
            write_batch(&mut w, &rows_for_output(), &report()).unwrap();
            w.flush().unwrap();
        }
        let lines: Vec<serde_json::Value> = String::from_utf8(buf)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 5);
        for l in &lines {
            assert_eq!(l.as_object().unwrap().len(), COLUMNS.len(), "{l}");
        }
        assert_eq!(
            lines[0],
            serde_json::json!({"row": 1, "identifier": "a,\"b\"", "member": "bank-b",
                "list": "fraud_txn", "result": "miss", "mode": "snapshot", "verified": true,
                "label": null, "error": null})
        );
        assert_eq!(
            lines[2],
            serde_json::json!({"row": 2, "identifier": "bad, \"one\"", "member": null,
                "list": null, "result": null, "mode": null, "verified": null, "label": null,
                "error": "character ',' is not allowed"})
        );
        assert_eq!(lines[3]["result"], "hit");
        assert_eq!(
            lines[3]["label"],
            serde_json::json!({"reason": "card_fraud", "added_on": "2024-03-01"})
        );
        assert_eq!(lines[4]["result"], serde_json::Value::Null);
        assert_eq!(lines[4]["verified"], false);
        assert_eq!(lines[4]["error"], "peer_unreachable: no answer");
    }

    #[test]
    fn a_hit_without_a_label_and_a_bad_reply() {
        let rows = vec![Row {
            row: 1,
            identifier: "x".into(),
            error: None,
        }];
        let mut ok = report();
        ok.count = 1;
        ok.results = vec![result("bank-b", vec![0], vec![])];
        let mut buf = Vec::new();
        let mut w = RecordWriter::new(Format::Csv, &mut buf).unwrap();
        assert_eq!(write_batch(&mut w, &rows, &ok).unwrap(), 1);
        let mut bad = ok.clone();
        bad.results[0].hits = vec![3];
        assert!(matches!(
            write_batch(&mut w, &rows, &bad),
            Err(WriteError::Reply(_))
        ));
        bad.count = 2;
        assert!(matches!(
            write_batch(&mut w, &rows, &bad),
            Err(WriteError::Reply(_))
        ));
        w.flush().unwrap();
        drop(w);
        let text = String::from_utf8(buf).unwrap();
        assert!(
            text.ends_with("1,x,bank-b,fraud_txn,hit,snapshot,true,,\n"),
            "{text}"
        );
    }

    #[test]
    fn only_rejected_rows_need_no_node() {
        let rows = vec![Row {
            row: 4,
            identifier: String::new(),
            error: Some("missing identifier".into()),
        }];
        let empty = BatchScreenReport {
            identifier_type: IdType::CnId,
            count: 0,
            results: vec![],
            development: false,
        };
        let mut buf = Vec::new();
        let mut w = RecordWriter::new(Format::Csv, &mut buf).unwrap();
        assert_eq!(write_batch(&mut w, &rows, &empty).unwrap(), 0);
        w.flush().unwrap();
        drop(w);
        assert!(String::from_utf8(buf)
            .unwrap()
            .ends_with("4,,,,,,,,missing identifier\n"));
    }
}
