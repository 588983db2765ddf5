//! The consumers step: each consumer is named once, its stages nest (each
//! stage's scopes include the previous one's), and its current stage exists.

use super::{Catalog, Checker, RawConsumer, RawStage};
use crate::contract::{Consumer, Stage};
use std::collections::BTreeSet;
use toml::Spanned;

impl Checker<'_> {
    /// Checks every consumer, in file order.
    pub(super) fn consumers(
        &mut self,
        raw: &[Spanned<RawConsumer>],
        catalog: &Catalog,
        contract_issuer: Option<&str>,
    ) -> Vec<Consumer> {
        let mut consumers = Vec::new();
        for spanned in raw {
            let consumer = self.consumer(spanned, &consumers, catalog, contract_issuer);
            consumers.push(consumer);
        }
        consumers
    }

    /// Checks one consumer against the ones declared before it.
    fn consumer(
        &mut self,
        spanned: &Spanned<RawConsumer>,
        earlier: &[Consumer],
        catalog: &Catalog,
        contract_issuer: Option<&str>,
    ) -> Consumer {
        let span = spanned.span();
        let r = spanned.get_ref();
        let issuer = r.issuer.as_ref().map(|i| i.get_ref().clone());
        let who = who(r);
        if r.client_id.is_empty() {
            self.error(Some(span.clone()), "client_id must not be empty".into());
        }
        if let Some(spanned_issuer) = &r.issuer {
            let own = spanned_issuer.get_ref();
            if own.trim().is_empty() {
                self.error(
                    Some(spanned_issuer.span()),
                    format!("{who}: issuer must not be empty (or leave it out)"),
                );
            } else if let Some(contract_issuer) = contract_issuer
                && own != contract_issuer
            {
                // The contract applies to its issuer's tokens only: this consumer
                // could never match.
                self.error(
                    Some(spanned_issuer.span()),
                    format!(
                        "{who} names issuer {own:?}, but the contract applies only to tokens of {contract_issuer:?}: remove the consumer's issuer or the contract's"
                    ),
                );
            }
        }
        if earlier
            .iter()
            .any(|o| o.client_id == r.client_id && o.sub == r.sub && o.issuer == issuer)
        {
            self.error(Some(span.clone()), format!("{who} is declared twice"));
        }
        if r.stages.is_empty() {
            self.error(
                Some(span),
                format!("{who} has no stages: give it at least one"),
            );
        }
        let stages = self.stages(&who, &r.stages, catalog);
        let current = stages.iter().position(|s| &s.name == r.stage.get_ref());
        if current.is_none() && !stages.is_empty() {
            self.error(
                Some(r.stage.span()),
                format!(
                    "{who} is at stage {:?}, which is not among its stages ({})",
                    r.stage.get_ref(),
                    stages
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        Consumer {
            client_id: r.client_id.clone(),
            sub: r.sub.clone(),
            issuer,
            stages,
            current: current.unwrap_or(0),
        }
    }

    /// Checks `who`'s stages in order: unique names, scopes from the catalog,
    /// and no stage dropping a scope the one before it allowed.
    pub(super) fn stages(
        &mut self,
        who: &str,
        raw: &[Spanned<RawStage>],
        catalog: &Catalog,
    ) -> Vec<Stage> {
        let mut stages: Vec<Stage> = Vec::new();
        for stage in raw {
            let s = stage.get_ref();
            if stages.iter().any(|o| o.name == s.name) {
                self.error(
                    Some(stage.span()),
                    format!("{who} has two stages named {:?}", s.name),
                );
            }
            let stage_scopes: &[String] = s.scopes.as_ref().map_or(&[], |l| l.get_ref());
            let scopes_span = s.scopes.as_ref().map_or_else(|| stage.span(), |l| l.span());
            self.check_scopes(
                catalog,
                stage_scopes,
                scopes_span,
                &format!("{who} stage {}", s.name),
            );
            let scopes: BTreeSet<String> = stage_scopes.iter().cloned().collect();
            if let Some(prev) = stages.last()
                && !prev.scopes.is_subset(&scopes)
            {
                let missing: Vec<&str> = prev
                    .scopes
                    .difference(&scopes)
                    .map(String::as_str)
                    .collect();
                self.error(
                    Some(stage.span()),
                    format!(
                        "{who} stage {} drops {} allowed at the earlier stage {}: each stage's scopes must include the previous stage's",
                        s.name,
                        missing.join(", "),
                        prev.name
                    ),
                );
            }
            stages.push(Stage {
                name: s.name.clone(),
                scopes,
            });
        }
        stages
    }
}

/// `consumer client_id`, with `/sub` and `@issuer` when the entry binds
/// them: how every check names a consumer entry.
pub(super) fn who(r: &RawConsumer) -> String {
    let mut who = match &r.sub {
        Some(sub) => format!("consumer {}/{sub}", r.client_id),
        None => format!("consumer {}", r.client_id),
    };
    if let Some(issuer) = &r.issuer {
        who = format!("{who}@{}", issuer.get_ref());
    }
    who
}

#[cfg(test)]
mod tests {
    use super::super::testing::{catalog, messages, raw};
    use super::*;

    fn stage(name: &str, scopes: &[&str]) -> Stage {
        Stage {
            name: name.into(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn consumers_keep_their_stages_and_current_one() {
        let text = "version = 1\n[[consumers]]\nclient_id = \"web\"\nstage = \"ga\"\nstages = [{ name = \"pilot\", scopes = [\"a\"] }, { name = \"ga\", scopes = [\"a\", \"b\"] }]\n[[consumers]]\nclient_id = \"web\"\nsub = \"svc\"\nstage = \"only\"\nstages = [{ name = \"only\" }]\n";
        let mut c = Checker::new(text);
        let consumers = c.consumers(&raw(text).consumers, &catalog(), None);
        assert_eq!(messages(&c), Vec::<String>::new());
        assert_eq!(
            consumers,
            [
                Consumer {
                    client_id: "web".into(),
                    sub: None,
                    issuer: None,
                    stages: vec![stage("pilot", &["a"]), stage("ga", &["a", "b"])],
                    current: 1,
                },
                Consumer {
                    client_id: "web".into(),
                    sub: Some("svc".into()),
                    issuer: None,
                    stages: vec![stage("only", &[])],
                    current: 0,
                },
            ]
        );
    }

    #[test]
    fn consumer_problems_are_reported_on_their_lines() {
        let text = "version = 1\n[[consumers]]\nclient_id = \"\"\nstage = \"x\"\nstages = []\n[[consumers]]\nclient_id = \"\"\nstage = \"x\"\nstages = []\n";
        let mut c = Checker::new(text);
        let consumers = c.consumers(&raw(text).consumers, &catalog(), None);
        assert_eq!(
            messages(&c),
            [
                "line 2: client_id must not be empty",
                "line 2: consumer  has no stages: give it at least one",
                "line 6: client_id must not be empty",
                "line 6: consumer  is declared twice",
                "line 6: consumer  has no stages: give it at least one",
            ]
        );
        assert_eq!(consumers.len(), 2);
    }

    #[test]
    fn a_consumer_issuer_is_checked_against_the_contract_issuer() {
        let text = "version = 1\n[[consumers]]\nclient_id = \"web\"\nissuer = \"https://a.example\"\nstage = \"p\"\nstages = [{ name = \"p\" }]\n[[consumers]]\nclient_id = \"web\"\nissuer = \"https://b.example\"\nstage = \"p\"\nstages = [{ name = \"p\" }]\n[[consumers]]\nclient_id = \"web\"\nissuer = \"https://b.example\"\nstage = \"p\"\nstages = [{ name = \"p\" }]\n[[consumers]]\nclient_id = \"cli\"\nissuer = \"\"\nstage = \"p\"\nstages = [{ name = \"p\" }]\n";
        let mut c = Checker::new(text);
        let consumers = c.consumers(&raw(text).consumers, &catalog(), Some("https://a.example"));
        assert_eq!(
            messages(&c),
            [
                "line 9: consumer web@https://b.example names issuer \"https://b.example\", but the contract applies only to tokens of \"https://a.example\": remove the consumer's issuer or the contract's",
                "line 14: consumer web@https://b.example names issuer \"https://b.example\", but the contract applies only to tokens of \"https://a.example\": remove the consumer's issuer or the contract's",
                "line 12: consumer web@https://b.example is declared twice",
                "line 19: consumer cli@: issuer must not be empty (or leave it out)",
            ]
        );
        assert_eq!(consumers[0].issuer.as_deref(), Some("https://a.example"));
        assert_eq!(consumers[0].key(), "web@https://a.example");
        // The same client_id at two issuers is two consumers.
        let mut c = Checker::new(text);
        c.consumers(&raw(text).consumers[..2], &catalog(), None);
        assert_eq!(messages(&c), Vec::<String>::new());
    }

    #[test]
    fn stages_must_be_unique_known_and_nested() {
        let text = "version = 1\n[[consumers]]\nclient_id = \"m\"\nstage = \"p\"\nstages = [\n  { name = \"p\", scopes = [\"a\", \"b\"] },\n  { name = \"p\", scopes = [\"a\", \"zz\"] },\n]\n";
        let raw = raw(text);
        let mut c = Checker::new(text);
        let stages = c.stages("consumer m", &raw.consumers[0].get_ref().stages, &catalog());
        assert_eq!(
            messages(&c),
            [
                "line 7: consumer m has two stages named \"p\"",
                "line 7: consumer m stage p uses scope \"zz\", which is not in [scopes]: add it to the catalog or fix the name",
                "line 7: consumer m stage p drops b allowed at the earlier stage p: each stage's scopes must include the previous stage's",
            ]
        );
        assert_eq!(stages, [stage("p", &["a", "b"]), stage("p", &["a", "zz"])]);
    }
}
