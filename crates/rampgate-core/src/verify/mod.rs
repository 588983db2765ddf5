//! Verification: from a compact JWS to a verified [`Principal`](crate::Principal).
//! Parsing (`token`, `json`), algorithms and keys (`alg`, `backend`, `key`,
//! with `pem` and `ed25519` for what a key is checked for without a crypto
//! library),
//! one issuer's key material and its refresh (`keys`), the claim rules
//! (`policy`), the verifier with its token cache (`verifier`) and what it
//! hands the layers (`principal`), what binds a token to its sender
//! (`binding`), the DPoP proofs that show it (`dpop`), and the client
//! certificates TLS terminators forward (`certificate`).

pub(crate) mod alg;
pub(crate) mod backend;
pub mod binding;
pub(crate) mod certificate;
pub mod dpop;
pub(crate) mod ed25519;
pub(crate) mod json;
pub(crate) mod key;
pub(crate) mod keys;
pub(crate) mod pem;
pub(crate) mod policy;
pub(crate) mod principal;
pub(crate) mod token;
pub(crate) mod verifier;
