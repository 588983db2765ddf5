//! The trust-level step: each `[trust.NAME]` must demand something consistent;
//! the checked levels are compiled into step-up policies.

use super::{Checker, RawTrust};
use crate::StepUpPolicy;
use crate::contract::TrustLevel;
use std::collections::BTreeMap;
use std::sync::Arc;
use toml::Spanned;

impl Checker<'_> {
    /// Checks every level, in name order.
    pub(super) fn trust_levels(
        &mut self,
        levels: &BTreeMap<String, Spanned<RawTrust>>,
    ) -> BTreeMap<String, TrustLevel> {
        levels
            .iter()
            .map(|(name, level)| (name.clone(), self.trust_level(name, level)))
            .collect()
    }

    fn trust_level(&mut self, name: &str, level: &Spanned<RawTrust>) -> TrustLevel {
        let span = level.span();
        let l = level.get_ref();
        let max_age = match l.max_age {
            Some(age) if age < 0 => {
                self.error(
                    Some(span.clone()),
                    format!("[trust.{name}] max_age must be a non-negative number of seconds"),
                );
                None
            }
            other => other.map(|a| a as u64),
        };
        let sender_constrained = match &l.sender_constrained {
            None => false,
            Some(value) => match value.get_ref().as_str() {
                "required" => true,
                "optional" => false,
                other => {
                    self.error(
                        Some(value.span()),
                        format!(
                            "[trust.{name}] sender_constrained is {other:?}: say \"required\" (DPoP or a client certificate) or \"optional\""
                        ),
                    );
                    false
                }
            },
        };
        if l.acr_values.is_empty() && l.amr.is_empty() && l.max_age.is_none() && !sender_constrained
        {
            self.error(
                Some(span.clone()),
                format!(
                    "[trust.{name}] demands nothing: set acr_values, amr, max_age or sender_constrained = \"required\""
                ),
            );
        }
        if !l.acr_hierarchy.is_empty() && l.acr_values.is_empty() {
            self.error(
                Some(span.clone()),
                format!("[trust.{name}] has an acr_hierarchy but no acr_values: say which level is required"),
            );
        }
        if let Some(unknown) = l
            .acr_values
            .iter()
            .find(|v| !l.acr_hierarchy.is_empty() && !l.acr_hierarchy.contains(v))
        {
            self.error(
                Some(span.clone()),
                format!(
                    "[trust.{name}] requires acr {unknown:?}, which is not in its acr_hierarchy"
                ),
            );
        }
        if name == "standard" {
            self.error(
                Some(span),
                "[trust.standard] is built in and cannot be redefined".into(),
            );
        }
        TrustLevel {
            acr_values: l.acr_values.clone(),
            acr_hierarchy: l.acr_hierarchy.clone(),
            amr: l.amr.clone(),
            max_age,
            sender_constrained,
        }
    }
}

/// Each level compiled once, so that decisions share the policy instead of
/// rebuilding it per request.
pub(super) fn step_up(trust: &BTreeMap<String, TrustLevel>) -> BTreeMap<String, Arc<StepUpPolicy>> {
    trust
        .iter()
        .map(|(name, level)| (name.clone(), Arc::new(level.policy())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::{messages, raw};
    use super::*;

    #[test]
    fn a_consistent_level_is_kept_as_written() {
        let text = "version = 1\n[trust.sensitive]\nacr_values = [\"mfa\"]\nacr_hierarchy = [\"pwd\", \"mfa\"]\namr = [\"otp\"]\nmax_age = 300\n";
        let mut c = Checker::new(text);
        let levels = c.trust_levels(&raw(text).trust);
        assert_eq!(messages(&c), Vec::<String>::new());
        let expected = TrustLevel {
            acr_values: vec!["mfa".into()],
            acr_hierarchy: vec!["pwd".into(), "mfa".into()],
            amr: vec!["otp".into()],
            max_age: Some(300),
            sender_constrained: false,
        };
        assert_eq!(levels.get("sensitive"), Some(&expected));
        let policies = step_up(&levels);
        assert_eq!(policies.len(), 1);
        assert_eq!(*policies["sensitive"], expected.policy());
    }

    #[test]
    fn a_level_may_require_a_sender_constrained_token_and_nothing_else() {
        let text = "version = 1\n[trust.bound]\nsender_constrained = \"required\"\n[trust.typo]\nmax_age = 60\nsender_constrained = \"yes\"\n";
        let mut c = Checker::new(text);
        let levels = c.trust_levels(&raw(text).trust);
        assert_eq!(
            messages(&c),
            [
                "line 6: [trust.typo] sender_constrained is \"yes\": say \"required\" (DPoP or a client certificate) or \"optional\""
            ]
        );
        assert!(levels["bound"].sender_constrained);
        assert!(levels["bound"].policy().requires_sender_constrained());
        assert!(!levels["typo"].sender_constrained);
    }

    #[test]
    fn each_inconsistency_is_reported_on_the_level_line() {
        let text = "version = 1\n[trust.standard]\nacr_values = [\"gold\"]\nacr_hierarchy = [\"pwd\"]\n[trust.vague]\nmax_age = -1\n";
        let mut c = Checker::new(text);
        let levels = c.trust_levels(&raw(text).trust);
        assert_eq!(
            messages(&c),
            [
                "line 2: [trust.standard] requires acr \"gold\", which is not in its acr_hierarchy",
                "line 2: [trust.standard] is built in and cannot be redefined",
                "line 5: [trust.vague] max_age must be a non-negative number of seconds",
            ]
        );
        assert_eq!(levels["vague"].max_age, None);
    }
}
