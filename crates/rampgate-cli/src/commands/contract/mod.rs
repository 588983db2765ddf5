//! `rampgate contract check | diff | routes | openapi | explain`.

mod args;
mod explain;
mod openapi;
mod routes;

pub(crate) use args::ContractCommand;

use crate::plural::count;
use crate::{Report, Status, to_json};
use rampgate_core::contract::{Change, ChangeNote, Contract, ContractDiff, Inventory};
use std::path::Path;

pub(crate) fn run(command: ContractCommand) -> Report {
    match command {
        ContractCommand::Check { file, json } => check(&file, json),
        ContractCommand::Diff {
            old,
            new,
            json,
            require_change_note,
        } => diff(&old, &new, json, require_change_note),
        ContractCommand::Routes {
            file,
            inventory,
            json,
        } => routes(&file, &inventory, json),
        ContractCommand::Openapi {
            file,
            merge,
            issuer_url,
            token_url,
        } => openapi::run(&file, merge.as_deref(), issuer_url, token_url),
        ContractCommand::Explain {
            file,
            client_id,
            iss,
            sub,
            scopes,
            method,
            path,
            json,
        } => match load(&file) {
            Ok(contract) => explain::explain(
                &file.display().to_string(),
                &contract,
                &explain::Request {
                    method,
                    path,
                    client_id,
                    iss,
                    sub,
                    scopes,
                },
                json,
            ),
            Err(report) => report,
        },
    }
}

/// Reads a file, or standard input for `-`.
pub(super) fn read(path: &Path) -> Result<String, Report> {
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

pub(crate) fn load(path: &Path) -> Result<Contract, Report> {
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

/// The JSON form of `check`.
#[derive(serde::Serialize)]
struct CheckJson {
    ok: bool,
    file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    counts: Option<Counts>,
    errors: Vec<CheckError>,
}

#[derive(serde::Serialize)]
struct Counts {
    routes: usize,
    consumers: usize,
    scopes: usize,
}

#[derive(serde::Serialize)]
struct CheckError {
    line: Option<usize>,
    message: String,
}

fn check(file: &Path, json: bool) -> Report {
    let name = file.display().to_string();
    let text = match read(file) {
        Ok(text) => text,
        Err(report) => return report,
    };
    match (Contract::parse(&text), json) {
        (Ok(contract), false) => Report::ok(format!(
            "{name}: ok (version {}, {}, {}, {}{})\n",
            contract.version(),
            count(contract.routes().len(), "route"),
            count(contract.consumers().len(), "consumer"),
            count(contract.scopes().len(), "scope"),
            match contract.separations().len() {
                0 => String::new(),
                n => format!(", {}", count(n, "separation")),
            },
        )),
        (Ok(contract), true) => Report::ok(to_json(&CheckJson {
            ok: true,
            file: name,
            version: Some(contract.version()),
            counts: Some(Counts {
                routes: contract.routes().len(),
                consumers: contract.consumers().len(),
                scopes: contract.scopes().len(),
            }),
            errors: Vec::new(),
        })),
        (Err(errors), false) => {
            Report::error(Status::Failed, format!("{}\n", errors.render(&name)))
        }
        (Err(errors), true) => Report {
            stdout: to_json(&CheckJson {
                ok: false,
                file: name,
                version: None,
                counts: None,
                errors: errors
                    .0
                    .into_iter()
                    .map(|e| CheckError {
                        line: e.line,
                        message: e.message,
                    })
                    .collect(),
            }),
            stderr: String::new(),
            status: Status::Failed,
        },
    }
}

/// The JSON form of a diff.
#[derive(serde::Serialize)]
struct DiffJson<'a> {
    from_version: u64,
    to_version: u64,
    change_note: Option<&'a ChangeNote>,
    changes: &'a [Change],
    widens: bool,
    narrows: bool,
    error: Option<String>,
}

fn diff(old: &Path, new: &Path, json: bool, require_change_note: bool) -> Report {
    let (old, new) = match (load(old), load(new)) {
        (Ok(old), Ok(new)) => (old, new),
        (Err(a), Err(b)) => return a.and(b),
        (Err(report), _) | (_, Err(report)) => return report,
    };
    let diff = ContractDiff::between(&old, &new);
    // The refusal's text is the report, on stderr and in the JSON `error` field.
    let refusal = match diff.check() {
        Err(e) => Some(e.to_string()),
        Ok(()) if require_change_note => diff.require_change_note().err().map(|e| e.to_string()),
        Ok(()) => None,
    };
    let status = if refusal.is_some() {
        Status::Failed
    } else {
        Status::Ok
    };
    if json {
        let stdout = to_json(&DiffJson {
            from_version: diff.from_version,
            to_version: diff.to_version,
            change_note: diff.change_note.as_ref(),
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
