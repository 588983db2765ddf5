//! `rampgate contract routes`: the contract's routes against the routes in code.

use rampgate_core::Requirement;
use rampgate_core::contract::{Contract, Inventory};
use std::collections::HashSet;
use std::fmt::Write as _;

/// A route on one side only.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct RouteEntry {
    pub(crate) method: String,
    pub(crate) path: String,
    /// What the route requires, flattened to `scopes` and `any`.
    #[serde(flatten)]
    pub(crate) requirement: Requirement,
}

/// A route on both sides whose requirements differ.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Mismatch {
    pub(crate) method: String,
    pub(crate) path: String,
    /// What the contract requires.
    pub(crate) contract: Requirement,
    /// What the code requires.
    pub(crate) code: Requirement,
}

/// The comparison, in inventory order (`missing_in_code`: contract order).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct RouteReport {
    /// Routes in code but not in the contract: they fail the check.
    pub(crate) missing_in_contract: Vec<RouteEntry>,
    /// Routes in the contract but not in code: reported only.
    pub(crate) missing_in_code: Vec<RouteEntry>,
    /// Routes whose requirements differ: they fail the check.
    pub(crate) mismatched: Vec<Mismatch>,
    /// Routes whose contract requirement goes beyond the code's while it is rolled
    /// out (`observe` or a percentage): the contract leads on purpose, so they are
    /// reported, not failed.
    pub(crate) ramping: Vec<Mismatch>,
    /// Distinct routes in code.
    #[serde(skip)]
    pub(crate) in_code: usize,
}

impl RouteReport {
    /// Compares the contract with the inventory. Methods are compared in upper
    /// case, paths exactly; a route the inventory lists twice counts once. A
    /// gRPC method (`/package.Service/Method`) the contract does not list
    /// itself is covered by its service's `/package.Service/*`, which then
    /// counts as in code.
    pub(crate) fn compare(contract: &Contract, inventory: &Inventory) -> RouteReport {
        let mut seen = HashSet::new();
        let mut covered = HashSet::new();
        let mut report = RouteReport {
            missing_in_contract: Vec::new(),
            missing_in_code: Vec::new(),
            mismatched: Vec::new(),
            ramping: Vec::new(),
            in_code: 0,
        };
        for route in &inventory.routes {
            // An MCP method (`tools/call`, with the tool as the path) as written.
            let method = if route.method.contains('/') {
                route.method.clone()
            } else {
                route.method.to_ascii_uppercase()
            };
            if !seen.insert((method.clone(), route.path.clone())) {
                continue;
            }
            report.in_code += 1;
            let code = route.requirement();
            let declared = contract.route(&method, &route.path).or_else(|| {
                let service = rampgate_core::grpc::service_pattern(&route.path)?;
                let declared = contract.route(&method, &service)?;
                covered.insert((method.clone(), service));
                Some(declared)
            });
            match declared {
                None => report.missing_in_contract.push(RouteEntry {
                    method,
                    path: route.path.clone(),
                    requirement: code,
                }),
                Some(declared) => {
                    let contract = declared.requirement.clone();
                    if contract != code {
                        // The contract may ask for more than the code while the
                        // requirement is observed or ramped by percentage.
                        let leads = code.all_of().is_subset(contract.all_of())
                            && (code.any_of().is_empty() || code.any_of() == contract.any_of());
                        let ramped = !matches!(
                            declared.mode,
                            rampgate_core::contract::Mode::Enforce
                                | rampgate_core::contract::Mode::Percent(100)
                        );
                        let entry = Mismatch {
                            method,
                            path: route.path.clone(),
                            contract,
                            code,
                        };
                        if leads && ramped {
                            report.ramping.push(entry);
                        } else {
                            report.mismatched.push(entry);
                        }
                    }
                }
            }
        }
        for route in contract.routes() {
            let key = (route.method.clone(), route.path.clone());
            if !seen.contains(&key) && !covered.contains(&key) {
                report.missing_in_code.push(RouteEntry {
                    method: route.method.clone(),
                    path: route.path.clone(),
                    requirement: route.requirement.clone(),
                });
            }
        }
        report
    }

    /// Whether the check fails: routes in code are not in the contract, or
    /// their requirements differ.
    pub(crate) fn fails(&self) -> bool {
        !self.missing_in_contract.is_empty() || !self.mismatched.is_empty()
    }

    /// Why the check fails, in one line.
    pub(crate) fn failure(&self) -> Option<String> {
        let mut parts = Vec::new();
        match self.missing_in_contract.len() {
            0 => {}
            1 => parts.push("1 route in code is not in the contract".to_owned()),
            n => parts.push(format!("{n} routes in code are not in the contract")),
        }
        match self.mismatched.len() {
            0 => {}
            1 => parts.push("1 route has different requirements".to_owned()),
            n => parts.push(format!("{n} routes have different requirements")),
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// The report for people: a section per kind of difference (empty ones
    /// left out), then a summary line.
    pub(crate) fn human(&self, file: &str) -> String {
        let mut out = String::new();
        if !self.missing_in_contract.is_empty() {
            let _ = writeln!(
                out,
                "In code but not in the contract ({}):",
                self.missing_in_contract.len()
            );
            for r in &self.missing_in_contract {
                let _ = writeln!(out, "  {} {}", r.method, r.path);
            }
        }
        if !self.missing_in_code.is_empty() {
            let _ = writeln!(
                out,
                "In the contract but not in code ({}):",
                self.missing_in_code.len()
            );
            for r in &self.missing_in_code {
                let _ = writeln!(out, "  {} {}", r.method, r.path);
            }
            out.push_str(
                "  note: routes only in the contract do not fail the check; another deployment may serve them\n",
            );
        }
        if !self.mismatched.is_empty() {
            let _ = writeln!(out, "Requirements differ ({}):", self.mismatched.len());
            for m in &self.mismatched {
                let _ = writeln!(
                    out,
                    "  {} {}: the contract requires {}; the code requires {}",
                    m.method,
                    m.path,
                    m.contract.describe(),
                    m.code.describe()
                );
            }
        }
        if !self.ramping.is_empty() {
            let _ = writeln!(
                out,
                "Being rolled out in the contract ({}):",
                self.ramping.len()
            );
            for m in &self.ramping {
                let _ = writeln!(
                    out,
                    "  {} {}: the contract requires {} (not enforced for everyone yet); the code requires {}",
                    m.method,
                    m.path,
                    m.contract.describe(),
                    m.code.describe()
                );
            }
            out.push_str("  note: declare the requirement in code once the contract enforces it\n");
        }
        let matching = self.in_code
            - self.missing_in_contract.len()
            - self.mismatched.len()
            - self.ramping.len();
        let _ = writeln!(
            out,
            "{file}: {} of {} in code match the contract",
            crate::plural::number(matching as u64),
            crate::plural::count(self.in_code, "route")
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTRACT: &str = r#"
version = 1
[scopes]
"read" = "r"
"write" = "w"
"admin" = "a"
[[routes]]
method = "GET"
path = "/items"
scopes = ["read"]
[[routes]]
method = "DELETE"
path = "/items/{id}"
any = ["admin", "write"]
[[routes]]
method = "GET"
path = "/legacy"
"#;

    fn contract() -> Contract {
        Contract::parse(CONTRACT).unwrap()
    }

    #[test]
    fn matching_inventory_reports_nothing() {
        let mut inventory = Inventory::default()
            .route("get", "/items", ["read"])
            .route("GET", "/legacy", Vec::<String>::new())
            .route("DELETE", "/items/{id}", Vec::<String>::new());
        inventory.routes[2].any = vec!["write".into(), "admin".into()];
        let report = RouteReport::compare(&contract(), &inventory);
        assert!(!report.fails());
        assert_eq!(report.failure(), None);
        assert_eq!(
            report.human("c.toml"),
            "c.toml: 3 of 3 routes in code match the contract\n"
        );
    }

    #[test]
    fn each_kind_of_difference_is_found() {
        let inventory = Inventory::default()
            .route("GET", "/items", ["read", "write"])
            .route("GET", "/items", ["read", "write"])
            .route("POST", "/items", ["write"]);
        let report = RouteReport::compare(&contract(), &inventory);
        assert_eq!(report.in_code, 2, "a route listed twice counts once");
        assert_eq!(report.missing_in_contract.len(), 1);
        assert_eq!(report.mismatched.len(), 1);
        let missing: Vec<String> = report
            .missing_in_code
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert_eq!(missing, ["DELETE /items/{id}", "GET /legacy"]);
        assert_eq!(
            report.failure().unwrap(),
            "1 route in code is not in the contract; 1 route has different requirements"
        );
    }

    #[test]
    fn requirements_being_ramped_in_the_contract_do_not_fail() {
        let contract = Contract::parse(
            "version = 1\n[scopes]\n\"read\" = \"r\"\n[[routes]]\nmethod = \"GET\"\npath = \"/x\"\nscopes = [\"read\"]\nmode = \"25%\"\n",
        )
        .unwrap();
        let inventory = Inventory::default().route("GET", "/x", Vec::<String>::new());
        let report = RouteReport::compare(&contract, &inventory);
        assert!(!report.fails());
        assert_eq!(report.ramping.len(), 1);
        assert!(
            report
                .human("c.toml")
                .contains("Being rolled out in the contract (1):")
        );
        // Once enforced, the code must declare it.
        let enforced = Contract::parse(
            "version = 1\n[scopes]\n\"read\" = \"r\"\n[[routes]]\nmethod = \"GET\"\npath = \"/x\"\nscopes = [\"read\"]\n",
        )
        .unwrap();
        assert!(RouteReport::compare(&enforced, &inventory).fails());
        // 100% is enforcement for everyone: no longer a roll-out.
        let everyone = Contract::parse(
            "version = 1\n[scopes]\n\"read\" = \"r\"\n[[routes]]\nmethod = \"GET\"\npath = \"/x\"\nscopes = [\"read\"]\nmode = \"100%\"\n",
        )
        .unwrap();
        assert!(RouteReport::compare(&everyone, &inventory).fails());
    }

    #[test]
    fn routes_only_in_the_contract_do_not_fail() {
        let inventory = Inventory::default().route("GET", "/items", ["read"]);
        let report = RouteReport::compare(&contract(), &inventory);
        assert!(!report.fails());
        assert_eq!(report.missing_in_code.len(), 2);
    }

    #[test]
    fn grpc_methods_are_covered_by_their_service() {
        let contract = Contract::parse(
            "version = 1\n[scopes]\ngreet = \"g\"\nadmin = \"a\"\n\
             [[routes]]\nmethod = \"POST\"\npath = \"/helloworld.Greeter/*\"\nscopes = [\"greet\"]\n\
             [[routes]]\nmethod = \"POST\"\npath = \"/helloworld.Greeter/Reset\"\nscopes = [\"admin\"]\n\
             [[routes]]\nmethod = \"POST\"\npath = \"/other.Svc/*\"\nscopes = [\"greet\"]\n",
        )
        .unwrap();
        let inventory = Inventory::default()
            .route("POST", "/helloworld.Greeter/SayHello", ["greet"])
            .route("POST", "/helloworld.Greeter/SayHelloStream", ["greet"])
            .route("POST", "/helloworld.Greeter/Reset", ["greet"])
            .route("POST", "/unknown.Svc/Do", ["greet"]);
        let report = RouteReport::compare(&contract, &inventory);
        let entries =
            |list: &[RouteEntry]| -> Vec<String> { list.iter().map(|r| r.path.clone()).collect() };
        // The service pattern covers SayHello and SayHelloStream; Reset has
        // its own route, whose requirement differs; /other.Svc/* has no method in code.
        assert_eq!(entries(&report.missing_in_contract), ["/unknown.Svc/Do"]);
        assert_eq!(entries(&report.missing_in_code), ["/other.Svc/*"]);
        assert_eq!(report.mismatched.len(), 1);
        assert_eq!(report.mismatched[0].path, "/helloworld.Greeter/Reset");
    }
}
