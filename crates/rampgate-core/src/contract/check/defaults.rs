//! The defaults step: what happens to consumers and routes the contract does
//! not name (`[defaults]`).

use super::{Catalog, Checker, RawDefaults};
use crate::contract::{Stage, UnknownConsumer};
use toml::Spanned;

/// The checked `[defaults]`: deny both unless the contract says otherwise.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Defaults {
    pub(super) unknown_consumer: UnknownConsumer,
    pub(super) unknown_route_allowed: bool,
}

const UNKNOWN_CONSUMER_SHAPE: &str =
    "defaults.unknown_consumer is \"deny\" or { stage = \"name\", scopes = [...] }";

impl Checker<'_> {
    /// Checks `[defaults]`, when present.
    pub(super) fn defaults(
        &mut self,
        raw: Option<&Spanned<RawDefaults>>,
        catalog: &Catalog,
    ) -> Defaults {
        let d = raw.map(Spanned::get_ref);
        Defaults {
            unknown_consumer: d
                .and_then(|d| d.unknown_consumer.as_ref())
                .map_or(UnknownConsumer::Deny, |uc| {
                    self.unknown_consumer(uc, catalog)
                }),
            unknown_route_allowed: d
                .and_then(|d| d.unknown_route.as_ref())
                .is_some_and(|ur| self.unknown_route_allowed(ur)),
        }
    }

    /// `"deny"`, or a table naming the stage unknown consumers are admitted
    /// at; anything else is reported and denies, the safe reading.
    pub(super) fn unknown_consumer(
        &mut self,
        uc: &Spanned<toml::Value>,
        catalog: &Catalog,
    ) -> UnknownConsumer {
        let table = match uc.get_ref() {
            toml::Value::String(s) if s == "deny" => return UnknownConsumer::Deny,
            toml::Value::Table(t) => t,
            _ => {
                self.error(Some(uc.span()), UNKNOWN_CONSUMER_SHAPE.into());
                return UnknownConsumer::Deny;
            }
        };
        let name = table.get("stage").and_then(toml::Value::as_str);
        let scopes: Option<Vec<String>> =
            table
                .get("scopes")
                .and_then(toml::Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                });
        let only_known_keys = table.keys().all(|k| k == "stage" || k == "scopes");
        match (name, scopes) {
            (Some(name), Some(scopes)) if only_known_keys => {
                self.check_scopes(catalog, &scopes, uc.span(), "defaults.unknown_consumer");
                UnknownConsumer::Stage(Stage {
                    name: name.to_owned(),
                    scopes: scopes.into_iter().collect(),
                })
            }
            _ => {
                self.error(Some(uc.span()), UNKNOWN_CONSUMER_SHAPE.into());
                UnknownConsumer::Deny
            }
        }
    }

    /// `"allow"` or `"deny"`; anything else is reported and denies.
    pub(super) fn unknown_route_allowed(&mut self, ur: &Spanned<String>) -> bool {
        match ur.get_ref().as_str() {
            "deny" => false,
            "allow" => true,
            other => {
                self.error(
                    Some(ur.span()),
                    format!("defaults.unknown_route is \"deny\" or \"allow\", not {other:?}"),
                );
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{messages, raw};
    use super::*;

    fn catalog() -> Catalog {
        [("a".to_owned(), "A".to_owned())].into()
    }

    #[test]
    fn without_defaults_unknown_consumers_and_routes_are_denied() {
        let mut c = Checker::new("");
        let defaults = c.defaults(None, &catalog());
        assert_eq!(
            defaults,
            Defaults {
                unknown_consumer: UnknownConsumer::Deny,
                unknown_route_allowed: false,
            }
        );
        assert_eq!(messages(&c), Vec::<String>::new());
    }

    #[test]
    fn a_stage_for_unknown_consumers_and_allowed_routes_are_kept() {
        let text = "version = 1\n[defaults]\nunknown_consumer = { stage = \"public\", scopes = [\"a\"] }\nunknown_route = \"allow\"\n";
        let mut c = Checker::new(text);
        let defaults = c.defaults(raw(text).defaults.as_ref(), &catalog());
        assert_eq!(messages(&c), Vec::<String>::new());
        assert_eq!(
            defaults,
            Defaults {
                unknown_consumer: UnknownConsumer::Stage(Stage {
                    name: "public".into(),
                    scopes: ["a".to_owned()].into(),
                }),
                unknown_route_allowed: true,
            }
        );
    }

    #[test]
    fn bad_defaults_are_reported_and_deny() {
        let text = "version = 1\n[defaults]\nunknown_consumer = { stage = \"public\", scopes = [\"zz\"], extra = 1 }\nunknown_route = \"sometimes\"\n";
        let mut c = Checker::new(text);
        let defaults = c.defaults(raw(text).defaults.as_ref(), &catalog());
        assert_eq!(
            messages(&c),
            [
                "line 3: defaults.unknown_consumer is \"deny\" or { stage = \"name\", scopes = [...] }",
                "line 4: defaults.unknown_route is \"deny\" or \"allow\", not \"sometimes\"",
            ]
        );
        assert!(!defaults.unknown_route_allowed);
        assert_eq!(defaults.unknown_consumer, UnknownConsumer::Deny);
    }

    #[test]
    fn an_unknown_consumer_stage_uses_catalog_scopes() {
        let text = "version = 1\n[defaults]\nunknown_consumer = { stage = \"public\", scopes = [\"zz\"] }\n";
        let raw = raw(text);
        let uc = raw
            .defaults
            .as_ref()
            .unwrap()
            .get_ref()
            .unknown_consumer
            .as_ref()
            .unwrap();
        let mut c = Checker::new(text);
        assert!(
            matches!(c.unknown_consumer(uc, &catalog()), UnknownConsumer::Stage(s) if s.name == "public")
        );
        assert_eq!(
            messages(&c),
            [
                "line 3: defaults.unknown_consumer uses scope \"zz\", which is not in [scopes]: add it to the catalog or fix the name"
            ]
        );
    }
}
