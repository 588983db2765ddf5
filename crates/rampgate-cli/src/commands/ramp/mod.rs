//! `rampgate ramp report`: may a roll-out step go ahead? The AuditLayer's
//! decision events, counted per route and consumer and judged against the
//! contract's open roll-out steps (routes not yet enforced for everyone,
//! consumers with a next stage).

mod analysis;
mod args;
mod audit;
mod html;
mod text;
mod words;

pub(crate) use args::RampCommand;

use crate::{Report, Status, to_json};
use analysis::{MAX_MALFORMED_SHOWN, Options};
use args::ReportArgs;
use std::fmt::Write as _;

pub(crate) fn run(command: RampCommand) -> Report {
    match command {
        RampCommand::Report(args) => report(&args),
    }
}

fn report(args: &ReportArgs) -> Report {
    let contract_file = args.contract.display().to_string();
    // An invalid contract is an input the report cannot run on: status 2.
    let contract = match crate::commands::contract::load(&args.contract) {
        Ok(contract) => contract,
        Err(report) => {
            return Report::error(
                Status::Trouble,
                format!(
                    "{}error: the contract {contract_file} is invalid; the report needs a valid one\n",
                    report.stderr
                ),
            );
        }
    };
    let log = match audit::read_files(&args.files) {
        Ok(log) => log,
        Err(e) => return Report::error(Status::Trouble, format!("error: {e}\n")),
    };
    let mut stderr = String::new();
    for m in log.malformed.iter().take(MAX_MALFORMED_SHOWN) {
        let _ = writeln!(
            stderr,
            "{}:{}: warning: skipped a malformed line: {}",
            m.file,
            m.line,
            rampgate_core::escape_control(&m.error)
        );
    }
    if log.malformed.len() > MAX_MALFORMED_SHOWN {
        let _ = writeln!(
            stderr,
            "warning: {} more malformed lines not shown",
            log.malformed.len() - MAX_MALFORMED_SHOWN
        );
    }
    let valid: usize = log.files.iter().map(|f| f.decisions + f.other_events).sum();
    if valid == 0 && !log.malformed.is_empty() {
        let _ = writeln!(
            stderr,
            "error: not one line of the audit files is a valid event ({} malformed): audit files hold one JSON event per line, such as {{\"v\":1,\"type\":\"decision\",\"ts\":\"2026-11-29T04:05:06.789Z\",...}}",
            crate::plural::count(log.malformed.len(), "line")
        );
        return Report {
            stdout: String::new(),
            stderr,
            status: Status::Trouble,
        };
    }
    let analysis = analysis::analyse(
        &contract,
        &contract_file,
        log,
        &Options {
            since: args.since,
            window: args.window,
            min_requests: args.min_requests,
        },
    );
    let status = if analysis.breaks() {
        Status::Failed
    } else {
        Status::Ok
    };
    if args.json {
        return Report {
            stdout: to_json(&analysis),
            stderr,
            status,
        };
    }
    let mut stdout = text::render(&analysis);
    if let Some(out) = &args.html {
        let page = html::render(&analysis);
        if let Err(e) = std::fs::write(out, page) {
            let _ = writeln!(stderr, "error: cannot write {}: {e}", out.display());
            return Report {
                stdout,
                stderr,
                status: Status::Trouble,
            };
        }
        let _ = writeln!(stdout, "HTML report written to {}", out.display());
    }
    Report {
        stdout,
        stderr,
        status,
    }
}
