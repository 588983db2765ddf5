//! The verdict on one roll-out step: what the data says, as data. The words
//! are the renderers' (`ramp::words`); the `--json` form carries them too,
//! written by the same functions.

use crate::commands::ramp::words;
use rampgate_core::contract::Mode;
use serde::ser::SerializeStruct;
use std::collections::BTreeMap;

/// What the data says about a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Verdict {
    /// The step would refuse requests that pass today.
    Breaks,
    /// The step refuses nothing that passes today, but requests refused
    /// today would stay refused after it.
    Review,
    /// Traffic, but fewer requests than `--min-requests`.
    NotEnoughData,
    /// No traffic at all: cannot judge.
    NoData,
    /// Enough requests, and none that the step would refuse.
    Safe,
}

/// The verdict on one step.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StepVerdict {
    /// The route key or the consumer key.
    pub(crate) subject: String,
    pub(crate) verdict: Verdict,
    /// The requests the verdict rests on.
    pub(crate) requests: u64,
    /// Seconds from the window's first request to its last.
    pub(crate) span_seconds: i64,
    /// `--min-requests`.
    pub(crate) min_requests: u64,
    /// What the step is, with what only that kind of step has.
    pub(crate) step: StepDetails,
}

/// The step a verdict judges, and its findings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StepDetails {
    /// Enforce an observed or partly enforced route for everyone.
    EnforceRoute {
        /// The route's mode today (observe or a percentage).
        mode: Mode,
        /// The consumers that would break.
        breaking: Vec<Breaking>,
        /// Whether any one of the route's scopes would do.
        one_of: bool,
        /// What the route requires, in the contract's words.
        requires: String,
        /// Consumers the contract names, with their stage, that sent no
        /// request to the route and whose stage does not allow it.
        unseen: Vec<(String, String)>,
        /// Requests already refused.
        already_denied: u64,
    },
    /// Move a consumer to the next stage of its ramp.
    AdvanceConsumer {
        /// The consumer's stage today.
        stage: String,
        /// The stage it would move to.
        next: String,
        /// Scopes the next stage adds.
        adds: Vec<String>,
        /// Of those, the ones no token in the window carries.
        unused: Vec<String>,
        /// Requests allowed today that the next stage would refuse.
        breaks: u64,
        /// Requests refused today that the next stage would allow.
        would_allow: u64,
        /// Requests refused today that the next stage would still refuse.
        still_refused: Vec<StillRefused>,
    },
}

/// A consumer that enforcing a route would break.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Breaking {
    pub(crate) consumer: Option<String>,
    /// Its requests to the route.
    pub(crate) requests: u64,
    /// Those that would be refused once enforced.
    pub(crate) observe_denied: u64,
    /// The scopes they would miss, with counts.
    pub(crate) missing: BTreeMap<String, u64>,
    /// Their reason codes, with counts.
    pub(crate) reasons: BTreeMap<String, u64>,
    /// Why, and what would cure it.
    pub(crate) cause: Cause,
}

/// Why a consumer's requests would be refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cause {
    /// The contract does not name the consumer.
    NotInContract,
    /// The requests name no consumer.
    NoConsumer,
    /// A consumer the contract names.
    Named {
        /// Its current stage.
        stage: String,
        /// When some refusals are `scope_beyond_stage`: what would cure them.
        beyond_stage: Option<StageCure>,
        /// Whether some refusals are `scope_insufficient`.
        lacks_scopes: bool,
        /// Whether some refusals are `separation_of_duties`.
        separated: bool,
        /// The other reason codes.
        other_reasons: Vec<String>,
    },
}

/// What cures refusals of scopes the token has but the stage does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StageCure {
    /// Advancing the consumer to this later stage.
    AdvanceTo(String),
    /// Nothing: no later stage allows them.
    NoLaterStage,
}

/// Requests a consumer's next stage would still refuse.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct StillRefused {
    pub(crate) route: Option<String>,
    pub(crate) missing: Vec<String>,
    pub(crate) requests: u64,
}

impl serde::Serialize for Breaking {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut b = s.serialize_struct("Breaking", 6)?;
        b.serialize_field("consumer", &self.consumer)?;
        b.serialize_field("requests", &self.requests)?;
        b.serialize_field("observe_denied", &self.observe_denied)?;
        b.serialize_field("missing", &self.missing)?;
        b.serialize_field("reasons", &self.reasons)?;
        b.serialize_field("hint", &words::hint(&self.cause))?;
        b.end()
    }
}

/// The `--json` form: the step's kind, its fields, and its words.
impl serde::Serialize for StepVerdict {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut v = s.serialize_struct("StepVerdict", 12)?;
        let kind = match self.step {
            StepDetails::EnforceRoute { .. } => "enforce_route",
            StepDetails::AdvanceConsumer { .. } => "advance_consumer",
        };
        v.serialize_field("step", kind)?;
        v.serialize_field("subject", &self.subject)?;
        let (from, to) = words::from_to(self);
        v.serialize_field("from", &from)?;
        v.serialize_field("to", &to)?;
        v.serialize_field("verdict", &self.verdict)?;
        v.serialize_field("message", &words::message(self))?;
        v.serialize_field("requests", &self.requests)?;
        match &self.step {
            StepDetails::EnforceRoute { breaking, .. } => {
                v.serialize_field("breaking", breaking)?;
            }
            StepDetails::AdvanceConsumer {
                adds,
                would_allow,
                still_refused,
                ..
            } => {
                v.serialize_field("adds", adds)?;
                v.serialize_field("would_allow", would_allow)?;
                v.serialize_field("still_refused", still_refused)?;
            }
        }
        v.serialize_field("notes", &words::notes(self))?;
        v.end()
    }
}
