//! The commands, one module each: its arguments (`args.rs`), its `run`,
//! and what only it uses. They share the output type of the crate root
//! ([`crate::Report`]) and depend on no argument type but their own.

pub(crate) mod contract;
pub(crate) mod ramp;
pub(crate) mod revocation;
pub(crate) mod token;
