//! The response body types a denial can be rendered into.

use bytes::Bytes;

/// A response body type that can carry a denial: the bytes of an HTTP
/// denial's JSON body, or nothing for a gRPC denial (trailers-only).
///
/// The layers require it of the inner service's response body. It is
/// implemented for `axum::body::Body` (feature `axum`), `tonic::body::Body`
/// (feature `tonic`), `http_body_util::Full<Bytes>` and its boxed
/// combinators, [`Bytes`], `Vec<u8>` and `String`; implement it for a body
/// type of your own:
///
/// ```
/// use rampgate_core::DenialResponseBody;
///
/// struct MyBody(bytes::Bytes);
///
/// impl DenialResponseBody for MyBody {
///     fn from_bytes(bytes: bytes::Bytes) -> Self {
///         MyBody(bytes)
///     }
/// }
/// ```
pub trait DenialResponseBody: Sized {
    /// A body of `bytes`.
    fn from_bytes(bytes: Bytes) -> Self;

    /// An empty body, ending the stream at once (a gRPC trailers-only answer).
    fn empty() -> Self {
        Self::from_bytes(Bytes::new())
    }
}

impl DenialResponseBody for Bytes {
    fn from_bytes(bytes: Bytes) -> Self {
        bytes
    }
}

impl DenialResponseBody for Vec<u8> {
    fn from_bytes(bytes: Bytes) -> Self {
        bytes.into()
    }
}

impl DenialResponseBody for String {
    fn from_bytes(bytes: Bytes) -> Self {
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl DenialResponseBody for http_body_util::Full<Bytes> {
    fn from_bytes(bytes: Bytes) -> Self {
        http_body_util::Full::new(bytes)
    }
}

impl<E: 'static> DenialResponseBody for http_body_util::combinators::BoxBody<Bytes, E> {
    fn from_bytes(bytes: Bytes) -> Self {
        use http_body_util::BodyExt;
        http_body_util::Full::new(bytes)
            .map_err(|never| match never {})
            .boxed()
    }
}

impl<E: 'static> DenialResponseBody for http_body_util::combinators::UnsyncBoxBody<Bytes, E> {
    fn from_bytes(bytes: Bytes) -> Self {
        use http_body_util::BodyExt;
        http_body_util::Full::new(bytes)
            .map_err(|never| match never {})
            .boxed_unsync()
    }
}

#[cfg(feature = "axum")]
impl DenialResponseBody for axum_core::body::Body {
    fn from_bytes(bytes: Bytes) -> Self {
        axum_core::body::Body::from(bytes)
    }

    fn empty() -> Self {
        axum_core::body::Body::empty()
    }
}

#[cfg(feature = "tonic")]
impl DenialResponseBody for tonic::body::Body {
    fn from_bytes(bytes: Bytes) -> Self {
        tonic::body::Body::new(http_body_util::Full::new(bytes))
    }

    fn empty() -> Self {
        tonic::body::Body::empty()
    }
}
