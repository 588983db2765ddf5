//! The gRPC example's services behind what a tonic user writes today without
//! rampgate: a `tonic::service::Interceptor` that verifies the bearer token
//! with `jsonwebtoken` 11 (`aws_lc_rs`, its fastest provider) on every call.
//! The JWKS is fetched once at start; the key is picked by the token's `kid`;
//! ES256 only, `iss`, `aud` and `exp` checked (and required), the scope
//! `greet` required, as the example's contract requires it. No cache of
//! verified tokens. The verified caller goes into the request's extensions,
//! for the greeter. `grpc.health.v1.Health` stays public.
//!
//! `grpc_interceptor PORT JWKS_URL`

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use rampgate_load::grpc::helloworld::greeter_server::GreeterServer;
use rampgate_load::grpc::{Caller, GRPC_SCOPE, LoadGreeter, serve};
use rampgate_load::{AUDIENCE, ISSUER, args};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use tonic::service::Interceptor;
use tonic::{Request, Status};

#[derive(Deserialize)]
struct Claims {
    sub: String,
    client_id: String,
    #[serde(default)]
    scope: String,
}

#[derive(Clone)]
struct JwtInterceptor {
    keys: Arc<HashMap<String, DecodingKey>>,
    validation: Arc<Validation>,
}

impl JwtInterceptor {
    async fn from_jwks_url(url: &str) -> Result<Self, Box<dyn std::error::Error>> {
        let jwks: JwkSet = serde_json::from_str(&reqwest::get(url).await?.text().await?)?;
        let mut keys = HashMap::new();
        for jwk in &jwks.keys {
            if let Some(kid) = &jwk.common.key_id {
                keys.insert(kid.clone(), DecodingKey::from_jwk(jwk)?);
            }
        }
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        Ok(Self {
            keys: Arc::new(keys),
            validation: Arc::new(validation),
        })
    }
}

impl Interceptor for JwtInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let unauthenticated = || Status::unauthenticated("invalid or missing bearer token");
        let token = request
            .metadata()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or_else(unauthenticated)?;
        let kid = decode_header(token)
            .ok()
            .and_then(|header| header.kid)
            .ok_or_else(unauthenticated)?;
        let key = self.keys.get(&kid).ok_or_else(unauthenticated)?;
        let claims = decode::<Claims>(token, key, &self.validation)
            .map_err(|_| unauthenticated())?
            .claims;
        if !claims.scope.split(' ').any(|scope| scope == GRPC_SCOPE) {
            return Err(Status::permission_denied("the scope greet is required"));
        }
        request.extensions_mut().insert(Caller {
            sub: claims.sub,
            client_id: claims.client_id,
        });
        Ok(request)
    }
}

#[tokio::main]
async fn main() {
    let (port, jwks_url) = args();
    let interceptor = JwtInterceptor::from_jwks_url(&jwks_url)
        .await
        .expect("JWKS");
    serve(
        "grpc_interceptor",
        port,
        GreeterServer::with_interceptor(LoadGreeter::authenticated(), interceptor),
    )
    .await;
}
