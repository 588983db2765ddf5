//! The separation step: `[[separation]]` sets of scopes no single consumer
//! may hold two of (separation of duties), and no stage, nor the
//! `unknown_consumer` default, granting two scopes of one set.

use super::{Catalog, Checker, RawConsumer, RawDefaults, RawSeparation};
use crate::contract::{Separation, UnknownConsumer};
use std::collections::BTreeSet;
use toml::Spanned;

impl Checker<'_> {
    /// Checks each `[[separation]]`: a unique, non-empty name and at least two
    /// scopes from the catalog.
    pub(super) fn separations(
        &mut self,
        raw: &[Spanned<RawSeparation>],
        catalog: &Catalog,
    ) -> Vec<Separation> {
        let mut separations: Vec<Separation> = Vec::new();
        for spanned in raw {
            let r = spanned.get_ref();
            let who = format!("separation {:?}", r.name);
            if r.name.trim().is_empty() {
                self.error(
                    Some(spanned.span()),
                    "separation name must not be empty: name the rule (four-eyes)".into(),
                );
            }
            if separations.iter().any(|s| s.name == r.name) {
                self.error(Some(spanned.span()), format!("{who} is declared twice"));
            }
            self.check_scopes(catalog, r.scopes.get_ref(), r.scopes.span(), &who);
            let scopes: BTreeSet<String> = r.scopes.get_ref().iter().cloned().collect();
            if scopes.len() < 2 {
                self.error(
                    Some(r.scopes.span()),
                    format!("{who} needs at least two distinct scopes to keep apart"),
                );
            }
            separations.push(Separation {
                name: r.name.clone(),
                scopes,
            });
        }
        separations
    }

    /// Reports every consumer stage, and the `unknown_consumer` default, that
    /// grants two scopes of one separation set: once per consumer and set, at
    /// the first stage that does (the later stages include its scopes).
    pub(super) fn separated_stages(
        &mut self,
        separations: &[Separation],
        consumers: &[Spanned<RawConsumer>],
        defaults: Option<&Spanned<RawDefaults>>,
        unknown: &UnknownConsumer,
    ) {
        for separation in separations {
            for spanned in consumers {
                let c = spanned.get_ref();
                let who = super::consumers::who(c);
                let found = c.stages.iter().find_map(|stage| {
                    let scopes = stage.get_ref().scopes.as_ref()?;
                    let held = separation.held(|s| scopes.get_ref().iter().any(|g| g == s));
                    (held.len() > 1).then(|| (stage, scopes.span(), held))
                });
                if let Some((stage, span, held)) = found {
                    let message = conflict(
                        &format!("{who} stage {}", stage.get_ref().name),
                        separation,
                        &held,
                    );
                    self.error(Some(span), message);
                }
            }
            if let UnknownConsumer::Stage(stage) = unknown {
                let held = separation.held(|s| stage.scopes.contains(s));
                if held.len() > 1 {
                    let span = defaults
                        .and_then(|d| d.get_ref().unknown_consumer.as_ref())
                        .map(Spanned::span);
                    let message = conflict("defaults.unknown_consumer", separation, &held);
                    self.error(span, message);
                }
            }
        }
    }
}

/// What a conflicting grant says: who grants what, which rule it breaks, and
/// how to fix it.
fn conflict(who: &str, separation: &Separation, held: &[&str]) -> String {
    format!(
        "{who} grants {}, which separation {:?} keeps apart (no consumer may hold two of {}): give these duties to different consumers",
        held.join(" and "),
        separation.name,
        separation
            .scopes
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", "),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{catalog, messages, raw};
    use super::*;

    #[test]
    fn separations_need_a_name_and_two_known_scopes() {
        let text = "version = 1\n[[separation]]\nname = \"four-eyes\"\nscopes = [\"a\", \"b\"]\n[[separation]]\nname = \"four-eyes\"\nscopes = [\"a\", \"a\"]\n[[separation]]\nname = \"\"\nscopes = [\"a\", \"zz\"]\n";
        let mut c = Checker::new(text);
        let separations = c.separations(&raw(text).separation, &catalog());
        assert_eq!(
            messages(&c),
            [
                "line 5: separation \"four-eyes\" is declared twice",
                "line 7: separation \"four-eyes\" needs at least two distinct scopes to keep apart",
                "line 8: separation name must not be empty: name the rule (four-eyes)",
                "line 10: separation \"\" uses scope \"zz\", which is not in [scopes]: add it to the catalog or fix the name",
            ]
        );
        assert_eq!(separations.len(), 3);
        assert_eq!(separations[0].scopes.len(), 2);
    }

    #[test]
    fn a_stage_granting_two_scopes_of_a_set_is_reported_once_at_its_line() {
        let text = "version = 1\n[[separation]]\nname = \"four-eyes\"\nscopes = [\"a\", \"b\"]\n[[consumers]]\nclient_id = \"back-office\"\nstage = \"full\"\nstages = [\n  { name = \"pilot\", scopes = [\"a\"] },\n  { name = \"full\", scopes = [\"a\", \"b\"] },\n  { name = \"later\", scopes = [\"a\", \"b\"] },\n]\n[defaults]\nunknown_consumer = { stage = \"public\", scopes = [\"a\", \"b\"] }\n";
        let raw = raw(text);
        let mut c = Checker::new(text);
        let separations = c.separations(&raw.separation, &catalog());
        let unknown = c
            .defaults(raw.defaults.as_ref(), &catalog())
            .unknown_consumer;
        c.separated_stages(
            &separations,
            &raw.consumers,
            raw.defaults.as_ref(),
            &unknown,
        );
        assert_eq!(
            messages(&c),
            [
                "line 10: consumer back-office stage full grants a and b, which separation \"four-eyes\" keeps apart (no consumer may hold two of a, b): give these duties to different consumers",
                "line 14: defaults.unknown_consumer grants a and b, which separation \"four-eyes\" keeps apart (no consumer may hold two of a, b): give these duties to different consumers",
            ]
        );
    }
}
