//! The `rampgate` binary on good and bad files, with the exact expected output
//! and exit status. The fixtures are in `tests/fixtures/`; the binary runs in
//! that directory so that file names in the output are short.

use std::process::Command;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// What one run of the binary printed, and its exit status.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

fn rampgate(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_rampgate"))
        .args(args)
        .current_dir(FIXTURES)
        .output()
        .expect("the rampgate binary runs");
    Run {
        status: output.status.code().expect("rampgate exits with a status"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// Asserts the whole of a run: status, standard output and standard error.
#[track_caller]
fn expect(args: &[&str], status: i32, stdout: &str, stderr: &str) {
    let run = rampgate(args);
    assert_eq!(
        run,
        Run {
            status,
            stdout: stdout.to_owned(),
            stderr: stderr.to_owned(),
        },
        "rampgate {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        run.stdout,
        run.stderr
    );
}

/// The message the OS gives for reading a file that does not exist.
fn not_found(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}"))
        .expect_err("the file does not exist")
        .to_string()
}

const ERRORS_TOML: &str = "\
errors.toml:11: error: defaults.unknown_route is \"deny\" or \"allow\", not \"sometimes\"
errors.toml:16: error: route GET /accounts uses scope \"account:read\", which is not in [scopes]: add it to the catalog or fix the name
errors.toml:22: error: route POST /accounts/{id}/transfers has trust \"sensitive\": define [trust.sensitive] or use \"standard\"
errors.toml:23: error: route POST /accounts/{id}/transfers has mode \"half\": use \"enforce\", \"observe\" or a percentage such as \"25%\"
errors.toml:25: error: route GET /accounts is declared twice: each method and path appears once
errors.toml:32: error: consumer mobile-app is at stage \"gamma\", which is not among its stages (pilot, ga)
errors.toml:35: error: consumer mobile-app stage ga drops accounts:write allowed at the earlier stage pilot: each stage's scopes must include the previous stage's
";

const MALFORMED_TOML: &str = "\
malformed.toml:7: error: unknown field `scope`, expected one of `method`, `path`, `scopes`, `any`, `trust`, `mode` (see docs/contracts.md for the schema)
";

// ---- contract check ----

#[test]
fn check_a_good_contract() {
    expect(
        &["contract", "check", "accounts-v4.toml"],
        0,
        "accounts-v4.toml: ok (version 4, 6 routes, 3 consumers, 5 scopes)\n",
        "",
    );
}

#[test]
fn check_reports_every_error_with_its_line() {
    expect(&["contract", "check", "errors.toml"], 1, "", ERRORS_TOML);
}

#[test]
fn check_reports_schema_errors_with_their_line() {
    expect(
        &["contract", "check", "malformed.toml"],
        1,
        "",
        MALFORMED_TOML,
    );
}

#[test]
fn check_an_unreadable_file() {
    expect(
        &["contract", "check", "missing.toml"],
        2,
        "",
        &format!(
            "error: cannot read missing.toml: {}\n",
            not_found("missing.toml")
        ),
    );
}

// ---- contract diff ----

#[test]
fn diff_a_stage_advance_with_a_version_bump() {
    expect(
        &["contract", "diff", "accounts-v4.toml", "accounts-v5.toml"],
        0,
        "\
contract version 4 -> 5
  widened   consumer mobile-app: advanced pilot -> beta (adds accounts:write)
",
        "",
    );
}

#[test]
fn diff_a_stage_advance_with_a_version_bump_as_json() {
    expect(
        &[
            "contract",
            "diff",
            "accounts-v4.toml",
            "accounts-v5.toml",
            "--json",
        ],
        0,
        r#"{
  "from_version": 4,
  "to_version": 5,
  "changes": [
    {
      "kind": "widened",
      "subject": "consumer mobile-app",
      "detail": "advanced pilot -> beta (adds accounts:write)"
    }
  ],
  "widens": true,
  "narrows": false,
  "error": null
}
"#,
        "",
    );
}

#[test]
fn diff_refuses_widening_without_a_version_bump() {
    expect(
        &[
            "contract",
            "diff",
            "accounts-v4.toml",
            "accounts-v4-widened.toml",
        ],
        1,
        "\
contract version 4 -> 4
  widened   route PATCH /accounts/{id}: mode 25% -> observe
  widened   consumer mobile-app: advanced pilot -> beta (adds accounts:write)
  neutral   scope cards:read: added to the catalog
",
        "error: access widens but the version did not increase (4 -> 4): raise `version`\n",
    );
}

#[test]
fn diff_refuses_widening_without_a_version_bump_as_json() {
    expect(
        &[
            "contract",
            "diff",
            "accounts-v4.toml",
            "accounts-v4-widened.toml",
            "--json",
        ],
        1,
        r#"{
  "from_version": 4,
  "to_version": 4,
  "changes": [
    {
      "kind": "widened",
      "subject": "route PATCH /accounts/{id}",
      "detail": "mode 25% -> observe"
    },
    {
      "kind": "widened",
      "subject": "consumer mobile-app",
      "detail": "advanced pilot -> beta (adds accounts:write)"
    },
    {
      "kind": "neutral",
      "subject": "scope cards:read",
      "detail": "added to the catalog"
    }
  ],
  "widens": true,
  "narrows": false,
  "error": "access widens but the version did not increase (4 -> 4): raise `version`"
}
"#,
        "",
    );
}

#[test]
fn diff_refuses_narrowing_without_a_version_increase() {
    expect(
        &["contract", "diff", "accounts-v5.toml", "accounts-v4.toml"],
        1,
        "\
contract version 5 -> 4
  narrowed  consumer mobile-app: rolled back beta -> pilot (removes accounts:write)
",
        "error: the version went down (5 -> 4): deploy a contract with a higher version instead\n",
    );
}

#[test]
fn diff_of_identical_contracts() {
    expect(
        &["contract", "diff", "accounts-v4.toml", "accounts-v4.toml"],
        0,
        "contract version 4 -> 4\n  no change in effect\n",
        "",
    );
}

#[test]
fn diff_reports_the_errors_of_both_files() {
    expect(
        &["contract", "diff", "errors.toml", "malformed.toml"],
        1,
        "",
        &format!("{ERRORS_TOML}{MALFORMED_TOML}"),
    );
    expect(
        &[
            "contract",
            "diff",
            "accounts-v4.toml",
            "errors.toml",
            "--json",
        ],
        1,
        "",
        ERRORS_TOML,
    );
}

#[test]
fn diff_with_an_unreadable_file() {
    expect(
        &["contract", "diff", "accounts-v4.toml", "missing.toml"],
        2,
        "",
        &format!(
            "error: cannot read missing.toml: {}\n",
            not_found("missing.toml")
        ),
    );
}

// ---- contract routes ----

#[test]
fn routes_in_code_missing_from_the_contract_or_different_fail() {
    expect(
        &[
            "contract",
            "routes",
            "accounts-v4.toml",
            "--inventory",
            "inventory.json",
        ],
        1,
        "\
In code but not in the contract (2):
  POST /accounts/{id}/cards
  GET /healthz
In the contract but not in code (1):
  DELETE /accounts/{id}
  note: routes only in the contract do not fail the check; another deployment may serve them
Requirements differ (1):
  GET /accounts/{id}/statements: the contract requires one of admin, statements:export; the code requires one of statements:export
accounts-v4.toml: 4 of 7 routes in code match the contract
",
        "error: 2 routes in code are not in the contract; 1 route has different requirements\n",
    );
}

#[test]
fn routes_as_json() {
    expect(
        &[
            "contract",
            "routes",
            "accounts-v4.toml",
            "--inventory",
            "inventory.json",
            "--json",
        ],
        1,
        r#"{
  "missing_in_contract": [
    {
      "method": "POST",
      "path": "/accounts/{id}/cards",
      "scopes": [
        "accounts:write"
      ],
      "any": []
    },
    {
      "method": "GET",
      "path": "/healthz",
      "scopes": [],
      "any": []
    }
  ],
  "missing_in_code": [
    {
      "method": "DELETE",
      "path": "/accounts/{id}",
      "scopes": [
        "admin"
      ],
      "any": []
    }
  ],
  "mismatched": [
    {
      "method": "GET",
      "path": "/accounts/{id}/statements",
      "contract": {
        "scopes": [],
        "any": [
          "admin",
          "statements:export"
        ]
      },
      "code": {
        "scopes": [],
        "any": [
          "statements:export"
        ]
      }
    }
  ],
  "ramping": []
}
"#,
        "",
    );
}

#[test]
fn routes_only_in_the_contract_are_noted_but_pass() {
    expect(
        &[
            "contract",
            "routes",
            "accounts-v4.toml",
            "--inventory",
            "inventory-subset.json",
        ],
        0,
        "\
In the contract but not in code (1):
  DELETE /accounts/{id}
  note: routes only in the contract do not fail the check; another deployment may serve them
accounts-v4.toml: 5 of 5 routes in code match the contract
",
        "",
    );
    expect(
        &[
            "contract",
            "routes",
            "accounts-v4.toml",
            "--inventory",
            "inventory-subset.json",
            "--json",
        ],
        0,
        r#"{
  "missing_in_contract": [],
  "missing_in_code": [
    {
      "method": "DELETE",
      "path": "/accounts/{id}",
      "scopes": [
        "admin"
      ],
      "any": []
    }
  ],
  "mismatched": [],
  "ramping": []
}
"#,
        "",
    );
}

#[test]
fn routes_with_an_invalid_inventory() {
    expect(
        &[
            "contract",
            "routes",
            "accounts-v4.toml",
            "--inventory",
            "inventory-bad.json",
        ],
        2,
        "",
        "inventory-bad.json:4: error: missing field `path` (an inventory is {\"routes\": [{\"method\", \"path\", \"scopes\", \"any\"}]})\n",
    );
    expect(
        &[
            "contract",
            "routes",
            "accounts-v4.toml",
            "--inventory",
            "missing.json",
        ],
        2,
        "",
        &format!(
            "error: cannot read missing.json: {}\n",
            not_found("missing.json")
        ),
    );
}

#[test]
fn routes_with_an_invalid_contract() {
    expect(
        &[
            "contract",
            "routes",
            "errors.toml",
            "--inventory",
            "inventory.json",
        ],
        1,
        "",
        ERRORS_TOML,
    );
}

// ---- help, version, usage ----

#[test]
fn version() {
    expect(
        &["--version"],
        0,
        &format!("rampgate {}\n", env!("CARGO_PKG_VERSION")),
        "",
    );
}

#[test]
fn help() {
    expect(
        &["--help"],
        0,
        "\
Check rampgate ramp contracts, compare their versions, and compare them with the routes in code.

A ramp contract (contract.toml) says which scopes each route needs and which scopes each consumer may use at its current stage.

Usage: rampgate <COMMAND>

Commands:
  contract  Check contracts, diff their versions, compare them with the routes in code
  help      Print this message or the help of the given subcommand(s)

Options:
  -h, --help
          Print help (see a summary with '-h')

  -V, --version
          Print version

Examples:
  rampgate contract check contract.toml
  rampgate contract diff deployed/contract.toml contract.toml
  rampgate contract diff deployed/contract.toml contract.toml --json
  rampgate contract routes contract.toml --inventory routes.json

Exit status: 0 when all is well, 1 when a check fails, 2 when it cannot run (unreadable file, invalid inventory, wrong arguments).
",
        "",
    );
}

#[test]
fn contract_help() {
    expect(
        &["contract", "--help"],
        0,
        "\
Check contracts, diff their versions, compare them with the routes in code

Usage: rampgate contract <COMMAND>

Commands:
  check   Check a contract and report every error with its line
  diff    Show what a new contract version widens or narrows
  routes  Compare a contract with the routes declared in code
  help    Print this message or the help of the given subcommand(s)

Options:
  -h, --help  Print help
",
        "",
    );
}

#[test]
fn check_help() {
    expect(
        &["contract", "check", "--help"],
        0,
        "\
Check a contract and report every error with its line

Prints `FILE: ok (...)` when the contract is valid; otherwise prints every error as `FILE:LINE: error: MESSAGE` on standard error and exits with status 1.

Usage: rampgate contract check <FILE>

Arguments:
  <FILE>
          The contract (TOML)

Options:
  -h, --help
          Print help (see a summary with '-h')

Example:
  rampgate contract check contract.toml
",
        "",
    );
}

#[test]
fn diff_help() {
    expect(
        &["contract", "diff", "--help"],
        0,
        "\
Show what a new contract version widens or narrows

Lists each change as widened (more access), narrowed (less access) or neutral, widened first. Any change without a higher `version` is refused with exit status 1, and widening access without one most of all.

Usage: rampgate contract diff [OPTIONS] <OLD> <NEW>

Arguments:
  <OLD>
          The contract as it is deployed now

  <NEW>
          The contract as it will be deployed

Options:
      --json
          Print one JSON object: from_version, to_version, changes, widens, narrows, error

  -h, --help
          Print help (see a summary with '-h')

Example, in CI before deploying:
  rampgate contract diff deployed/contract.toml contract.toml
",
        "",
    );
}

#[test]
fn routes_help() {
    expect(
        &["contract", "routes", "--help"],
        0,
        "\
Compare a contract with the routes declared in code

Reports routes in code but not in the contract, routes in the contract but not in code, and routes whose required scopes differ. Routes missing from the contract and differing requirements fail the check (exit status 1); routes only in the contract do not, since another deployment may serve them, nor do requirements the contract is still rolling out.

Usage: rampgate contract routes [OPTIONS] --inventory <INVENTORY.json> <FILE>

Arguments:
  <FILE>
          The contract (TOML)

Options:
      --inventory <INVENTORY.json>
          The routes the code declares: {\"routes\": [{\"method\", \"path\", \"scopes\", \"any\"}]}; `-` reads standard input

      --json
          Print one JSON object: missing_in_contract, missing_in_code, mismatched, ramping

  -h, --help
          Print help (see a summary with '-h')

Example:
  rampgate contract routes contract.toml --inventory routes.json
",
        "",
    );
}

#[test]
fn wrong_arguments_exit_with_status_2() {
    expect(
        &["contract", "routes", "accounts-v4.toml"],
        2,
        "",
        "\
error: the following required arguments were not provided:
  --inventory <INVENTORY.json>

Usage: rampgate contract routes --inventory <INVENTORY.json> <FILE>

For more information, try '--help'.
",
    );
    let run = rampgate(&[]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr.starts_with("Check rampgate ramp contracts"),
        "{}",
        run.stderr
    );
}
