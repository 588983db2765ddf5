//! The routes step: routes added and removed, and for a kept route its
//! required scopes, roll-out mode and trust level.

use super::{Change, ChangeKind, both_ways, change, list, trust};
use crate::Requirement;
use crate::contract::{Contract, Mode, Route};
use std::collections::BTreeSet;

/// Every route change, new routes in new-file order first, then removed ones.
pub(super) fn routes(old: &Contract, new: &Contract) -> Vec<Change> {
    let mut changes = Vec::new();
    for route in new.routes() {
        let Some(before) = old.route(&route.method, &route.path) else {
            // Under "unknown routes allowed" an unlisted route took any valid
            // token, so listing it can only restrict it.
            let kind = if old.unknown_route_allowed() {
                ChangeKind::Narrowed
            } else {
                ChangeKind::Widened
            };
            changes.push(change(
                kind,
                format!("route {}", route.key()),
                format!("added (requires {})", route.requirement.describe()),
            ));
            continue;
        };
        changes.extend(route_changed(old, new, before, route));
    }
    for route in old.routes() {
        if new.route(&route.method, &route.path).is_none() {
            let kind = if new.unknown_route_allowed() {
                ChangeKind::Widened
            } else {
                ChangeKind::Narrowed
            };
            changes.push(change(kind, format!("route {}", route.key()), "removed"));
        }
    }
    changes
}

/// What changed on a route both contracts have (`before` in `old`, `route` in
/// `new`, whose trust levels the route's levels are looked up in).
pub(super) fn route_changed(
    old: &Contract,
    new: &Contract,
    before: &Route,
    route: &Route,
) -> Vec<Change> {
    let subject = format!("route {}", route.key());
    let mut changes = requirement_changed(&subject, &before.requirement, &route.requirement);
    if before.mode != route.mode {
        let kind = if strictness(route.mode) < strictness(before.mode) {
            ChangeKind::Widened
        } else {
            ChangeKind::Narrowed
        };
        changes.push(change(
            kind,
            subject.clone(),
            format!("mode {} -> {}", before.mode, route.mode),
        ));
    }
    if before.trust != route.trust {
        let detail = format!("trust {} -> {}", before.trust, route.trust);
        let (wider, narrower) = match (before.trust.as_str(), route.trust.as_str()) {
            (_, "standard") => (true, false),
            ("standard", _) => (false, true),
            // Two named levels: what each demands decides, not their names.
            (was, now) => {
                let demands = |c: &Contract, name: &str| {
                    c.trust_levels().get(name).cloned().unwrap_or_default()
                };
                trust::compare(&demands(old, was), &demands(new, now))
            }
        };
        changes.extend(both_ways(wider, narrower, subject.clone(), detail));
    }
    if before.audit_required != route.audit_required {
        // Dropping fail-closed auditing loosens a control (alert-worthy);
        // demanding it can refuse requests (503 when the audit queue is full).
        let (kind, detail) = if route.audit_required {
            (ChangeKind::Narrowed, "audit best_effort -> required")
        } else {
            (ChangeKind::Widened, "audit required -> best_effort")
        };
        changes.push(change(kind, subject, detail));
    }
    changes
}

/// Dropped all-of scopes, added all-of scopes, then a changed any-of set.
fn requirement_changed(subject: &str, was: &Requirement, now: &Requirement) -> Vec<Change> {
    let mut changes = Vec::new();
    let dropped: BTreeSet<String> = was.all_of().difference(now.all_of()).cloned().collect();
    let added: BTreeSet<String> = now.all_of().difference(was.all_of()).cloned().collect();
    if !dropped.is_empty() {
        changes.push(change(
            ChangeKind::Widened,
            subject,
            format!("no longer requires {}", list(&dropped)),
        ));
    }
    if !added.is_empty() {
        changes.push(change(
            ChangeKind::Narrowed,
            subject,
            format!("now also requires {}", list(&added)),
        ));
    }
    if was.any_of() != now.any_of() {
        let kind = match (was.any_of().is_empty(), now.any_of().is_empty()) {
            (true, false) => ChangeKind::Narrowed,
            (false, true) => ChangeKind::Widened,
            _ if was.any_of().is_subset(now.any_of()) => ChangeKind::Widened,
            _ if now.any_of().is_subset(was.any_of()) => ChangeKind::Narrowed,
            // Some alternatives gone and others new: someone gains access.
            _ => ChangeKind::Widened,
        };
        changes.push(change(
            kind,
            subject,
            format!(
                "any-of [{}] -> [{}]",
                list(was.any_of()),
                list(now.any_of())
            ),
        ));
    }
    changes
}

/// How much of the traffic a mode enforces, to order modes.
fn strictness(mode: Mode) -> u8 {
    match mode {
        Mode::Observe => 0,
        Mode::Percent(n) => n,
        Mode::Enforce => 100,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::contract;
    use super::*;

    fn route(requirement: Requirement, trust: &str, mode: Mode) -> Route {
        Route {
            audit_required: false,
            method: "GET".into(),
            path: "/x".into(),
            mcp: false,
            requirement,
            trust: trust.into(),
            mode,
        }
    }

    #[test]
    fn added_and_removed_routes_depend_on_the_unknown_route_default() {
        let get = "[[routes]]\nmethod = \"GET\"\npath = \"/a\"\nscopes = [\"read\"]\n";
        let put = "[[routes]]\nmethod = \"PUT\"\npath = \"/b\"\n";
        let old = contract(get);
        let new = contract(put);
        assert_eq!(
            routes(&old, &new),
            [
                change(
                    ChangeKind::Widened,
                    "route PUT /b",
                    "added (requires any valid token)"
                ),
                change(ChangeKind::Narrowed, "route GET /a", "removed"),
            ]
        );
        let open = |body: &str| contract(&format!("[defaults]\nunknown_route = \"allow\"\n{body}"));
        assert_eq!(
            routes(&open(get), &open(put)),
            [
                change(
                    ChangeKind::Narrowed,
                    "route PUT /b",
                    "added (requires any valid token)"
                ),
                change(ChangeKind::Widened, "route GET /a", "removed"),
            ]
        );
    }

    #[test]
    fn a_kept_route_reports_scopes_then_mode_then_trust() {
        let before = route(
            Requirement::all(["read", "admin"]).and_any(["x", "y"]),
            "standard",
            Mode::Enforce,
        );
        let after = route(
            Requirement::all(["read", "write"]).and_any(["x"]),
            "sensitive",
            Mode::Percent(10),
        );
        assert_eq!(
            route_changed(&contract(""), &contract(""), &before, &after),
            [
                change(
                    ChangeKind::Widened,
                    "route GET /x",
                    "no longer requires admin"
                ),
                change(
                    ChangeKind::Narrowed,
                    "route GET /x",
                    "now also requires write"
                ),
                change(ChangeKind::Narrowed, "route GET /x", "any-of [x, y] -> [x]"),
                change(ChangeKind::Widened, "route GET /x", "mode enforce -> 10%"),
                change(
                    ChangeKind::Narrowed,
                    "route GET /x",
                    "trust standard -> sensitive"
                ),
            ]
        );
        assert_eq!(
            route_changed(&contract(""), &contract(""), &after, &after),
            []
        );
    }

    #[test]
    fn a_move_between_two_named_levels_compares_their_demands() {
        let levels = "[trust.sensitive]\nmax_age = 300\n[trust.critical]\nacr_values = [\"mfa\"]\nmax_age = 60\n[trust.also_sensitive]\nmax_age = 300\n";
        let on = |trust: &str| {
            contract(&format!(
                "{levels}[[routes]]\nmethod = \"GET\"\npath = \"/x\"\ntrust = \"{trust}\"\n"
            ))
        };
        let kinds = |from: &str, to: &str| -> Vec<(ChangeKind, String)> {
            routes(&on(from), &on(to))
                .into_iter()
                .map(|c| (c.kind, c.detail))
                .collect()
        };
        assert_eq!(
            kinds("sensitive", "critical"),
            [(ChangeKind::Narrowed, "trust sensitive -> critical".into())]
        );
        assert_eq!(
            kinds("critical", "sensitive"),
            [(ChangeKind::Widened, "trust critical -> sensitive".into())]
        );
        assert_eq!(
            kinds("sensitive", "also_sensitive"),
            [(
                ChangeKind::Neutral,
                "trust sensitive -> also_sensitive".into()
            )]
        );
        // Easier one way (no acr), harder another (shorter max_age): both.
        let mixed = "[trust.a]\nacr_values = [\"mfa\"]\nmax_age = 600\n[trust.b]\nmax_age = 60\n";
        let on = |trust: &str| {
            contract(&format!(
                "{mixed}[[routes]]\nmethod = \"GET\"\npath = \"/x\"\ntrust = \"{trust}\"\n"
            ))
        };
        let kinds: Vec<ChangeKind> = routes(&on("a"), &on("b"))
            .into_iter()
            .map(|c| c.kind)
            .collect();
        assert_eq!(kinds, [ChangeKind::Widened, ChangeKind::Narrowed]);
    }

    #[test]
    fn any_of_sets_that_overlap_count_as_widening() {
        let changes = requirement_changed(
            "route GET /x",
            &Requirement::all(Vec::<String>::new()).and_any(["x", "y"]),
            &Requirement::all(Vec::<String>::new()).and_any(["y", "z"]),
        );
        assert_eq!(
            changes,
            [change(
                ChangeKind::Widened,
                "route GET /x",
                "any-of [x, y] -> [y, z]"
            )]
        );
    }
}
