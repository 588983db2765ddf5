//! The audit schema v1 as types: one [`AuditRecord`] per JSON line. The
//! writer serialises the record of each [`AuditEvent`](super::AuditEvent)
//! (borrowing from it: no copy on the writer's path) and
//! [`read_events`](super::read_events) deserialises the lines back into
//! records that own their strings. One set of types for both directions, so
//! the reader cannot drift from the writer.

use super::event::{AuditOutcome, Claimed, ContractChangeEntry, StepUpResult, TokenFingerprint};
use crate::binding::BoundBy;
use crate::contract::{ChangeNote, ContractDigest, Mode};
use crate::reason::EventReason;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::net::SocketAddr;
use std::time::SystemTime;

/// One line of the audit trail, as written and as read back.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AuditRecord<'a> {
    /// A `decision` event.
    Decision(Box<DecisionRecord<'a>>),
    /// A `contract_changed` event.
    ContractChanged(ContractChangedRecord<'a>),
    /// A `contract_refused` event.
    ContractRefused(ContractRefusedRecord<'a>),
    /// Any other type (`anomaly`, `revocation`, and types this version does
    /// not know): its `type`, its `ts` when it has a valid one, and its other
    /// fields but `v`, in their order.
    Other {
        /// The event's `type`.
        kind: Cow<'a, str>,
        /// Its `ts`, when it is an RFC 3339 timestamp (else `ts` stays in
        /// `fields`).
        ts: Option<SystemTime>,
        /// Its other fields.
        fields: Cow<'a, serde_json::Map<String, serde_json::Value>>,
    },
}

/// The `type` of each typed record: written as is, and accepted whatever it
/// says when a record is read on its own (the reader dispatches on it first).
macro_rules! event_type {
    ($name:ident, $text:literal) => {
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        struct $name;

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str($text)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                serde::de::IgnoredAny::deserialize(d).map(|_| $name)
            }
        }
    };
}

event_type!(DecisionType, "decision");
event_type!(ChangedType, "contract_changed");
event_type!(RefusedType, "contract_refused");

const fn schema_version() -> u32 {
    super::SCHEMA_VERSION
}

/// One request's `decision` event (see `docs/audit.md` for each field).
/// Reading tolerates missing fields but `ts` and `outcome`: an absent string
/// reads as empty, an absent list as empty, an absent option as `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DecisionRecord<'a> {
    /// The schema version (1).
    #[serde(default = "schema_version")]
    pub v: u32,
    #[serde(rename = "type", default)]
    kind: DecisionType,
    /// When the request reached the audit layer (to the millisecond).
    #[serde(with = "rfc3339")]
    pub ts: SystemTime,
    /// From `x-request-id`, or generated.
    #[serde(default)]
    pub request_id: Cow<'a, str>,
    /// The HTTP method.
    #[serde(default)]
    pub method: Cow<'a, str>,
    /// `METHOD /template`: the contract's route, else the matched one.
    pub route: Option<Cow<'a, str>>,
    /// The response status.
    #[serde(default)]
    pub status: u16,
    /// Allow, deny or observe-deny.
    pub outcome: AuditOutcome,
    /// The stable reason code.
    #[serde(default)]
    pub reason: Cow<'a, str>,
    /// The verified token's `iss`.
    pub iss: Option<Cow<'a, str>>,
    /// The verified token's `client_id`.
    pub client_id: Option<Cow<'a, str>>,
    /// The consumer that decided: the contract's key, else the `client_id`.
    pub consumer: Option<Cow<'a, str>>,
    /// The verified token's `sub`.
    pub sub: Option<Cow<'a, str>>,
    /// The verified token's `jti`.
    pub jti: Option<Cow<'a, str>>,
    /// The token's fingerprint.
    pub token_fp: Option<TokenFingerprint>,
    /// What a refused token claimed, unverified (written only when set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed: Option<Cow<'a, Claimed>>,
    /// The verified token's scopes.
    #[serde(default)]
    pub scopes: Vec<Cow<'a, str>>,
    /// The scopes the contract's route requires.
    #[serde(default)]
    pub required: Vec<Cow<'a, str>>,
    /// Whether any one of `required` would do.
    #[serde(default)]
    pub required_one_of: bool,
    /// The required scopes a contract refusal found missing.
    #[serde(default)]
    pub missing: Vec<Cow<'a, str>>,
    /// The version of the contract that decided.
    pub contract_version: Option<u64>,
    /// The consumer's stage.
    pub stage: Option<Cow<'a, str>>,
    /// The route's roll-out mode.
    pub mode: Option<Mode>,
    /// The route's trust level.
    pub trust: Option<Cow<'a, str>>,
    /// Step-up's result, when step-up applied.
    pub step_up: Option<StepUpResult>,
    /// What the verified token was bound to; on an allowed request its
    /// proof was checked (written only for a sender-constrained token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound: Option<BoundBy>,
    /// For a request of the MCP endpoint: its JSON-RPC method (`tools/call`)
    /// (written only when set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_method: Option<Cow<'a, str>>,
    /// For an MCP call: the tool or prompt name, or the resource URI
    /// (written only when set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_target: Option<Cow<'a, str>>,
    /// The peer address.
    pub client_addr: Option<SocketAddr>,
    /// Microseconds from the audit layer to the response head.
    #[serde(default)]
    pub latency_us: u64,
}

impl<'a> DecisionRecord<'a> {
    /// A record with the fields every decision has; the others empty.
    pub(crate) fn new(
        ts: SystemTime,
        request_id: &'a str,
        method: &'a str,
        outcome: AuditOutcome,
    ) -> Self {
        DecisionRecord {
            v: schema_version(),
            kind: DecisionType,
            ts,
            request_id: Cow::Borrowed(request_id),
            method: Cow::Borrowed(method),
            route: None,
            status: 0,
            outcome,
            reason: Cow::Borrowed(""),
            iss: None,
            client_id: None,
            consumer: None,
            sub: None,
            jti: None,
            token_fp: None,
            claimed: None,
            scopes: Vec::new(),
            required: Vec::new(),
            required_one_of: false,
            missing: Vec::new(),
            contract_version: None,
            stage: None,
            mode: None,
            trust: None,
            bound: None,
            step_up: None,
            mcp_method: None,
            mcp_target: None,
            client_addr: None,
            latency_us: 0,
        }
    }
}

impl DecisionRecord<'_> {
    /// The `reason` as a type; `None` when it is empty or a code this
    /// version does not know. The field itself stays a string, as written:
    /// a code added by a later version reads, rather than making the line
    /// malformed.
    pub fn event_reason(&self) -> Option<EventReason> {
        self.reason.parse().ok()
    }
}

/// An applied contract reload: the `contract_changed` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContractChangedRecord<'a> {
    /// The schema version (1).
    #[serde(default = "schema_version")]
    pub v: u32,
    #[serde(rename = "type", default)]
    kind: ChangedType,
    /// When it was applied.
    #[serde(with = "rfc3339")]
    pub ts: SystemTime,
    /// The new version.
    pub version: u64,
    /// The version it replaced.
    pub previous_version: u64,
    /// Every change, widenings first.
    #[serde(default)]
    pub changes: Cow<'a, [ContractChangeEntry]>,
    /// Whether any change widens access.
    #[serde(default)]
    pub alert: bool,
    /// SHA-256 of the applied file's bytes (null for a contract applied as
    /// a value; absent in lines written before it existed).
    #[serde(default)]
    pub sha256: Option<ContractDigest>,
    /// The new version's own `[change]` note, or null.
    #[serde(default)]
    pub change: Option<Cow<'a, ChangeNote>>,
}

impl<'a> ContractChangedRecord<'a> {
    pub(crate) fn new(
        ts: SystemTime,
        version: u64,
        previous_version: u64,
        changes: &'a [ContractChangeEntry],
        alert: bool,
    ) -> Self {
        ContractChangedRecord {
            v: schema_version(),
            kind: ChangedType,
            ts,
            version,
            previous_version,
            changes: Cow::Borrowed(changes),
            alert,
            sha256: None,
            change: None,
        }
    }
}

/// A refused contract reload: the `contract_refused` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContractRefusedRecord<'a> {
    /// The schema version (1).
    #[serde(default = "schema_version")]
    pub v: u32,
    #[serde(rename = "type", default)]
    kind: RefusedType,
    /// When it was refused.
    #[serde(with = "rfc3339")]
    pub ts: SystemTime,
    /// The refused contract's version, when known.
    pub version: Option<u64>,
    /// The version in force, which kept serving (absent in lines written
    /// before it existed).
    #[serde(default)]
    pub previous_version: Option<u64>,
    /// Why, in words.
    #[serde(default)]
    pub error: Cow<'a, str>,
    /// A stable code: `version_not_increased`, `contract_invalid`,
    /// `contract_unreadable`.
    pub reason: Option<Cow<'a, str>>,
    /// SHA-256 of the refused file's bytes, or null when it could not be
    /// read (or was given as a value).
    #[serde(default)]
    pub sha256: Option<ContractDigest>,
    /// The refused contract's `[change]` note, or null.
    #[serde(default)]
    pub change: Option<Cow<'a, ChangeNote>>,
}

impl<'a> ContractRefusedRecord<'a> {
    pub(crate) fn new(
        ts: SystemTime,
        version: Option<u64>,
        error: &'a str,
        reason: Option<&'a str>,
    ) -> Self {
        ContractRefusedRecord {
            v: schema_version(),
            kind: RefusedType,
            ts,
            version,
            previous_version: None,
            error: Cow::Borrowed(error),
            reason: reason.map(Cow::Borrowed),
            sha256: None,
            change: None,
        }
    }
}

impl AuditRecord<'_> {
    /// The record's `type`.
    pub fn kind(&self) -> &str {
        match self {
            AuditRecord::Decision(_) => "decision",
            AuditRecord::ContractChanged(_) => "contract_changed",
            AuditRecord::ContractRefused(_) => "contract_refused",
            AuditRecord::Other { kind, .. } => kind,
        }
    }

    /// The record of one JSON object: dispatched on its `type`, unknown
    /// fields ignored, unknown types kept as [`AuditRecord::Other`].
    ///
    /// # Errors
    ///
    /// [`RecordError`] when the object has no string `type`, or when a known
    /// type's fields do not fit the schema.
    pub fn from_object(
        mut object: serde_json::Map<String, serde_json::Value>,
    ) -> Result<AuditRecord<'static>, RecordError> {
        use serde_json::Value;
        let kind = match object.get("type") {
            Some(Value::String(kind)) => kind.clone(),
            Some(_) => return Err(RecordError::TypeNotString),
            None => return Err(RecordError::NoType),
        };
        let invalid = |e: serde_json::Error| RecordError::Invalid {
            kind: kind.clone(),
            message: e.to_string(),
        };
        let record = match kind.as_str() {
            "decision" => AuditRecord::Decision(Box::new(
                serde_json::from_value(Value::Object(object)).map_err(invalid)?,
            )),
            "contract_changed" => AuditRecord::ContractChanged(
                serde_json::from_value(Value::Object(object)).map_err(invalid)?,
            ),
            "contract_refused" => AuditRecord::ContractRefused(
                serde_json::from_value(Value::Object(object)).map_err(invalid)?,
            ),
            _ => {
                object.remove("v");
                object.remove("type");
                let ts = match object.get("ts") {
                    Some(Value::String(ts)) => crate::time::parse_rfc3339(ts).ok(),
                    _ => None,
                };
                if ts.is_some() {
                    object.remove("ts");
                }
                AuditRecord::Other {
                    kind: Cow::Owned(kind),
                    ts,
                    fields: Cow::Owned(object),
                }
            }
        };
        Ok(record)
    }
}

/// Why a JSON object is not an audit event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// It has no `type` field.
    #[error("not an event: no `type` field")]
    NoType,
    /// Its `type` is not a string.
    #[error("not an event: `type` is not a string")]
    TypeNotString,
    /// A known type whose fields do not fit the schema.
    #[error("{kind} event: {message}")]
    Invalid {
        /// The event's `type`.
        kind: String,
        /// What does not fit.
        message: String,
    },
}

impl Serialize for AuditRecord<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            AuditRecord::Decision(d) => d.serialize(s),
            AuditRecord::ContractChanged(c) => c.serialize(s),
            AuditRecord::ContractRefused(r) => r.serialize(s),
            AuditRecord::Other { kind, ts, fields } => {
                use serde::ser::SerializeMap;
                let mut map = s.serialize_map(None)?;
                map.serialize_entry("v", &schema_version())?;
                map.serialize_entry("type", kind)?;
                if let Some(ts) = ts {
                    map.serialize_entry("ts", &super::event::Timestamp(*ts))?;
                }
                for (k, v) in fields.iter() {
                    let header =
                        matches!(k.as_str(), "v" | "type") || (ts.is_some() && k.as_str() == "ts");
                    if !header {
                        map.serialize_entry(k, v)?;
                    }
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for AuditRecord<'_> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let object = serde_json::Map::deserialize(d)?;
        AuditRecord::from_object(object).map_err(serde::de::Error::custom)
    }
}

/// `ts` fields: RFC 3339 UTC with milliseconds, written and read.
mod rfc3339 {
    use serde::Deserialize;
    use std::borrow::Cow;
    use std::time::SystemTime;

    pub(super) fn serialize<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&super::super::event::Timestamp(*t))
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<SystemTime, D::Error> {
        let text = Cow::<str>::deserialize(d)?;
        crate::time::parse_rfc3339(&text)
            .map_err(|e| serde::de::Error::custom(format_args!("`ts`: {e}")))
    }
}
