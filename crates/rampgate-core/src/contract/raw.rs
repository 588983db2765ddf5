//! The contract file as written, and its checks (each error with its line).

use super::{
    Consumer, Contract, ContractError, ContractErrors, Mode, Route, Stage, TrustLevel,
    UnknownConsumer,
};
use crate::Requirement;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContract {
    version: Spanned<i64>,
    issuer: Option<Spanned<String>>,
    audience: Option<Spanned<String>>,
    resource: Option<Spanned<String>>,
    authorization_servers: Option<Vec<String>>,
    #[serde(default)]
    scopes: BTreeMap<String, String>,
    #[serde(default)]
    defaults: Option<Spanned<RawDefaults>>,
    #[serde(default)]
    trust: BTreeMap<String, Spanned<RawTrust>>,
    #[serde(default)]
    routes: Vec<Spanned<RawRoute>>,
    #[serde(default)]
    consumers: Vec<Spanned<RawConsumer>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    unknown_consumer: Option<Spanned<toml::Value>>,
    unknown_route: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrust {
    #[serde(default)]
    acr_values: Vec<String>,
    #[serde(default)]
    acr_hierarchy: Vec<String>,
    #[serde(default)]
    amr: Vec<String>,
    max_age: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    method: Spanned<String>,
    path: Spanned<String>,
    scopes: Option<Spanned<Vec<String>>>,
    any: Option<Spanned<Vec<String>>>,
    trust: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsumer {
    client_id: String,
    sub: Option<String>,
    stage: Spanned<String>,
    stages: Vec<Spanned<RawStage>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    name: String,
    scopes: Option<Spanned<Vec<String>>>,
}

struct Checker<'t> {
    text: &'t str,
    errors: Vec<ContractError>,
}

impl Checker<'_> {
    fn line_of(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }

    fn error(&mut self, span: Option<std::ops::Range<usize>>, message: String) {
        let line = span.map(|s| self.line_of(s.start));
        self.errors.push(ContractError { line, message });
    }

    fn check_scopes(
        &mut self,
        catalog: &BTreeMap<String, String>,
        scopes: &[String],
        span: std::ops::Range<usize>,
        whose: &str,
    ) {
        for scope in scopes {
            if !catalog.contains_key(scope) {
                self.error(
                    Some(span.clone()),
                    format!("{whose} uses scope {scope:?}, which is not in [scopes]: add it to the catalog or fix the name"),
                );
            }
        }
    }
}

pub(super) fn parse(text: &str) -> Result<Contract, ContractErrors> {
    let mut c = Checker {
        text,
        errors: Vec::new(),
    };
    let raw: RawContract = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let message = e.message().trim().to_owned();
            c.error(
                e.span(),
                format!("{message} (see docs/contracts.md for the schema)"),
            );
            return Err(ContractErrors(c.errors));
        }
    };

    let version = *raw.version.get_ref();
    if version < 1 {
        c.error(
            Some(raw.version.span()),
            "version must be a positive integer that increases on every change".into(),
        );
    }
    for (field, value) in [("issuer", &raw.issuer), ("audience", &raw.audience)] {
        if let Some(value) = value
            && value.get_ref().trim().is_empty()
        {
            c.error(
                Some(value.span()),
                format!("{field} must not be empty (or leave it out)"),
            );
        }
    }
    let resource = match &raw.resource {
        Some(r) => {
            if r.get_ref().contains('#') || !r.get_ref().contains("://") {
                c.error(
                    Some(r.span()),
                    "resource must be an absolute URL without a fragment (RFC 9728)".into(),
                );
            }
            Some(r.get_ref().clone())
        }
        None => None,
    };
    for name in raw.scopes.keys() {
        if name.is_empty()
            || name
                .contains(|ch: char| ch == ' ' || ch == '"' || ch == '\\' || !ch.is_ascii_graphic())
        {
            c.error(None, format!("scope name {name:?} must be visible ASCII without spaces, quotes or backslashes (RFC 6749 §3.3)"));
        }
    }

    let mut trust = BTreeMap::new();
    for (name, level) in &raw.trust {
        let max_age = match level.get_ref().max_age {
            Some(age) if age < 0 => {
                c.error(
                    Some(level.span()),
                    format!("[trust.{name}] max_age must be a non-negative number of seconds"),
                );
                None
            }
            other => other.map(|a| a as u64),
        };
        let l = level.get_ref();
        if l.acr_values.is_empty() && l.amr.is_empty() && l.max_age.is_none() {
            c.error(
                Some(level.span()),
                format!("[trust.{name}] demands nothing: set acr_values, amr or max_age"),
            );
        }
        if !l.acr_hierarchy.is_empty() && l.acr_values.is_empty() {
            c.error(
                Some(level.span()),
                format!("[trust.{name}] has an acr_hierarchy but no acr_values: say which level is required"),
            );
        }
        if let Some(unknown) = l
            .acr_values
            .iter()
            .find(|v| !l.acr_hierarchy.is_empty() && !l.acr_hierarchy.contains(v))
        {
            c.error(
                Some(level.span()),
                format!(
                    "[trust.{name}] requires acr {unknown:?}, which is not in its acr_hierarchy"
                ),
            );
        }
        if name == "standard" {
            c.error(
                Some(level.span()),
                "[trust.standard] is built in and cannot be redefined".into(),
            );
        }
        trust.insert(
            name.clone(),
            TrustLevel {
                acr_values: level.get_ref().acr_values.clone(),
                acr_hierarchy: level.get_ref().acr_hierarchy.clone(),
                amr: level.get_ref().amr.clone(),
                max_age,
            },
        );
    }

    let mut routes = Vec::new();
    let mut route_index = HashMap::new();
    let no_scopes: Vec<String> = Vec::new();
    for spanned in &raw.routes {
        let r = spanned.get_ref();
        let method = r.method.get_ref().to_ascii_uppercase();
        let path = r.path.get_ref();
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
            c.error(
                Some(r.method.span()),
                format!(
                    "method {:?} is not an HTTP method (GET, POST, ...; POST for gRPC)",
                    r.method.get_ref()
                ),
            );
        }
        if !path.starts_with('/') {
            c.error(
                Some(r.path.span()),
                format!("path {path:?} must start with '/' (an axum template such as /accounts/{{id}}, or /pkg.Service/Method)"),
            );
        }
        let whose = format!("route {method} {path}");
        for list in [&r.scopes, &r.any].into_iter().flatten() {
            c.check_scopes(&raw.scopes, list.get_ref(), list.span(), &whose);
        }
        let trust_level = r
            .trust
            .as_ref()
            .map_or_else(|| "standard".to_owned(), |t| t.get_ref().clone());
        if let Some(t) = &r.trust
            && trust_level != "standard"
            && !trust.contains_key(&trust_level)
        {
            c.error(Some(t.span()), format!("{whose} has trust {trust_level:?}: define [trust.{trust_level}] or use \"standard\""));
        }
        let mode = match &r.mode {
            None => Mode::Enforce,
            Some(m) => match m.get_ref().as_str() {
                "enforce" => Mode::Enforce,
                "observe" => Mode::Observe,
                other => match other.strip_suffix('%').and_then(|n| n.parse::<u8>().ok()) {
                    Some(n) if n <= 100 => Mode::Percent(n),
                    _ => {
                        c.error(
                            Some(m.span()),
                            format!("{whose} has mode {other:?}: use \"enforce\", \"observe\" or a percentage such as \"25%\""),
                        );
                        Mode::Enforce
                    }
                },
            },
        };
        match route_index.entry((method.clone(), path.clone())) {
            std::collections::hash_map::Entry::Occupied(_) => c.error(
                Some(spanned.span()),
                format!("{whose} is declared twice: each method and path appears once"),
            ),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(routes.len());
            }
        }
        let list = |list: &Option<Spanned<Vec<String>>>| -> Vec<String> {
            list.as_ref().map_or(&no_scopes, |l| l.get_ref()).clone()
        };
        routes.push(Route {
            method,
            path: path.clone(),
            requirement: Requirement::all(list(&r.scopes)).and_any(list(&r.any)),
            trust: trust_level,
            mode,
        });
    }

    let mut consumers: Vec<Consumer> = Vec::new();
    for spanned in &raw.consumers {
        let span = spanned.span();
        let r = spanned.get_ref();
        let who = match &r.sub {
            Some(sub) => format!("consumer {}/{sub}", r.client_id),
            None => format!("consumer {}", r.client_id),
        };
        if r.client_id.is_empty() {
            c.error(Some(span.clone()), "client_id must not be empty".into());
        }
        if consumers
            .iter()
            .any(|o| o.client_id == r.client_id && o.sub == r.sub)
        {
            c.error(Some(span.clone()), format!("{who} is declared twice"));
        }
        if r.stages.is_empty() {
            c.error(
                Some(span.clone()),
                format!("{who} has no stages: give it at least one"),
            );
        }
        let mut stages: Vec<Stage> = Vec::new();
        for stage in &r.stages {
            let s = stage.get_ref();
            if stages.iter().any(|o| o.name == s.name) {
                c.error(
                    Some(stage.span()),
                    format!("{who} has two stages named {:?}", s.name),
                );
            }
            let stage_scopes = s.scopes.as_ref().map_or(&no_scopes, |l| l.get_ref());
            let scopes_span = s.scopes.as_ref().map_or_else(|| stage.span(), |l| l.span());
            c.check_scopes(
                &raw.scopes,
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
                c.error(
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
        let current = stages.iter().position(|s| &s.name == r.stage.get_ref());
        if current.is_none() && !stages.is_empty() {
            c.error(
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
        consumers.push(Consumer {
            client_id: r.client_id.clone(),
            sub: r.sub.clone(),
            stages,
            current: current.unwrap_or(0),
        });
    }

    let mut unknown_consumer = UnknownConsumer::Deny;
    let mut unknown_route_allowed = false;
    if let Some(defaults) = &raw.defaults {
        let d = defaults.get_ref();
        if let Some(uc) = &d.unknown_consumer {
            match uc.get_ref() {
                toml::Value::String(s) if s == "deny" => {}
                toml::Value::Table(t) => {
                    let name = t.get("stage").and_then(toml::Value::as_str);
                    let scopes: Option<Vec<String>> =
                        t.get("scopes").and_then(toml::Value::as_array).map(|a| {
                            a.iter()
                                .filter_map(|v| v.as_str().map(str::to_owned))
                                .collect()
                        });
                    let unknown_keys: Vec<&String> = t
                        .keys()
                        .filter(|k| *k != "stage" && *k != "scopes")
                        .collect();
                    match (name, scopes) {
                        (Some(name), Some(scopes)) if unknown_keys.is_empty() => {
                            c.check_scopes(&raw.scopes, &scopes, uc.span(), "defaults.unknown_consumer");
                            unknown_consumer = UnknownConsumer::Stage(Stage {
                                name: name.to_owned(),
                                scopes: scopes.into_iter().collect(),
                            });
                        }
                        _ => c.error(
                            Some(uc.span()),
                            "defaults.unknown_consumer is \"deny\" or { stage = \"name\", scopes = [...] }".into(),
                        ),
                    }
                }
                _ => c.error(
                    Some(uc.span()),
                    "defaults.unknown_consumer is \"deny\" or { stage = \"name\", scopes = [...] }"
                        .into(),
                ),
            }
        }
        if let Some(ur) = &d.unknown_route {
            match ur.get_ref().as_str() {
                "deny" => {}
                "allow" => unknown_route_allowed = true,
                other => c.error(
                    Some(ur.span()),
                    format!("defaults.unknown_route is \"deny\" or \"allow\", not {other:?}"),
                ),
            }
        }
    }

    if !c.errors.is_empty() {
        c.errors.sort_by_key(|e| e.line.unwrap_or(0));
        return Err(ContractErrors(c.errors));
    }
    Ok(Contract {
        version: version as u64,
        issuer: raw.issuer.as_ref().map(|i| i.get_ref().clone()),
        audience: raw.audience.as_ref().map(|a| a.get_ref().clone()),
        authorization_servers: raw
            .authorization_servers
            .clone()
            .unwrap_or_else(|| raw.issuer.iter().map(|i| i.get_ref().clone()).collect()),
        resource,
        scopes: raw.scopes,
        routes,
        consumers,
        unknown_consumer,
        unknown_route_allowed,
        step_up: trust
            .iter()
            .map(|(name, level)| (name.clone(), Arc::new(level.policy())))
            .collect(),
        trust,
        route_index,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "version = 1\nissuer = \"https://i.example\"\naudience = \"api\"\n[scopes]\n\"a\" = \"A\"\n\"b\" = \"B\"\n";

    fn errors(body: &str) -> Vec<String> {
        match Contract::parse(&format!("{HEAD}{body}")) {
            Ok(_) => vec![],
            Err(e) => e.0.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn a_minimal_contract_parses() {
        let c = Contract::parse(HEAD).unwrap();
        assert_eq!(c.version(), 1);
        assert_eq!(c.resource(), None);
        assert_eq!(c.audience(), Some("api"));
        assert_eq!(c.authorization_servers(), ["https://i.example"]);
        assert_eq!(c.unknown_consumer(), &UnknownConsumer::Deny);
        assert!(!c.unknown_route_allowed());
    }

    #[test]
    fn unknown_scope_is_reported_with_its_line() {
        let e = errors("[[routes]]\nmethod = \"GET\"\npath = \"/x\"\nscopes = [\"nope\"]\n");
        assert_eq!(
            e,
            [
                "line 10: route GET /x uses scope \"nope\", which is not in [scopes]: add it to the catalog or fix the name"
            ]
        );
    }

    #[test]
    fn duplicate_routes_and_bad_modes() {
        let e = errors(
            "[[routes]]\nmethod = \"GET\"\npath = \"/x\"\n[[routes]]\nmethod = \"get\"\npath = \"/x\"\nmode = \"sometimes\"\n",
        );
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            e[0].starts_with("line 10: route GET /x is declared twice"),
            "{e:?}"
        );
        assert!(
            e[1].starts_with("line 13: route GET /x has mode \"sometimes\""),
            "{e:?}"
        );
    }

    #[test]
    fn stages_must_nest_and_the_current_stage_must_exist() {
        let e = errors(
            "[[consumers]]\nclient_id = \"m\"\nstage = \"gone\"\nstages = [\n  { name = \"pilot\", scopes = [\"a\", \"b\"] },\n  { name = \"ga\", scopes = [\"a\"] },\n]\n",
        );
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            e[0].contains("line 9: consumer m is at stage \"gone\""),
            "{e:?}"
        );
        assert!(
            e[1].contains("line 12: consumer m stage ga drops b"),
            "{e:?}"
        );
    }

    #[test]
    fn unknown_fields_and_types_are_schema_errors_with_lines() {
        let e = errors("[[routes]]\nmethod = \"GET\"\npath = \"/x\"\nscope = [\"a\"]\n");
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("line 10: unknown field `scope`"), "{e:?}");
        let e = errors("[[routes]]\nmethod = \"GET\"\npath = 5\n");
        assert!(e[0].starts_with("line 9:"), "{e:?}");
    }

    #[test]
    fn sensitive_routes_need_a_trust_definition() {
        let e = errors("[[routes]]\nmethod = \"POST\"\npath = \"/pay\"\ntrust = \"sensitive\"\n");
        assert!(e[0].contains("define [trust.sensitive]"), "{e:?}");
        let ok = errors(
            "[trust.sensitive]\nacr_values = [\"mfa\"]\nmax_age = 300\n[[routes]]\nmethod = \"POST\"\npath = \"/pay\"\ntrust = \"sensitive\"\n",
        );
        assert!(ok.is_empty(), "{ok:?}");
    }

    #[test]
    fn trust_levels_must_demand_something_consistent() {
        let e = errors("[trust.sensitive]\n");
        assert!(e[0].contains("demands nothing"), "{e:?}");
        let e = errors("[trust.sensitive]\nacr_hierarchy = [\"pwd\", \"mfa\"]\n");
        assert!(e.iter().any(|e| e.contains("no acr_values")), "{e:?}");
        let e = errors(
            "[trust.sensitive]\nacr_values = [\"gold\"]\nacr_hierarchy = [\"pwd\", \"mfa\"]\n",
        );
        assert!(e[0].contains("not in its acr_hierarchy"), "{e:?}");
    }

    #[test]
    fn defaults_are_checked() {
        let c = Contract::parse(&format!(
            "{HEAD}[defaults]\nunknown_consumer = {{ stage = \"public\", scopes = [\"a\"] }}\nunknown_route = \"allow\"\n"
        ))
        .unwrap();
        assert!(matches!(c.unknown_consumer(), UnknownConsumer::Stage(s) if s.name == "public"));
        assert!(c.unknown_route_allowed());
        let e = errors("[defaults]\nunknown_consumer = \"admit\"\n");
        assert!(
            e[0].starts_with("line 8: defaults.unknown_consumer"),
            "{e:?}"
        );
    }
}
