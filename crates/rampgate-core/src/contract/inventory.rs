//! What the application declares in code: its routes and their scope
//! requirements, as JSON, for `rampgate contract routes`.

use crate::Requirement;

/// The routes an application declares in code, as JSON, for
/// `rampgate contract routes FILE --inventory INVENTORY.json`.
///
/// ```
/// use rampgate_core::contract::Inventory;
///
/// let inventory = Inventory::default()
///     .route("GET", "/profile", ["profile:read"])
///     .route("GET", "/me", Vec::<String>::new());
/// let json = inventory.to_json();
/// assert_eq!(Inventory::from_json(&json).unwrap(), inventory);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Inventory {
    /// Each declared route.
    pub routes: Vec<InventoryRoute>,
}

/// One route declared in code.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InventoryRoute {
    /// HTTP method, upper case.
    pub method: String,
    /// Path template (`/accounts/{id}`) or gRPC path.
    pub path: String,
    /// Scopes the code requires (all of them).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Scopes of which the code requires one.
    #[serde(default)]
    pub any: Vec<String>,
}

impl InventoryRoute {
    /// What the code requires on this route.
    pub fn requirement(&self) -> Requirement {
        Requirement::all(self.scopes.iter().cloned()).and_any(self.any.iter().cloned())
    }
}

impl Inventory {
    /// Records that the code requires `requirement` on `method path`: the one
    /// way every inventory entry is made (`ScopeLayer::record` and
    /// `Inventory::scoped` call it too).
    pub fn require(mut self, method: &str, path: &str, requirement: &Requirement) -> Self {
        self.routes.push(InventoryRoute {
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            scopes: requirement.all_of().iter().cloned().collect(),
            any: requirement.any_of().iter().cloned().collect(),
        });
        self
    }

    /// Adds a route requiring all of `scopes`.
    pub fn route<I, S>(self, method: &str, path: &str, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.require(method, path, &Requirement::all(scopes))
    }

    /// The inventory as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads an inventory.
    pub fn from_json(json: &str) -> Result<Inventory, serde_json::Error> {
        serde_json::from_str(json)
    }
}
