//! What the layers do differently for a gRPC request: which paths are gRPC
//! methods, and which requests are gRPC calls of them.

use http::{Method, Request};
use rampgate_core::contract::Contract;
use rampgate_core::grpc::{is_grpc, is_method_path};

/// Whether `req` is a gRPC call: a `POST` with `content-type:
/// application/grpc` (or `application/grpc+proto`, ...).
pub(crate) fn is_call<B>(req: &Request<B>) -> bool {
    req.method() == Method::POST && is_grpc(req.headers())
}

/// The gRPC method `path` is for, when the contract says it is one: it
/// lists the method path for `POST`, as itself or under
/// `/package.Service/*`. A router may have matched it under a tonic service
/// template (`.../package.Service/{*rest}`), nested or not.
///
/// Under a template the method path is the part of the path from the
/// service's segment on, so that tonic routes nested under a prefix
/// (`Router::nest("/grpc", routes)`) are decided on the method they reach,
/// whether the layer runs inside the nest (which strips the prefix) or
/// around it. A path the contract does not list as a gRPC method is an HTTP
/// route's (`/{a}/{b}` and `/files.v1/{*rest}` match method paths too),
/// decided on its template whatever the request's `content-type`; an
/// unlisted gRPC service declares nothing to enforce.
pub(crate) fn method_of<'p>(
    path: &'p str,
    matched: Option<&str>,
    contract: &Contract,
) -> Option<&'p str> {
    let method = match matched {
        None => path,
        Some(template) => method_under_template(path, template)?,
    };
    contract.lists_grpc_method(method).then_some(method)
}

/// The method path of `path` when `template` is a tonic service template,
/// `.../package.Service/{*rest}`: the part of the path from the service's
/// segment on, which sits at the template's depth (axum matched it
/// literally).
fn method_under_template<'p>(path: &'p str, template: &str) -> Option<&'p str> {
    // Most templates are plain routes: tell them apart without a substring
    // search. The rest works on bytes: this runs on every gRPC call, and
    // `str`'s character searches cost more than the decision itself.
    if !template.ends_with('}') {
        return None;
    }
    // The wildcard's `{` is the last one: its name may hold no other.
    let bytes = template.as_bytes();
    let open = bytes.iter().rposition(|&b| b == b'{')?;
    if open == 0 || bytes[open - 1] != b'/' || bytes.get(open + 1) != Some(&b'*') {
        return None;
    }
    let (head, name) = (&template[..open - 1], &bytes[open + 2..bytes.len() - 1]);
    if name.is_empty() || name.iter().any(|&b| matches!(b, b'/' | b'}')) {
        return None;
    }
    let slash = head.bytes().rposition(|b| b == b'/')?;
    let (prefix, service) = (&head[..slash], &head[slash + 1..]);
    if service.is_empty() || service.bytes().any(|b| matches!(b, b'{' | b'}')) {
        return None;
    }
    // Inside `Router::nest` the prefix is stripped from the path; around it,
    // the service's segment sits at the template's depth.
    let depth = prefix.bytes().filter(|&b| b == b'/').count();
    let nested = path
        .bytes()
        .enumerate()
        .filter(|&(_, b)| b == b'/')
        .nth(depth)
        .map(|(i, _)| &path[i..]);
    [Some(path), nested].into_iter().flatten().find(|method| {
        method
            .strip_prefix('/')
            .and_then(|m| m.strip_prefix(service))
            .is_some_and(|rest| rest.starts_with('/'))
            && is_method_path(method)
    })
}

#[cfg(test)]
mod tests {
    //! The layers' answers to gRPC requests: trailers-only, with the status
    //! derived from the one `Denial`, and contracts deciding gRPC methods on
    //! their exact paths in both builds.

    use crate::tests::{Seen, issuer, run};
    use crate::{ContractLayer, JwtLayer, ScopeLayer, StepUpLayer};
    use bytes::Bytes;
    use http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
    use http::{Request, Response};
    use rampgate_core::contract::{Contract, ContractHandle};
    use rampgate_core::{DenialOptions, Principal, StepUpPolicy};
    use serde_json::json;

    const GRPC_CONTRACT: &str = r#"
        version = 1
        [scopes]
        greet = "Greet"
        admin = "Admin"
        [[routes]]
        method = "POST"
        path = "/helloworld.Greeter/*"
        scopes = ["greet"]
        [[routes]]
        method = "POST"
        path = "/helloworld.Greeter/Reset"
        scopes = ["admin"]
        [[routes]]
        method = "GET"
        path = "/items/{id}"
        scopes = ["admin"]
        [defaults]
        unknown_consumer = { stage = "public", scopes = ["greet"] }
    "#;

    fn grpc_contract(unknown_route: &str) -> ContractHandle {
        let text = GRPC_CONTRACT.replace(
            "[defaults]",
            &format!("[defaults]\nunknown_route = \"{unknown_route}\""),
        );
        ContractHandle::new(Contract::parse(&text).unwrap())
    }

    /// `method_under_template` written with `str`'s searches: the byte-wise
    /// one must find the same method for every template and path.
    fn spec_method_under_template<'p>(path: &'p str, template: &str) -> Option<&'p str> {
        let (head, wildcard) = template.rsplit_once("/{*")?;
        let name = wildcard.strip_suffix('}')?;
        if name.is_empty() || name.contains(['/', '{', '}']) {
            return None;
        }
        let (prefix, service) = head.rsplit_once('/')?;
        if service.is_empty() || service.contains(['{', '}']) {
            return None;
        }
        let depth = prefix.matches('/').count();
        let nested = path.match_indices('/').nth(depth).map(|(i, _)| &path[i..]);
        [Some(path), nested].into_iter().flatten().find(|method| {
            method
                .strip_prefix('/')
                .and_then(|m| m.strip_prefix(service))
                .is_some_and(|rest| rest.starts_with('/'))
                && rampgate_core::grpc::is_method_path(method)
        })
    }

    #[test]
    fn the_method_under_a_template_is_found_as_the_definition_says() {
        let templates = [
            "/helloworld.Greeter/{*rest}",
            "/grpc/helloworld.Greeter/{*rest}",
            "/a/b/helloworld.Greeter/{*rest}",
            "/{tenant}/helloworld.Greeter/{*rest}",
            "/helloworld.Greeter/{*}",
            "/helloworld.Greeter/{*a/b}",
            "/helloworld.{x}/{*rest}",
            "//{*rest}",
            "/{*rest}",
            "{*rest}",
            "/helloworld.Greeter/{rest}",
            "/helloworld.Greeter/SayHello",
            "/{*rest}}",
            "/é.Greeter/{*rest}",
            "/{*a}/x.Y/{*rest}",
            "/x.Y/{*{rest}",
            "/x.Y/{*re}st}",
            "/x.Y/{**}",
            "{",
            "}",
            "/{}",
            "/x.Y{*rest}",
            "x{*a}",
            "/{*}",
            "{*a}",
            "/{*a}",
        ];
        let paths = [
            "/helloworld.Greeter/SayHello",
            "/grpc/helloworld.Greeter/SayHello",
            "/a/b/helloworld.Greeter/SayHello",
            "/t1/helloworld.Greeter/SayHello",
            "/helloworld.Greeter/SayHello/",
            "/helloworld.Greeter/Say/Hello",
            "/grpc/helloworld.Greeter",
            "/helloworld.Greeterx/SayHello",
            "/other.Greeter/SayHello",
            "/",
            "",
            "//",
            "/é.Greeter/M",
        ];
        for template in templates {
            for path in paths {
                assert_eq!(
                    super::method_under_template(path, template),
                    spec_method_under_template(path, template),
                    "{template} {path}"
                );
            }
        }
        // And it finds what it should, in and around a nest.
        let found = super::method_under_template;
        let t = "/grpc/helloworld.Greeter/{*rest}";
        assert_eq!(
            found("/grpc/helloworld.Greeter/SayHello", t),
            Some("/helloworld.Greeter/SayHello")
        );
        assert_eq!(
            found("/helloworld.Greeter/SayHello", t),
            Some("/helloworld.Greeter/SayHello")
        );
        assert_eq!(found("/grpc/helloworld.Greeter/Say/Hello", t), None);
    }

    /// A gRPC call of `path`, with `token` when given.
    fn call(path: &str, token: Option<&str>) -> Request<()> {
        let mut builder = Request::post(path).header(CONTENT_TYPE, "application/grpc");
        if let Some(token) = token {
            builder = builder.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        builder.body(()).unwrap()
    }

    /// `call` as `JwtLayer` leaves it: a principal with `claims`, gRPC options.
    fn verified(path: &str, claims: serde_json::Value) -> Request<()> {
        let mut req = call(path, None);
        let principal = Principal::for_tests("https://issuer.test", claims).unwrap();
        req.extensions_mut().insert(principal);
        let options = DenialOptions::default()
            .realm("api")
            .for_request(req.headers());
        req.extensions_mut().insert(options);
        req
    }

    /// Asserts a trailers-only gRPC answer with `code` and `reason`, inner not run.
    fn assert_grpc(response: &Response<Bytes>, seen: &Seen, code: i32, reason: &str) {
        assert_eq!(response.status(), 200, "gRPC answers are HTTP 200");
        assert!(response.body().is_empty(), "trailers-only: no body");
        let h = response.headers();
        assert_eq!(h[CONTENT_TYPE], "application/grpc");
        assert_eq!(h["grpc-status"], code.to_string().as_str());
        assert_eq!(h["rampgate-reason"], reason);
        assert!(
            h["grpc-message"].to_str().unwrap().starts_with(reason),
            "{:?}",
            h["grpc-message"]
        );
        assert_eq!(seen.calls(), 0, "the inner service must not run");
    }

    fn challenge(response: &Response<Bytes>) -> &str {
        response.headers()[WWW_AUTHENTICATE].to_str().unwrap()
    }

    #[tokio::test]
    async fn token_problems_are_unauthenticated_with_the_challenge() {
        let (issuer, verifier) = issuer().await;
        let layer = JwtLayer::new(verifier).realm("api");
        let seen = Seen::default();
        let response = run(&layer, &seen, call("/helloworld.Greeter/SayHello", None)).await;
        assert_grpc(&response, &seen, 16, "token_missing");
        assert_eq!(challenge(&response), r#"Bearer realm="api""#);

        let expired = issuer.token().expires_in(-600).sign();
        let response = run(
            &layer,
            &seen,
            call("/helloworld.Greeter/SayHello", Some(&expired)),
        )
        .await;
        assert_grpc(&response, &seen, 16, "token_expired");
        assert!(challenge(&response).contains(r#"error="invalid_token""#));

        let response = run(
            &layer,
            &seen,
            call("/helloworld.Greeter/SayHello", Some("not.a.jwt")),
        )
        .await;
        assert_grpc(&response, &seen, 16, "token_malformed");

        // Two authorization headers: the request itself is wrong.
        let token = issuer.token().sign();
        let mut req = call("/helloworld.Greeter/SayHello", Some(&token));
        req.headers_mut()
            .append(AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        let response = run(&layer, &seen, req).await;
        assert_grpc(&response, &seen, 3, "request_malformed");

        let response = run(
            &layer,
            &seen,
            call("/helloworld.Greeter/SayHello", Some(&token)),
        )
        .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.body(), "inner ran");
        assert_eq!(seen.calls(), 1);
    }

    #[tokio::test]
    async fn scope_and_step_up_are_permission_denied_with_what_to_ask_for() {
        let seen = Seen::default();
        let claims = json!({"client_id": "web", "scope": "other", "acr": "pwd"});
        let path = "/helloworld.Greeter/SayHello";
        let response = run(
            &ScopeLayer::all(["greet"]),
            &seen,
            verified(path, claims.clone()),
        )
        .await;
        assert_grpc(&response, &seen, 7, "scope_insufficient");
        assert!(challenge(&response).ends_with(r#"scope="greet""#));

        let step_up = StepUpLayer::new(StepUpPolicy::default().acr_values(["mfa"]));
        let response = run(&step_up, &seen, verified(path, claims)).await;
        assert_grpc(&response, &seen, 7, "acr_insufficient");
        assert!(challenge(&response).contains(r#"error="insufficient_user_authentication""#));
        assert!(challenge(&response).contains(r#"acr_values="mfa""#));
    }

    #[tokio::test]
    async fn a_listed_grpc_method_is_decided_on_its_exact_path_without_a_template() {
        // No MatchedPath (a tonic service): in the axum build this used to be
        // 500 layers_misconfigured for every call.
        for unknown_route in ["deny", "allow"] {
            let layer = ContractLayer::new(grpc_contract(unknown_route));
            let seen = Seen::default();
            let req = verified(
                "/helloworld.Greeter/SayHello",
                json!({"client_id": "x", "scope": "greet"}),
            );
            let response = run(&layer, &seen, req).await;
            assert_eq!(response.status(), 200);
            let decision = seen.decision().unwrap();
            assert_eq!(
                decision.route.as_deref(),
                Some("POST /helloworld.Greeter/*")
            );

            let seen = Seen::default();
            let req = verified(
                "/helloworld.Greeter/Reset",
                json!({"client_id": "x", "scope": "greet"}),
            );
            let response = run(&layer, &seen, req).await;
            assert_grpc(&response, &seen, 7, "scope_insufficient");
        }
    }

    #[tokio::test]
    async fn an_unlisted_grpc_method_is_unknown_or_refused_never_let_through() {
        let seen = Seen::default();
        let claims = json!({"client_id": "x", "scope": "greet"});
        let layer = ContractLayer::new(grpc_contract("deny"));
        let response = run(&layer, &seen, verified("/other.Svc/Do", claims.clone())).await;
        assert_grpc(&response, &seen, 7, "route_unknown");
        // Under "allow" a layer without a template cannot tell a gRPC method
        // from an HTTP route it sits outside of: refused, INTERNAL.
        let layer = ContractLayer::new(grpc_contract("allow"));
        let response = run(&layer, &seen, verified("/other.Svc/Do", claims)).await;
        assert_grpc(&response, &seen, 13, "layers_misconfigured");
    }

    /// Asserts the gRPC refusal of an HTTP route that needs `admin`
    /// (`PERMISSION_DENIED`, `scope_insufficient`), its handler not run.
    #[cfg(feature = "axum")]
    async fn assert_refused_for_admin(response: Response<axum::body::Body>) {
        let h = response.headers();
        assert_eq!(h["grpc-status"], "7");
        assert_eq!(h["rampgate-reason"], "scope_insufficient");
        assert!(
            h[WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .ends_with(r#"scope="admin""#)
        );
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert!(body.is_empty(), "the handler must not run");
    }

    #[cfg(feature = "axum")]
    #[tokio::test]
    async fn a_grpc_content_type_does_not_move_an_http_route_off_its_template() {
        // `/items/abc` looks like a gRPC method path; routed by axum to the
        // HTTP template `/items/{id}`, it is decided by that route (scope admin)
        // even with `unknown_route = "allow"`.
        use tower::ServiceExt;
        let app = axum::Router::new()
            .route(
                "/items/{id}",
                axum::routing::any(|| async { "handler ran" }),
            )
            .route_layer(ContractLayer::new(grpc_contract("allow")));
        let (parts, ()) =
            verified("/items/abc", json!({"client_id": "x", "scope": "greet"})).into_parts();
        let mut req = Request::from_parts(parts, axum::body::Body::empty());
        *req.method_mut() = http::Method::GET;
        let response = app.oneshot(req).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_refused_for_admin(response).await;
    }

    #[cfg(feature = "axum")]
    #[tokio::test]
    async fn a_listed_grpc_path_never_moves_an_http_request_off_its_own_template() {
        // An HTTP route `/{a}/{b}` (scope admin) and a shared contract that
        // lists `POST /helloworld.Greeter/*` (scope greet): a gRPC
        // content-type on `/helloworld.Greeter/SayHello` must not get a greet
        // token through to the HTTP handler.
        use tower::ServiceExt;
        let contract = GRPC_CONTRACT.replace("/items/{id}", "/{a}/{b}").replace(
            "method = \"GET\"\n        path = \"/{a}/{b}\"",
            "method = \"POST\"\n        path = \"/{a}/{b}\"",
        );
        assert!(contract.contains("method = \"POST\"\n        path = \"/{a}/{b}\""));
        let contract = ContractHandle::new(Contract::parse(&contract).unwrap());
        let app = axum::Router::new()
            .route("/{a}/{b}", axum::routing::post(|| async { "handler ran" }))
            .route_layer(ContractLayer::new(contract));
        let greet = json!({"client_id": "x", "scope": "greet"});
        let (parts, ()) = verified("/helloworld.Greeter/SayHello", greet).into_parts();
        let req = Request::from_parts(parts, axum::body::Body::empty());
        let response = app.oneshot(req).await.unwrap();
        assert_refused_for_admin(response).await;
    }

    #[tokio::test]
    async fn a_listed_grpc_method_called_without_grpc_is_refused_with_415() {
        let layer = ContractLayer::new(grpc_contract("allow"));
        let claims = json!({"client_id": "x", "scope": "greet"});
        for (method, content_type) in [
            (http::Method::POST, "application/octet-stream"),
            (http::Method::GET, "application/grpc"),
        ] {
            let seen = Seen::default();
            let mut req = verified("/helloworld.Greeter/SayHello", claims.clone());
            *req.method_mut() = method.clone();
            req.headers_mut()
                .insert(CONTENT_TYPE, content_type.parse().unwrap());
            let response = run(&layer, &seen, req).await;
            assert_eq!(response.status(), 415, "{method} {content_type}");
            assert_eq!(response.headers()["cache-control"], "no-store");
            assert!(response.headers().get("grpc-status").is_none());
            let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
            assert_eq!(body["reason"], "grpc_required");
            assert_eq!(seen.calls(), 0, "the method must not run");
        }
    }

    #[cfg(not(feature = "axum"))]
    #[tokio::test]
    async fn without_axum_a_listed_http_route_of_two_segments_is_not_a_grpc_method() {
        // `GET /api/users` has the shape of a method path, but the contract
        // lists it for GET, not for POST: an HTTP route, not a gRPC method.
        let text = "version = 1\n[scopes]\nread = \"R\"\n[defaults]\n\
            unknown_consumer = { stage = \"all\", scopes = [\"read\"] }\n\
            [[routes]]\nmethod = \"GET\"\npath = \"/api/users\"\nscopes = [\"read\"]\n";
        let layer = ContractLayer::new(ContractHandle::new(Contract::parse(text).unwrap()));
        let seen = Seen::default();
        let mut req = verified("/api/users", json!({"client_id": "x", "scope": "read"}));
        *req.method_mut() = http::Method::GET;
        req.headers_mut().remove(CONTENT_TYPE);
        let response = run(&layer, &seen, req).await;
        assert_eq!(response.status(), 200);
        assert_eq!(seen.calls(), 1);
    }

    #[tokio::test]
    async fn a_misconfigured_stack_is_internal_over_grpc() {
        let seen = Seen::default();
        let layer = ScopeLayer::all(["greet"]);
        let response = run(&layer, &seen, call("/helloworld.Greeter/SayHello", None)).await;
        assert_grpc(&response, &seen, 13, "layers_misconfigured");
        assert!(
            response.headers()["grpc-message"]
                .to_str()
                .unwrap()
                .contains("JwtLayer")
        );
    }
}
