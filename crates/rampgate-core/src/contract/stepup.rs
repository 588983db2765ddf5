//! Step-up authentication (RFC 9470): a route demands a stronger or fresher user
//! authentication than a valid token alone proves.

use crate::binding::BindingFailure;
use crate::error::Error;
use crate::principal::Principal;
use crate::reason::{StepUpFailure, StepUpReason};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How far in the future an `auth_time` may be and still count: the largest
/// leeway a [`ValidationPolicy`](crate::ValidationPolicy) allows. The verifier
/// already refuses an `auth_time` beyond its issuer's own leeway; this bound
/// keeps values that did not come through it from counting as fresh.
const AUTH_TIME_MAX_SKEW: i64 = 300;

/// What a sensitive route demands of the user's authentication.
///
/// ```
/// use rampgate_core::StepUpPolicy;
/// use std::time::Duration;
///
/// // `acr` of at least "mfa" on the pwd < mfa < hwk ladder, within 5 minutes.
/// let policy = StepUpPolicy::default()
///     .acr_values(["mfa"])
///     .acr_hierarchy(["pwd", "mfa", "hwk"])
///     .max_age(Duration::from_secs(300));
/// assert_eq!(policy.acr_values_param().as_deref(), Some("mfa hwk"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepUpPolicy {
    acr_values: Vec<String>,
    acr_hierarchy: Vec<String>,
    amr_all: Vec<String>,
    amr_any: Vec<String>,
    max_age: Option<Duration>,
    sender_constrained: bool,
}

impl StepUpPolicy {
    /// Also requires a sender-constrained token: bound (`cnf`) to a DPoP key
    /// or a client certificate, presented with its proof. A bearer token is
    /// refused by [`StepUpPolicy::enforce`] with 401
    /// `sender_constraint_required` before any step-up condition is looked at.
    ///
    /// ```
    /// use rampgate_core::{Principal, StepUpPolicy};
    /// use serde_json::json;
    ///
    /// let policy = StepUpPolicy::default().require_sender_constrained();
    /// let bearer = Principal::for_tests("https://issuer.example", json!({"sub": "a"})).unwrap();
    /// let err = policy.enforce(&bearer).unwrap_err();
    /// assert_eq!(err.code(), "sender_constraint_required");
    /// assert_eq!(err.kind().status(), 401);
    /// ```
    pub fn require_sender_constrained(mut self) -> Self {
        self.sender_constrained = true;
        self
    }

    /// Whether a sender-constrained token is required.
    pub fn requires_sender_constrained(&self) -> bool {
        self.sender_constrained
    }

    /// Whether the policy has a step-up condition (`acr`, `amr` or
    /// `max_age`), not only a sender constraint: whether passing it is a
    /// step-up passed (the audit trail's `step_up`).
    pub fn steps_up(&self) -> bool {
        !self.acr_values.is_empty()
            || !self.amr_all.is_empty()
            || !self.amr_any.is_empty()
            || self.max_age.is_some()
    }

    /// Everything this policy demands of the principal, now: a
    /// sender-constrained token when required
    /// ([`StepUpPolicy::require_sender_constrained`]), then the step-up
    /// conditions ([`StepUpPolicy::check`]). What the layers call.
    pub fn enforce(&self, principal: &Principal) -> Result<(), Error> {
        if self.sender_constrained && !principal.is_sender_constrained() {
            return Err(BindingFailure::SenderConstraintRequired.into());
        }
        self.check(principal).map_err(StepUpFailure::into_error)
    }

    /// Acceptable `acr` values, in order of preference. Defaults to none (no
    /// `acr` condition).
    pub fn acr_values<I: IntoIterator<Item = S>, S: Into<String>>(mut self, values: I) -> Self {
        self.acr_values = values.into_iter().map(Into::into).collect();
        self
    }

    /// Orders `acr` levels from weakest to strongest, so that a stronger level
    /// satisfies a weaker requirement. Defaults to none (exact matches only).
    pub fn acr_hierarchy<I: IntoIterator<Item = S>, S: Into<String>>(mut self, levels: I) -> Self {
        self.acr_hierarchy = levels.into_iter().map(Into::into).collect();
        self
    }

    /// `amr` methods that must all be present (`mfa`, `otp`, `hwk`...).
    pub fn amr_all<I: IntoIterator<Item = S>, S: Into<String>>(mut self, methods: I) -> Self {
        self.amr_all = methods.into_iter().map(Into::into).collect();
        self
    }

    /// `amr` methods of which one must be present.
    pub fn amr_any<I: IntoIterator<Item = S>, S: Into<String>>(mut self, methods: I) -> Self {
        self.amr_any = methods.into_iter().map(Into::into).collect();
        self
    }

    /// The user must have authenticated (`auth_time`) at most this long ago; a
    /// token without `auth_time` fails, and so does one whose `auth_time` is
    /// more than 5 minutes in the future (the verifier refuses it already,
    /// beyond its leeway, as `claim_invalid`).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    fn rank(&self, acr: &str) -> Option<usize> {
        self.acr_hierarchy.iter().position(|l| l == acr)
    }

    /// The `acr_values` challenge parameter: the acceptable values in preference
    /// order, then the stronger levels of the hierarchy that also satisfy.
    pub fn acr_values_param(&self) -> Option<String> {
        if self.acr_values.is_empty() {
            return None;
        }
        let mut values: Vec<&str> = self.acr_values.iter().map(String::as_str).collect();
        if let Some(weakest) = self.acr_values.iter().filter_map(|v| self.rank(v)).min() {
            for stronger in &self.acr_hierarchy[weakest..] {
                if !values.contains(&stronger.as_str()) {
                    values.push(stronger);
                }
            }
        }
        Some(values.join(" "))
    }

    fn acr_ok(&self, acr: Option<&str>) -> bool {
        if self.acr_values.is_empty() {
            return true;
        }
        let Some(acr) = acr else { return false };
        if self.acr_values.iter().any(|v| v == acr) {
            return true;
        }
        match (
            self.rank(acr),
            self.acr_values.iter().filter_map(|v| self.rank(v)).min(),
        ) {
            (Some(have), Some(need)) => have >= need,
            _ => false,
        }
    }

    /// Checks the principal's authentication, now: the step-up conditions
    /// only. [`StepUpPolicy::enforce`] checks everything the policy demands
    /// (a sender-constrained token too): what a layer or an extractor calls.
    pub fn check(&self, principal: &Principal) -> Result<(), StepUpFailure> {
        // A clock before 1970 fails closed: every authentication looks stale.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(i64::MAX, |d| d.as_secs() as i64);
        self.check_at(principal.acr(), principal.amr(), principal.auth_time(), now)
    }

    /// [`StepUpPolicy::check`] on plain values, at `now` (seconds since the epoch).
    pub fn check_at(
        &self,
        acr: Option<&str>,
        amr: &[String],
        auth_time: Option<i64>,
        now: i64,
    ) -> Result<(), StepUpFailure> {
        let mut reasons = Vec::new();
        if !self.acr_ok(acr) {
            reasons.push(StepUpReason::AcrInsufficient);
        }
        let has = |m: &String| amr.iter().any(|a| a == m);
        if !self.amr_all.iter().all(has)
            || (!self.amr_any.is_empty() && !self.amr_any.iter().any(has))
        {
            reasons.push(StepUpReason::AmrMissing);
        }
        if let Some(max_age) = self.max_age {
            match auth_time {
                None => reasons.push(StepUpReason::AuthTimeMissing),
                // An authentication "in the future" proves nothing about when
                // the user authenticated: ask for a new one, as for a stale one.
                Some(t) if t > now.saturating_add(AUTH_TIME_MAX_SKEW) => {
                    reasons.push(StepUpReason::AuthTimeStale);
                }
                Some(t) if now.saturating_sub(t) > max_age.as_secs() as i64 => {
                    reasons.push(StepUpReason::AuthTimeStale);
                }
                Some(_) => {}
            }
        }
        if reasons.is_empty() {
            return Ok(());
        }
        let strength = reasons.iter().any(|r| r.is_strength());
        let age = reasons.iter().any(|r| !r.is_strength());
        Err(StepUpFailure {
            acr_values: if strength {
                self.acr_values_param()
            } else {
                None
            },
            max_age: if age {
                self.max_age.map(|d| d.as_secs())
            } else {
                None
            },
            reasons,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amr(m: &[&str]) -> Vec<String> {
        m.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn acr_hierarchy_lets_stronger_levels_satisfy() {
        let p = StepUpPolicy::default()
            .acr_values(["mfa"])
            .acr_hierarchy(["pwd", "mfa", "hwk"]);
        assert!(p.check_at(Some("mfa"), &[], None, 0).is_ok());
        assert!(p.check_at(Some("hwk"), &[], None, 0).is_ok());
        let f = p.check_at(Some("pwd"), &[], None, 0).unwrap_err();
        assert_eq!(f.reasons, [StepUpReason::AcrInsufficient]);
        assert_eq!(f.acr_values.as_deref(), Some("mfa hwk"));
        assert_eq!(f.max_age, None);
        // conformance: 9470-5 (absent acr is unmet)
        assert!(p.check_at(None, &[], None, 0).is_err());
        // Unknown levels never satisfy.
        assert!(p.check_at(Some("superstrong"), &[], None, 0).is_err());
    }

    #[test]
    fn without_hierarchy_only_listed_values() {
        let p = StepUpPolicy::default().acr_values(["gold", "silver"]);
        assert!(p.check_at(Some("silver"), &[], None, 0).is_ok());
        assert!(p.check_at(Some("bronze"), &[], None, 0).is_err());
        assert_eq!(p.acr_values_param().as_deref(), Some("gold silver"));
    }

    #[test]
    fn amr_all_and_any() {
        let p = StepUpPolicy::default()
            .amr_all(["mfa"])
            .amr_any(["otp", "hwk"]);
        assert!(p.check_at(None, &amr(&["mfa", "otp"]), None, 0).is_ok());
        assert_eq!(
            p.check_at(None, &amr(&["otp"]), None, 0)
                .unwrap_err()
                .reasons,
            [StepUpReason::AmrMissing]
        );
        assert_eq!(
            p.check_at(None, &amr(&["mfa", "pwd"]), None, 0)
                .unwrap_err()
                .reasons,
            [StepUpReason::AmrMissing]
        );
    }

    #[test]
    fn max_age_against_auth_time() {
        let p = StepUpPolicy::default().max_age(Duration::from_secs(300));
        assert!(p.check_at(None, &[], Some(1000), 1300).is_ok());
        let f = p.check_at(None, &[], Some(1000), 1301).unwrap_err();
        assert_eq!(
            (f.reasons.as_slice(), f.max_age, f.acr_values.as_deref()),
            (&[StepUpReason::AuthTimeStale][..], Some(300), None)
        );
        let f = p.check_at(None, &[], None, 1301).unwrap_err();
        assert_eq!(f.reasons, [StepUpReason::AuthTimeMissing]);
    }

    #[test]
    fn a_future_auth_time_is_never_fresh() {
        let p = StepUpPolicy::default().max_age(Duration::from_secs(300));
        // A token minted with auth_time an hour ahead must not pass as "just
        // authenticated" for the next hour.
        let f = p.check_at(None, &[], Some(1000 + 3600), 1000).unwrap_err();
        assert_eq!(
            (f.reasons.as_slice(), f.max_age),
            (&[StepUpReason::AuthTimeStale][..], Some(300))
        );
        let f = p.check_at(None, &[], Some(i64::MAX), 1000).unwrap_err();
        assert_eq!(f.reasons, [StepUpReason::AuthTimeStale]);
        // Clock skew within the largest leeway a verifier allows is fresh.
        assert!(p.check_at(None, &[], Some(1000 + 60), 1000).is_ok());
        assert!(p.check_at(None, &[], Some(1000 + 300), 1000).is_ok());
        assert!(p.check_at(None, &[], Some(1000 + 301), 1000).is_err());
    }

    #[test]
    fn both_unmet_gives_both_parameters() {
        // conformance: 9470-4
        let p = StepUpPolicy::default()
            .acr_values(["mfa"])
            .max_age(Duration::from_secs(60));
        let f = p.check_at(Some("pwd"), &[], Some(0), 1000).unwrap_err();
        assert_eq!(
            f.reasons,
            [StepUpReason::AcrInsufficient, StepUpReason::AuthTimeStale]
        );
        assert_eq!(
            (f.acr_values.as_deref(), f.max_age),
            (Some("mfa"), Some(60))
        );
    }
}
