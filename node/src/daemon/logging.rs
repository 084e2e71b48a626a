//! The daemon's log: `tracing` events on stderr, for people by default or one JSON object per
//! line (`--log-format json`) for a bank's log pipeline. `RUST_LOG` filters as usual; the
//! default, [`DEFAULT_FILTER`], keeps the node's own events at `info` and everything else at
//! `warn` (the proof system's spans format whole keys and circuits when enabled, and the
//! consensus engine narrates every election at `info`). Raw identifiers never reach the log:
//! only member names, lists, counts and errors.

/// The filter when `RUST_LOG` is not set.
pub const DEFAULT_FILTER: &str =
    "warn,openraft=error,fengxin_node=info,fengxin_consensus=info,fengxin_net=info";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// `2026-12-02T10:00:00.123Z  INFO fengxin_node::daemon::responder: bank-b connected ...`
    #[default]
    Human,
    /// `{"timestamp": ..., "level": "INFO", "fields": {"message": ...}, "target": ...}`
    Json,
}

/// Installs the process's subscriber (the first call wins; later calls keep it).
pub fn init(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
