//! The boundary's invariant in this crate's own build (with or without the
//! `axum` feature): gRPC calls without a route template, as a
//! `tonic::transport::Server::layer` or a build without axum sees them,
//! through every way of stacking the layers × every property a contract
//! declares × {met, not met}. The end-to-end matrix over sockets is
//! `tests/composition_matrix.rs` at the workspace root.

#[cfg(test)]
mod tests {
    use crate::tests::{Seen, issuer, run};
    use crate::{AuditLayer, AuthStack, ContractLayer, JwtLayer};
    use http::Request;
    use http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
    use rampgate_core::audit::Auditor;
    use rampgate_core::contract::{Contract, ContractHandle};
    use rampgate_testkit::OfflineIssuer;

    const PATH: &str = "/matrix.Svc/Call";

    /// `(name, route rules)`: one contract per property, on the service pattern.
    const PROPERTIES: [(&str, &str); 5] = [
        ("scopes", r#"scopes = ["read"]"#),
        ("stage", r#"scopes = ["write"]"#),
        ("observe", "scopes = [\"write\"]\nmode = \"observe\""),
        ("trust", "scopes = [\"read\"]\ntrust = \"sensitive\""),
        ("audit", "scopes = [\"read\"]\naudit = \"required\""),
    ];

    fn contract(rules: &str) -> ContractHandle {
        let text = format!(
            r#"
            version = 1
            [scopes]
            read = "Read"
            write = "Write"
            [trust.sensitive]
            acr_values = ["mfa"]
            [[routes]]
            method = "POST"
            path = "/matrix.Svc/*"
            {rules}
            [[consumers]]
            client_id = "app"
            stage = "one"
            stages = [{{ name = "one", scopes = ["read"] }}]
            [[consumers]]
            client_id = "full"
            stage = "two"
            stages = [{{ name = "two", scopes = ["read", "write"] }}]
            "#
        );
        ContractHandle::new(Contract::parse(&text).unwrap())
    }

    fn token(issuer: &OfflineIssuer, property: &str, met: bool) -> String {
        let (client, scopes, acr): (&str, &[&str], &str) = match (property, met) {
            ("stage" | "observe", true) => ("full", &["read", "write"], "pwd"),
            ("stage", false) => ("app", &["read", "write"], "pwd"),
            ("scopes", false) => ("app", &["write"], "pwd"),
            ("trust", true) => ("app", &["read"], "mfa"),
            _ => ("app", &["read"], "pwd"),
        };
        issuer
            .token()
            .client_id(client)
            .scopes(scopes.iter().copied())
            .acr(acr)
            .sign()
    }

    /// The gRPC code and reason of the refusal expected, or `None` for a pass.
    fn expected(property: &str, met: bool, audited: bool) -> Option<(&'static str, &'static str)> {
        match (property, met) {
            ("audit", _) if !audited => Some(("13", "layers_misconfigured")),
            ("scopes", false) => Some(("7", "scope_insufficient")),
            ("stage", false) => Some(("7", "scope_beyond_stage")),
            ("trust", false) => Some(("7", "acr_insufficient")),
            _ => None,
        }
    }

    fn call(token: &str) -> Request<()> {
        Request::post(PATH)
            .header(CONTENT_TYPE, "application/grpc")
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .body(())
            .unwrap()
    }

    #[tokio::test]
    async fn every_stacking_enforces_every_declared_property_or_refuses() {
        let (issuer, verifier) = issuer().await;
        let mut rows = 0;
        for (property, rules) in PROPERTIES {
            let contract = contract(rules);
            for audited in [false, true] {
                let audit = AuditLayer::new(Auditor::tracing().unwrap());
                let stack = AuthStack::new(verifier.clone()).contract(contract.clone());
                let by_hand = tower::ServiceBuilder::new()
                    .option_layer(audited.then(|| audit.clone()))
                    .layer(JwtLayer::new(verifier.clone()))
                    .layer(ContractLayer::new(contract.clone()));
                let stacked = tower::ServiceBuilder::new()
                    .option_layer(audited.then(|| audit.clone()))
                    .layer(stack);
                for met in [true, false] {
                    let case = format!("{property} met={met} audited={audited}");
                    for how in ["by hand", "AuthStack"] {
                        let seen = Seen::default();
                        let req = call(&token(&issuer, property, met));
                        let response = if how == "by hand" {
                            run(&by_hand, &seen, req).await
                        } else {
                            run(&stacked, &seen, req).await
                        };
                        let h = response.headers();
                        match expected(property, met, audited) {
                            None => {
                                assert_eq!(response.status(), 200, "{how} {case}");
                                assert!(h.get("grpc-status").is_none(), "{how} {case}");
                                assert_eq!(seen.calls(), 1, "{how} {case}");
                            }
                            Some((code, reason)) => {
                                assert_eq!(h["grpc-status"], code, "{how} {case}");
                                assert_eq!(h["rampgate-reason"], reason, "{how} {case}");
                                assert_eq!(h[CACHE_CONTROL], "no-store", "{how} {case}");
                                assert_eq!(seen.calls(), 0, "{how} {case}: must not run");
                            }
                        }
                        rows += 1;
                    }
                }
            }
        }
        assert_eq!(rows, PROPERTIES.len() * 2 * 2 * 2);
    }
}
