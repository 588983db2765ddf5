//! The MCP example as a user runs it, with a real MCP client: the official
//! Python SDK (`mcp` from PyPI, installed by `.ci/run`) driven through
//! `examples/mcp/client.py`, over real sockets on loopback.
//!
//! - On its embedded defaults, every command it prints works as printed: no
//!   token gets 401 with `resource_metadata`; an `orders:read` token lists
//!   and calls `get_order` only, and gets 403 `insufficient_scope` with
//!   `scope="orders:refund"` on `refund_order`; an `orders:refund` token
//!   without MFA gets the RFC 9470 challenge; a stepped-up one refunds; the
//!   agent on its ramp is held at its stage. The audit file has one event per
//!   call, naming the tool.
//! - Against an external issuer: a token for another audience is refused,
//!   `tools/list` shows each caller what it may call, and a tool in observe
//!   mode lets the agent through and records the would-be denial.
//! - Bodies no MCP client would send (a batch, malformed JSON) are refused
//!   before the server.
#![allow(clippy::unwrap_used)]

#[path = "common/process.rs"]
mod process;

use process::{Example, start_example};
use rampgate_testkit::DevIssuer;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

/// The last line the example prints with its dev issuer.
const LAST_LINE: &str = "support-bot's stage reads only";

/// Runs `examples/mcp/client.py URL TOKEN ARGS...` and returns what it printed.
fn client(url: &str, token: &str, args: &[&str]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/mcp/client.py");
    let out = Command::new("python3")
        .arg(script)
        .args([url, token])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the MCP client failed (is the `mcp` package installed? .ci/run installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// The one refused answer among the client's HTTP answers.
fn refusal(out: &Value) -> &Value {
    let refused: Vec<&Value> = out["http"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["status"].as_u64().unwrap() >= 400)
        .collect();
    assert_eq!(refused.len(), 1, "{out}");
    refused[0]
}

/// Asserts a refused tool call: the status, the reason, the challenge's
/// parts, no tool result.
fn assert_refused(out: &Value, status: u64, reason: &str, challenge: &[&str]) {
    let answer = refusal(out);
    assert_eq!(answer["status"], status, "{out}");
    assert_eq!(answer["reason"], reason, "{out}");
    let header = answer["www_authenticate"].as_str().unwrap();
    for part in challenge {
        assert!(header.contains(part), "{part} not in {header}");
    }
    assert!(out.get("result").is_none(), "{out}");
}

/// The `decision` events of the audit file for tool calls.
fn tool_calls(audit: &Path) -> Vec<Value> {
    std::fs::read_to_string(audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["type"] == "decision" && e["mcp_method"] == "tools/call")
        .collect()
}

/// Waits until the audit file holds `n` tool-call events (the writer is a
/// background task).
fn await_tool_calls(audit: &Path, n: usize) -> Vec<Value> {
    for _ in 0..100 {
        let events = tool_calls(audit);
        if events.len() >= n {
            return events;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    tool_calls(audit)
}

/// The printed client commands: (URL, token, the rest), and the comment.
fn printed_commands(example: &Example) -> Vec<(Vec<String>, String)> {
    example
        .output
        .iter()
        .filter(|l| l.contains("examples/mcp/client.py"))
        .map(|l| {
            let (command, comment) = l.split_once(" # ").unwrap_or((l, ""));
            let words: Vec<String> = command
                .split_whitespace()
                .skip(2)
                .map(|w| w.trim_matches('\'').to_owned())
                .collect();
            (words, comment.trim().to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_printed_command_works_as_printed_and_each_call_is_audited_by_tool() {
    let dir = std::env::temp_dir().join(format!("rampgate-mcp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let audit = dir.join("audit.jsonl");
    let example = start_example(
        "mcp",
        &[("RAMPGATE_AUDIT", audit.to_str().unwrap())],
        LAST_LINE,
    );
    let url = format!("http://{}/mcp", example.addr);
    let metadata = format!(
        "resource_metadata=\"http://{}/.well-known/oauth-protected-resource/mcp\"",
        example.addr
    );

    // No token: 401 naming the metadata, which names this resource and the
    // contract's scopes.
    let response = reqwest::Client::new().post(&url).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains(&metadata), "{challenge}");
    let doc: Value = reqwest::get(format!(
        "http://{}/.well-known/oauth-protected-resource/mcp",
        example.addr
    ))
    .await
    .unwrap()
    .bytes()
    .await
    .map(|b| serde_json::from_slice(&b).unwrap())
    .unwrap();
    assert_eq!(doc["resource"], url.as_str());
    assert_eq!(
        doc["scopes_supported"],
        json!(["orders:read", "orders:refund"])
    );

    let commands = printed_commands(&example);
    assert_eq!(commands.len(), 6, "{:?}", example.output);
    let run = |i: usize| {
        let (words, comment) = &commands[i];
        assert_eq!(words[0], url);
        let args: Vec<&str> = words[2..].iter().map(String::as_str).collect();
        (client(&url, &words[1], &args), comment.clone())
    };
    let (listed, _) = run(0);
    assert_eq!(listed["tools"], json!(["get_order"]), "{listed}");
    let (got, _) = run(1);
    assert!(
        got["result"].as_str().unwrap().contains("\"shipped\""),
        "{got}"
    );
    let (out, comment) = run(2);
    assert!(comment.contains("403 insufficient_scope"));
    assert_refused(
        &out,
        403,
        "scope_insufficient",
        &[
            "error=\"insufficient_scope\"",
            "scope=\"orders:refund\"",
            &metadata,
        ],
    );
    let (out, _) = run(3);
    assert_refused(
        &out,
        401,
        "acr_insufficient",
        &[
            "error=\"insufficient_user_authentication\"",
            "acr_values=\"mfa\"",
            "max_age=\"300\"",
        ],
    );
    // The refused refunds never reached the tool: the order is still shipped.
    let reader = &commands[1].0[1];
    let still = client(&url, reader, &["call", "get_order", "{\"id\":\"A1\"}"]);
    assert!(
        still["result"].as_str().unwrap().contains("\"shipped\""),
        "{still}"
    );
    let (refunded, _) = run(4);
    assert!(
        refunded["result"]
            .as_str()
            .unwrap()
            .contains("\"refunded\""),
        "{refunded}"
    );
    let (out, _) = run(5);
    assert_refused(
        &out,
        403,
        "scope_beyond_stage",
        &["error=\"insufficient_scope\""],
    );

    let events = await_tool_calls(&audit, 6);
    let summary: Vec<(String, u64, String, String)> = events
        .iter()
        .map(|e| {
            (
                e["mcp_target"].as_str().unwrap().to_owned(),
                e["status"].as_u64().unwrap(),
                e["reason"].as_str().unwrap().to_owned(),
                e["route"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let row = |tool: &str, status: u64, reason: &str| {
        (
            tool.to_owned(),
            status,
            reason.to_owned(),
            format!("tools/call {tool}"),
        )
    };
    assert_eq!(
        summary,
        [
            row("get_order", 200, "allowed"),
            row("refund_order", 403, "scope_insufficient"),
            row("refund_order", 401, "acr_insufficient"),
            row("get_order", 200, "allowed"),
            row("refund_order", 200, "allowed"),
            row("refund_order", 403, "scope_beyond_stage"),
        ]
    );
    assert_eq!(events[4]["step_up"], "passed");
    assert_eq!(events[5]["consumer"], "support-bot");
    assert_eq!(events[5]["stage"], "read");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The example against an issuer of the test's own, with `env`.
async fn external(env: &[(&str, &str)]) -> (DevIssuer, Example) {
    let issuer = DevIssuer::start().await.unwrap();
    let jwks = issuer.jwks_url();
    let mut all = vec![
        ("RAMPGATE_ISSUER", issuer.issuer()),
        ("RAMPGATE_JWKS_URL", jwks.as_str()),
    ];
    all.extend_from_slice(env);
    let example = start_example("mcp", &all, LAST_LINE);
    (issuer, example)
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_must_name_this_server_and_each_caller_lists_what_it_may_call() {
    let (issuer, example) = external(&[]).await;
    let url = format!("http://{}/mcp", example.addr);
    let token = |aud: &str, client_id: &str, scopes: &[&str]| {
        issuer
            .token()
            .sub("alice")
            .client_id(client_id)
            .audience(aud)
            .scopes(scopes.iter().copied())
            .sign()
    };
    // RFC 8707: the audience is this server's canonical URI, exactly.
    for other in ["http://elsewhere.example/mcp", &format!("{url}/")] {
        let out = client(&url, &token(other, "agent", &["orders:read"]), &["list"]);
        let answer = refusal(&out);
        assert_eq!(
            (answer["status"].as_u64(), answer["reason"].as_str()),
            (Some(401), Some("audience_mismatch")),
            "{out}"
        );
        assert!(out.get("tools").is_none(), "{out}");
    }
    // tools/list: what the token and the consumer's stage allow.
    let list = |client_id: &str, scopes: &[&str]| {
        client(&url, &token(&url, client_id, scopes), &["list"])["tools"].clone()
    };
    assert_eq!(list("agent", &["orders:read"]), json!(["get_order"]));
    assert_eq!(
        list("agent", &["orders:read", "orders:refund"]),
        json!(["get_order", "refund_order"])
    );
    assert_eq!(list("agent", &[]), json!([]));
    assert_eq!(
        list("support-bot", &["orders:read", "orders:refund"]),
        json!(["get_order"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tool_in_observe_mode_lets_the_agent_through_and_records_the_would_be_denial() {
    let dir = std::env::temp_dir().join(format!("rampgate-mcp-observe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let contract = dir.join("contract.toml");
    let audit = dir.join("audit.jsonl");
    let text = include_str!("../examples/mcp/contract.toml").replace(
        "trust = \"sensitive\"\n",
        "trust = \"sensitive\"\nmode = \"observe\"\n",
    );
    std::fs::write(&contract, text).unwrap();
    let (issuer, example) = external(&[
        ("RAMPGATE_CONTRACT", contract.to_str().unwrap()),
        ("RAMPGATE_AUDIT", audit.to_str().unwrap()),
    ])
    .await;
    let url = format!("http://{}/mcp", example.addr);
    let bot = issuer
        .token()
        .sub("support-bot")
        .client_id("support-bot")
        .audience(&url)
        .scopes(["orders:read", "orders:refund"])
        .acr("mfa")
        .auth_time_ago(0)
        .sign();
    let out = client(&url, &bot, &["call", "refund_order", "{\"id\":\"B7\"}"]);
    assert!(
        out["result"].as_str().unwrap().contains("\"refunded\""),
        "{out}"
    );
    let events = await_tool_calls(&audit, 1);
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e["outcome"], "observe_deny", "{e}");
    assert_eq!(e["reason"], "scope_beyond_stage");
    assert_eq!(e["mcp_target"], "refund_order");
    assert_eq!(e["mode"], "observe");
    assert_eq!(e["status"], 200);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_and_malformed_bodies_are_refused_before_the_server() {
    let (issuer, example) = external(&[]).await;
    let url = format!("http://{}/mcp", example.addr);
    let token = issuer
        .token()
        .sub("alice")
        .client_id("agent")
        .audience(&url)
        .scopes(["orders:read", "orders:refund"])
        .sign();
    let call = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_order","arguments":{"id":"A1"}}}"#;
    let http = reqwest::Client::new();
    for (body, says) in [
        (format!("[{call}]"), "batch"),
        ("{\"jsonrpc\":\"2.0\",".to_owned(), "not valid JSON-RPC"),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}"#.to_owned(),
            "params.name",
        ),
        ("x".repeat(2 * 1024 * 1024), "larger than"),
    ] {
        let response = http
            .post(&url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let json: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        assert_eq!(json["reason"], "request_malformed");
        assert!(
            json["description"].as_str().unwrap().contains(says),
            "{json}"
        );
    }
}
