//! `rampgate ramp report` on recorded audit files (`tests/fixtures/ramp/`,
//! written by its `generate.py`): the table, the verdicts, `--json`, `--html`
//! and input errors, with the exact lines and values expected. The binary runs
//! in `tests/fixtures/ramp` so that file names in the output are short.
//!
//! The recording: contract v7 observes `PATCH /accounts/{id}` (mobile-app at
//! stage pilot calls it with tokens carrying `accounts:write`, which pilot does
//! not allow: 40 observe-denials) and `GET /accounts/{id}/statements`
//! (partner-feed's tokens lack the scope: 15 observe-denials), over three days
//! in two files, with other event types, unknown fields and a line cut short
//! by a crash. Contract v8 then advances mobile-app to beta and enforces PATCH
//! for 25 % of consumers, recorded over two more days.

use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Command;

const RAMP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ramp");

#[derive(Debug)]
struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

/// Runs `rampgate ramp report ARGS...`.
fn rampgate(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_rampgate"))
        .args(["ramp", "report"])
        .args(args)
        .current_dir(RAMP)
        .env("COLUMNS", "100")
        .output()
        .expect("the rampgate binary runs");
    Run {
        status: output.status.code().expect("rampgate exits with a status"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// Asserts that each of `lines` is a whole line of `text`.
#[track_caller]
fn has_lines(text: &str, lines: &[&str]) {
    for line in lines {
        assert!(
            text.lines().any(|l| l == *line),
            "missing line:\n{line}\n--- in:\n{text}"
        );
    }
}

/// A file in the target's temporary directory, for this test only.
fn temp_file(name: &str, contents: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, contents).expect("the temporary file is written");
    path
}

const OBSERVE: [&str; 4] = [
    "observe/audit.jsonl",
    "observe/audit.jsonl.1",
    "--contract",
    "v7.toml",
];

#[test]
fn observed_routes_that_would_break_consumers_are_named_with_the_missing_scopes() {
    let run = rampgate(&OBSERVE);
    assert_eq!(
        run.status, 1,
        "a step would break consumers\n{}",
        run.stdout
    );
    // The line cut short by a crash is reported with its file and line, and skipped.
    assert_eq!(
        run.stderr,
        "observe/audit.jsonl.1:447: warning: skipped a malformed line: not JSON: EOF while parsing an object at column 97\n"
    );
    has_lines(
        &run.stdout,
        &[
            "Ramp report for v7.toml (contract version 7)",
            "input:  observe/audit.jsonl: 208 lines (207 decisions, 1 other event, 0 malformed)",
            "input:  observe/audit.jsonl.1: 447 lines (443 decisions, 3 other events, 1 malformed)",
            "window: 2026-11-23T00:01:00Z .. 2026-11-25T23:45:27Z (3 days), 650 decisions",
            // The revocation list's changes in the window, from its audit events.
            "revocations: 1 in the window (1 revoked, 0 un-revoked; consumer 1)",
            "a verdict needs at least 100 requests (--min-requests)",
            "ROUTE                          MODE             CONSUMER               STAGE  REQUESTS       ALLOWED      DENIED  OBSERVE-DENIED  WOULD MISS",
            "GET /accounts/{id}             enforce          mobile-app             pilot       123   120 (97.6%)    3 (2.4%)        0 (0.0%)  -",
            "GET /accounts/{id}             enforce          scraper-bot            -             6      0 (0.0%)  6 (100.0%)        0 (0.0%)  -",
            "PATCH /accounts/{id}           observe          mobile-app             pilot        40      0 (0.0%)    0 (0.0%)     40 (100.0%)  accounts:write (40)",
            "PATCH /accounts/{id}           observe          web-portal             ga          110  110 (100.0%)    0 (0.0%)        0 (0.0%)  -",
            "GET /accounts/{id}/statements  observe          partner-feed           ga           15      0 (0.0%)    0 (0.0%)     15 (100.0%)  admin (15), statements:export (15)",
            "GET /accounts/{id}/cards       observe          -                      -             0             -           -               -  no traffic",
            "GET /healthz                   not in contract  (none)                 -            24   24 (100.0%)    0 (0.0%)        0 (0.0%)  -",
            "(no route)                     not in contract  (none)                 -             4      0 (0.0%)  4 (100.0%)        0 (0.0%)  -",
            "  [BREAKS] enforce PATCH /accounts/{id} (now observe): would break 1 consumer: mobile-app (40 of 40 requests would be refused, missing accounts:write)",
            "      mobile-app: missing accounts:write (40); reasons scope_beyond_stage (40); its tokens carry the scopes but stage pilot does not allow them: advance it to beta first",
            "  [BREAKS] enforce GET /accounts/{id}/statements (now observe): would break 1 consumer: partner-feed (15 of 15 requests would be refused, missing one of admin, statements:export)",
            "      partner-feed: missing admin (15), statements:export (15); reasons scope_insufficient (15); its tokens lack the scopes: the client must request them",
            "  [NO DATA] enforce GET /accounts/{id}/cards (now observe): no data: no request to GET /accounts/{id}/cards in the window; cannot judge",
            "  [SAFE] advance mobile-app pilot -> beta: safe to advance pilot -> beta (adds accounts:write): none of 163 requests in 3 days would be refused, and 40 refused today for want of a scope would be allowed",
            "  [NO DATA] advance reports-batch trial -> ga: no data: reports-batch sent no request in the window; cannot judge",
            "  routes:    GET /accounts/{id}/cards",
            "  consumers: reports-batch",
            "Summary: 1 safe, 2 breaks, 0 review, 0 not enough data, 2 no data",
        ],
    );
    // Routes enforced for everyone, and consumers at their last stage, have no step to judge.
    assert!(!run.stdout.contains("enforce GET /accounts/{id} (now"));
    assert!(!run.stdout.contains("advance web-portal"));
}

#[test]
fn a_route_at_25_percent_without_observe_denials_is_safe_to_enforce() {
    let run = rampgate(&["quarter/audit.jsonl", "--contract", "v8.toml"]);
    assert_eq!((run.status, run.stderr.as_str()), (0, ""), "{}", run.stdout);
    has_lines(
        &run.stdout,
        &[
            "window: 2026-11-26T00:48:47Z .. 2026-11-27T23:57:29Z (2 days), 410 decisions",
            "  [SAFE] enforce PATCH /accounts/{id} (now 25%): safe to enforce: 0 observe-denials in 2 days over 115 requests",
            "  [NOT ENOUGH DATA] enforce GET /accounts/{id}/statements (now observe): not enough data: 55 requests in 2 days, fewer than --min-requests 100; 0 observe-denials so far",
            "  [SAFE] advance mobile-app beta -> ga: safe to advance beta -> ga (adds transfers:create): none of 125 requests in 2 days would be refused",
            "      note: no token seen carries transfers:create: advancing changes nothing for it until the client requests it",
            "Summary: 2 safe, 0 breaks, 0 review, 1 not enough data, 2 no data",
        ],
    );
    // Below the threshold nothing is called safe; lowering it is the operator's call.
    let lowered = rampgate(&[
        "quarter/audit.jsonl",
        "--contract",
        "v8.toml",
        "--min-requests",
        "50",
    ]);
    has_lines(
        &lowered.stdout,
        &[
            "  [SAFE] enforce GET /accounts/{id}/statements (now observe): safe to enforce: 0 observe-denials in 2 days over 55 requests",
        ],
    );
    let raised = rampgate(&[
        "quarter/audit.jsonl",
        "--contract",
        "v8.toml",
        "--min-requests",
        "1000",
    ]);
    assert_eq!(raised.status, 0);
    assert!(!raised.stdout.contains("[SAFE]"), "{}", raised.stdout);
}

#[test]
fn the_window_keeps_only_recent_requests() {
    // The last day of the observe phase: mobile-app's calls shrink below the threshold.
    let mut args = OBSERVE.to_vec();
    args.extend(["--window", "1d"]);
    let run = rampgate(&args);
    has_lines(
        &run.stdout,
        &[
            "window: 2026-11-24T23:49:08Z .. 2026-11-25T23:45:27Z (24 hours), 208 decisions since 2026-11-24T23:45:27Z",
            "  [NOT ENOUGH DATA] advance mobile-app pilot -> beta: not enough data: 49 requests in 24 hours, fewer than --min-requests 100",
        ],
    );
    let mut args = OBSERVE.to_vec();
    args.extend(["--since", "2026-11-25T00:00:00+01:00"]);
    let run = rampgate(&args);
    has_lines(
        &run.stdout,
        &[
            "window: 2026-11-24T23:19:32Z .. 2026-11-25T23:45:27Z (24 hours), 211 decisions since 2026-11-24T23:00:00Z",
        ],
    );
    // A window after every event: no data anywhere, and nothing called safe.
    let mut args = OBSERVE.to_vec();
    args.extend(["--since", "2027-01-01T00:00:00Z"]);
    let run = rampgate(&args);
    assert_eq!(run.status, 0);
    has_lines(
        &run.stdout,
        &[
            "window: no decision event in the window",
            "Summary: 0 safe, 0 breaks, 0 review, 0 not enough data, 5 no data",
        ],
    );
}

fn json_of(args: &[&str]) -> (i32, Value) {
    let run = rampgate(args);
    let value = serde_json::from_str(&run.stdout).expect("--json prints JSON");
    (run.status, value)
}

#[test]
fn json_has_the_documented_structure() {
    let mut args = OBSERVE.to_vec();
    args.push("--json");
    let (status, report) = json_of(&args);
    assert_eq!(status, 1);
    assert_eq!(report["report_version"], 1);
    assert_eq!(report["revocations"]["total"], 1);
    assert_eq!(report["revocations"]["by"]["consumer"], 1);
    assert_eq!(report["contract"]["version"], 7);
    assert_eq!(report["min_requests"], 100);
    let input = &report["input"];
    assert_eq!(input["decisions"], 650);
    assert_eq!(input["in_window"], 650);
    assert_eq!(input["other_events"], 4);
    assert_eq!(input["malformed_lines"], 1);
    assert_eq!(input["malformed"][0]["file"], "observe/audit.jsonl.1");
    assert_eq!(input["malformed"][0]["line"], 447);
    assert_eq!(input["contract_versions"], serde_json::json!([7]));
    assert_eq!(report["window"]["first"], "2026-11-23T00:01:00Z");
    assert_eq!(report["window"]["last"], "2026-11-25T23:45:27Z");

    let routes = report["routes"].as_array().unwrap();
    let names: Vec<&Value> = routes.iter().map(|r| &r["route"]).collect();
    assert_eq!(
        names,
        [
            "GET /accounts/{id}",
            "PATCH /accounts/{id}",
            "GET /accounts/{id}/statements",
            "GET /accounts/{id}/cards",
            "GET /healthz",
        ]
        .iter()
        .map(|s| Value::from(*s))
        .chain([Value::Null])
        .collect::<Vec<_>>()
        .iter()
        .collect::<Vec<_>>()
    );
    let patch = &routes[1];
    assert_eq!(patch["mode"], "observe");
    assert_eq!(patch["requires"], "accounts:write");
    assert_eq!(
        (
            &patch["requests"],
            &patch["allowed"],
            &patch["observe_denied"]
        ),
        (&Value::from(150), &Value::from(110), &Value::from(40))
    );
    let mobile = &patch["consumers"][0];
    assert_eq!(mobile["consumer"], "mobile-app");
    assert_eq!(mobile["stage"], "pilot");
    assert_eq!(mobile["rates"]["observe_denied"], 1.0);
    assert_eq!(mobile["would_miss"]["accounts:write"], 40);
    assert_eq!(mobile["reasons"]["scope_beyond_stage"], 40);
    assert_eq!(routes[5]["in_contract"], false);
    assert_eq!(routes[5]["consumers"][0]["consumer"], Value::Null);

    let verdicts = report["verdicts"].as_array().unwrap();
    let summary: Vec<(&str, &str, &str)> = verdicts
        .iter()
        .map(|v| {
            (
                v["step"].as_str().unwrap(),
                v["subject"].as_str().unwrap(),
                v["verdict"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("enforce_route", "PATCH /accounts/{id}", "breaks"),
            ("enforce_route", "GET /accounts/{id}/statements", "breaks"),
            ("enforce_route", "GET /accounts/{id}/cards", "no_data"),
            ("advance_consumer", "mobile-app", "safe"),
            ("advance_consumer", "reports-batch", "no_data"),
        ]
    );
    let breaking = &verdicts[0]["breaking"][0];
    assert_eq!(breaking["consumer"], "mobile-app");
    assert_eq!(breaking["observe_denied"], 40);
    assert_eq!(breaking["missing"]["accounts:write"], 40);
    let advance = &verdicts[3];
    assert_eq!(
        (&advance["from"], &advance["to"]),
        (&Value::from("pilot"), &Value::from("beta"))
    );
    assert_eq!(advance["adds"], serde_json::json!(["accounts:write"]));
    assert_eq!(advance["would_allow"], 40);
    assert_eq!(advance["still_refused"], serde_json::json!([]));
    assert_eq!(
        report["no_traffic"],
        serde_json::json!({"routes": ["GET /accounts/{id}/cards"], "consumers": ["reports-batch"]})
    );
    assert_eq!(
        report["summary"],
        serde_json::json!({"safe": 1, "breaks": 2, "review": 0, "not_enough_data": 0, "no_data": 2})
    );
}

#[test]
fn requests_the_next_stage_would_still_refuse_call_for_a_review() {
    // mobile-app (pilot) asks for statements it has no scope for: beta does not cure that.
    let mut lines = String::new();
    for i in 0..120 {
        lines.push_str(&format!(
            "{{\"v\":1,\"type\":\"decision\",\"ts\":\"2026-11-23T10:{:02}:{:02}.000Z\",\"route\":\"GET /accounts/{{id}}/statements\",\"consumer\":\"mobile-app\",\"outcome\":\"observe_deny\",\"reason\":\"scope_insufficient\",\"scopes\":[\"accounts:read\"],\"required\":[\"statements:export\",\"admin\"],\"required_one_of\":true,\"missing\":[\"admin\",\"statements:export\"]}}\n",
            i / 60,
            i % 60
        ));
    }
    let file = temp_file("ramp-review.jsonl", &lines);
    let (status, report) = json_of(&[file.to_str().unwrap(), "--contract", "v7.toml", "--json"]);
    assert_eq!(
        status, 1,
        "enforcing the statements route would break mobile-app"
    );
    let advance = report["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["subject"] == "mobile-app")
        .unwrap();
    assert_eq!(advance["verdict"], "review");
    assert_eq!(
        advance["still_refused"],
        serde_json::json!([{"route": "GET /accounts/{id}/statements", "missing": ["admin", "statements:export"], "requests": 120}])
    );
}

/// Least privilege from the recorded roll-out: web-portal's stage grants
/// cards:read, which no request needed; mobile-app's tokens carry
/// accounts:write, which its stage does not grant yet.
#[test]
fn json_names_unused_and_over_issued_scopes_per_consumer() {
    let mut args = OBSERVE.to_vec();
    args.push("--json");
    let (_, report) = json_of(&args);
    let findings = report["least_privilege"].as_array().unwrap();
    let of = |consumer: &str| {
        findings
            .iter()
            .find(|f| f["consumer"] == consumer)
            .unwrap_or_else(|| panic!("no finding for {consumer}: {findings:?}"))
    };
    let portal = of("web-portal");
    assert_eq!(portal["stage"], "ga");
    assert_eq!(portal["unused"], json!(["cards:read"]));
    assert_eq!(
        portal["used"],
        json!(["accounts:read", "accounts:write", "statements:export"])
    );
    assert_eq!(
        portal["granted"],
        json!([
            "accounts:read",
            "accounts:write",
            "cards:read",
            "statements:export"
        ])
    );
    assert_eq!(portal["over_issued"], json!([]));
    assert_eq!(portal["requests"], 320);
    assert_eq!(portal["recommends"], true);
    let mobile = of("mobile-app");
    assert_eq!(mobile["stage"], "pilot");
    assert_eq!(mobile["unused"], json!([]));
    assert_eq!(mobile["over_issued"], json!(["accounts:write"]));
    assert_eq!(mobile["over_issued_counts"]["accounts:write"], 163);
    assert_eq!(mobile["granted_later"]["accounts:write"], "beta");
    // Below --min-requests: the facts, but no recommendation.
    let robot = of("back-office/ops-robot");
    assert_eq!(
        (robot["requests"].as_u64(), robot["enough_data"].as_bool()),
        (Some(28), Some(false))
    );
    assert_eq!(robot["recommends"], false);
    // Lowering the bar makes one.
    let mut args = OBSERVE.to_vec();
    args.extend(["--json", "--min-requests", "20"]);
    let (_, report) = json_of(&args);
    let robot = report["least_privilege"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["consumer"] == "back-office/ops-robot")
        .cloned()
        .unwrap();
    assert_eq!(robot["enough_data"], true);
}

#[test]
fn html_is_one_self_contained_page_naming_every_route() {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ramp-observe.html");
    let _ = std::fs::remove_file(&out);
    let mut args = OBSERVE.to_vec();
    let out_arg = out.to_str().unwrap().to_owned();
    args.extend(["--html", &out_arg]);
    let run = rampgate(&args);
    assert_eq!(run.status, 1);
    has_lines(
        &run.stdout,
        &[&format!("HTML report written to {}", out.display())],
    );
    let page = std::fs::read_to_string(&out).expect("the page is written");
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.trim_end().ends_with("</html>"));
    for route in [
        "GET /accounts/{id}",
        "PATCH /accounts/{id}",
        "GET /accounts/{id}/statements",
        "GET /accounts/{id}/cards",
        "GET /healthz",
    ] {
        assert!(
            page.contains(&format!("<h2 class=\"mono\">{route}</h2>")),
            "{route}"
        );
    }
    // One chart per route with traffic: allowed and observe-denied bars.
    assert_eq!(page.matches("<svg ").count(), 5);
    assert!(page.contains("fill=\"#e08a1e\""), "observe-denied bars");
    assert!(page.contains("BREAKS"));
    // The window's revocations, as in the text report.
    assert!(page.contains(
        "<p class=\"meta\">revocations: 1 in the window (1 revoked, 0 un-revoked; consumer 1)</p>"
    ));
    // Least privilege: a table per consumer seen at its stage.
    assert!(page.contains("<h2>Least privilege</h2>"));
    for consumer in ["web-portal (stage ga)", "mobile-app (stage pilot)"] {
        assert!(
            page.contains(&format!("<h3 class=\"mono\">{consumer}</h3>\n<table>")),
            "{consumer}"
        );
    }
    assert!(page.contains(
        "<tr><td class=\"mono\">cards:read</td><td>yes</td><td class=\"num\">0</td><td class=\"num\">-</td><td>unused</td></tr>"
    ));
    assert!(page.contains(
        "<tr><td class=\"mono\">accounts:write</td><td>no</td><td class=\"num\">-</td><td class=\"num\">163</td><td>over-issued</td></tr>"
    ));
    // Self-contained: nothing fetched, nothing run.
    for banned in [
        "http://",
        "https://login",
        "src=",
        "href=",
        "<script",
        "<link",
        "@import",
        "url(",
    ] {
        assert!(!page.contains(banned), "{banned}");
    }
}

#[test]
fn html_escapes_the_strings_of_the_audit_file() {
    let hostile = r#"{"v":1,"type":"decision","ts":"2026-11-23T10:00:00.000Z","route":"GET /x\"><img src=x onerror=alert(2)>","consumer":"<script>alert(1)</script>","outcome":"observe_deny","reason":"scope_insufficient","missing":["<b>bold</b>"]}"#;
    let file = temp_file("ramp-hostile.jsonl", &format!("{hostile}\n"));
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ramp-hostile.html");
    let run = rampgate(&[
        file.to_str().unwrap(),
        "--contract",
        "v7.toml",
        "--html",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let page = std::fs::read_to_string(&out).expect("the page is written");
    assert!(!page.contains("<script>"));
    assert!(!page.contains("<img"));
    assert!(!page.contains("<b>bold"));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("GET /x&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
    assert!(page.contains("&lt;b&gt;bold&lt;/b&gt; (1)"));
}

#[test]
fn input_errors_exit_2_with_a_precise_message() {
    let run = rampgate(&["nope.jsonl", "--contract", "v7.toml"]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr.starts_with("error: cannot read nope.jsonl: "),
        "{}",
        run.stderr
    );

    let broken = temp_file("ramp-broken.toml", "version = 1\nmode = 3\n");
    let run = rampgate(&[
        "observe/audit.jsonl",
        "--contract",
        broken.to_str().unwrap(),
    ]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr.ends_with(&format!(
            "error: the contract {} is invalid; the report needs a valid one\n",
            broken.display()
        )),
        "{}",
        run.stderr
    );

    // Not one valid line: not an audit file.
    let run = rampgate(&["v7.toml", "--contract", "v7.toml"]);
    assert_eq!(run.status, 2);
    assert!(run.stderr.starts_with(
        "v7.toml:1: warning: skipped a malformed line: not JSON: expected value at column 1\n"
    ));
    assert!(
        run.stderr
            .contains("warning: 53 more malformed lines not shown\n")
    );
    assert!(run.stderr.ends_with("error: not one line of the audit files is a valid event (63 lines malformed): audit files hold one JSON event per line, such as {\"v\":1,\"type\":\"decision\",\"ts\":\"2026-11-29T04:05:06.789Z\",...}\n"), "{}", run.stderr);
    assert_eq!(run.stdout, "");

    let run = rampgate(&[
        "observe/audit.jsonl",
        "--contract",
        "v7.toml",
        "--since",
        "2026-11-25",
    ]);
    assert_eq!(run.status, 2);
    assert!(run.stderr.starts_with("error: invalid value '2026-11-25' for '--since <RFC3339>': expected an RFC 3339 date-time such as 2026-11-29T04:05:06Z"), "{}", run.stderr);

    let run = rampgate(&[
        "observe/audit.jsonl",
        "--contract",
        "v7.toml",
        "--window",
        "3 days",
    ]);
    assert_eq!(run.status, 2);
    assert!(run.stderr.starts_with("error: invalid value '3 days' for '--window <DURATION>': expected a number and a unit, such as 3d, 12h, 90m, 45s or 2w (unknown unit \" days\")"), "{}", run.stderr);

    let run = rampgate(&["--contract", "v7.toml"]);
    assert_eq!(run.status, 2, "an audit file is required");
    let run = rampgate(&["observe/audit.jsonl"]);
    assert_eq!(run.status, 2, "--contract is required");
    let run = rampgate(&[
        "observe/audit.jsonl",
        "--contract",
        "v7.toml",
        "--json",
        "--html",
        "x.html",
    ]);
    assert_eq!(run.status, 2);
    assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
}

#[test]
fn an_empty_audit_file_is_no_data_not_an_error() {
    let file = temp_file("ramp-empty.jsonl", "");
    let run = rampgate(&[file.to_str().unwrap(), "--contract", "v7.toml"]);
    assert_eq!((run.status, run.stderr.as_str()), (0, ""));
    has_lines(
        &run.stdout,
        &["Summary: 0 safe, 0 breaks, 0 review, 0 not enough data, 5 no data"],
    );
}

/// The walkthrough in docs/contracts.md §10 pastes real output: run the same
/// commands on the same files (renamed as in the docs) and find it there.
#[test]
fn the_walkthrough_in_the_docs_is_the_real_output() {
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/contracts.md"
    ))
    .expect("docs/contracts.md is readable");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ramp-walkthrough");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("later")).unwrap();
    let copy = |from: &str, to: &str| {
        std::fs::copy(PathBuf::from(RAMP).join(from), dir.join(to)).unwrap();
    };
    copy("v7.toml", "v7.toml");
    copy("observe/audit.jsonl", "audit.jsonl");
    copy("observe/audit.jsonl.1", "audit.jsonl.1");
    copy("v8.toml", "later/v8.toml");
    copy("quarter/audit.jsonl", "later/audit.jsonl");
    copy("observe/audit.jsonl", "later/audit.jsonl.1");
    copy("observe/audit.jsonl.1", "later/audit.jsonl.2");
    for (cwd, args, status) in [
        (
            dir.clone(),
            vec!["audit.jsonl", "audit.jsonl.1", "--contract", "v7.toml"],
            1,
        ),
        (
            dir.join("later"),
            vec![
                "audit.jsonl",
                "audit.jsonl.1",
                "audit.jsonl.2",
                "--contract",
                "v8.toml",
                "--since",
                "2026-11-26T00:00:00Z",
            ],
            0,
        ),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_rampgate"))
            .args(["ramp", "report"])
            .args(&args)
            .current_dir(&cwd)
            .output()
            .expect("the rampgate binary runs");
        assert_eq!(output.status.code(), Some(status));
        let block = format!(
            "$ rampgate ramp report {}\n{}{}$ echo $?\n{status}\n",
            args.join(" "),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap()
        );
        assert!(
            docs.contains(&block),
            "docs/contracts.md lacks the real output:\n{block}"
        );
    }
}

/// An audit file written by the real `AuditLayer`: the quickstart example run
/// with `RAMPGATE_AUDIT=quickstart-audit.jsonl` on its embedded dev issuer, and
/// its printed curl commands run twice (no token, a reader's token on `/me`
/// and `/profile`, a token without the scope on `/profile`, an expired token).
#[test]
fn a_file_written_by_the_audit_layer_reads_as_recorded() {
    let contract = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/quickstart.contract.toml"
    );
    let run = rampgate(&["quickstart-audit.jsonl", "--contract", contract, "--json"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["input"]["decisions"], 10);
    assert_eq!(report["input"]["malformed_lines"], 0);
    let route = |name: &str| {
        report["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["route"] == name)
            .unwrap_or_else(|| panic!("{name} in {report}"))
            .clone()
    };
    let me = route("GET /me");
    assert_eq!(
        (me["requests"].as_u64(), me["allowed"].as_u64()),
        (Some(6), Some(2))
    );
    assert_eq!(me["denied"], 4, "no token and an expired one, twice each");
    let profile = route("GET /profile");
    assert_eq!(
        (profile["allowed"].as_u64(), profile["denied"].as_u64()),
        (Some(2), Some(2))
    );
    let cli = profile["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["consumer"] == "quickstart-cli")
        .unwrap();
    assert_eq!(cli["stage"], "pilot");
}
