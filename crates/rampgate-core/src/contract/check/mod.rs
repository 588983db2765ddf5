//! Checks a contract file: the schema as written, then one named step per
//! section (header, trust levels, routes, consumers, defaults), each adding its
//! errors with their line to one `Checker`.

mod consumers;
mod defaults;
mod header;
mod mcp;
mod routes;
mod separation;
mod trust;

use super::{Contract, ContractError, ContractErrors, Names, Separation};
use crate::Requirement;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
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
    #[serde(default)]
    separation: Vec<Spanned<RawSeparation>>,
    change: Option<Spanned<RawChange>>,
    mcp: Option<Spanned<RawMcp>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMcp {
    endpoint: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChange {
    author: String,
    reason: String,
    ticket: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeparation {
    name: String,
    scopes: Spanned<Vec<String>>,
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
    sender_constrained: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    method: Option<Spanned<String>>,
    path: Option<Spanned<String>>,
    /// An MCP route's JSON-RPC method, instead of `method` and `path`.
    mcp: Option<Spanned<String>>,
    /// The tool or prompt of an MCP route.
    name: Option<Spanned<String>>,
    /// The resource URI pattern of an MCP route.
    uri: Option<Spanned<String>>,
    scopes: Option<Spanned<Vec<String>>>,
    any: Option<Spanned<Vec<String>>>,
    trust: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
    audit: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsumer {
    client_id: String,
    sub: Option<String>,
    issuer: Option<Spanned<String>>,
    stage: Spanned<String>,
    stages: Vec<Spanned<RawStage>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    name: String,
    scopes: Option<Spanned<Vec<String>>>,
}

/// The scope catalog (`[scopes]`): name → description.
type Catalog = BTreeMap<String, String>;

/// Collects the errors of every step, each with the line its span starts on.
struct Checker<'t> {
    text: &'t str,
    errors: Vec<ContractError>,
}

impl<'t> Checker<'t> {
    fn new(text: &'t str) -> Self {
        Checker {
            text,
            errors: Vec::new(),
        }
    }

    fn line_of(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }

    fn error(&mut self, span: Option<Range<usize>>, message: String) {
        let line = span.map(|s| self.line_of(s.start));
        self.errors.push(ContractError { line, message });
    }

    fn check_scopes(
        &mut self,
        catalog: &Catalog,
        scopes: &[String],
        span: Range<usize>,
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

    /// The errors in file order; a stable sort keeps the steps' order within a line.
    fn finish(mut self) -> Result<(), ContractErrors> {
        if self.errors.is_empty() {
            return Ok(());
        }
        self.errors.sort_by_key(|e| e.line.unwrap_or(0));
        Err(ContractErrors(self.errors))
    }
}

pub(super) fn parse(text: &str) -> Result<Contract, ContractErrors> {
    let mut c = Checker::new(text);
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

    let header = c.header(&raw);
    let trust = c.trust_levels(&raw.trust);
    let routes = c.routes(&raw.routes, &raw.scopes, &trust);
    let mcp_endpoint = c.mcp_endpoint(raw.mcp.as_ref(), &routes.routes);
    let consumers = c.consumers(&raw.consumers, &raw.scopes, header.issuer.as_deref());
    let defaults = c.defaults(raw.defaults.as_ref(), &raw.scopes);
    let separations = c.separations(&raw.separation, &raw.scopes);
    c.separated_stages(
        &separations,
        &raw.consumers,
        raw.defaults.as_ref(),
        &defaults.unknown_consumer,
    );
    let change = raw.change.as_ref().map(|note| c.change_note(note));
    c.finish()?;

    let mut consumer_index: foldhash::HashMap<String, Vec<usize>> = Default::default();
    for (i, consumer) in consumers.iter().enumerate() {
        consumer_index
            .entry(consumer.client_id.clone())
            .or_default()
            .push(i);
    }
    let names = Names::new(&routes.routes, &consumers, &defaults.unknown_consumer);
    let route_separations = routes
        .routes
        .iter()
        .map(|r| separations_of(&separations, &r.requirement))
        .collect();

    Ok(Contract {
        any_audit_required: routes.routes.iter().any(|r| r.audit_required),
        version: header.version,
        issuer: header.issuer,
        audience: header.audience,
        authorization_servers: header.authorization_servers,
        resource: header.resource,
        mcp_endpoint,
        scopes: raw.scopes,
        routes: routes.routes,
        consumers,
        unknown_consumer: defaults.unknown_consumer,
        unknown_route_allowed: defaults.unknown_route_allowed,
        step_up: trust::step_up(&trust),
        trust,
        route_separations,
        separations,
        change,
        route_index: by_path(routes.index),
        consumer_index,
        names,
    })
}

/// The indices of the separations that name a scope `requirement` needs
/// (all-of or any-of).
fn separations_of(separations: &[Separation], requirement: &Requirement) -> Vec<usize> {
    (0..separations.len())
        .filter(|&i| separations[i].concerns(requirement))
        .collect()
}

/// The routes' `(method, path)` index regrouped by path, for lookups that
/// borrow the request's path.
fn by_path(
    index: HashMap<(String, String), usize>,
) -> foldhash::HashMap<String, Vec<(String, usize)>> {
    let mut by_path: foldhash::HashMap<String, Vec<(String, usize)>> = Default::default();
    for ((method, path), i) in index {
        by_path.entry(path).or_default().push((method, i));
    }
    // In one order, so that the same text always parses to equal contracts.
    for methods in by_path.values_mut() {
        methods.sort();
    }
    by_path
}

/// Helpers for the steps' tests: a raw contract to run one step on, and the
/// errors it left.
#[cfg(test)]
mod testing {
    use super::{Catalog, Checker, RawContract};

    /// A scope catalog with the scopes `a` and `b`.
    pub(super) fn catalog() -> Catalog {
        [("a", "A"), ("b", "B")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    /// `text` as the schema reads it (every test text starts with `version`).
    pub(super) fn raw(text: &str) -> RawContract {
        toml::from_str(text).unwrap()
    }

    /// Each error as `Contract::parse` prints it, in the order the step found them.
    pub(super) fn messages(c: &Checker<'_>) -> Vec<String> {
        c.errors.iter().map(ToString::to_string).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::UnknownConsumer;

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

    #[test]
    fn errors_come_in_line_order_across_steps() {
        // The defaults step runs last but its error is on an earlier line than
        // the route's; a line-less catalog error sorts first.
        let e = errors(
            "\"bad name\" = \"X\"\n[defaults]\nunknown_route = \"maybe\"\n[[routes]]\nmethod = \"GET\"\npath = \"x\"\n",
        );
        assert_eq!(
            e,
            [
                "scope name \"bad name\" must be visible ASCII without spaces, quotes or backslashes (RFC 6749 §3.3)",
                "line 9: defaults.unknown_route is \"deny\" or \"allow\", not \"maybe\"",
                "line 12: path \"x\" must start with '/' (an axum template such as /accounts/{id}, or /pkg.Service/Method)",
            ]
        );
    }
}
