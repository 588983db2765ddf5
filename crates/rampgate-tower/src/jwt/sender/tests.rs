//! Sender-constrained tokens through JwtLayer: certificate-bound and DPoP-bound.

use crate::tests::{Seen, bearer, body, challenge, issuer, reason, run};
use crate::{ContractLayer, JwtLayer};
use bytes::Bytes;
use http::{Request, Response};
use rampgate_core::binding::ClientCertificate;
use rampgate_core::contract::{Contract, ContractHandle};

fn with_certificate(mut req: Request<()>, der: Option<&[u8]>) -> Request<()> {
    if let Some(der) = der {
        req.extensions_mut()
            .insert(ClientCertificate::from_der(der));
    }
    req
}

fn assert_refused(response: &Response<Bytes>, seen: &Seen, code: &str) {
    assert_eq!(response.status(), 401);
    assert_eq!(reason(response), code);
    assert_eq!(body(response)["error"], "invalid_token");
    assert!(challenge(response).starts_with("Bearer error=\"invalid_token\""));
    assert_eq!(seen.calls(), 0, "the inner service must not run");
}

// conformance: 8705-1
#[tokio::test]
async fn a_certificate_bound_token_passes_only_with_its_certificate() {
    let (issuer, verifier) = issuer().await;
    let layer = JwtLayer::new(verifier);
    let client = ClientCertificate::from_der(b"client A's leaf");
    let token = issuer.token().certificate_bound(&client).sign();
    let call = |der: Option<&'static [u8]>| {
        let seen = Seen::default();
        let req = with_certificate(bearer("GET", "/", &token), der);
        let layer = &layer;
        async move { (run(layer, &seen, req).await, seen) }
    };
    let (response, seen) = call(Some(b"client A's leaf")).await;
    assert_eq!(response.status(), 200);
    let principal = seen.principal().unwrap();
    assert_eq!(
        principal.confirmation().unwrap().x5t_s256,
        Some(client.thumbprint())
    );
    // The token is cached now: each later request is checked again.
    let (response, seen) = call(Some(b"client B's leaf")).await;
    assert_refused(&response, &seen, "certificate_mismatch");
    let (response, seen) = call(None).await;
    assert_refused(&response, &seen, "certificate_missing");
    let (response, _) = call(Some(b"client A's leaf")).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_certificate_does_not_make_a_bearer_token_bound() {
    let (issuer, verifier) = issuer().await;
    let token = issuer.token().sign();
    let seen = Seen::default();
    let req = with_certificate(bearer("GET", "/", &token), Some(b"leaf"));
    let response = run(&JwtLayer::new(verifier), &seen, req).await;
    assert_eq!(response.status(), 200);
    assert!(!seen.principal().unwrap().is_sender_constrained());
}

const BOUND_CONTRACT: &str = r#"
version = 1

[scopes]
"pay:write" = "make payments"

[trust.bound]
sender_constrained = "required"

[[routes]]
method = "POST"
path = "/pay"
scopes = ["pay:write"]
trust = "bound"

[defaults]
unknown_consumer = { stage = "all", scopes = ["pay:write"] }
"#;

#[tokio::test]
async fn a_route_requiring_binding_refuses_a_bearer_token_and_takes_a_bound_one() {
    let (issuer, verifier) = issuer().await;
    let contract = ContractHandle::new(Contract::parse(BOUND_CONTRACT).unwrap());
    let jwt = JwtLayer::new(verifier);
    let contract = ContractLayer::new(contract);
    let stack = tower::layer::util::Stack::new(contract, jwt);
    let client = ClientCertificate::from_der(b"leaf");
    let bearer_token = issuer.token().scopes(["pay:write"]).sign();
    let seen = Seen::default();
    let req = with_certificate(bearer("POST", "/pay", &bearer_token), Some(b"leaf"));
    let response = run(&stack, &seen, req).await;
    assert_refused(&response, &seen, "sender_constraint_required");
    let bound = issuer
        .token()
        .scopes(["pay:write"])
        .certificate_bound(&client)
        .sign();
    let seen = Seen::default();
    let req = with_certificate(bearer("POST", "/pay", &bound), Some(b"leaf"));
    let response = run(&stack, &seen, req).await;
    assert_eq!(response.status(), 200, "{:?}", body(&response));
    assert_eq!(seen.calls(), 1);
    // A binding alone is no step-up: the answer is not marked as one.
    assert!(response.extensions().get::<crate::StepUpPassed>().is_none());
}

mod dpop {
    use super::*;
    use http::header::AUTHORIZATION;
    use rampgate_core::DPOP_NONCE;
    use rampgate_core::dpop::{DpopChecker, DpopOptions};
    use rampgate_testkit::{DpopKey, OfflineIssuer};
    use std::time::Duration;

    const URL: &str = "https://api.example/orders";

    async fn layer(options: DpopOptions) -> (OfflineIssuer, JwtLayer) {
        let (issuer, verifier) = issuer().await;
        let checker = DpopChecker::new(options).unwrap();
        let layer = JwtLayer::new(verifier)
            .realm("api")
            .dpop(checker)
            .dpop_public_url("https://api.example/");
        (issuer, layer)
    }

    /// `GET /orders?page=2` with `Authorization: DPoP token` and these proofs.
    fn dpop(token: &str, proofs: &[&str]) -> Request<()> {
        let mut req = Request::builder()
            .method("GET")
            .uri("/orders?page=2")
            .header(AUTHORIZATION, format!("DPoP {token}"));
        for proof in proofs {
            req = req.header("dpop", *proof);
        }
        req.body(()).unwrap()
    }

    async fn call(layer: &JwtLayer, req: Request<()>) -> (Response<Bytes>, Seen) {
        let seen = Seen::default();
        (run(layer, &seen, req).await, seen)
    }

    /// A refusal of a DPoP request: 401, `code`, `error` on the DPoP
    /// challenge, the handler not run.
    fn assert_dpop_refused(response: &Response<Bytes>, seen: &Seen, code: &str, error: &str) {
        assert_eq!(response.status(), 401, "{}", body(response));
        assert_eq!(reason(response), code);
        assert_eq!(body(response)["error"], error);
        let first = challenge(response);
        assert!(
            first.starts_with("DPoP realm=\"api\", algs=\"")
                && first.contains(&format!("error=\"{error}\"")),
            "{first}"
        );
        assert_eq!(seen.calls(), 0, "the inner service must not run");
    }

    // conformance: 9449-1, 9449-8, 9449-9
    #[tokio::test]
    async fn a_bound_token_passes_with_a_proof_by_its_key_and_is_checked_every_time() {
        let (issuer, layer) = layer(DpopOptions::default()).await;
        let client = DpopKey::generate();
        let token = issuer.token().dpop_bound(&client).sign();
        let proof = |key: &DpopKey| key.proof("GET", URL).access_token(&token).sign();
        let (response, seen) = call(&layer, dpop(&token, &[&proof(&client)])).await;
        assert_eq!(response.status(), 200, "{}", body(&response));
        let principal = seen.principal().unwrap();
        assert_eq!(
            principal.confirmation().unwrap().jkt,
            Some(client.thumbprint())
        );
        // The token is cached now; a proof by another key is still refused.
        let thief = DpopKey::generate();
        let (response, seen) = call(&layer, dpop(&token, &[&proof(&thief)])).await;
        assert_dpop_refused(&response, &seen, "dpop_key_mismatch", "invalid_token");
        // No proof, two proofs.
        let (response, seen) = call(&layer, dpop(&token, &[])).await;
        assert_dpop_refused(&response, &seen, "dpop_proof_missing", "invalid_dpop_proof");
        let (a, b) = (proof(&client), proof(&client));
        let (response, seen) = call(&layer, dpop(&token, &[&a, &b])).await;
        assert_dpop_refused(
            &response,
            &seen,
            "dpop_proof_multiple",
            "invalid_dpop_proof",
        );
        // The same token as a bearer token: refused (RFC 9449 §7.2).
        let (response, seen) = call(&layer, bearer("GET", "/orders", &token)).await;
        assert_eq!(reason(&response), "token_bound");
        assert_eq!(seen.calls(), 0);
        let challenges: Vec<_> = response
            .headers()
            .get_all("www-authenticate")
            .iter()
            .collect();
        assert_eq!(challenges.len(), 2, "Bearer and DPoP both offered");
    }

    // conformance: 9449-6
    #[tokio::test]
    async fn a_proof_is_good_once() {
        let (issuer, layer) = layer(DpopOptions::default()).await;
        let client = DpopKey::generate();
        let token = issuer.token().dpop_bound(&client).sign();
        let proof = client.proof("GET", URL).access_token(&token).sign();
        let (response, _) = call(&layer, dpop(&token, &[&proof])).await;
        assert_eq!(response.status(), 200);
        let (response, seen) = call(&layer, dpop(&token, &[&proof])).await;
        assert_dpop_refused(
            &response,
            &seen,
            "dpop_proof_replayed",
            "invalid_dpop_proof",
        );
    }

    // conformance: 9449-5, 9449-7
    #[tokio::test]
    async fn the_proof_must_name_this_request_and_this_token() {
        let (issuer, layer) = layer(DpopOptions::default()).await;
        let client = DpopKey::generate();
        let token = issuer.token().dpop_bound(&client).sign();
        let other_token = issuer.token().dpop_bound(&client).sub("other").sign();
        for (proof, code) in [
            (
                client.proof("POST", URL).access_token(&token),
                "dpop_proof_htm",
            ),
            (
                client
                    .proof("GET", "https://api.example/other")
                    .access_token(&token),
                "dpop_proof_htu",
            ),
            (
                client.proof("GET", URL).access_token(&other_token),
                "dpop_proof_ath",
            ),
        ] {
            let (response, seen) = call(&layer, dpop(&token, &[&proof.sign()])).await;
            assert_dpop_refused(&response, &seen, code, "invalid_dpop_proof");
        }
        // Another query, a default port, another case of the host: the same URL.
        for url in [
            "https://api.example/orders?page=9",
            "https://API.example:443/orders",
        ] {
            let proof = client.proof("GET", url).access_token(&token).sign();
            let (response, _) = call(&layer, dpop(&token, &[&proof])).await;
            assert_eq!(response.status(), 200, "{url}: {}", body(&response));
        }
    }

    #[tokio::test]
    async fn the_dpop_scheme_needs_a_dpop_bound_token() {
        let (issuer, layer) = layer(DpopOptions::default()).await;
        let client = DpopKey::generate();
        let token = issuer.token().sign();
        let proof = client.proof("GET", URL).access_token(&token).sign();
        let (response, seen) = call(&layer, dpop(&token, &[&proof])).await;
        assert_dpop_refused(&response, &seen, "dpop_token_unbound", "invalid_token");
        // A bearer token is still a bearer token with DPoP on.
        let (response, _) = call(&layer, bearer("GET", "/orders", &token)).await;
        assert_eq!(response.status(), 200);
    }

    // conformance: 9449-12
    #[tokio::test]
    async fn with_nonces_a_proof_without_the_servers_nonce_gets_one_to_retry_with() {
        let options = DpopOptions::default().require_nonce(Duration::from_secs(300));
        let (issuer, layer) = layer(options).await;
        let client = DpopKey::generate();
        let token = issuer.token().dpop_bound(&client).sign();
        let proof = client.proof("GET", URL).access_token(&token).sign();
        let (response, seen) = call(&layer, dpop(&token, &[&proof])).await;
        assert_dpop_refused(&response, &seen, "dpop_nonce_required", "use_dpop_nonce");
        let nonce = response.headers()[DPOP_NONCE].to_str().unwrap().to_owned();
        let retry = client
            .proof("GET", URL)
            .access_token(&token)
            .nonce(&nonce)
            .sign();
        let (response, seen) = call(&layer, dpop(&token, &[&retry])).await;
        assert_eq!(response.status(), 200, "{}", body(&response));
        assert_eq!(seen.calls(), 1);
    }

    #[tokio::test]
    async fn a_grpc_call_carries_its_proof_in_metadata_with_the_method_path_as_htu() {
        let (issuer, layer) = layer(DpopOptions::default()).await;
        let client = DpopKey::generate();
        let token = issuer.token().dpop_bound(&client).sign();
        let path = "/helloworld.Greeter/SayHello";
        let grpc = |proof: &str| {
            Request::builder()
                .method("POST")
                .uri(path)
                .header("content-type", "application/grpc")
                .header(AUTHORIZATION, format!("DPoP {token}"))
                .header("dpop", proof)
                .body(())
                .unwrap()
        };
        let url = format!("https://api.example{path}");
        let good = client.proof("POST", &url).access_token(&token).sign();
        let (response, seen) = call(&layer, grpc(&good)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(seen.calls(), 1);
        let wrong = client
            .proof("POST", "https://api.example/helloworld.Greeter/Other")
            .access_token(&token)
            .sign();
        let (response, seen) = call(&layer, grpc(&wrong)).await;
        assert_eq!(response.headers()["grpc-status"], "16");
        assert_eq!(response.headers()["rampgate-reason"], "dpop_proof_htu");
        assert_eq!(seen.calls(), 0);
    }

    /// Without a public URL, `htu` is the request's own scheme and `Host`,
    /// which must be a plain `host[:port]`; over TLS terminated here, https.
    #[tokio::test]
    async fn without_a_public_url_the_host_must_be_a_host() {
        let (issuer, verifier) = issuer().await;
        let layer = JwtLayer::new(verifier).dpop(DpopChecker::new(DpopOptions::default()).unwrap());
        let client = DpopKey::generate();
        let token = issuer.token().dpop_bound(&client).sign();
        let request = |host: Option<&str>, path: &str, url: &str, tls: bool| {
            let proof = client.proof("GET", url).access_token(&token).sign();
            let mut req = Request::builder()
                .uri(path)
                .header(AUTHORIZATION, format!("DPoP {token}"))
                .header("dpop", proof);
            if let Some(host) = host {
                req = req.header("host", host);
            }
            let mut req = req.body(()).unwrap();
            if tls {
                req.extensions_mut()
                    .insert(rampgate_core::binding::TlsConnection);
            }
            req
        };
        let plain = request(
            Some("api.example:8080"),
            "/me",
            "http://api.example:8080/me",
            false,
        );
        assert_eq!(call(&layer, plain).await.0.status(), 200);
        let tls = request(Some("api.example"), "/me", "https://api.example/me", true);
        assert_eq!(call(&layer, tls).await.0.status(), 200);
        let not_https = request(Some("api.example"), "/me", "http://api.example/me", true);
        assert_eq!(reason(&call(&layer, not_https).await.0), "dpop_proof_htu");
        // A Host that would end the URL early, userinfo, no Host: 400.
        for host in [Some("api.example?"), Some("user@api.example"), None] {
            let req = request(host, "/admin/x", "http://api.example/", false);
            let (response, seen) = call(&layer, req).await;
            assert_eq!(response.status(), 400, "{host:?}");
            assert_eq!(reason(&response), "request_malformed");
            assert_eq!(seen.calls(), 0);
        }
        // Dot segments never reach the comparison: the router sees the raw path.
        for path in ["/admin/../me", "/admin/%2E%2e/me", "/./me"] {
            let req = request(Some("api.example"), path, "http://api.example/me", false);
            let (response, seen) = call(&layer, req).await;
            assert_eq!(reason(&response), "dpop_proof_htu", "{path}");
            assert_eq!(seen.calls(), 0);
        }
    }

    #[test]
    fn a_public_url_must_be_one() {
        for bad in [
            "api.example.com",
            "ftp://api.example",
            "https://u@api.example",
            "https://api.example/?q",
            "https://",
        ] {
            assert!(super::super::DpopConfig::public_url(bad).is_none(), "{bad}");
        }
        let good = super::super::DpopConfig::public_url("https://api.example.com/v1/").unwrap();
        assert_eq!(&*good, "https://api.example.com/v1");
    }
}
