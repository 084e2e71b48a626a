//! The command-line contract both binaries keep (docs/cli.md): exit 0 on success; otherwise a
//! one-line reason on stderr and, with `--json`, `{"error": {"kind", "message"}}` on stdout;
//! output to a closed pipe ends quietly.

use crate::error::{ApiError, ErrorKind};
use clap::Parser;
use std::process::ExitCode;

/// A command's failure: the same stable kind and message the node's API reports.
pub type CliError = ApiError;

/// Parses the arguments, runs the command and maps the outcome to the contract.
///
/// Argument errors follow the same contract: with `--json` among the arguments, they are
/// reported as kind `usage` (a one-line reason on stderr, the JSON object on stdout); without
/// it, clap's own message and usage. `--help` and `--version` print clap's output and exit 0.
pub fn drive<C: Parser>(
    wants_json: impl Fn(&C) -> bool,
    run: impl FnOnce(C) -> Result<(), CliError>,
) -> ExitCode {
    quiet_on_closed_stdout();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match C::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => {
            // --help and --version: clap's output on stdout, success.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) if json_requested(&args) => {
            let error = CliError::new(ErrorKind::Usage, usage_message(&e));
            report(&error, true);
            return ExitCode::from(2);
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(2);
        }
    };
    let json = wants_json(&cli);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e, json);
            ExitCode::FAILURE
        }
    }
}

/// Output to a pipe whose reader has gone (`| head`) ends the program quietly: Rust ignores
/// SIGPIPE, so `println!` panics on the broken pipe; that one panic becomes a silent, successful
/// exit, like any Unix filter's. Every other panic keeps the default report.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied());
        if message.is_some_and(is_closed_stdout) {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// Whether a panic message is `println!`'s on a closed stdout.
fn is_closed_stdout(message: &str) -> bool {
    message.starts_with("failed printing to stdout") && message.contains("Broken pipe")
}

/// Prints a failure: the one-line reason on stderr and, with `json`, the error object on stdout.
fn report(e: &CliError, json: bool) {
    eprintln!("error: {}", e.message);
    if json {
        let _ = print_json(&serde_json::json!({ "error": e }));
    }
}

/// Whether the raw arguments ask for JSON output: a `--json` flag before any `--`.
fn json_requested(args: &[std::ffi::OsString]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json")
}

/// clap's error as one line: its message without the `error:` prefix, the usage block and the
/// `--help` hint, with continuation lines (such as the missing arguments) joined by spaces.
fn usage_message(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let body = text.split("\n\n").next().unwrap_or_default();
    let body = body.trim_start_matches("error:");
    let line = body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if line.is_empty() {
        format!("{:?}", e.kind())
    } else {
        line
    }
}

/// Prints JSON on stdout; a closed pipe (`| head`) ends output quietly instead of panicking.
pub fn print_json<T: serde::Serialize>(value: &T) -> Result<(), CliError> {
    use std::io::Write;
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::new(ErrorKind::Internal, e.to_string()))?;
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::new(ErrorKind::Io, format!("stdout: {e}")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_broken_pipe_panic_is_quiet() {
        assert!(is_closed_stdout(
            "failed printing to stdout: Broken pipe (os error 32)"
        ));
        assert!(!is_closed_stdout(
            "failed printing to stdout: No space left"
        ));
        assert!(!is_closed_stdout("index out of bounds"));
    }

    #[test]
    fn json_flag_before_the_separator_only() {
        let args = |v: &[&str]| v.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert!(json_requested(&args(&["fengxin", "screen", "--json"])));
        assert!(!json_requested(&args(&[
            "fengxin", "screen", "--", "--json"
        ])));
        assert!(!json_requested(&args(&["--json"])));
    }
}
