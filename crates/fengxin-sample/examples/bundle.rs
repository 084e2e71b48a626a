//! Writes the bundled sample lists into `node/samples/` (or the directory given as the first
//! argument) and prints the rows that are meant to be rejected.
//!
//! ```sh
//! cargo run -p fengxin-sample --example bundle
//! ```

use fengxin_sample::bundle::bundled_samples;
use fengxin_types::CanonicalId;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../node/samples"));
    std::fs::create_dir_all(&dir)?;
    for s in bundled_samples()? {
        let path = dir.join(s.file_name);
        std::fs::write(&path, &s.contents)?;
        println!(
            "{} ({} rows, list {}, type {})",
            path.display(),
            s.contents.lines().count() - 1,
            s.list,
            s.id_type
        );
        for row in &s.invalid_rows {
            let line = s.contents.lines().nth(*row as usize).unwrap_or_default();
            let id = line.split(',').next().unwrap_or_default();
            let reason = CanonicalId::parse(s.id_type, id, fengxin_types::CivilDate::today_china())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            println!("  row {row}: {id:?}: {reason}");
        }
    }
    Ok(())
}
