//! Reading list files (CSV or JSON Lines) into a list, row by row, all in one transaction.
//!
//! Every data row is either stored canonicalised or reported as a [`Rejection`] with its row
//! number, field and reason. Rows are numbered from 1 at the first data row, the same way in
//! both formats: blank lines are not data rows. For CSV, the n-th record after the header; for
//! JSON Lines, the n-th non-blank line.
//! A file-level problem (unreadable, not UTF-8, no `identifier` column, unknown column, a JSON
//! Lines file none of whose rows has an `identifier` field) stores nothing: the write
//! transaction is dropped uncommitted.
//!
//! Columns (CSV header or JSON keys): `identifier` (required), `reason`, `added_on`
//! (YYYY-MM-DD), `source_ref` (optional; an empty value means absent). Removal needs only the
//! identifier: the other columns are ignored, so a malformed `reason` never blocks a removal.
//!
//! Valid rows are staged in the transaction in chunks of [`CHUNK`] rows; the `_with_progress`
//! variants report the running count after each full chunk, before anything is committed.

use fengxin_crypto::MasterSeed;
use fengxin_store::{ListWriter, NewEntry, Store, StoreError};
use fengxin_types::id::CivilDate;
use fengxin_types::{CanonicalId, IdType, ListId};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Rows handed to the database per batch (tagging runs in parallel within a batch).
pub const CHUNK: usize = 65_536;
/// Longest accepted `reason` / `source_ref`, in characters.
const MAX_TEXT: usize = 128;

/// Input file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl Format {
    /// The format implied by a file name (`.jsonl`/`.ndjson` → JSON Lines, otherwise CSV).
    pub fn from_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("jsonl" | "ndjson") => Format::Jsonl,
            _ => Format::Csv,
        }
    }
}

pub use fengxin_api::{ImportReport, Rejection, RemoveReport};

/// A file-level failure: nothing was stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not UTF-8.
    #[error("{path} is not UTF-8 (row {row}); nothing was stored")]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// The first offending row (0 for the header).
        row: u64,
    },
    /// The CSV header has no `identifier` column.
    #[error("{path} has no `identifier` column (header: {header}); nothing was stored")]
    NoIdentifierColumn {
        /// The file.
        path: PathBuf,
        /// The header found.
        header: String,
    },
    /// The CSV header names a column this format does not define.
    #[error("{path}: unknown column `{column}` (expected identifier, reason, added_on, source_ref); nothing was stored")]
    UnknownColumn {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
    },
    /// The CSV header names a column twice.
    #[error("{path}: column `{column}` appears twice; nothing was stored")]
    DuplicateColumn {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
    },
    /// The file is empty (no header).
    #[error("{path} is empty (no header row); nothing was stored")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A JSON Lines file has data rows but none of them has an `identifier` field (the file is
    /// not a list of identifiers, or names the field differently).
    #[error("{path}: none of its {rows} rows has an `identifier` field; nothing was stored")]
    NoIdentifierField {
        /// The file.
        path: PathBuf,
        /// Data rows read.
        rows: u64,
    },
    /// The database failed; nothing was stored.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One valid data row.
struct Row {
    entry: NewEntry,
}

/// What the rows are read for: removal needs only the identifier.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Import,
    Remove,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    Identifier,
    Reason,
    AddedOn,
    SourceRef,
}

impl Column {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "identifier" => Some(Self::Identifier),
            "reason" => Some(Self::Reason),
            "added_on" => Some(Self::AddedOn),
            "source_ref" => Some(Self::SourceRef),
            _ => None,
        }
    }
}

/// Imports `path` into `list`. One transaction: on a file-level error nothing is stored.
pub fn import_file(
    store: &Store,
    seed: &MasterSeed,
    list: &ListId,
    id_type: IdType,
    path: &Path,
    format: Format,
) -> Result<ImportReport, ImportError> {
    import_file_with_progress(store, seed, list, id_type, path, format, &mut |_| {})
}

/// [`import_file`], calling `staged` with the number of valid rows staged so far after each
/// full chunk of [`CHUNK`] rows has been written to the (not yet committed) transaction.
pub fn import_file_with_progress(
    store: &Store,
    seed: &MasterSeed,
    list: &ListId,
    id_type: IdType,
    path: &Path,
    format: Format,
    staged: &mut dyn FnMut(u64),
) -> Result<ImportReport, ImportError> {
    let mut writer = store.writer(list, seed)?;
    let mut report = ImportReport {
        list: list.clone(),
        accepted: 0,
        duplicates: 0,
        rejected: Vec::new(),
    };
    let reader = RowReader {
        path,
        format,
        id_type,
        purpose: Purpose::Import,
    };
    report.rejected = reader.read(
        &mut writer,
        |w, rows| {
            let out = w.add(rows.into_iter().map(|r| r.entry).collect())?;
            report.accepted += out.accepted;
            report.duplicates += out.duplicates;
            Ok(())
        },
        staged,
    )?;
    writer.commit()?;
    Ok(report)
}

/// Removes the identifiers listed in `path` from `list`. One transaction.
///
/// Only the `identifier` column matters: `reason`, `added_on` and `source_ref` are ignored.
pub fn remove_file(
    store: &Store,
    seed: &MasterSeed,
    list: &ListId,
    id_type: IdType,
    path: &Path,
    format: Format,
) -> Result<RemoveReport, ImportError> {
    remove_file_with_progress(store, seed, list, id_type, path, format, &mut |_| {})
}

/// [`remove_file`], calling `staged` as [`import_file_with_progress`] does.
pub fn remove_file_with_progress(
    store: &Store,
    seed: &MasterSeed,
    list: &ListId,
    id_type: IdType,
    path: &Path,
    format: Format,
    staged: &mut dyn FnMut(u64),
) -> Result<RemoveReport, ImportError> {
    let mut writer = store.writer(list, seed)?;
    let mut report = RemoveReport {
        list: list.clone(),
        accepted: 0,
        duplicates: 0,
        removed: 0,
        not_found: 0,
        rejected: Vec::new(),
    };
    let reader = RowReader {
        path,
        format,
        id_type,
        purpose: Purpose::Remove,
    };
    report.rejected = reader.read(
        &mut writer,
        |w, rows| {
            let out = w.remove(rows.into_iter().map(|r| r.entry.id).collect())?;
            report.accepted += out.removed;
            report.removed += out.removed;
            report.duplicates += out.duplicates;
            report.not_found += out.not_found;
            Ok(())
        },
        staged,
    )?;
    writer.commit()?;
    Ok(report)
}

/// One input file and how to read its rows.
struct RowReader<'a> {
    path: &'a Path,
    format: Format,
    id_type: IdType,
    purpose: Purpose,
}

/// The callback each parsed data row is handed to.
type OnRow<'a> = dyn FnMut(Result<Row, Rejection>) -> Result<(), StoreError> + 'a;

impl RowReader<'_> {
    /// Streams valid rows to `sink` in chunks (calling `staged` after each full chunk) and
    /// returns the rejections.
    fn read(
        &self,
        writer: &mut ListWriter,
        mut sink: impl FnMut(&mut ListWriter, Vec<Row>) -> Result<(), StoreError>,
        staged: &mut dyn FnMut(u64),
    ) -> Result<Vec<Rejection>, ImportError> {
        let file = File::open(self.path).map_err(|source| ImportError::Read {
            path: self.path.to_owned(),
            source,
        })?;
        let reader = BufReader::with_capacity(1 << 20, file);
        let mut rejected = Vec::new();
        let mut chunk = Vec::with_capacity(CHUNK);
        let mut total: u64 = 0;
        let mut on_row = |outcome: Result<Row, Rejection>| -> Result<(), StoreError> {
            match outcome {
                Ok(row) => {
                    chunk.push(row);
                    if chunk.len() >= CHUNK {
                        total += chunk.len() as u64;
                        sink(writer, std::mem::take(&mut chunk))?;
                        staged(total);
                    }
                }
                Err(r) => rejected.push(r),
            }
            Ok(())
        };
        match self.format {
            Format::Csv => self.read_csv(reader, &mut on_row)?,
            Format::Jsonl => self.read_jsonl(reader, &mut on_row)?,
        }
        if !chunk.is_empty() {
            sink(writer, chunk)?;
        }
        Ok(rejected)
    }

    fn read_csv<R: Read>(&self, reader: R, on_row: &mut OnRow<'_>) -> Result<(), ImportError> {
        let path = self.path;
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(reader);
        let read_err = |e: csv::Error| ImportError::Read {
            path: path.to_owned(),
            source: std::io::Error::other(e.to_string()),
        };
        let header = csv.byte_headers().map_err(read_err)?.clone();
        if header.is_empty() {
            return Err(ImportError::Empty {
                path: path.to_owned(),
            });
        }
        let mut columns = Vec::with_capacity(header.len());
        for raw in header.iter() {
            let name = std::str::from_utf8(raw).map_err(|_| ImportError::NotUtf8 {
                path: path.to_owned(),
                row: 0,
            })?;
            let name = name.trim_start_matches('\u{feff}').trim();
            let col = Column::parse(name).ok_or_else(|| ImportError::UnknownColumn {
                path: path.to_owned(),
                column: name.to_owned(),
            })?;
            if columns.contains(&col) {
                return Err(ImportError::DuplicateColumn {
                    path: path.to_owned(),
                    column: name.to_owned(),
                });
            }
            columns.push(col);
        }
        if !columns.contains(&Column::Identifier) {
            return Err(ImportError::NoIdentifierColumn {
                path: path.to_owned(),
                header: String::from_utf8_lossy(header.as_slice()).into_owned(),
            });
        }
        let mut record = csv::ByteRecord::new();
        let mut row: u64 = 0;
        while csv.read_byte_record(&mut record).map_err(read_err)? {
            row += 1;
            let mut fields = Fields::default();
            if record.len() > columns.len() {
                on_row(Err(Rejection {
                    row,
                    field: "row".into(),
                    reason: format!("{} fields, the header has {}", record.len(), columns.len()),
                }))?;
                continue;
            }
            for (col, raw) in columns.iter().zip(record.iter()) {
                let text = std::str::from_utf8(raw).map_err(|_| ImportError::NotUtf8 {
                    path: path.to_owned(),
                    row,
                })?;
                fields.set(*col, text.to_owned());
            }
            on_row(fields.into_row(row, self.id_type, self.purpose))?;
        }
        Ok(())
    }

    /// Reads JSON Lines. Blank lines are skipped and not numbered, as CSV's are. If there are
    /// data rows and none of them has an `identifier` key, that is a file-level error.
    fn read_jsonl<R: BufRead>(
        &self,
        mut reader: R,
        on_row: &mut OnRow<'_>,
    ) -> Result<(), ImportError> {
        let path = self.path;
        let mut line = Vec::new();
        let mut row: u64 = 0;
        let mut first_line = true;
        let mut any_identifier = false;
        loop {
            line.clear();
            let n = reader
                .read_until(b'\n', &mut line)
                .map_err(|source| ImportError::Read {
                    path: path.to_owned(),
                    source,
                })?;
            if n == 0 {
                break;
            }
            let text = std::str::from_utf8(&line).map_err(|_| ImportError::NotUtf8 {
                path: path.to_owned(),
                row: row + 1,
            })?;
            let text = if first_line {
                first_line = false;
                text.trim_start_matches('\u{feff}')
            } else {
                text
            };
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            row += 1;
            let (has_identifier, outcome) = self.parse_json_row(text, row);
            any_identifier |= has_identifier;
            on_row(outcome)?;
        }
        if row > 0 && !any_identifier {
            return Err(ImportError::NoIdentifierField {
                path: path.to_owned(),
                rows: row,
            });
        }
        Ok(())
    }

    /// Parses one JSON Lines row; also says whether it is an object with an `identifier` key.
    fn parse_json_row(&self, text: &str, row: u64) -> (bool, Result<Row, Rejection>) {
        let reject = |field: &str, reason: String| Rejection {
            row,
            field: field.to_owned(),
            reason,
        };
        let map = match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(map)) => map,
            Ok(_) => return (false, Err(reject("row", "expected a JSON object".into()))),
            Err(e) => return (false, Err(reject("row", format!("invalid JSON: {e}")))),
        };
        let has_identifier = map.contains_key("identifier");
        let mut fields = Fields::default();
        for (key, v) in map {
            let Some(col) = Column::parse(&key) else {
                let reason = "unknown field (expected identifier, reason, added_on, source_ref)";
                return (has_identifier, Err(reject(&key, reason.into())));
            };
            if self.purpose == Purpose::Remove && col != Column::Identifier {
                continue;
            }
            let text = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => String::new(),
                other => {
                    let reason = format!("expected a string, got {other}");
                    return (has_identifier, Err(reject(&key, reason)));
                }
            };
            fields.set(col, text);
        }
        (
            has_identifier,
            fields.into_row(row, self.id_type, self.purpose),
        )
    }
}

#[derive(Default)]
struct Fields {
    identifier: Option<String>,
    reason: Option<String>,
    added_on: Option<String>,
    source_ref: Option<String>,
}

impl Fields {
    fn set(&mut self, col: Column, value: String) {
        let slot = match col {
            Column::Identifier => &mut self.identifier,
            Column::Reason => &mut self.reason,
            Column::AddedOn => &mut self.added_on,
            Column::SourceRef => &mut self.source_ref,
        };
        *slot = Some(value);
    }

    /// Validates the row. For removal only the identifier is read; the other fields are
    /// ignored, whatever they hold.
    fn into_row(self, row: u64, id_type: IdType, purpose: Purpose) -> Result<Row, Rejection> {
        let reject = |field: &str, reason: String| Rejection {
            row,
            field: field.to_owned(),
            reason,
        };
        let raw = self
            .identifier
            .ok_or_else(|| reject("identifier", "missing".into()))?;
        let id = CanonicalId::parse(id_type, &raw, fengxin_types::CivilDate::today_china())
            .map_err(|e| reject("identifier", e.to_string()))?;
        if purpose == Purpose::Remove {
            return Ok(Row {
                entry: NewEntry {
                    id,
                    reason: None,
                    added_on: None,
                    source_ref: None,
                },
            });
        }
        let reason = optional_text(self.reason).map_err(|e| reject("reason", e))?;
        let source_ref = optional_text(self.source_ref).map_err(|e| reject("source_ref", e))?;
        let added_on = match optional_text(self.added_on).map_err(|e| reject("added_on", e))? {
            Some(d) if !is_iso_date(&d) => {
                return Err(reject(
                    "added_on",
                    format!("{d:?} is not a date YYYY-MM-DD"),
                ))
            }
            other => other,
        };
        Ok(Row {
            entry: NewEntry {
                id,
                reason,
                added_on,
                source_ref,
            },
        })
    }
}

/// Trims; empty means absent; rejects control characters and overlong text.
fn optional_text(value: Option<String>) -> Result<Option<String>, String> {
    let Some(v) = value else { return Ok(None) };
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.chars().any(char::is_control) {
        return Err("contains control characters".into());
    }
    if v.chars().count() > MAX_TEXT {
        return Err(format!("longer than {MAX_TEXT} characters"));
    }
    Ok(Some(v.to_owned()))
}

/// Whether `s` is a calendar date `YYYY-MM-DD` (years 1900-2099).
fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| {
        s.get(r)
            .filter(|p| p.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|p| p.parse::<u16>().ok())
    };
    let (Some(y), Some(m), Some(d)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return false;
    };
    let (Ok(m), Ok(d)) = (u8::try_from(m), u8::try_from(d)) else {
        return false;
    };
    (1900..=2099).contains(&y) && CivilDate::new(y, m, d).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert!(is_iso_date("2024-02-29"));
        assert!(!is_iso_date("2023-02-29"));
        assert!(!is_iso_date("2023-13-01"));
        assert!(!is_iso_date("2023-1-01"));
        assert!(!is_iso_date("20230101"));
        assert!(!is_iso_date("2023-01-0a"));
        assert!(is_iso_date("2000-02-29"));
        assert!(!is_iso_date("1900-02-29"));
    }
}
