//! The report's words: numbers, durations, and what each verdict says, for
//! the text and HTML renderers and the `--json` form alike.

use super::analysis::{
    Breaking, Cause, LeastPrivilege, Revocations, StageCure, StepDetails, StepVerdict,
    UNKNOWN_CONSUMERS, Verdict,
};
use crate::plural::{count, form, number, plural};
use rampgate_core::contract::Mode;
use std::collections::BTreeMap;

/// `3 days`, `5 hours`, `42 minutes`, `12 seconds`.
pub(crate) fn duration(seconds: i64) -> String {
    let s = seconds.max(0) as usize;
    if s >= 36 * 3600 {
        count((s + 43_200) / 86_400, "day")
    } else if s >= 2 * 3600 {
        count((s + 1800) / 3600, "hour")
    } else if s >= 120 {
        count((s + 30) / 60, "minute")
    } else {
        count(s, "second")
    }
}

/// `a (3), b (1)`.
pub(crate) fn counted(map: &BTreeMap<String, u64>) -> String {
    map.iter()
        .map(|(k, n)| format!("{k} ({})", number(*n)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `SAFE`, `BREAKS`...
pub(crate) fn label(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Safe => "SAFE",
        Verdict::Breaks => "BREAKS",
        Verdict::Review => "REVIEW",
        Verdict::NotEnoughData => "NOT ENOUGH DATA",
        Verdict::NoData => "NO DATA",
    }
}

/// Where a step starts and where it ends: `observe` and `enforce`, or a
/// consumer's stage and the next one.
pub(crate) fn from_to(v: &StepVerdict) -> (String, String) {
    match &v.step {
        StepDetails::EnforceRoute { mode, .. } => (mode.to_string(), Mode::Enforce.to_string()),
        StepDetails::AdvanceConsumer { stage, next, .. } => (stage.clone(), next.clone()),
    }
}

/// The title of a step: `enforce GET /x (now observe)`.
pub(crate) fn step_title(v: &StepVerdict) -> String {
    match &v.step {
        StepDetails::EnforceRoute { mode, .. } => format!("enforce {} (now {mode})", v.subject),
        StepDetails::AdvanceConsumer { stage, next, .. } => {
            format!("advance {} {stage} -> {next}", v.subject)
        }
    }
}

/// The verdict in one sentence.
pub(crate) fn message(v: &StepVerdict) -> String {
    match &v.step {
        StepDetails::EnforceRoute {
            breaking, one_of, ..
        } => enforce_message(v, breaking, *one_of),
        StepDetails::AdvanceConsumer { .. } => advance_message(v),
    }
}

/// `N requests in 3 days, fewer than --min-requests M`.
fn too_few(v: &StepVerdict) -> String {
    format!(
        "not enough data: {} in {}, fewer than --min-requests {}",
        plural(v.requests, "request", "requests"),
        duration(v.span_seconds),
        v.min_requests
    )
}

fn enforce_message(v: &StepVerdict, breaking: &[Breaking], one_of: bool) -> String {
    let requests = plural(v.requests, "request", "requests");
    match v.verdict {
        Verdict::NoData => format!(
            "no data: no request to {} in the window; cannot judge",
            v.subject
        ),
        Verdict::Breaks => {
            let who: Vec<String> = breaking.iter().map(|b| breaks_whom(b, one_of)).collect();
            format!(
                "would break {}: {}",
                plural(breaking.len() as u64, "consumer", "consumers"),
                who.join("; ")
            )
        }
        Verdict::NotEnoughData => format!("{}; 0 observe-denials so far", too_few(v)),
        Verdict::Safe | Verdict::Review => format!(
            "safe to enforce: 0 observe-denials in {} over {requests}",
            duration(v.span_seconds)
        ),
    }
}

/// `mobile-app (40 of 40 requests would be refused, missing accounts:write)`.
fn breaks_whom(b: &Breaking, one_of: bool) -> String {
    let scopes: Vec<&str> = b.missing.keys().map(String::as_str).collect();
    let missing = match (scopes.is_empty(), one_of) {
        (true, _) => String::new(),
        (false, false) => format!(", missing {}", scopes.join(" ")),
        (false, true) => format!(", missing one of {}", scopes.join(", ")),
    };
    format!(
        "{} ({} of {} would be refused{missing})",
        b.consumer.as_deref().unwrap_or("(no consumer)"),
        number(b.observe_denied),
        plural(b.requests, "request", "requests"),
    )
}

fn advance_message(v: &StepVerdict) -> String {
    let StepDetails::AdvanceConsumer {
        stage,
        next,
        adds,
        breaks,
        would_allow,
        still_refused,
        ..
    } = &v.step
    else {
        return String::new();
    };
    let adds_words = if adds.is_empty() {
        "adds no scope".to_owned()
    } else {
        format!("adds {}", adds.join(" "))
    };
    let step = format!("{stage} -> {next} ({adds_words})");
    match v.verdict {
        Verdict::NoData => format!(
            "no data: {} sent no request in the window; cannot judge",
            v.subject
        ),
        Verdict::Breaks => format!(
            "{step} would refuse {} allowed today",
            plural(*breaks, "request", "requests")
        ),
        Verdict::NotEnoughData => too_few(v),
        Verdict::Review => {
            let total: u64 = still_refused.iter().map(|s| s.requests).sum();
            let what: Vec<String> = still_refused
                .iter()
                .map(|s| {
                    format!(
                        "{} missing {} ({})",
                        s.route.as_deref().unwrap_or("(no route)"),
                        s.missing.join(" "),
                        number(s.requests)
                    )
                })
                .collect();
            format!(
                "advancing refuses nothing allowed today, but {} refused today would still be refused at {}: {}",
                plural(total, "request", "requests"),
                next,
                what.join("; ")
            )
        }
        Verdict::Safe => format!(
            "safe to advance {step}: none of {} in {} would be refused{}",
            plural(v.requests, "request", "requests"),
            duration(v.span_seconds),
            if *would_allow > 0 {
                format!(
                    ", and {} refused today for want of a scope would be allowed",
                    number(*would_allow)
                )
            } else {
                String::new()
            }
        ),
    }
}

/// Caveats that do not change the verdict.
pub(crate) fn notes(v: &StepVerdict) -> Vec<String> {
    let mut notes = Vec::new();
    match &v.step {
        StepDetails::EnforceRoute {
            requires,
            unseen,
            already_denied,
            ..
        } => {
            if !unseen.is_empty() && v.requests > 0 {
                let who: Vec<String> = unseen
                    .iter()
                    .map(|(key, stage)| format!("{key} (stage {stage})"))
                    .collect();
                notes.push(format!(
                    "no request in the window from {}, whose stage does not allow {requires}: once enforced, they would be refused if they call it",
                    who.join(", ")
                ));
            }
            if *already_denied > 0 {
                notes.push(format!(
                    "{} already refused (enforced part of the roll-out, or failures before the contract)",
                    plural(*already_denied, "request was", "requests were")
                ));
            }
        }
        StepDetails::AdvanceConsumer { unused, .. } => {
            if v.requests > 0 && !unused.is_empty() {
                let them = form(unused.len() as u64, "it", "them");
                notes.push(format!(
                    "no token seen carries {}: advancing changes nothing for {them} until the client requests {them}",
                    unused.join(" "),
                ));
            }
        }
    }
    notes
}

/// Why a consumer's requests would be refused, and what would cure it.
pub(crate) fn hint(cause: &Cause) -> String {
    let Cause::Named {
        stage,
        beyond_stage,
        lacks_scopes,
        separated,
        other_reasons,
    } = cause
    else {
        return match cause {
            Cause::NotInContract => "the contract does not name this consumer",
            _ => "requests without a consumer (no token or no client_id)",
        }
        .to_owned();
    };
    let mut parts = Vec::new();
    match beyond_stage {
        Some(StageCure::AdvanceTo(next)) => parts.push(format!(
            "its tokens carry the scopes but stage {stage} does not allow them: advance it to {next} first"
        )),
        Some(StageCure::NoLaterStage) => parts.push(format!(
            "its tokens carry the scopes but stage {stage} does not allow them, nor does any later stage"
        )),
        None => {}
    }
    if *lacks_scopes {
        parts.push("its tokens lack the scopes: the client must request them".to_owned());
    }
    if *separated {
        parts.push(
            "its tokens carry scopes a separation of duties keeps apart: the client must ask for one duty per token"
                .to_owned(),
        );
    }
    if !other_reasons.is_empty() {
        parts.push(format!("reasons {}", other_reasons.join(", ")));
    }
    parts.join("; ")
}

/// The details under a verdict: one line per breaking consumer, then the
/// notes.
pub(crate) fn details(v: &StepVerdict) -> Vec<String> {
    let mut lines = Vec::new();
    if let StepDetails::EnforceRoute { breaking, .. } = &v.step {
        for b in breaking {
            let mut parts = Vec::new();
            if !b.missing.is_empty() {
                parts.push(format!("missing {}", counted(&b.missing)));
            }
            if !b.reasons.is_empty() {
                parts.push(format!("reasons {}", counted(&b.reasons)));
            }
            parts.push(hint(&b.cause));
            lines.push(format!(
                "{}: {}",
                b.consumer.as_deref().unwrap_or("(no consumer)"),
                parts.join("; ")
            ));
        }
    }
    for n in notes(v) {
        lines.push(format!("note: {n}"));
    }
    lines
}

/// Who a least-privilege finding is about: `back-office (stage full)`, or
/// `unknown consumers (stage public)`.
pub(crate) fn privilege_subject(lp: &LeastPrivilege) -> String {
    if lp.consumer == UNKNOWN_CONSUMERS {
        format!(
            "unknown consumers (stage {}, defaults.unknown_consumer)",
            lp.stage
        )
    } else {
        format!("{} (stage {})", lp.consumer, lp.stage)
    }
}

/// What the evidence recommends, one sentence per finding: the unused
/// scopes to take away, the over-issued ones to stop issuing; or that every
/// grant is used; or that there is not enough data to say.
pub(crate) fn privilege_findings(lp: &LeastPrivilege, span_seconds: i64, min: u64) -> Vec<String> {
    let who = privilege_subject(lp);
    let requests = plural(lp.requests, "request", "requests");
    if !lp.enough_data {
        return vec![format!(
            "{who}: not enough data: {requests} in {}, fewer than --min-requests {}",
            duration(span_seconds),
            number(min)
        )];
    }
    let mut findings = Vec::new();
    if !lp.unused.is_empty() {
        let n = lp.unused.len() as u64;
        // Stages nest: a scope comes out from the stage that introduced it on.
        let from: std::collections::BTreeSet<&String> = lp
            .introduced_at
            .values()
            .filter(|s| **s != lp.stage)
            .collect();
        let it = form(n, "it", "them");
        let narrow = if from.is_empty() {
            format!(
                "take {it} out of stage {}, or move the consumer to a stage without {it}",
                lp.stage
            )
        } else {
            let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
            format!(
                "take {it} out of stage {} and the stages after it",
                from.join(", ")
            )
        };
        findings.push(format!(
            "{who} never used {} in {} over {requests}: {narrow}",
            joined(lp.unused.iter()),
            duration(span_seconds),
        ));
    }
    if !lp.over_issued.is_empty() {
        let n = lp.over_issued.len() as u64;
        let later: Vec<String> = lp
            .granted_later
            .iter()
            .map(|(scope, stage)| format!("stage {stage} grants {scope}"))
            .collect();
        let ahead = if later.is_empty() {
            String::new()
        } else {
            format!(
                " ({}: advance the consumer when it is ready)",
                later.join(", ")
            )
        };
        findings.push(format!(
            "tokens of {who} carried {}, which the stage does not grant: ask the authorization server to stop issuing {}{ahead}",
            counted(&lp.over_issued_counts),
            form(n, "it", "them")
        ));
    }
    if findings.is_empty() {
        findings.push(format!(
            "{who} used every scope its stage grants, and its tokens carried no other ({requests})"
        ));
    }
    findings
}

/// `a, b and c`.
fn joined<'a>(items: impl Iterator<Item = &'a String>) -> String {
    let items: Vec<&str> = items.map(String::as_str).collect();
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => (*last).to_owned(),
        None => String::new(),
    }
}

/// `revocations: 3 in the window (2 revoked, 1 un-revoked; jti 2, kid 1)`,
/// or `None` when the window saw none.
pub(crate) fn revocations_line(r: &Revocations) -> Option<String> {
    if r.total == 0 {
        return None;
    }
    let by: Vec<String> = r.by.iter().map(|(k, n)| format!("{k} {n}")).collect();
    Some(format!(
        "revocations: {} in the window ({} revoked, {} un-revoked; {})",
        number(r.total),
        number(r.revoked),
        number(r.unrevoked),
        by.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(3 * 86_400 - 600), "3 days");
        assert_eq!(duration(47 * 3600), "2 days");
        assert_eq!(duration(35 * 3600), "35 hours");
        assert_eq!(duration(90), "90 seconds");
        assert_eq!(duration(3600), "60 minutes");
    }

    #[test]
    fn an_unused_scope_comes_out_from_the_stage_that_introduced_it() {
        let set = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        let lp = LeastPrivilege {
            consumer: "back-office".into(),
            stage: "full".into(),
            granted: set(&["read", "write"]),
            used: set(&["write"]),
            unused: set(&["read"]),
            over_issued: set(&[]),
            over_issued_counts: BTreeMap::new(),
            granted_later: BTreeMap::new(),
            introduced_at: BTreeMap::from([("read".to_owned(), "pilot".to_owned())]),
            requests: 500,
            allowed: 500,
            use_counts: BTreeMap::from([("write".to_owned(), 500)]),
            per_tool: BTreeMap::new(),
            enough_data: true,
            recommends: true,
        };
        assert_eq!(
            privilege_findings(&lp, 30 * 86_400, 100),
            [
                "back-office (stage full) never used read in 30 days over 500 requests: take it out of stage pilot and the stages after it"
            ]
        );
    }
}
