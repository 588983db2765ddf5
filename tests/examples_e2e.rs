//! The examples as a user runs them: real processes, real sockets.
//!
//! - On their embedded defaults, every curl command they print works as printed
//!   (the quickstart; the payments step-up walkthrough).
//! - Against an external issuer (here a second process-local dev issuer, reached
//!   over HTTP), it accepts that issuer's valid tokens and refuses every forged,
//!   expired, misaddressed or malformed one with 401.
#![allow(clippy::unwrap_used)]

#[path = "common/process.rs"]
mod process;

use process::{Example as Quickstart, start_example};

use rampgate_testkit::{DevIssuer, SigningAlg};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Starts the quickstart with `env`, waits for `listening on ADDR` and, for the
/// dev issuer, for its curl commands.
fn start(env: &[(&str, &str)]) -> Quickstart {
    start_example("quickstart", env, "invalid_token (expired)")
}

/// The printed curl commands and their trailing `# comment`s.
fn printed_commands(qs: &Quickstart) -> Vec<(String, String)> {
    qs.output
        .iter()
        .filter(|l| l.trim_start().starts_with("curl "))
        .map(|l| match l.rsplit_once("   # ") {
            Some((cmd, comment)) => (cmd.trim().to_owned(), comment.trim().to_owned()),
            None => match l.split_once(" # ") {
                Some((cmd, comment)) => (cmd.trim().to_owned(), comment.trim().to_owned()),
                None => (l.trim().to_owned(), String::new()),
            },
        })
        .collect()
}

/// The URL of the embedded dev issuer an example printed.
fn dev_issuer_of(example: &Quickstart) -> String {
    example
        .output
        .iter()
        .find_map(|l| l.strip_prefix("embedded dev issuer: "))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the example prints its dev issuer")
        .to_owned()
}

/// Runs `cmd` exactly as printed, through a shell; returns the HTTP status.
fn run_printed(cmd: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", &format!("{cmd} -s -o /dev/null -w '%{{http_code}}'")])
        .output()
        .expect("curl must be installed (.ci/run installs it)");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn payments_step_up_walkthrough_works_as_printed() {
    let qs = start_example("payments", &[], "200 approved after step-up");
    let commands = printed_commands(&qs);
    let statuses: Vec<String> = commands.iter().map(|(cmd, _)| run_printed(cmd)).collect();
    // Read, create, approve without step-up (challenge), approve after step-up.
    assert_eq!(statuses, ["200", "201", "401", "200"], "{commands:?}");
}

/// docs/step-up.md §5 as a reader runs it: the payments example on its dev
/// issuer, the guide's shell prelude with the printed addresses, then every
/// `$ ` command of its console blocks in one shell, each answer compared with
/// the one shown (without the `date` and `x-request-id` headers, which the
/// guide leaves out).
#[test]
fn the_step_up_guide_walkthrough_is_the_real_output() {
    let guide = include_str!("../docs/step-up.md");
    let section = guide
        .split("## 5. Walkthrough: the payments example")
        .nth(1)
        .and_then(|rest| rest.split("## 6.").next())
        .unwrap();
    let qs = start_example("payments", &[], "200 approved after step-up");
    let issuer = dev_issuer_of(&qs);
    let dir = std::env::temp_dir().join(format!("rampgate-stepup-guide-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut script = String::new();
    let mut expected = Vec::new();
    for (i, block) in section.split("```").enumerate().filter(|(i, _)| i % 2 == 1) {
        if let Some(prelude) = block.strip_prefix("sh\n")
            && prelude.contains("mint()")
        {
            for line in prelude.lines() {
                let line = line.split("  #").next().unwrap().trim_end();
                let line = match line.split_once('=') {
                    Some(("API", _)) => format!("API=http://{}", qs.addr),
                    Some(("ISS", _)) => format!("ISS={issuer}"),
                    _ => line.to_owned(),
                };
                script.push_str(&line);
                script.push('\n');
            }
        }
        let Some(console) = block.strip_prefix("console\n") else {
            continue;
        };
        for (j, command) in console.split("\n$ ").enumerate() {
            let command = if j == 0 {
                command.strip_prefix("$ ").unwrap()
            } else {
                command
            };
            let (line, shown) = command.split_once('\n').unwrap_or((command, ""));
            let out = dir.join(format!("{i}-{j}"));
            script.push_str(&format!("{{ {line}\n}} > '{}' 2>&1\n", out.display()));
            expected.push((line.to_owned(), shown.trim_end().to_owned(), out));
        }
    }
    assert!(expected.len() >= 15, "{} commands found", expected.len());
    let status = Command::new("bash")
        .args(["-c", &script])
        .status()
        .expect("bash runs the guide's commands");
    assert!(status.success());
    for (line, shown, out) in expected {
        let real: Vec<String> = std::fs::read_to_string(&out)
            .unwrap()
            .replace('\r', "")
            .lines()
            .filter(|l| {
                let l = l.to_ascii_lowercase();
                !l.starts_with("date:") && !l.starts_with("x-request-id:")
            })
            .map(str::to_owned)
            .collect();
        assert_eq!(
            real.join("\n").trim_end(),
            shown,
            "docs/step-up.md shows another answer for `{line}`"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn grpc_example_commands_work_as_printed() {
    // The example client stands in for `cargo run --example grpc_client ...`,
    // which the example prints; the arguments are used as printed.
    let client = process::example("grpc_client");
    let qs = start_example("grpc", &[], "# Unauthenticated");
    assert!(
        qs.output[0].starts_with("listening on 127.0.0.1:"),
        "{:?}",
        qs.output
    );
    let prefix = "cargo run --example grpc_client --features tonic -- ";
    let commands: Vec<&String> = qs.output.iter().filter(|l| l.contains(prefix)).collect();
    assert_eq!(commands.len(), 6, "{:?}", qs.output);
    for line in commands {
        let (command, comment) = line.split_once(" # ").unwrap_or((line, ""));
        let (env, args) = command.trim().split_once(prefix).unwrap();
        let addr = env.trim().strip_prefix("RAMPGATE_ADDR=").unwrap();
        let out = Command::new(&client)
            .env("RAMPGATE_ADDR", addr)
            .args(args.split_whitespace())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let expected = if comment.contains("UNAUTHENTICATED") {
            Some("Unauthenticated")
        } else if comment.contains("PERMISSION_DENIED") {
            Some("PermissionDenied")
        } else {
            None
        };
        match expected {
            Some(code) => {
                assert!(!out.status.success(), "{line}: {stdout}");
                assert!(stderr.contains(code), "{line}: {stderr}");
                assert!(
                    stderr.contains("www-authenticate: Bearer"),
                    "{line}: {stderr}"
                );
            }
            None => {
                assert!(out.status.success(), "{line}: {stderr}");
                assert!(
                    stdout.contains("Hello") || stdout.contains("Serving"),
                    "{line}: {stdout}"
                );
            }
        }
    }
}

#[test]
fn rampgate_audit_makes_the_examples_write_one_json_line_per_request() {
    for (name, last_line, requests) in [
        // Of the quickstart's seven commands, /health is public, outside the layers.
        ("quickstart", "invalid_token (expired)", 6),
        ("payments", "200 approved after step-up", 4),
    ] {
        let dir =
            std::env::temp_dir().join(format!("rampgate-ex-audit-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("audit.jsonl");
        let qs = start_example(
            name,
            &[("RAMPGATE_AUDIT", file.to_str().unwrap())],
            last_line,
        );
        let commands = printed_commands(&qs);
        let statuses: Vec<String> = commands
            .iter()
            .filter(|(cmd, _)| !cmd.ends_with("/health"))
            .map(|(cmd, _)| run_printed(cmd))
            .collect();
        assert_eq!(statuses.len(), requests);
        // Poll until the writer task has appended every line.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let lines = loop {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let lines: Vec<serde_json::Value> = text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            if lines.len() >= requests || std::time::Instant::now() > deadline {
                break lines;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(lines.len(), requests, "{name}: one line per request");
        for (line, status) in lines.iter().zip(&statuses) {
            assert_eq!(line["type"], "decision");
            assert_eq!(line["status"].to_string(), *status, "{name}: {line}");
        }
        if name == "payments" {
            assert_eq!(lines[2]["step_up"], "failed");
            assert_eq!(lines[3]["step_up"], "passed");
        }
        // The DPoP request's line says what its token was bound to; the
        // bearer tokens' lines have no `bound`.
        let bound: Vec<&serde_json::Value> = lines.iter().filter_map(|l| l.get("bound")).collect();
        let expected: &[&str] = if name == "quickstart" { &["dpop"] } else { &[] };
        assert_eq!(bound, expected, "{name}: {lines:?}");
        let metrics = Command::new("curl")
            .args(["-s", &format!("http://{}/metrics", qs.addr)])
            .output()
            .unwrap();
        let metrics = String::from_utf8(metrics.stdout).unwrap();
        for name in [
            "rampgate_decisions_total{",
            "rampgate_request_duration_seconds",
            "rampgate_verify_duration_seconds",
            "rampgate_jwks_refreshes_total{",
            "rampgate_jwks_keys{",
            "rampgate_audit_queue_depth",
        ] {
            assert!(metrics.contains(name), "{name} missing: {metrics}");
        }
        let refusal = if name == "quickstart" {
            r#"rampgate_decisions_total{outcome="deny",reason="token_missing",route="GET /me"} 1"#
        } else {
            r#"rampgate_decisions_total{outcome="deny",reason="acr_insufficient",route="POST /transactions/{id}/approve"} 1"#
        };
        assert!(metrics.contains(refusal), "{refusal} missing: {metrics}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn printed_curl_commands_work_as_printed() {
    let qs = start(&[]);
    assert!(
        qs.output[0].starts_with("listening on 127.0.0.1:"),
        "{:?}",
        qs.output
    );
    let commands = printed_commands(&qs);
    assert_eq!(commands.len(), 7, "{:?}", qs.output);
    for (cmd, comment) in commands {
        let status = run_printed(&cmd);
        let expected = if comment.starts_with("401") || comment.contains("401 invalid_token") {
            "401"
        } else if comment.starts_with("403") {
            "403"
        } else {
            "200"
        };
        assert_eq!(status, expected, "{cmd} ({comment})");
        // conformance: 9449-6. The DPoP proof is good for one request.
        if cmd.contains("Authorization: DPoP") {
            assert!(
                comment.ends_with("again: 401 dpop_proof_replayed"),
                "{comment}"
            );
            let again = Command::new("sh")
                .args(["-c", &format!("{cmd} -s")])
                .output()
                .unwrap();
            let body = String::from_utf8(again.stdout).unwrap();
            assert!(body.contains("HTTP/1.1 401"), "{body}");
            assert!(body.contains(r#""reason":"dpop_proof_replayed""#), "{body}");
            assert!(
                body.contains(r#"www-authenticate: DPoP realm="quickstart""#),
                "{body}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn external_issuer_through_jwks_url_and_through_discovery() {
    let idp = DevIssuer::builder()
        .alg(SigningAlg::Rs256)
        .audience("https://api.example")
        .start()
        .await
        .unwrap();
    let jwks_url = idp.jwks_url();
    let by_jwks = [
        ("RAMPGATE_ISSUER", idp.issuer()),
        ("RAMPGATE_AUDIENCE", "https://api.example"),
        ("RAMPGATE_JWKS_URL", jwks_url.as_str()),
    ];
    let by_discovery = [
        ("RAMPGATE_ISSUER", idp.issuer()),
        ("RAMPGATE_AUDIENCE", "https://api.example"),
    ];
    // The same issuer from a configuration file instead of the environment.
    let config_file =
        std::env::temp_dir().join(format!("rampgate-e2e-{}.toml", std::process::id()));
    std::fs::write(
        &config_file,
        format!(
            "[[issuers]]\nissuer = \"{}\"\naudiences = [\"https://api.example\"]\njwks_url = \"{jwks_url}\"\n",
            idp.issuer()
        ),
    )
    .unwrap();
    let config_path = config_file.display().to_string();
    let by_config_file = [("RAMPGATE_CONFIG", config_path.as_str())];
    let forger = DevIssuer::builder()
        .alg(SigningAlg::Rs256)
        .start()
        .await
        .unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    for env in [&by_jwks[..], &by_discovery[..], &by_config_file[..]] {
        let qs = tokio::task::block_in_place(|| start(env));
        let url = |p: &str| format!("http://{}{p}", qs.addr);
        let status = async |path: &str, token: Option<&str>| {
            let mut req = client.get(url(path));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let resp = req.send().await.unwrap();
            let challenge = resp
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_owned());
            (resp.status().as_u16(), challenge)
        };

        assert_eq!(status("/health", None).await.0, 200);
        let valid = idp.token().sub("alice").scopes(["profile:read"]).sign();
        assert_eq!(status("/me", Some(&valid)).await.0, 200);
        assert_eq!(status("/profile", Some(&valid)).await.0, 200);
        let no_scope = idp.token().sign();
        assert_eq!(status("/profile", Some(&no_scope)).await.0, 403);

        let forged = forger
            .token()
            .issuer(idp.issuer())
            .audience("https://api.example")
            .kid(&idp.current_kid())
            .sign();
        let bad_tokens = [
            ("forged", forged),
            ("expired", idp.token().expires_in(-3600).sign()),
            (
                "misaddressed",
                idp.token().audience("https://other.example").sign(),
            ),
            ("malformed", "not.a.token".to_owned()),
            ("unsigned", {
                let t = idp.token().sign();
                format!("{}.", &t[..t.rfind('.').unwrap()])
            }),
        ];
        for (what, token) in bad_tokens {
            let (code, challenge) = status("/me", Some(&token)).await;
            assert_eq!(code, 401, "{what}");
            assert!(
                challenge.unwrap().contains(r#"error="invalid_token""#),
                "{what}"
            );
        }
    }
}

/// Runs an example until it exits or prints `listening on`, with `env`; returns
/// (exit code if it exited, stdout, stderr).
fn run_to_start(name: &str, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(process::example(name));
    cmd.env("RAMPGATE_ADDR", "127.0.0.1:0")
        .env_remove("RAMPGATE_ISSUER")
        .env_remove("RAMPGATE_AUDIENCE")
        .env_remove("RAMPGATE_JWKS_URL")
        .env_remove("RAMPGATE_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    // Drained to the end (closing it early would break the child's logging).
    let stderr = std::thread::spawn(move || {
        let lines: Vec<String> = BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect();
        lines.join("\n")
    });
    let stdout = child.stdout.take().unwrap();
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    let code = if first.starts_with("listening on") {
        let _ = child.kill();
        let _ = child.wait();
        None
    } else {
        child.wait().unwrap().code()
    };
    (code, first, stderr.join().unwrap())
}

#[test]
fn half_a_configuration_is_an_error_not_a_dev_issuer() {
    for env in [
        &[("RAMPGATE_AUDIENCE", "https://api.example")][..],
        &[("RAMPGATE_JWKS_URL", "https://idp.example/jwks")][..],
        &[("RAMPGATE_ISSUER", "https://idp.example")][..],
        &[("RAMPGATE_CONFIG", "/nonexistent/rampgate.toml")][..],
    ] {
        let (code, stdout, stderr) = run_to_start("quickstart", env);
        assert_eq!(code, Some(1), "{env:?}: must exit, not serve: {stdout}");
        assert!(!stdout.contains("listening on"), "{env:?}");
        assert!(!stderr.contains("DEVELOPMENT issuer"), "{env:?}: {stderr}");
        let named = [
            "RAMPGATE_ISSUER",
            "RAMPGATE_AUDIENCE",
            "/nonexistent/rampgate.toml",
        ];
        assert!(
            named.iter().any(|n| stderr.contains(n)),
            "{env:?}: the error names the setting: {stderr}"
        );
    }
}

#[test]
fn the_example_says_loudly_that_it_runs_the_dev_issuer() {
    let (code, stdout, stderr) = run_to_start("quickstart", &[]);
    assert_eq!(code, None, "it serves: {stdout} {stderr}");
    assert!(
        stderr.contains("WARNING") && stderr.contains("DEVELOPMENT issuer"),
        "{stderr}"
    );
}

/// A JWKS document served on a loopback port reserved now but listened on only
/// after `delay`: an identity provider that comes up after the service.
struct LateJwks {
    url: String,
    /// When the server first answered, if it has.
    first_answer: std::sync::Arc<std::sync::Mutex<Option<std::time::Instant>>>,
}

impl LateJwks {
    fn start(document: String, delay: Duration) -> LateJwks {
        let reserved = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = reserved.local_addr().unwrap();
        // Closed until `delay` has passed: fetches meanwhile are refused.
        drop(reserved);
        let first_answer = std::sync::Arc::new(std::sync::Mutex::new(None));
        let answered = first_answer.clone();
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            let listener = std::net::TcpListener::bind(addr).unwrap();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{document}",
                    document.len()
                );
                let _ = std::io::Write::write_all(&mut stream, answer.as_bytes());
                answered
                    .lock()
                    .unwrap()
                    .get_or_insert_with(std::time::Instant::now);
            }
        });
        LateJwks {
            url: format!("http://{addr}/jwks"),
            first_answer,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_quickstart_listens_only_once_a_late_jwks_has_answered() {
    let idp = DevIssuer::builder()
        .audience("https://api.example")
        .start()
        .await
        .unwrap();
    let document = reqwest::get(idp.jwks_url())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let jwks = LateJwks::start(document, Duration::from_millis(1500));
    let env = [
        ("RAMPGATE_ISSUER", idp.issuer()),
        ("RAMPGATE_AUDIENCE", "https://api.example"),
        ("RAMPGATE_JWKS_URL", jwks.url.as_str()),
    ];
    let qs = tokio::task::block_in_place(|| start(&env));
    let answered = *jwks.first_answer.lock().unwrap();
    assert!(
        answered.is_some(),
        "`listening on` was printed before the JWKS ever answered: {:?}",
        qs.output
    );

    // Its very first request with a valid token is served.
    let client = reqwest::Client::new();
    let token = idp.token().sub("alice").sign();
    let resp = client
        .get(format!("http://{}/me", qs.addr))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = client
        .get(format!("http://{}/ready", qs.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let health: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(health["ready"], true, "{health}");
    assert_eq!(health["issuers"][0]["issuer"], idp.issuer(), "{health}");
}

#[test]
fn the_quickstart_exits_naming_the_issuer_whose_keys_never_come() {
    // Accepts connections (into the backlog) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let jwks_url = format!("http://{}/jwks", silent.local_addr().unwrap());
    let (code, stdout, stderr) = run_to_start(
        "quickstart",
        &[
            ("RAMPGATE_ISSUER", "https://never-ready.example"),
            ("RAMPGATE_AUDIENCE", "https://api.example"),
            ("RAMPGATE_JWKS_URL", &jwks_url),
            ("RAMPGATE_READY_TIMEOUT", "1"),
        ],
    );
    assert_eq!(code, Some(1), "must exit, not serve: {stdout} {stderr}");
    assert!(!stdout.contains("listening on"), "{stdout}");
    assert!(
        stderr.contains("https://never-ready.example") && stderr.contains("RAMPGATE_READY_TIMEOUT"),
        "the error names the issuer and the setting: {stderr}"
    );
    drop(silent);
}

#[tokio::test(flavor = "multi_thread")]
async fn ready_answers_503_while_the_keys_are_missing() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let jwks_url = format!("http://{}/jwks", silent.local_addr().unwrap());
    // 0: listen at once, without waiting for the keys.
    let env = [
        ("RAMPGATE_ISSUER", "https://never-ready.example"),
        ("RAMPGATE_AUDIENCE", "https://api.example"),
        ("RAMPGATE_JWKS_URL", jwks_url.as_str()),
        ("RAMPGATE_READY_TIMEOUT", "0"),
    ];
    let qs = tokio::task::block_in_place(|| start(&env));
    let resp = reqwest::get(format!("http://{}/ready", qs.addr))
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    let health: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(health["ready"], false, "{health}");
    assert_eq!(
        health["issuers"][0]["issuer"], "https://never-ready.example",
        "{health}"
    );
    assert_eq!(health["issuers"][0]["keys"], 0, "{health}");
    drop(silent);
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_example_serves_reflection_v1_and_v1alpha_without_a_token() {
    use tokio_stream::StreamExt;
    let qs = tokio::task::block_in_place(|| start_example("grpc", &[], "# Unauthenticated"));
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", qs.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();

    // grpcurl's builds use one or the other: both must list the services.
    let mut v1 = tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient::new(
        channel.clone(),
    );
    let request = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            tonic_reflection::pb::v1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            ),
        ),
    };
    let mut replies = v1
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let reply = replies.next().await.unwrap().unwrap();
    let Some(
        tonic_reflection::pb::v1::server_reflection_response::MessageResponse::ListServicesResponse(
            list,
        ),
    ) = reply.message_response
    else {
        panic!("not a service list: {reply:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"helloworld.Greeter".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"grpc.health.v1.Health".to_owned()),
        "{names:?}"
    );

    let mut v1alpha =
        tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient::new(
            channel,
        );
    let request = tonic_reflection::pb::v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            ),
        ),
    };
    let mut replies = v1alpha
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let reply = replies.next().await.unwrap().unwrap();
    assert!(
        format!("{reply:?}").contains("helloworld.Greeter"),
        "{reply:?}"
    );
}

/// Thirty days: longer than the 24 hours the examples accept by default.
const A_MONTH: i64 = 30 * 86_400;

/// Sends `request` and returns its status, its challenge and its JSON body
/// (`Null` when the body is not JSON).
async fn answer(request: reqwest::RequestBuilder) -> (u16, String, serde_json::Value) {
    let resp = request.send().await.unwrap();
    let status = resp.status().as_u16();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or_default();
    (status, challenge, body)
}

/// A 401 `invalid_token` refusal whose reason is `token_lifetime_exceeded`.
fn assert_lifetime_refused(
    what: &str,
    (status, challenge, body): &(u16, String, serde_json::Value),
) {
    assert_eq!(*status, 401, "{what}: {body}");
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{what}: {challenge}"
    );
    assert_eq!(body["reason"], "token_lifetime_exceeded", "{what}: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_examples_refuse_a_token_living_thirty_days() {
    // conformance: JWT-13
    let idp = DevIssuer::builder()
        .audience("https://api.example")
        .start()
        .await
        .unwrap();
    let jwks_url = idp.jwks_url();
    let env = [
        ("RAMPGATE_ISSUER", idp.issuer()),
        ("RAMPGATE_AUDIENCE", "https://api.example"),
        ("RAMPGATE_JWKS_URL", jwks_url.as_str()),
    ];
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    // The quickstart: /me answers the token's sub when its handler runs.
    let qs = tokio::task::block_in_place(|| start(&env));
    let me = format!("http://{}/me", qs.addr);
    let month = idp.token().sub("alice").expires_in(A_MONTH).sign();
    let refused = answer(client.get(&me).bearer_auth(&month)).await;
    assert_lifetime_refused("quickstart", &refused);
    assert!(refused.2.get("sub").is_none(), "{}", refused.2);
    // A token living a day is an ordinary token: served.
    let day = idp.token().sub("alice").expires_in(86_400).sign();
    let (status, _, body) = answer(client.get(&me).bearer_auth(&day)).await;
    assert_eq!((status, &body["sub"]), (200, &serde_json::json!("alice")));
    drop(qs);

    // Payments: a refused POST /transactions must create nothing. The ledger
    // starts with tx-1, so the next transaction created is tx-2.
    let payments = tokio::task::block_in_place(|| start_example("payments", &env, ""));
    let create = |token: &str| {
        client
            .post(format!("http://{}/transactions", payments.addr))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(r#"{"from": "acc-1", "to": "acc-2", "amount": 50}"#)
    };
    let writer = |lifetime: i64| {
        idp.token()
            .sub("olivia")
            .client_id("payments-console")
            .scopes(["payments:write"])
            .expires_in(lifetime)
            .sign()
    };
    assert_lifetime_refused("payments", &answer(create(&writer(A_MONTH))).await);
    let (status, _, body) = answer(create(&writer(3600))).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["id"], "tx-2",
        "the refused request ran the handler: {body}"
    );
    drop(payments);

    // gRPC: the greeter answers "Hello ..." when it runs.
    let client_exe = process::example("grpc_client");
    let grpc = tokio::task::block_in_place(|| start_example("grpc", &env, ""));
    let hello = |lifetime: i64| {
        let token = idp.token().scopes(["greet"]).expires_in(lifetime).sign();
        Command::new(&client_exe)
            .env("RAMPGATE_ADDR", &grpc.addr)
            .args(["hello", &token])
            .output()
            .unwrap()
    };
    let out = tokio::task::block_in_place(|| hello(A_MONTH));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(!out.status.success(), "{stdout}");
    assert!(!stdout.contains("Hello"), "the greeter ran: {stdout}");
    assert!(
        stderr.contains("Unauthenticated") && stderr.contains("token_lifetime_exceeded"),
        "{stderr}"
    );
    assert!(stderr.contains(r#"error="invalid_token""#), "{stderr}");
    let out = tokio::task::block_in_place(|| hello(3600));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Hello"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_embedded_dev_issuer_is_held_to_the_same_lifetime() {
    // conformance: JWT-13
    let qs = tokio::task::block_in_place(|| start(&[]));
    let issuer = dev_issuer_of(&qs);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mint = |lifetime: i64| {
        let url = format!("{issuer}/mint?sub=alice&expires_in={lifetime}");
        let client = client.clone();
        async move {
            client
                .get(url)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
                .trim()
                .to_owned()
        }
    };
    let me = format!("http://{}/me", qs.addr);
    let refused = answer(client.get(&me).bearer_auth(mint(A_MONTH).await)).await;
    assert_lifetime_refused("quickstart on its dev issuer", &refused);
    let (status, _, body) = answer(client.get(&me).bearer_auth(mint(3600).await)).await;
    assert_eq!((status, &body["sub"]), (200, &serde_json::json!("alice")));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_quickstart_enforces_a_contracts_trust_level_without_a_step_up_layer() {
    // The review's black-box case: the quickstart stacks no StepUpLayer, and
    // its contract marks /me and /profile sensitive. A plain token used to
    // get 200 with an audit event saying the step-up had passed.
    // conformance: 9470-1
    let idp = DevIssuer::builder()
        .audience("https://api.example")
        .start()
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("rampgate-stepup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let contract = dir.join("contract.toml");
    let sensitive = include_str!("../examples/quickstart.contract.toml")
        .replace(
            "path = \"/me\"\n",
            "path = \"/me\"\ntrust = \"sensitive\"\n",
        )
        .replace(
            "path = \"/profile\"\n",
            "path = \"/profile\"\ntrust = \"sensitive\"\n",
        )
        + "\n[trust.sensitive]\nacr_values = [\"mfa\"]\nmax_age = 300\n";
    assert_eq!(sensitive.matches("trust = \"sensitive\"").count(), 2);
    std::fs::write(&contract, sensitive).unwrap();
    let audit = dir.join("audit.jsonl");
    let _ = std::fs::remove_file(&audit);
    let jwks_url = idp.jwks_url();
    let env = [
        ("RAMPGATE_ISSUER", idp.issuer()),
        ("RAMPGATE_AUDIENCE", "https://api.example"),
        ("RAMPGATE_JWKS_URL", jwks_url.as_str()),
        ("RAMPGATE_CONTRACT", contract.to_str().unwrap()),
        ("RAMPGATE_AUDIT", audit.to_str().unwrap()),
    ];
    let qs = tokio::task::block_in_place(|| start(&env));
    let client = reqwest::Client::new();
    let url = |path: &str| format!("http://{}{path}", qs.addr);
    let plain = idp.token().sub("alice").scopes(["profile:read"]).sign();
    for path in ["/me", "/profile"] {
        let (status, challenge, body) = answer(client.get(url(path)).bearer_auth(&plain)).await;
        assert_eq!(status, 401, "{path}: {body}");
        assert_eq!(body["reason"], "acr_insufficient", "{path}");
        assert_eq!(body["error"], "insufficient_user_authentication");
        assert!(challenge.contains(r#"acr_values="mfa""#), "{challenge}");
        assert!(challenge.contains(r#"max_age="300""#), "{challenge}");
        assert!(body.get("sub").is_none(), "the handler ran: {body}");
    }
    let stepped_up = idp
        .token()
        .sub("alice")
        .scopes(["profile:read"])
        .acr("mfa")
        .auth_time_ago(10)
        .sign();
    let (status, _, body) = answer(client.get(url("/me")).bearer_auth(&stepped_up)).await;
    assert_eq!((status, &body["sub"]), (200, &serde_json::json!("alice")));
    // The audit trail says what happened: failed twice, then passed.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let events = loop {
        let text = std::fs::read_to_string(&audit).unwrap_or_default();
        let events: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .filter(|e: &serde_json::Value| e["type"] == "decision")
            .collect();
        if events.len() >= 3 || std::time::Instant::now() > deadline {
            break events;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let step_ups: Vec<&serde_json::Value> = events.iter().map(|e| &e["step_up"]).collect();
    assert_eq!(step_ups, ["failed", "failed", "passed"], "{events:?}");
    assert!(
        events.iter().all(|e| e["trust"] == "sensitive"),
        "{events:?}"
    );
    drop(qs);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_contracts_walkthrough_shows_the_answers_the_quickstart_gives() {
    // docs/contracts.md, "v1: the starting point": the documented
    // `www-authenticate` lines and body, compared with the real ones.
    let guide = include_str!("../docs/contracts.md");
    let v1 = guide.split("### v1: the starting point").nth(1).unwrap();
    let contract_text = v1
        .split("```toml\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let documented: Vec<&str> = v1
        .split("### Step 1")
        .next()
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("www-authenticate: ") || l.starts_with('{'))
        .collect();
    assert_eq!(documented.len(), 4, "{documented:?}");

    let idp = DevIssuer::builder()
        .audience("https://api.example")
        .start()
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("rampgate-walkthrough-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let contract = dir.join("contract.toml");
    std::fs::write(&contract, contract_text).unwrap();
    let jwks_url = idp.jwks_url();
    let env = [
        ("RAMPGATE_ISSUER", idp.issuer()),
        ("RAMPGATE_AUDIENCE", "https://api.example"),
        ("RAMPGATE_JWKS_URL", jwks_url.as_str()),
        ("RAMPGATE_CONTRACT", contract.to_str().unwrap()),
    ];
    let qs = tokio::task::block_in_place(|| start(&env));
    let client = reqwest::Client::new();
    let get = async |path: &str, token: String| {
        let resp = client
            .get(format!("http://{}{path}", qs.addr))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let challenge = resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .replace(&qs.addr, "127.0.0.1:3000");
        let body = String::from_utf8(resp.bytes().await.unwrap().to_vec()).unwrap();
        (format!("www-authenticate: {challenge}"), body)
    };
    let token = |client_id: &str, scopes: &[&str]| {
        idp.token()
            .client_id(client_id)
            .scopes(scopes.iter().copied())
            .sign()
    };
    let (read_challenge, read_body) = get("/profile", token("mobile-app", &["profile:read"])).await;
    let (none_challenge, _) = get("/profile", token("mobile-app", &[])).await;
    let (cli_challenge, _) = get("/me", token("quickstart-cli", &["profile:read"])).await;
    assert_eq!(
        [
            read_challenge.as_str(),
            read_body.as_str(),
            none_challenge.as_str(),
            cli_challenge.as_str()
        ],
        documented.as_slice()
    );
    drop(qs);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The done-when of RFC 9449 against the quickstart as shipped, with a
/// client that is not rampgate: examples/dpop_client.py makes its key and
/// proofs with joserfc (installed by .ci/run), gets a token bound to its key
/// from the dev issuer, and tries each thing the RFC refuses.
#[test]
fn an_independent_dpop_client_is_answered_as_rfc_9449_says() {
    // conformance: 9449-1, 9449-5, 9449-6, 9449-7, 9449-8, 9449-9, 9449-10
    let qs = start(&[]);
    let issuer = dev_issuer_of(&qs);
    let client = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/dpop_client.py");
    let out = Command::new("python3")
        .args([client, &format!("http://{}", qs.addr), &issuer])
        .output()
        .expect("python3 with joserfc (.ci/run installs it)");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stdout,
        "fresh_proof 200 -\n\
         query_ignored 200 -\n\
         replayed_proof 401 dpop_proof_replayed\n\
         other_method 401 dpop_proof_htm\n\
         other_url 401 dpop_proof_htu\n\
         other_token 401 dpop_proof_ath\n\
         foreign_key 401 dpop_key_mismatch\n\
         stale_iat 401 dpop_proof_iat\n\
         two_proofs 401 dpop_proof_multiple\n\
         no_proof 401 dpop_proof_missing\n\
         as_bearer 401 token_bound\n",
        "{stderr}"
    );
    assert!(out.status.success(), "{stderr}");
}
