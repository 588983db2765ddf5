//! `rampgate`: the command-line tool for rampgate's ramp contracts.
//!
//! A ramp contract (`contract.toml`) says which scopes each route needs and
//! which scopes each consumer may use at its current stage. This tool checks a
//! contract, says what a new version of it widens or narrows, and compares it
//! with the routes the code declares. It is meant for CI as much as for people:
//! every command has a stable exit status and a `--json` form where it reports
//! more than one line.
//!
//! # Exit status
//!
//! * `0`: all is well.
//! * `1`: the check failed: the contract has errors, a change lacks a version
//!   increase, or the code has routes the contract does not cover.
//! * `2`: the check could not run: a file cannot be read, the inventory is not
//!   valid inventory JSON, or the arguments are wrong (usage errors are clap's).
//!
//! # `rampgate contract check FILE`
//!
//! Parses and checks a contract. Every problem is reported, one per line, as
//! compilers print them, to standard error:
//!
//! ```text
//! $ rampgate contract check contract.toml
//! contract.toml: ok (version 4, 6 routes, 3 consumers, 5 scopes)
//!
//! $ rampgate contract check broken.toml
//! broken.toml:11: error: defaults.unknown_route is "deny" or "allow", not "sometimes"
//! broken.toml:16: error: route GET /accounts uses scope "account:read", which is not in [scopes]: add it to the catalog or fix the name
//! broken.toml:25: error: route GET /accounts is declared twice: each method and path appears once
//! $ echo $?
//! 1
//! ```
//!
//! # `rampgate contract diff OLD NEW [--json]`
//!
//! Lists what changes from `OLD` to `NEW`, widened access first. A change that
//! does not increase `version` is refused (exit status 1), and widening access
//! without one most of all:
//!
//! ```text
//! $ rampgate contract diff contract-v4.toml contract-v5.toml
//! contract version 4 -> 5
//!   widened   consumer mobile-app: advanced pilot -> beta (adds accounts:write)
//!
//! $ rampgate contract diff contract-v4.toml contract-edited.toml
//! contract version 4 -> 4
//!   widened   route PATCH /accounts/{id}: mode 25% -> observe
//!   widened   consumer mobile-app: advanced pilot -> beta (adds accounts:write)
//!   neutral   scope cards:read: added to the catalog
//! error: access widens but the version did not increase (4 -> 4): raise `version`
//! ```
//!
//! With `--json` the same diff is one object, and the refusal is its `error`
//! field rather than a line on standard error:
//!
//! ```text
//! $ rampgate contract diff contract-v4.toml contract-v5.toml --json
//! {
//!   "from_version": 4,
//!   "to_version": 5,
//!   "changes": [
//!     {
//!       "kind": "widened",
//!       "subject": "consumer mobile-app",
//!       "detail": "advanced pilot -> beta (adds accounts:write)"
//!     }
//!   ],
//!   "widens": true,
//!   "narrows": false,
//!   "error": null
//! }
//! ```
//!
//! # `rampgate contract routes FILE --inventory INVENTORY.json [--json]`
//!
//! Compares the contract with the routes the code declares. The inventory is
//! JSON written by the application (`rampgate_core::contract::Inventory`):
//!
//! ```text
//! {"routes": [{"method": "GET", "path": "/accounts/{id}", "scopes": ["accounts:read"], "any": []}]}
//! ```
//!
//! Routes in code but not in the contract, and routes whose requirements
//! (`scopes`, `any`) differ, fail the check. Routes only in the contract are
//! reported but do not fail it: another deployment may serve them. Neither does
//! a contract requirement that asks more than the code while it is still being
//! rolled out (`observe` or a percentage below 100): the contract leads on
//! purpose; declare the requirement in code when the contract enforces it.
//!
//! ```text
//! $ rampgate contract routes contract.toml --inventory routes.json
//! In code but not in the contract (2):
//!   POST /accounts/{id}/cards
//!   GET /healthz
//! In the contract but not in code (1):
//!   DELETE /accounts/{id}
//!   note: routes only in the contract do not fail the check; another deployment may serve them
//! Requirements differ (1):
//!   GET /accounts/{id}/statements: the contract requires one of admin, statements:export; the code requires one of statements:export
//! contract.toml: 4 of 7 routes in code match the contract
//! error: 2 routes in code are not in the contract; 1 route has different requirements
//! ```
//!
//! With `--json` the report is an object with `missing_in_contract`,
//! `missing_in_code` (each a list of `{method, path, scopes, any}`) and
//! `mismatched` and `ramping` (each `{method, path, contract: {scopes, any}, code:
//! {scopes, any}}`).

mod routes;

use clap::{Parser, Subcommand};
use rampgate_core::contract::{Change, Contract, ContractDiff, Inventory};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The exit statuses, for the help.
macro_rules! exit_status {
    () => {
        "Exit status: 0 when all is well, 1 when a check fails, 2 when it cannot run \
         (unreadable file, invalid inventory, wrong arguments)."
    };
}

/// Check rampgate ramp contracts, compare their versions, and compare them with the routes in code.
///
/// A ramp contract (contract.toml) says which scopes each route needs and which scopes each
/// consumer may use at its current stage.
#[derive(Debug, Parser)]
#[command(
    name = "rampgate",
    version,
    after_help = exit_status!(),
    after_long_help = concat!(
        "Examples:\n",
        "  rampgate contract check contract.toml\n",
        "  rampgate contract diff deployed/contract.toml contract.toml\n",
        "  rampgate contract diff deployed/contract.toml contract.toml --json\n",
        "  rampgate contract routes contract.toml --inventory routes.json\n",
        "\n",
        exit_status!()
    )
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check contracts, diff their versions, compare them with the routes in code
    #[command(subcommand)]
    Contract(ContractCommand),
}

#[derive(Debug, Subcommand)]
enum ContractCommand {
    /// Check a contract and report every error with its line
    ///
    /// Prints `FILE: ok (...)` when the contract is valid; otherwise prints every error as
    /// `FILE:LINE: error: MESSAGE` on standard error and exits with status 1.
    #[command(after_long_help = "Example:\n  rampgate contract check contract.toml")]
    Check {
        /// The contract (TOML)
        file: PathBuf,
    },
    /// Show what a new contract version widens or narrows
    ///
    /// Lists each change as widened (more access), narrowed (less access) or neutral, widened
    /// first. Any change without a higher `version` is refused with exit status 1, and widening
    /// access without one most of all.
    #[command(
        after_long_help = "Example, in CI before deploying:\n  rampgate contract diff deployed/contract.toml contract.toml"
    )]
    Diff {
        /// The contract as it is deployed now
        old: PathBuf,
        /// The contract as it will be deployed
        new: PathBuf,
        /// Print one JSON object: from_version, to_version, changes, widens, narrows, error
        #[arg(long)]
        json: bool,
    },
    /// Compare a contract with the routes declared in code
    ///
    /// Reports routes in code but not in the contract, routes in the contract but not in code,
    /// and routes whose required scopes differ. Routes missing from the contract and differing
    /// requirements fail the check (exit status 1); routes only in the contract do not, since
    /// another deployment may serve them, nor do requirements the contract is still rolling out.
    #[command(
        after_long_help = "Example:\n  rampgate contract routes contract.toml --inventory routes.json"
    )]
    Routes {
        /// The contract (TOML)
        file: PathBuf,
        /// The routes the code declares: {"routes": [{"method", "path", "scopes", "any"}]}; `-` reads standard input
        #[arg(long, value_name = "INVENTORY.json")]
        inventory: PathBuf,
        /// Print one JSON object: missing_in_contract, missing_in_code, mismatched, ramping
        #[arg(long)]
        json: bool,
    },
}

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
        Command::Contract(command) => run(command),
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

fn run(command: ContractCommand) -> Report {
    match command {
        ContractCommand::Check { file } => check(&file),
        ContractCommand::Diff { old, new, json } => diff(&old, &new, json),
        ContractCommand::Routes {
            file,
            inventory,
            json,
        } => routes(&file, &inventory, json),
    }
}

/// Reads a file, or standard input for `-`.
fn read(path: &Path) -> Result<String, Report> {
    if path == Path::new("-") {
        let mut text = String::new();
        return std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map(|_| text)
            .map_err(|e| {
                Report::error(
                    Status::Trouble,
                    format!("error: cannot read standard input: {e}\n"),
                )
            });
    }
    std::fs::read_to_string(path).map_err(|e| {
        Report::error(
            Status::Trouble,
            format!("error: cannot read {}: {e}\n", path.display()),
        )
    })
}

fn load(path: &Path) -> Result<Contract, Report> {
    let text = read(path)?;
    Contract::parse(&text).map_err(|errors| {
        Report::error(
            Status::Failed,
            format!("{}\n", errors.render(&path.display().to_string())),
        )
    })
}

fn load_inventory(path: &Path) -> Result<Inventory, Report> {
    let text = read(path)?;
    Inventory::from_json(&text).map_err(|e| {
        let full = e.to_string();
        let message = full
            .strip_suffix(&format!(" at line {} column {}", e.line(), e.column()))
            .unwrap_or(&full);
        let at = match e.line() {
            0 => String::new(),
            line => format!(":{line}"),
        };
        Report::error(
            Status::Trouble,
            format!(
                "{}{at}: error: {message} (an inventory is {{\"routes\": [{{\"method\", \"path\", \"scopes\", \"any\"}}]}})\n",
                path.display()
            ),
        )
    })
}

/// `3 routes`, `1 route`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_string_pretty(value) {
        Ok(json) => json + "\n",
        // The values serialized here are plain structs of strings, numbers and lists.
        Err(e) => format!("{{\"error\": {:?}}}\n", e.to_string()),
    }
}

fn check(file: &Path) -> Report {
    match load(file) {
        Ok(contract) => Report::ok(format!(
            "{}: ok (version {}, {}, {}, {})\n",
            file.display(),
            contract.version(),
            count(contract.routes().len(), "route"),
            count(contract.consumers().len(), "consumer"),
            count(contract.scopes().len(), "scope"),
        )),
        Err(report) => report,
    }
}

/// The JSON form of a diff.
#[derive(serde::Serialize)]
struct DiffJson<'a> {
    from_version: u64,
    to_version: u64,
    changes: &'a [Change],
    widens: bool,
    narrows: bool,
    error: Option<String>,
}

fn diff(old: &Path, new: &Path, json: bool) -> Report {
    let (old, new) = match (load(old), load(new)) {
        (Ok(old), Ok(new)) => (old, new),
        (Err(a), Err(b)) => return a.and(b),
        (Err(report), _) | (_, Err(report)) => return report,
    };
    let diff = ContractDiff::between(&old, &new);
    // The refusal's text is the report, on stderr and in the JSON `error` field.
    let refusal = diff.check().err().map(|e| e.to_string());
    let status = if refusal.is_some() {
        Status::Failed
    } else {
        Status::Ok
    };
    if json {
        let stdout = to_json(&DiffJson {
            from_version: diff.from_version,
            to_version: diff.to_version,
            changes: &diff.changes,
            widens: diff.widens(),
            narrows: diff.narrows(),
            error: refusal,
        });
        Report {
            stdout,
            stderr: String::new(),
            status,
        }
    } else {
        Report {
            stdout: diff.to_string(),
            stderr: refusal.map(|e| format!("error: {e}\n")).unwrap_or_default(),
            status,
        }
    }
}

fn routes(file: &Path, inventory: &Path, json: bool) -> Report {
    let (contract, inventory) = match (load(file), load_inventory(inventory)) {
        (Ok(contract), Ok(inventory)) => (contract, inventory),
        (Err(a), Err(b)) => return a.and(b),
        (Err(report), _) | (_, Err(report)) => return report,
    };
    let report = routes::RouteReport::compare(&contract, &inventory);
    let status = if report.fails() {
        Status::Failed
    } else {
        Status::Ok
    };
    if json {
        Report {
            stdout: to_json(&report),
            stderr: String::new(),
            status,
        }
    } else {
        Report {
            stdout: report.human(&file.display().to_string()),
            stderr: report
                .failure()
                .map(|e| format!("error: {e}\n"))
                .unwrap_or_default(),
            status,
        }
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
    fn counts_are_singular_or_plural() {
        assert_eq!(count(0, "route"), "0 routes");
        assert_eq!(count(1, "route"), "1 route");
        assert_eq!(count(2, "scope"), "2 scopes");
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
