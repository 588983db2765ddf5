#![doc = include_str!("../README.md")]

mod args;
mod commands;
mod plural;
mod time;

use args::{Cli, Command};
use clap::Parser;
use commands::{contract, ramp, revocation, token};
use std::io::{self, Write};
use std::process::ExitCode;

/// How a command ended; the process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Status {
    /// All is well.
    Ok = 0,
    /// The check failed.
    Failed = 1,
    /// The check could not run.
    Trouble = 2,
}

/// What a command prints and how it exits.
#[derive(Debug)]
struct Report {
    stdout: String,
    stderr: String,
    status: Status,
}

impl Report {
    fn ok(stdout: String) -> Report {
        Report {
            stdout,
            stderr: String::new(),
            status: Status::Ok,
        }
    }

    fn error(status: Status, stderr: String) -> Report {
        Report {
            stdout: String::new(),
            stderr,
            status,
        }
    }

    /// Both reports' output, and the worse status.
    fn and(mut self, other: Report) -> Report {
        self.stdout.push_str(&other.stdout);
        self.stderr.push_str(&other.stderr);
        self.status = self.status.max(other.status);
        self
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let report = match cli.command {
        Command::Contract(command) => contract::run(command),
        Command::Token(command) => token::run(command),
        Command::Ramp(command) => ramp::run(command),
        Command::Revoke(args) => revocation::revoke(args),
        Command::Revocations(command) => revocation::run(command),
    };
    let mut status = report.status;
    if let Err(e) = io::stdout().lock().write_all(report.stdout.as_bytes())
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        let _ = writeln!(io::stderr(), "error: cannot write the output: {e}");
        status = Status::Trouble;
    }
    let _ = io::stderr().lock().write_all(report.stderr.as_bytes());
    ExitCode::from(status as u8)
}

/// Pretty JSON and a newline, for `--json` output.
fn to_json<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_string_pretty(value) {
        Ok(json) => json + "\n",
        // The values serialized here are plain structs of strings, numbers and lists.
        Err(e) => format!("{{\"error\": {:?}}}\n", e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn reports_combine_to_the_worse_status() {
        let a = Report::error(Status::Failed, "a\n".into());
        let b = Report::error(Status::Trouble, "b\n".into());
        let both = a.and(b);
        assert_eq!(
            (both.stderr.as_str(), both.status),
            ("a\nb\n", Status::Trouble)
        );
    }
}
