//! `rampgate contract openapi`: the contract's security as an OpenAPI 3.1
//! document, or added to the application's own document. The document goes
//! to standard output; notes and the operations the two do not share go to
//! standard error.

use super::{load, read};
use crate::plural::{count, form};
use crate::{Report, Status, to_json};
use rampgate_core::contract::Contract;
use rampgate_core::contract::openapi::{LeftOut, MergedOpenApi, OpenApiError, OpenApiOptions};
use std::fmt::Write as _;
use std::path::Path;

pub(super) fn run(
    file: &Path,
    merge: Option<&Path>,
    issuer_url: Option<String>,
    token_url: Option<String>,
) -> Report {
    let contract = match load(file) {
        Ok(contract) => contract,
        Err(report) => return report,
    };
    let note = scheme_note(&contract, issuer_url.is_some(), token_url.is_some());
    let mut options = OpenApiOptions::new();
    if let Some(issuer) = issuer_url {
        options = options.issuer(issuer);
    }
    if let Some(token_url) = token_url {
        options = options.token_url(token_url);
    }
    match merge {
        None => match contract.openapi(&options) {
            Ok(doc) => Report {
                stdout: to_json(&doc.openapi),
                stderr: note + &notes(&doc.left_out),
                status: Status::Ok,
            },
            Err(e) => trouble(&e),
        },
        Some(path) => match read(path) {
            Ok(text) => {
                let mut report = merged(&contract, &options, path, &text);
                if report.status != Status::Trouble {
                    report.stderr = note + &report.stderr;
                }
                report
            }
            Err(report) => report,
        },
    }
}

fn merged(contract: &Contract, options: &OpenApiOptions, path: &Path, text: &str) -> Report {
    let name = path.display().to_string();
    match contract.merge_openapi(text, options) {
        Ok(merged) => {
            let fails = !merged.not_in_contract.is_empty();
            Report {
                stdout: to_json(&merged.document),
                stderr: mismatches(&merged, &name, contract.unknown_route_allowed()),
                status: if fails { Status::Failed } else { Status::Ok },
            }
        }
        Err(OpenApiError::NotJson {
            line,
            column,
            message,
        }) => Report::error(
            Status::Trouble,
            format!("{name}:{line}:{column}: error: not JSON: {message}\n"),
        ),
        Err(OpenApiError::NotOpenApi { pointer, message }) => {
            let at = if pointer.is_empty() { "/" } else { &pointer };
            Report::error(
                Status::Trouble,
                format!("{name}: error: at {at}: {message}\n"),
            )
        }
        Err(e) => trouble(&e),
    }
}

fn trouble(e: &OpenApiError) -> Report {
    Report::error(Status::Trouble, format!("error: {e}\n"))
}

/// Says so when the scheme is HTTP bearer, for want of an issuer or a token
/// URL.
fn scheme_note(contract: &Contract, issuer: bool, token_url: bool) -> String {
    if contract.issuer().is_some() || issuer || token_url {
        return String::new();
    }
    "note: the contract names no issuer, so the scheme is HTTP bearer (JWT) with the scopes as roles: give --issuer-url URL (openIdConnect) or --token-url URL (oauth2) for a scheme that says where tokens come from\n".to_owned()
}

/// One note per route left out of the document.
fn notes(left_out: &[LeftOut]) -> String {
    left_out
        .iter()
        .map(|l| format!("note: left out {l}\n"))
        .collect()
}

/// The operations the document and the contract do not share, and the
/// verdict: operations the contract does not cover fail; routes only in the
/// contract do not (another deployment may serve them).
fn mismatches(merged: &MergedOpenApi, name: &str, unknown_route_allowed: bool) -> String {
    let mut out = notes(&merged.left_out);
    let missing = &merged.not_in_contract;
    if !missing.is_empty() {
        let _ = writeln!(
            out,
            "In the document but not in the contract ({}):",
            missing.len()
        );
        for op in missing {
            let _ = writeln!(out, "  {op}");
        }
    }
    if !merged.not_in_document.is_empty() {
        let _ = writeln!(
            out,
            "In the contract but not in the document ({}):",
            merged.not_in_document.len()
        );
        for op in &merged.not_in_document {
            let _ = writeln!(out, "  {op}");
        }
        out.push_str(
            "  note: routes only in the contract do not fail the check; another deployment may serve them\n",
        );
    }
    if !missing.is_empty() {
        let n = missing.len() as u64;
        let consequence = if unknown_route_allowed {
            "the contract admits any valid token there (unknown_route = \"allow\")"
        } else {
            "the contract layer refuses every request there (unknown_route = \"deny\")"
        };
        let _ = writeln!(
            out,
            "error: {} of {name} {} not in the contract: {consequence}; add {} to the contract",
            count(missing.len(), "operation"),
            form(n, "is", "are"),
            form(n, "it", "them"),
        );
    }
    out
}
