//! OpenAPI from the contract (feature `openapi`): the payments example's
//! document carries its scopes and trust level, any-of lists become
//! alternatives, gRPC routes stay out, a merge reports both kinds of
//! mismatch; and every document is accepted by a real OpenAPI validator,
//! the Python `openapi-spec-validator` (`.ci/run` installs it).
#![allow(clippy::unwrap_used)]

use rampgate_core::contract::Contract;
use rampgate_core::contract::openapi::{LeftOutWhy, OpenApiError, OpenApiOptions, OperationRef};
use serde_json::{Value, json};
use std::process::Command;

const PAYMENTS: &str = include_str!("../../../examples/payments/contract.toml");

/// Runs `python3 -m openapi_spec_validator` on the document and fails the
/// test with its message, or with how to install it when it is missing.
#[track_caller]
fn assert_valid(name: &str, document: &Value) {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("openapi");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{name}.json"));
    std::fs::write(&file, serde_json::to_string_pretty(document).unwrap()).unwrap();
    let output = Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output();
    let install =
        "install the validator: python3 -m pip install openapi-spec-validator (what .ci/run does)";
    let output = match output {
        Ok(output) => output,
        Err(e) => panic!("python3 cannot run ({e}): {install}"),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named"),
        "openapi-spec-validator is missing: {install}\n{stderr}"
    );
    assert!(
        output.status.success(),
        "{name}: the validator refuses the document:\n{}{stderr}\n{}",
        String::from_utf8_lossy(&output.stdout),
        serde_json::to_string_pretty(document).unwrap()
    );
}

fn payments() -> Contract {
    Contract::parse(PAYMENTS).unwrap()
}

fn issuer() -> OpenApiOptions {
    OpenApiOptions::new().issuer("https://login.example.com/")
}

#[test]
fn the_payments_document_carries_the_contracts_scopes_and_trust_level() {
    let doc = payments().openapi(&issuer()).unwrap();
    assert!(doc.left_out.is_empty());
    let json = serde_json::to_value(&doc.openapi).unwrap();
    assert_valid("payments", &json);
    assert_eq!(json["openapi"], "3.1.0");
    let paths = &json["paths"];
    assert_eq!(
        paths["/accounts/{id}"]["get"]["security"],
        json!([{"rampgate": ["accounts:read"]}])
    );
    assert_eq!(
        paths["/transactions"]["post"]["security"],
        json!([{"rampgate": ["payments:write"]}])
    );
    let approve = &paths["/transactions/{id}/approve"]["post"];
    assert_eq!(
        approve["security"],
        json!([{"rampgate": ["payments:approve"]}])
    );
    assert_eq!(
        approve["x-rampgate-trust"],
        json!({"level": "sensitive", "acr_values": ["mfa"], "acr_hierarchy": ["pwd", "mfa", "hwk"], "max_age": 300})
    );
    assert!(
        paths["/accounts/{id}"]["get"]
            .get("x-rampgate-trust")
            .is_none(),
        "a standard route has no trust extension"
    );
    assert_eq!(
        paths["/accounts/{id}"]["parameters"],
        json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}])
    );
    assert_eq!(
        json["components"]["securitySchemes"]["rampgate"]["openIdConnectUrl"],
        "https://login.example.com/.well-known/openid-configuration"
    );
    let description = json["components"]["securitySchemes"]["rampgate"]["description"]
        .as_str()
        .unwrap();
    assert!(description.contains("- `payments:approve`: Approve a pending transaction"));
}

#[test]
fn with_a_token_url_the_scheme_is_oauth2_with_the_scope_catalog() {
    let doc = payments()
        .openapi(&OpenApiOptions::new().token_url("https://login.example.com/oauth2/token"))
        .unwrap();
    let json = serde_json::to_value(&doc.openapi).unwrap();
    assert_valid("payments-oauth2", &json);
    assert_eq!(
        json["components"]["securitySchemes"]["rampgate"]["flows"],
        json!({"clientCredentials": {
            "tokenUrl": "https://login.example.com/oauth2/token",
            "scopes": {
                "accounts:read": "Read account balances and details",
                "payments:approve": "Approve a pending transaction",
                "payments:write": "Create payment transactions",
            },
        }})
    );
}

const MIXED: &str = r#"
version = 2
issuer = "https://login.example.com"

[scopes]
"items:read" = "Read items"
"items:write" = "Change items"
"admin" = "Everything"
"greet" = "Say hello"

[[routes]]
method = "GET"
path = "/items/{id}"
scopes = ["items:read"]
any = ["items:write", "admin"]

[[routes]]
method = "GET"
path = "/files/{*rest}"

[[routes]]
method = "PURGE"
path = "/items/{id}"
scopes = ["admin"]

[[routes]]
method = "POST"
path = "/helloworld.Greeter/SayHello"
scopes = ["greet"]

[[routes]]
method = "POST"
path = "/grpc.health.v1.Health/*"
"#;

#[test]
fn any_of_becomes_alternatives_and_grpc_routes_stay_out() {
    let contract = Contract::parse(MIXED).unwrap();
    let doc = contract.openapi(&OpenApiOptions::new()).unwrap();
    let json = serde_json::to_value(&doc.openapi).unwrap();
    assert_valid("mixed", &json);
    assert_eq!(
        json["paths"]["/items/{id}"]["get"]["security"],
        json!([
            {"rampgate": ["admin", "items:read"]},
            {"rampgate": ["items:read", "items:write"]},
        ])
    );
    // No scope: a valid token still is required.
    let files = &json["paths"]["/files/{rest}"];
    assert_eq!(files["get"]["security"], json!([{"rampgate": []}]));
    assert_eq!(files["parameters"][0]["name"], "rest");
    let paths: Vec<&String> = json["paths"].as_object().unwrap().keys().collect();
    assert_eq!(paths, ["/files/{rest}", "/items/{id}"], "no gRPC path");
    assert_eq!(
        json["components"]["securitySchemes"]["rampgate"]["openIdConnectUrl"],
        "https://login.example.com/.well-known/openid-configuration"
    );
    let left_out: Vec<(&str, LeftOutWhy)> = doc
        .left_out
        .iter()
        .map(|l| (l.route.as_str(), l.why))
        .collect();
    assert_eq!(
        left_out,
        [
            ("PURGE /items/{id}", LeftOutWhy::Method),
            ("POST /helloworld.Greeter/SayHello", LeftOutWhy::Grpc),
            ("POST /grpc.health.v1.Health/*", LeftOutWhy::Grpc),
        ]
    );
}

/// The application's own document, as a generator writes it: parameters
/// named otherwise, an operation the contract does not have, a `head`.
fn app_document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {"title": "payments", "version": "0.3.0"},
        "paths": {
            "/accounts/{account_id}": {
                "parameters": [{"name": "account_id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "get": {"operationId": "get_account", "responses": {"200": {"description": "The account"}}},
                "head": {"responses": {"200": {"description": "The account exists"}}},
            },
            "/transactions/{id}/approve": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "post": {
                    "responses": {"204": {"description": "Approved"}, "401": {"description": "Kept as written"}},
                    "security": [{"legacy": []}],
                },
            },
            "/healthz": {"get": {"responses": {"200": {"description": "Alive"}}}},
        },
        "components": {"securitySchemes": {"legacy": {"type": "http", "scheme": "bearer"}}},
    })
}

#[test]
fn a_merge_secures_the_shared_operations_and_reports_both_kinds_of_mismatch() {
    let merged = payments()
        .merge_openapi(&app_document().to_string(), &issuer())
        .unwrap();
    assert_valid("payments-merged", &merged.document);
    let ops = |list: &[OperationRef]| list.iter().map(ToString::to_string).collect::<Vec<_>>();
    assert_eq!(ops(&merged.not_in_contract), ["GET /healthz"]);
    assert_eq!(ops(&merged.not_in_document), ["POST /transactions"]);
    let paths = &merged.document["paths"];
    let account = &paths["/accounts/{account_id}"];
    assert_eq!(
        account["get"]["security"],
        json!([{"rampgate": ["accounts:read"]}])
    );
    assert_eq!(
        account["get"]["operationId"], "get_account",
        "the rest is kept"
    );
    assert_eq!(
        account["head"]["security"],
        json!([{"rampgate": ["accounts:read"]}]),
        "HEAD falls back to the GET route"
    );
    let approve = &paths["/transactions/{id}/approve"]["post"];
    assert_eq!(
        approve["security"],
        json!([{"rampgate": ["payments:approve"]}])
    );
    assert_eq!(approve["x-rampgate-trust"]["max_age"], 300);
    assert_eq!(
        approve["responses"]["401"]["description"],
        "Kept as written"
    );
    assert!(approve["responses"]["403"]["description"].is_string());
    assert!(paths["/healthz"]["get"].get("security").is_none());
    let schemes = &merged.document["components"]["securitySchemes"];
    assert_eq!(schemes["legacy"]["scheme"], "bearer");
    assert_eq!(schemes["rampgate"]["type"], "openIdConnect");
}

#[test]
fn a_merge_into_an_openapi_3_0_document_keeps_it_valid() {
    let mut doc = app_document();
    doc["openapi"] = json!("3.0.3");
    let merged = payments()
        .merge_openapi(&doc.to_string(), &issuer())
        .unwrap();
    assert_eq!(merged.document["openapi"], "3.0.3");
    assert_valid("payments-merged-3.0", &merged.document);
}

#[test]
fn a_merge_into_3_0_without_an_issuer_keeps_bearer_requirements_empty() {
    // OpenAPI 3.0 lets only oauth2 and openIdConnect requirements list scopes.
    let mut doc = app_document();
    doc["openapi"] = json!("3.0.3");
    let merged = payments()
        .merge_openapi(&doc.to_string(), &OpenApiOptions::new())
        .unwrap();
    assert_valid("payments-merged-3.0-bearer", &merged.document);
    let approve = &merged.document["paths"]["/transactions/{id}/approve"]["post"];
    assert_eq!(approve["security"], json!([{"rampgate": []}]));
    assert_eq!(
        merged.document["components"]["securitySchemes"]["rampgate"]["scheme"],
        "bearer"
    );
    // In 3.1 the same requirement lists the scopes, as roles.
    let merged = payments()
        .merge_openapi(&app_document().to_string(), &OpenApiOptions::new())
        .unwrap();
    assert_valid("payments-merged-3.1-bearer", &merged.document);
    assert_eq!(
        merged.document["paths"]["/transactions/{id}/approve"]["post"]["security"],
        json!([{"rampgate": ["payments:approve"]}])
    );
}

#[test]
fn bad_documents_are_refused_with_where_and_what() {
    let merge = |text: &str| payments().merge_openapi(text, &issuer()).unwrap_err();
    assert_eq!(
        merge("{\"openapi\": \"3.1.0\",\n  \"paths\": {,}}"),
        OpenApiError::NotJson {
            line: 2,
            column: 13,
            message: "key must be a string".into()
        }
    );
    let not_openapi = |pointer: &str, message: &str| OpenApiError::NotOpenApi {
        pointer: pointer.into(),
        message: message.into(),
    };
    assert_eq!(
        merge("[]"),
        not_openapi("", "an OpenAPI document is a JSON object")
    );
    assert_eq!(
        merge(r#"{"swagger": "2.0"}"#),
        not_openapi(
            "/swagger",
            "a Swagger 2.0 document: convert it to OpenAPI 3 first"
        )
    );
    assert_eq!(
        merge(r#"{"openapi": "4.0.0"}"#),
        not_openapi(
            "/openapi",
            "version \"4.0.0\": an OpenAPI 3.0, 3.1 or 3.2 document is needed"
        )
    );
    assert_eq!(
        merge(r#"{"openapi": "3.1.0", "paths": []}"#),
        not_openapi("/paths", "must be an object")
    );
    assert_eq!(
        merge(r#"{"openapi": "3.1.0", "paths": {"/a/b": {"get": true}}}"#),
        not_openapi("/paths/~1a~1b/get", "an operation must be an object")
    );
    assert_eq!(
        merge(r#"{"openapi": "3.1.0", "paths": {"/accounts/{id}": {"get": {"responses": 1}}}}"#),
        not_openapi("/paths/~1accounts~1{id}/get/responses", "must be an object")
    );
    assert_eq!(
        merge(r#"{"openapi": "3.1.0", "components": {"securitySchemes": 1}}"#),
        not_openapi("/components/securitySchemes", "must be an object")
    );
}

#[test]
fn no_url_is_guessed() {
    // Without an issuer or a token URL: HTTP bearer, the scopes as roles.
    let doc = payments().openapi(&OpenApiOptions::new()).unwrap();
    let json = serde_json::to_value(&doc.openapi).unwrap();
    assert_valid("payments-bearer", &json);
    let scheme = &json["components"]["securitySchemes"]["rampgate"];
    assert_eq!(
        (&scheme["type"], &scheme["scheme"], &scheme["bearerFormat"]),
        (&json!("http"), &json!("bearer"), &json!("JWT"))
    );
    assert!(scheme.get("openIdConnectUrl").is_none() && scheme.get("flows").is_none());
    assert_eq!(
        json["paths"]["/transactions/{id}/approve"]["post"]["security"],
        json!([{"rampgate": ["payments:approve"]}])
    );
    let mixed = Contract::parse(MIXED).unwrap();
    assert!(matches!(
        mixed
            .openapi(&OpenApiOptions::new().issuer("https://other.example.com"))
            .unwrap_err(),
        OpenApiError::IssuerMismatch { .. }
    ));
    for bad in ["login.example.com", "https://", "https://x/#f", "ftp://x"] {
        assert!(
            matches!(
                payments()
                    .openapi(&OpenApiOptions::new().issuer(bad))
                    .unwrap_err(),
                OpenApiError::BadUrl { .. }
            ),
            "{bad}"
        );
    }
    assert_eq!(
        payments()
            .openapi(&issuer().token_url("https://login.example.com/token"))
            .unwrap_err(),
        OpenApiError::TwoSchemes
    );
}

#[test]
fn a_path_openapi_cannot_spell_is_an_error_naming_the_route() {
    let contract = Contract::parse(
        r#"
        version = 1
        issuer = "https://login.example.com/"
        [[routes]]
        method = "GET"
        path = "/a/{id}"
        [[routes]]
        method = "POST"
        path = "/a/{key}"
        "#,
    )
    .unwrap();
    let err = contract.openapi(&OpenApiOptions::new()).unwrap_err();
    let merge_err = contract
        .merge_openapi(&app_document().to_string(), &OpenApiOptions::new())
        .unwrap_err();
    assert_eq!(merge_err, err, "a merge refuses it too");
    assert_eq!(
        err.to_string(),
        "route POST /a/{key}: /a/{key} is the path of route GET /a/{id} with other parameter names: OpenAPI takes them for one path"
    );
}
