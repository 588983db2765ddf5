//! The routes step: methods, paths, scopes from the catalog, defined trust
//! levels, roll-out modes, and no route declared twice.

use super::{Catalog, Checker, RawRoute};
use crate::Requirement;
use crate::contract::{Mode, Route, TrustLevel};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use toml::Spanned;

/// The checked routes in file order, and where each `(METHOD, path)` is.
pub(super) struct Routes {
    pub(super) routes: Vec<Route>,
    pub(super) index: HashMap<(String, String), usize>,
}

impl Checker<'_> {
    /// Checks every route; a repeated method and path is reported on its
    /// second declaration, and the first one stays the indexed one.
    pub(super) fn routes(
        &mut self,
        raw: &[Spanned<RawRoute>],
        catalog: &Catalog,
        trust: &BTreeMap<String, TrustLevel>,
    ) -> Routes {
        let mut routes = Vec::new();
        let mut index = HashMap::new();
        for spanned in raw {
            let route = self.route(spanned, catalog, trust);
            match index.entry((route.method.clone(), route.path.clone())) {
                Entry::Occupied(_) => self.error(
                    Some(spanned.span()),
                    format!(
                        "route {} is declared twice: each method and path appears once",
                        route.key()
                    ),
                ),
                Entry::Vacant(slot) => {
                    slot.insert(routes.len());
                }
            }
            routes.push(route);
        }
        Routes { routes, index }
    }

    fn route(
        &mut self,
        spanned: &Spanned<RawRoute>,
        catalog: &Catalog,
        trust: &BTreeMap<String, TrustLevel>,
    ) -> Route {
        let r = spanned.get_ref();
        let (method, path, mcp) = match &r.mcp {
            Some(mcp) => (mcp.get_ref().clone(), self.mcp_target(r, mcp), true),
            None => (
                self.http_target(spanned),
                r.path
                    .as_ref()
                    .map_or_else(String::new, |p| p.get_ref().clone()),
                false,
            ),
        };
        let whose = if path.is_empty() {
            format!("route {method}")
        } else {
            format!("route {method} {path}")
        };
        self.route_rules(r, catalog, trust, whose, (method, path, mcp))
    }

    /// An HTTP or gRPC route's method (upper case), its path checked.
    fn http_target(&mut self, spanned: &Spanned<RawRoute>) -> String {
        let r = spanned.get_ref();
        let (Some(raw_method), Some(raw_path)) = (&r.method, &r.path) else {
            self.error(
                Some(spanned.span()),
                "a route needs method and path (an HTTP or gRPC route), or mcp (an MCP route)"
                    .to_owned(),
            );
            return String::new();
        };
        for (field, given) in [("name", &r.name), ("uri", &r.uri)] {
            if let Some(given) = given {
                self.error(
                    Some(given.span()),
                    format!("{field} belongs to an MCP route (mcp = \"tools/call\"); an HTTP route has a path"),
                );
            }
        }
        let method = raw_method.get_ref().to_ascii_uppercase();
        let path = raw_path.get_ref();
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
            self.error(
                Some(raw_method.span()),
                format!(
                    "method {:?} is not an HTTP method (GET, POST, ...; POST for gRPC)",
                    raw_method.get_ref()
                ),
            );
        }
        if !path.starts_with('/') {
            self.error(
                Some(raw_path.span()),
                format!("path {path:?} must start with '/' (an axum template such as /accounts/{{id}}, or /pkg.Service/Method)"),
            );
        }
        if let Some(service) = path.strip_suffix("/*")
            && !crate::grpc::is_method_path(&format!("{service}/M"))
        {
            self.error(
                Some(raw_path.span()),
                format!(
                    "path {path:?} ends with /*, which only a gRPC service may: /package.Service/*"
                ),
            );
        }
        method
    }

    /// What every route declares, whatever it matches: its scopes, trust
    /// level, roll-out mode and audit.
    fn route_rules(
        &mut self,
        r: &RawRoute,
        catalog: &Catalog,
        trust: &BTreeMap<String, TrustLevel>,
        whose: String,
        (method, path, mcp): (String, String, bool),
    ) -> Route {
        for list in [&r.scopes, &r.any].into_iter().flatten() {
            self.check_scopes(catalog, list.get_ref(), list.span(), &whose);
        }
        let trust_level = r
            .trust
            .as_ref()
            .map_or_else(|| "standard".to_owned(), |t| t.get_ref().clone());
        if let Some(t) = &r.trust
            && trust_level != "standard"
            && !trust.contains_key(&trust_level)
        {
            self.error(Some(t.span()), format!("{whose} has trust {trust_level:?}: define [trust.{trust_level}] or use \"standard\""));
        }
        let mode = r
            .mode
            .as_ref()
            .map_or(Mode::Enforce, |m| self.mode(m, &whose));
        let list = |list: &Option<Spanned<Vec<String>>>| -> Vec<String> {
            list.as_ref()
                .map(|l| l.get_ref().clone())
                .unwrap_or_default()
        };
        let audit_required = match r.audit.as_ref().map(|a| (a, a.get_ref().as_str())) {
            None | Some((_, "best_effort")) => false,
            Some((_, "required")) => true,
            Some((a, other)) => {
                self.error(
                    Some(a.span()),
                    format!("{whose} has audit {other:?}: use \"required\" (fail closed: 503 when the audit event cannot be queued) or \"best_effort\""),
                );
                // The safe reading, so that the remaining checks still run.
                true
            }
        };
        Route {
            method,
            path,
            mcp,
            requirement: Requirement::all(list(&r.scopes)).and_any(list(&r.any)),
            trust: trust_level,
            mode,
            audit_required,
        }
    }

    /// `enforce`, `observe` or `N%`; an unknown mode is reported and enforced,
    /// the safe reading, so that the remaining checks still run.
    pub(super) fn mode(&mut self, mode: &Spanned<String>, whose: &str) -> Mode {
        match mode.get_ref().as_str() {
            "enforce" => Mode::Enforce,
            "observe" => Mode::Observe,
            other => match other.strip_suffix('%').and_then(|n| n.parse::<u8>().ok()) {
                Some(n) if n <= 100 => Mode::Percent(n),
                _ => {
                    self.error(
                        Some(mode.span()),
                        format!("{whose} has mode {other:?}: use \"enforce\", \"observe\" or a percentage such as \"25%\""),
                    );
                    Mode::Enforce
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{catalog, messages, raw};
    use super::*;

    #[test]
    fn routes_are_built_in_file_order_and_indexed() {
        let text = "version = 1\n[[routes]]\nmethod = \"get\"\npath = \"/x\"\nscopes = [\"a\"]\nany = [\"b\"]\nmode = \"25%\"\n[[routes]]\nmethod = \"POST\"\npath = \"/pay\"\ntrust = \"sensitive\"\n";
        let trust = BTreeMap::from([("sensitive".to_owned(), TrustLevel::default())]);
        let mut c = Checker::new(text);
        let routes = c.routes(&raw(text).routes, &catalog(), &trust);
        assert_eq!(messages(&c), Vec::<String>::new());
        assert_eq!(
            routes.routes,
            [
                Route {
                    method: "GET".into(),
                    path: "/x".into(),
                    requirement: Requirement::all(["a"]).and_any(["b"]),
                    mcp: false,
                    trust: "standard".into(),
                    mode: Mode::Percent(25),
                    audit_required: false,
                },
                Route {
                    method: "POST".into(),
                    path: "/pay".into(),
                    requirement: Requirement::all(Vec::<String>::new()),
                    mcp: false,
                    trust: "sensitive".into(),
                    mode: Mode::Enforce,
                    audit_required: false,
                },
            ]
        );
        assert_eq!(routes.index[&("POST".to_owned(), "/pay".to_owned())], 1);
    }

    #[test]
    fn each_route_problem_is_reported_on_its_field_line() {
        let text = "version = 1\n[[routes]]\nmethod = \"G T\"\npath = \"x\"\nany = [\"c\"]\ntrust = \"gold\"\nmode = \"101%\"\n[[routes]]\nmethod = \"g t\"\npath = \"x\"\n";
        let mut c = Checker::new(text);
        let routes = c.routes(&raw(text).routes, &catalog(), &BTreeMap::new());
        assert_eq!(
            messages(&c),
            [
                "line 3: method \"G T\" is not an HTTP method (GET, POST, ...; POST for gRPC)",
                "line 4: path \"x\" must start with '/' (an axum template such as /accounts/{id}, or /pkg.Service/Method)",
                "line 5: route G T x uses scope \"c\", which is not in [scopes]: add it to the catalog or fix the name",
                "line 6: route G T x has trust \"gold\": define [trust.gold] or use \"standard\"",
                "line 7: route G T x has mode \"101%\": use \"enforce\", \"observe\" or a percentage such as \"25%\"",
                "line 9: method \"g t\" is not an HTTP method (GET, POST, ...; POST for gRPC)",
                "line 10: path \"x\" must start with '/' (an axum template such as /accounts/{id}, or /pkg.Service/Method)",
                "line 8: route G T x is declared twice: each method and path appears once",
            ]
        );
        assert_eq!(routes.routes.len(), 2);
        assert_eq!(routes.index.len(), 1);
    }

    #[test]
    fn modes_read_as_written_and_a_bad_one_enforces() {
        let text = "version = 1\n[[routes]]\nmethod = \"GET\"\npath = \"/\"\nmode = \"observe\"\n[[routes]]\nmethod = \"GET\"\npath = \"/\"\nmode = \"half\"\n";
        let raw = raw(text);
        let mut c = Checker::new(text);
        let modes: Vec<Mode> = raw
            .routes
            .iter()
            .map(|r| c.mode(r.get_ref().mode.as_ref().unwrap(), "route GET /"))
            .collect();
        assert_eq!(modes, [Mode::Observe, Mode::Enforce]);
        assert_eq!(
            messages(&c),
            [
                "line 9: route GET / has mode \"half\": use \"enforce\", \"observe\" or a percentage such as \"25%\""
            ]
        );
    }

    #[test]
    fn audit_required_is_read_and_a_bad_value_fails_closed() {
        let text = "version = 1\n[[routes]]\nmethod = \"POST\"\npath = \"/pay\"\naudit = \"required\"\n[[routes]]\nmethod = \"GET\"\npath = \"/a\"\naudit = \"best_effort\"\n[[routes]]\nmethod = \"GET\"\npath = \"/b\"\naudit = \"always\"\n[[routes]]\nmethod = \"GET\"\npath = \"/c\"\n";
        let mut c = Checker::new(text);
        let routes = c.routes(&raw(text).routes, &catalog(), &BTreeMap::new());
        let required: Vec<bool> = routes.routes.iter().map(|r| r.audit_required).collect();
        assert_eq!(required, [true, false, true, false]);
        assert_eq!(
            messages(&c),
            [
                "line 13: route GET /b has audit \"always\": use \"required\" (fail closed: 503 when the audit event cannot be queued) or \"best_effort\""
            ]
        );
    }

    #[test]
    fn audit_required_is_looked_up_per_route_with_head_as_get() {
        let text = "version = 1\n[[routes]]\nmethod = \"GET\"\npath = \"/pay/{id}\"\naudit = \"required\"\n[[routes]]\nmethod = \"GET\"\npath = \"/free\"\n";
        let contract = crate::contract::Contract::parse(text).unwrap();
        assert!(contract.audit_required("GET", "/pay/{id}"));
        assert!(contract.audit_required("HEAD", "/pay/{id}"));
        assert!(!contract.audit_required("GET", "/free"));
        assert!(!contract.audit_required("POST", "/pay/{id}"));
        // Dropping it is a widening, demanding it a narrowing.
        let dropped = crate::contract::Contract::parse(
            &text
                .replace("version = 1", "version = 2")
                .replace("audit = \"required\"\n", ""),
        )
        .unwrap();
        let diff = crate::contract::ContractDiff::between(&contract, &dropped);
        assert!(diff.widens(), "{diff:?}");
        let back = crate::contract::ContractDiff::between(&dropped, &contract);
        assert!(!back.widens());
        assert_eq!(back.changes.len(), 1, "{back:?}");
        assert_eq!(back.changes[0].detail, "audit best_effort -> required");
    }
}
