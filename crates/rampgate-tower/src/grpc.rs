//! What the layers do differently for a gRPC request: the path a contract
//! matches, and the answer to a server-side mistake.

use http::header::CONTENT_TYPE;
use http::{HeaderValue, Request, Response};
use rampgate_core::contract::Contract;
use rampgate_core::grpc::{GrpcCode, is_grpc, is_method_path, percent_encode_message};
use rampgate_core::{DenialResponseBody, GRPC_REASON_HEADER};

/// The request's gRPC method path, `/package.Service/Method`, when the request
/// is gRPC and its path is spelled the one way a gRPC server routes it.
pub(crate) fn method_path<B>(req: &Request<B>) -> Option<&str> {
    let path = req.uri().path();
    (is_grpc(req.headers()) && is_method_path(path)).then_some(path)
}

/// The gRPC method path to decide `req` on when the contract lists it (as
/// itself or as its service's `/package.Service/*`): exact, so it needs no
/// template. A gRPC method the contract does not list is left to the usual
/// rules, so that a `content-type` alone can never move an HTTP route out
/// from under its template.
pub(crate) fn listed_method<'r, B>(req: &'r Request<B>, contract: &Contract) -> Option<&'r str> {
    let path = method_path(req)?;
    let method = req.method().as_str();
    let listed = contract.route(method, path).is_some()
        || rampgate_core::grpc::service_pattern(path)
            .is_some_and(|service| contract.route(method, &service).is_some());
    listed.then_some(path)
}

/// The trailers-only `INTERNAL` answer to a request the layers cannot decide.
pub(crate) fn internal<B: DenialResponseBody>(what: &'static str) -> Response<B> {
    let mut response = Response::new(B::empty());
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert(
        "grpc-status",
        HeaderValue::from(GrpcCode::Internal.as_i32()),
    );
    let message = percent_encode_message(&format!("layers_misconfigured: {what}"));
    if let Ok(value) = HeaderValue::from_str(&message) {
        headers.insert("grpc-message", value);
    }
    headers.insert(
        GRPC_REASON_HEADER,
        HeaderValue::from_static("layers_misconfigured"),
    );
    response
}
