//! gRPC as a protocol of denials: which requests are gRPC, which gRPC status
//! code a denial carries, and how `grpc-message` is encoded.
//!
//! Free of tonic (any gRPC server built on `http` gets gRPC answers); the
//! [`Denial`](crate::Denial) renders its trailers-only response from these
//! pieces, and the `tonic` feature adds conversions to `tonic::Status`.
//!
//! The status of a denial is derived from its HTTP status, so that every
//! reason code, present and future, has one without being listed here:
//!
//! | HTTP | gRPC |
//! |---|---|
//! | 401 (token missing, invalid, expired, revoked, ...) | 16 `UNAUTHENTICATED` |
//! | 401 `insufficient_user_authentication` (step-up) | 7 `PERMISSION_DENIED` |
//! | 403 (scope, contract) | 7 `PERMISSION_DENIED` |
//! | 400 (malformed request) | 3 `INVALID_ARGUMENT` |
//! | 429 | 8 `RESOURCE_EXHAUSTED` |
//! | 503 (keys unavailable) | 14 `UNAVAILABLE` |
//! | other 5xx (misconfigured layers) | 13 `INTERNAL` |
//! | anything else | 2 `UNKNOWN` |

use crate::error::BearerError;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode};
use std::fmt;

/// A gRPC status code (the `grpc-status` of an answer), as the gRPC
/// specification numbers them; only the codes a denial can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GrpcCode {
    /// 2: an HTTP status without a better mapping.
    Unknown = 2,
    /// 3: the request itself is malformed (two `authorization` headers, a
    /// token sent twice): fix the client, a new token will not help.
    InvalidArgument = 3,
    /// 7: the caller is known but may not do this (scope, contract, step-up).
    PermissionDenied = 7,
    /// 8: too many requests.
    ResourceExhausted = 8,
    /// 13: a server-side mistake (misconfigured layers).
    Internal = 13,
    /// 14: the service cannot judge the token now (keys unavailable); retry.
    Unavailable = 14,
    /// 16: no valid credentials (missing, malformed, expired, revoked token).
    Unauthenticated = 16,
}

impl GrpcCode {
    /// The numeric code, as sent in `grpc-status`.
    pub const fn as_i32(self) -> i32 {
        self as i32
    }

    /// The code's name in the gRPC specification (`UNAUTHENTICATED`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            GrpcCode::Unknown => "UNKNOWN",
            GrpcCode::InvalidArgument => "INVALID_ARGUMENT",
            GrpcCode::PermissionDenied => "PERMISSION_DENIED",
            GrpcCode::ResourceExhausted => "RESOURCE_EXHAUSTED",
            GrpcCode::Internal => "INTERNAL",
            GrpcCode::Unavailable => "UNAVAILABLE",
            GrpcCode::Unauthenticated => "UNAUTHENTICATED",
        }
    }

    /// The code for a denial answered over HTTP with `status` and the RFC 6750
    /// / RFC 9470 `error` code `bearer_error` (see the module's table).
    pub fn for_http(status: StatusCode, bearer_error: Option<BearerError>) -> GrpcCode {
        // Step-up is a 401 over HTTP (RFC 9470), but the caller is authenticated:
        // it is a permission the current authentication does not carry.
        if bearer_error == Some(BearerError::InsufficientUserAuthentication) {
            return GrpcCode::PermissionDenied;
        }
        match status.as_u16() {
            400 => GrpcCode::InvalidArgument,
            401 => GrpcCode::Unauthenticated,
            403 => GrpcCode::PermissionDenied,
            429 => GrpcCode::ResourceExhausted,
            503 => GrpcCode::Unavailable,
            500..=599 => GrpcCode::Internal,
            _ => GrpcCode::Unknown,
        }
    }
}

impl fmt::Display for GrpcCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether a request is gRPC: its `content-type` is `application/grpc`, or
/// starts with `application/grpc+` or `application/grpc;` (gRPC over HTTP/2;
/// `application/grpc-web` is another protocol and is answered over HTTP).
pub fn is_grpc(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return false;
    };
    let Some(rest) = value
        .as_bytes()
        .get(..16)
        .filter(|prefix| prefix.eq_ignore_ascii_case(b"application/grpc"))
        .map(|_| &value.as_bytes()[16..])
    else {
        return false;
    };
    matches!(rest.first(), None | Some(b'+') | Some(b';'))
}

/// Whether `path` is a gRPC method path, `/package.Service/Method`, spelled
/// the one way a gRPC server routes it: a service name of dot-separated
/// identifiers, a method identifier, nothing else (no percent-encoding, no
/// trailing slash, no empty or dot segment). Such a path has no other spelling
/// that a server would route to the same method.
pub fn is_method_path(path: &str) -> bool {
    // One pass over the bytes, with a table: every gRPC call is checked, and
    // checks with `split` cost more than the rest of a contract decision.
    let Some(rest) = path.as_bytes().strip_prefix(b"/") else {
        return false;
    };
    // Past the one slash (in the method); at the start of an identifier.
    let (mut method, mut start) = (false, true);
    for &b in rest {
        match (b, IDENTIFIER[usize::from(b)]) {
            (b'.', _) if !method && !start => start = true,
            (b'/', _) if !method && !start => (method, start) = (true, true),
            (_, FIRST) => start = false,
            (_, NEXT) if !start => {}
            _ => return false,
        }
    }
    method && !start
}

/// In [`IDENTIFIER`]: a byte that may start a protobuf identifier (a letter
/// or `_`).
const FIRST: u8 = 1;
/// In [`IDENTIFIER`]: a byte that may only follow an identifier's first (a digit).
const NEXT: u8 = 2;
/// Every byte's place in a protobuf identifier: [`FIRST`], [`NEXT`], or 0
/// (none: dots, slashes and every non-ASCII byte among them).
const IDENTIFIER: [u8; 256] = {
    let mut table = [0; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b as u8 {
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => FIRST,
            b'0'..=b'9' => NEXT,
            _ => 0,
        };
        b += 1;
    }
    table
};

/// The whole-service pattern that covers a gRPC method path:
/// `/package.Service/*` for `/package.Service/Method`, or `None` when `path`
/// is not a method path.
pub fn service_pattern(path: &str) -> Option<String> {
    with_service_pattern(path, str::to_owned)
}

/// [`service_pattern`], handed to `f` without allocating (when
/// `/package.Service` is at most 126 bytes): contract decisions look it up on
/// every gRPC call.
pub(crate) fn with_service_pattern<R>(path: &str, f: impl FnOnce(&str) -> R) -> Option<R> {
    if !is_method_path(path) {
        return None;
    }
    with_pattern_of_method(path, f)
}

/// [`with_service_pattern`] for a `path` known to be a method path.
pub(crate) fn with_pattern_of_method<R>(path: &str, f: impl FnOnce(&str) -> R) -> Option<R> {
    const ROOM: usize = 128;
    debug_assert!(is_method_path(path), "{path:?} is not a method path");
    // A method path has exactly two slashes: the service ends at the last.
    let end = path.bytes().rposition(|b| b == b'/')?;
    let service = &path.as_bytes()[..end];
    if service.len() + 2 > ROOM {
        return Some(f(&format!("{}/*", &path[..end])));
    }
    let mut buf = [0u8; ROOM];
    buf[..end].copy_from_slice(service);
    buf[end..end + 2].copy_from_slice(b"/*");
    // ASCII throughout: a method path is identifiers, dots and slashes.
    std::str::from_utf8(&buf[..end + 2]).ok().map(f)
}

/// Percent-encodes a `grpc-message` as the gRPC specification requires: every
/// byte outside visible ASCII and space (0x20-0x7E), and `%` itself, as `%XX`.
pub fn percent_encode_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for b in message.bytes() {
        if (0x20..=0x7e).contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        h
    }

    #[test]
    fn grpc_content_types_are_recognised() {
        for ct in [
            "application/grpc",
            "application/grpc+proto",
            "application/grpc+json",
            "Application/GRPC",
            "application/grpc;charset=utf-8",
        ] {
            assert!(is_grpc(&headers(ct)), "{ct}");
        }
        for ct in [
            "application/json",
            "application/grpc-web",
            "application/grpc-web+proto",
            "application/grpcx",
            "application/grp",
        ] {
            assert!(!is_grpc(&headers(ct)), "{ct}");
        }
        assert!(!is_grpc(&HeaderMap::new()));
    }

    #[test]
    fn method_paths_have_one_spelling() {
        for p in [
            "/helloworld.Greeter/SayHello",
            "/Greeter/SayHello",
            "/a.b_c.D1/_m2",
            "/grpc.health.v1.Health/Check",
        ] {
            assert!(is_method_path(p), "{p}");
        }
        for p in [
            "",
            "/",
            "helloworld.Greeter/SayHello",
            "/helloworld.Greeter/SayHello/",
            "/helloworld.Greeter/",
            "/helloworld..Greeter/SayHello",
            "/.Greeter/SayHello",
            "/helloworld.Greeter./SayHello",
            "/hello%77orld.Greeter/SayHello",
            "/helloworld.Greeter//SayHello",
            "/helloworld.Greeter/Say/Hello",
            "/helloworld.Greeter/*",
            "/helloworld.Greeter/1Say",
            "/../SayHello",
            "/items/{id}",
        ] {
            assert!(!is_method_path(p), "{p}");
        }
    }

    /// The method path's definition, written the plain way: the one-pass
    /// check must agree with it.
    fn spec_is_method_path(path: &str) -> bool {
        fn identifier(s: &str) -> bool {
            let mut bytes = s.bytes();
            matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
                && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        }
        let Some((service, method)) = path.strip_prefix('/').and_then(|r| r.split_once('/')) else {
            return false;
        };
        !service.is_empty() && service.split('.').all(identifier) && identifier(method)
    }

    #[test]
    fn the_one_pass_check_agrees_with_the_definition_on_every_short_path() {
        // Every string of 1 to 5 characters over the characters that matter
        // (and a multi-byte one): 177 155 paths.
        const CHARS: [&str; 11] = ["/", ".", "a", "Z", "_", "1", "%", "*", "{", "}", "é"];
        let mut paths = vec![String::new()];
        let mut checked = 0;
        for _ in 0..5 {
            let mut longer = Vec::with_capacity(paths.len() * CHARS.len());
            for p in &paths {
                for c in CHARS {
                    let q = format!("{p}{c}");
                    assert_eq!(is_method_path(&q), spec_is_method_path(&q), "{q:?}");
                    let pattern = service_pattern(&q);
                    assert_eq!(pattern.is_some(), is_method_path(&q), "{q:?}");
                    if let Some(pattern) = pattern {
                        let (service, _) = q.rsplit_once('/').unwrap();
                        assert_eq!(pattern, format!("{service}/*"));
                    }
                    checked += 1;
                    longer.push(q);
                }
            }
            paths = longer;
        }
        assert_eq!(checked, 11 + 121 + 1331 + 14_641 + 161_051);
    }

    #[test]
    fn dotted_services_and_every_byte_are_judged_as_the_definition_says() {
        // Six characters: the shortest accepted path with a dotted service,
        // `/a.b/c`, and its neighbours.
        const CHARS: [&str; 5] = ["/", ".", "a", "1", "é"];
        let mut paths = vec![String::new()];
        for _ in 0..6 {
            paths = paths
                .iter()
                .flat_map(|p| CHARS.iter().map(move |c| format!("{p}{c}")))
                .collect();
        }
        assert_eq!(paths.len(), 15_625);
        assert!(paths.iter().any(|p| p == "/a.a/a" && is_method_path(p)));
        // Each byte, ASCII or not, at each place of a path: the table's edges
        // (`z`, `A`, `0`, `9` and their neighbours `@`, `[`, `` ` ``, `:`).
        let mut chars: Vec<String> = (0u8..=127).map(|b| char::from(b).to_string()).collect();
        chars.extend(["é", "\u{a0}", "\u{ff}", "\u{10ffff}"].map(str::to_owned));
        for c in &chars {
            paths.extend([
                format!("/{c}/M"),
                format!("/a{c}.b/M"),
                format!("/a.{c}b/M"),
                format!("/a/{c}"),
                format!("/a/M{c}"),
                format!("/a/{c}M"),
            ]);
        }
        for p in &paths {
            assert_eq!(is_method_path(p), spec_is_method_path(p), "{p:?}");
        }
        for ok in ["/z/M", "/A/M", "/a/z0", "/a9.Z_/M9"] {
            assert!(is_method_path(ok), "{ok}");
        }
    }

    #[test]
    fn a_long_service_name_has_its_pattern_too() {
        let service = format!("/{}.{}", "a".repeat(100), "B".repeat(100));
        let path = format!("{service}/Call");
        assert_eq!(service_pattern(&path), Some(format!("{service}/*")));
        let near = format!("/{}", "c".repeat(125));
        for service in [near.clone(), format!("{near}d"), format!("{near}de")] {
            let pattern = with_service_pattern(&format!("{service}/M"), str::to_owned);
            assert_eq!(pattern, Some(format!("{service}/*")), "{}", service.len());
        }
    }

    #[test]
    fn the_service_pattern_covers_its_methods() {
        assert_eq!(
            service_pattern("/helloworld.Greeter/SayHello").as_deref(),
            Some("/helloworld.Greeter/*")
        );
        assert_eq!(service_pattern("/items/{id}"), None);
        assert_eq!(service_pattern("/helloworld.Greeter/*"), None);
    }

    #[test]
    fn messages_are_percent_encoded_as_grpc_requires() {
        assert_eq!(percent_encode_message("token expired"), "token expired");
        assert_eq!(percent_encode_message("100% sure"), "100%25 sure");
        assert_eq!(percent_encode_message("caf\u{e9}\n"), "caf%C3%A9%0A");
    }

    #[test]
    fn codes_follow_the_http_status() {
        let c = |s: u16, e| GrpcCode::for_http(StatusCode::from_u16(s).unwrap(), e);
        assert_eq!(
            c(401, Some(BearerError::InvalidToken)),
            GrpcCode::Unauthenticated
        );
        assert_eq!(c(401, None), GrpcCode::Unauthenticated);
        assert_eq!(
            c(401, Some(BearerError::InsufficientUserAuthentication)),
            GrpcCode::PermissionDenied
        );
        assert_eq!(
            c(403, Some(BearerError::InsufficientScope)),
            GrpcCode::PermissionDenied
        );
        assert_eq!(
            c(400, Some(BearerError::InvalidRequest)),
            GrpcCode::InvalidArgument
        );
        assert_eq!(c(503, None), GrpcCode::Unavailable);
        assert_eq!(c(500, None), GrpcCode::Internal);
        assert_eq!(c(429, None), GrpcCode::ResourceExhausted);
        assert_eq!(c(418, None), GrpcCode::Unknown);
        assert_eq!(GrpcCode::Unauthenticated.as_i32(), 16);
        assert_eq!(GrpcCode::PermissionDenied.to_string(), "PERMISSION_DENIED");
    }
}
