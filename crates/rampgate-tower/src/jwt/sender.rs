//! What a request presents besides its token, for a sender-constrained one:
//! the client certificate of its connection.

use http::Extensions;
use rampgate_core::binding::{ClientCertificate, Presentation};

/// What the request presented besides its token: the client certificate a
/// TLS acceptor (or a layer trusting a TLS terminator) put in its extensions.
pub(crate) fn presentation(extensions: &Extensions) -> Presentation {
    Presentation::bearer().certificate(extensions.get::<ClientCertificate>().copied())
}

#[cfg(test)]
mod tests {
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
    }
}
