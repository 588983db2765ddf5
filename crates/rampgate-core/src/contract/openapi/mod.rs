//! OpenAPI 3.1 from the contract (feature `openapi`): the security every HTTP
//! route demands, as a document of its own ([`Contract::openapi`]) or added to
//! the application's document ([`Contract::merge_openapi`]).
//!
//! - `components.securitySchemes.rampgate`: OpenID Connect discovery of the
//!   issuer (`{issuer}/.well-known/openid-configuration`, the scope catalog in
//!   its description), or OAuth 2.0 client credentials at a token URL you
//!   give, with the catalog's scopes and their descriptions. No URL is
//!   guessed: without an issuer or a token URL, HTTP bearer tokens (JWT),
//!   whose requirements list the scopes as OpenAPI 3.1 roles (left empty
//!   when merging into a 3.0 document, which allows no roles).
//! - Each operation's `security`: the route's all-of scopes as one
//!   requirement; an any-of list as alternatives, one requirement per scope
//!   (with the all-of scopes in each).
//! - `x-rampgate-trust` on operations with a trust level: `level`,
//!   `acr_values`, and `acr_hierarchy`, `amr`, `max_age` when set.
//! - gRPC routes are left out ([`LeftOut`]), and so are methods OpenAPI 3.1
//!   has no operation for.
//!
//! ```
//! use rampgate_core::contract::Contract;
//! use rampgate_core::contract::openapi::OpenApiOptions;
//!
//! let contract = Contract::parse(r#"
//!     version = 3
//!     issuer = "https://login.example.com/"
//!     [scopes]
//!     "items:read" = "Read items"
//!     "admin" = "Everything"
//!     [[routes]]
//!     method = "GET"
//!     path = "/items/{id}"
//!     any = ["items:read", "admin"]
//! "#).unwrap();
//! let doc = contract.openapi(&OpenApiOptions::new()).unwrap();
//! let json = serde_json::to_value(&doc.openapi).unwrap();
//! assert_eq!(
//!     json["paths"]["/items/{id}"]["get"]["security"],
//!     serde_json::json!([{"rampgate": ["admin"]}, {"rampgate": ["items:read"]}])
//! );
//! assert_eq!(
//!     json["components"]["securitySchemes"]["rampgate"]["openIdConnectUrl"],
//!     "https://login.example.com/.well-known/openid-configuration"
//! );
//! ```

mod merge;
mod security;
mod template;

pub use merge::{MergedOpenApi, OperationRef};
/// The OpenAPI model the documents are built with (utoipa's).
pub use utoipa::openapi as model;

use crate::contract::{Contract, Route};
use std::collections::BTreeMap;
use std::fmt;
use utoipa::openapi::path::{OperationBuilder, ParameterBuilder, ParameterIn, PathItemBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{
    ComponentsBuilder, HttpMethod, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Required,
};

/// The name of the security scheme in `components.securitySchemes`.
pub const SCHEME: &str = "rampgate";
/// The operation extension that carries a route's trust level.
pub const TRUST_EXTENSION: &str = "x-rampgate-trust";

/// Where the security scheme's URLs come from, and the document's title.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenApiOptions {
    issuer: Option<String>,
    token_url: Option<String>,
    title: Option<String>,
}

impl OpenApiOptions {
    /// OpenID Connect discovery of the contract's `issuer`.
    pub fn new() -> Self {
        Self::default()
    }

    /// OpenID Connect discovery of this issuer (it must be the contract's
    /// `issuer` when the contract names one).
    pub fn issuer(mut self, url: impl Into<String>) -> Self {
        self.issuer = Some(url.into());
        self
    }

    /// An `oauth2` scheme with the client credentials flow at this token
    /// endpoint, and the contract's scopes with their descriptions.
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }

    /// The generated document's `info.title` (default: `rampgate contract`).
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }
}

/// Why a document cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenApiError {
    /// Both an issuer and a token URL were given.
    #[error(
        "give the issuer's URL or the token endpoint's URL, not both: the document has one security scheme"
    )]
    TwoSchemes,
    /// A URL that is not absolute `http(s)`, or has a fragment.
    #[error("the {what} {url:?} must be an absolute http(s) URL without a fragment")]
    BadUrl {
        /// `issuer` or `token URL`.
        what: &'static str,
        /// The URL given.
        url: String,
    },
    /// The issuer given is not the contract's.
    #[error(
        "the issuer {given:?} is not the contract's issuer {contract:?}: the contract admits only its issuer's tokens"
    )]
    IssuerMismatch {
        /// The issuer given.
        given: String,
        /// The contract's `issuer`.
        contract: String,
    },
    /// A route whose path OpenAPI's path templating cannot spell.
    #[error("route {route}: {why}")]
    Path {
        /// `METHOD path`.
        route: String,
        /// What cannot be written.
        why: String,
    },
    /// The document to merge is not JSON.
    #[error("line {line} column {column}: not JSON: {message}")]
    NotJson {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The document to merge is JSON, but not an OpenAPI 3 document there.
    #[error("{pointer}: {message}")]
    NotOpenApi {
        /// Where, as a JSON pointer (`/paths/~1items/get`), empty for the root.
        pointer: String,
        /// What is wrong.
        message: String,
    },
}

/// A contract route that has no place in an OpenAPI document.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeftOut {
    /// `METHOD path`.
    pub route: String,
    /// Why.
    pub why: LeftOutWhy,
}

/// Why a route is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeftOutWhy {
    /// A gRPC method or service.
    Grpc,
    /// A method OpenAPI 3.1 has no operation for (`PURGE`...).
    Method,
    /// An MCP route (a tool, prompt or resource of the `[mcp] endpoint`).
    Mcp,
}

impl fmt::Display for LeftOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.why {
            LeftOutWhy::Grpc => write!(f, "{}: a gRPC route, not an HTTP operation", self.route),
            LeftOutWhy::Mcp => write!(f, "{}: an MCP route, not an HTTP operation", self.route),
            LeftOutWhy::Method => {
                write!(
                    f,
                    "{}: OpenAPI 3.1 has no operation for this method",
                    self.route
                )
            }
        }
    }
}

/// The generated document, and the routes it leaves out.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OpenApiDocument {
    /// The OpenAPI 3.1 document.
    pub openapi: OpenApi,
    /// The contract's routes that are not in it, in file order.
    pub left_out: Vec<LeftOut>,
}

/// One HTTP route of the contract, as OpenAPI sees it.
struct HttpRoute<'c> {
    route: &'c Route,
    method: HttpMethod,
    template: template::Template,
}

/// The contract's HTTP routes with their OpenAPI method and path, and the
/// routes left out; `Err` for a path OpenAPI cannot spell.
fn http_routes(contract: &Contract) -> Result<(Vec<HttpRoute<'_>>, Vec<LeftOut>), OpenApiError> {
    let mut routes = Vec::new();
    let mut left_out = Vec::new();
    for route in contract.routes() {
        let why = if route.mcp {
            LeftOutWhy::Mcp
        } else if is_grpc(contract, route) {
            LeftOutWhy::Grpc
        } else if let Some(method) = http_method(&route.method) {
            let template = template::convert(&route.path).map_err(|why| OpenApiError::Path {
                route: route.key(),
                why,
            })?;
            routes.push(HttpRoute {
                route,
                method,
                template,
            });
            continue;
        } else {
            LeftOutWhy::Method
        };
        left_out.push(LeftOut {
            route: route.key(),
            why,
        });
    }
    one_spelling(&routes)?;
    Ok((routes, left_out))
}

/// Templates that differ only in their parameters' names are one OpenAPI
/// path: an error, for no operation could say which route it is.
fn one_spelling(routes: &[HttpRoute<'_>]) -> Result<(), OpenApiError> {
    let mut spelled: BTreeMap<String, &HttpRoute<'_>> = BTreeMap::new();
    for r in routes {
        let first = spelled
            .entry(template::shape(&r.template.path))
            .or_insert(r);
        if first.template.path != r.template.path {
            return Err(OpenApiError::Path {
                route: r.route.key(),
                why: format!(
                    "{} is the path of route {} with other parameter names: OpenAPI takes them for one path",
                    r.template.path,
                    first.route.key()
                ),
            });
        }
    }
    Ok(())
}

/// A gRPC route: a whole service (`/package.Service/*`), or a method path the
/// contract lists for `POST` (so decided as a gRPC method).
fn is_grpc(contract: &Contract, route: &Route) -> bool {
    route.path.ends_with("/*")
        || (route.method == "POST" && contract.lists_grpc_method(&route.path))
}

/// OpenAPI 3.1's operation for an HTTP method (upper case).
fn http_method(method: &str) -> Option<HttpMethod> {
    Some(match method {
        "GET" => HttpMethod::Get,
        "PUT" => HttpMethod::Put,
        "POST" => HttpMethod::Post,
        "DELETE" => HttpMethod::Delete,
        "OPTIONS" => HttpMethod::Options,
        "HEAD" => HttpMethod::Head,
        "PATCH" => HttpMethod::Patch,
        "TRACE" => HttpMethod::Trace,
        _ => return None,
    })
}

impl Contract {
    /// The contract's HTTP routes as an OpenAPI 3.1 document: each
    /// operation's security, its trust level, its path parameters and the
    /// 401 and 403 answers of the layers (see the [module](self)).
    pub fn openapi(&self, options: &OpenApiOptions) -> Result<OpenApiDocument, OpenApiError> {
        let scheme = security::scheme(self, options)?;
        let (routes, left_out) = http_routes(self)?;
        // One path item per OpenAPI path.
        let mut items: BTreeMap<String, Vec<&HttpRoute<'_>>> = BTreeMap::new();
        for r in &routes {
            items.entry(r.template.path.clone()).or_default().push(r);
        }
        let mut paths = PathsBuilder::new();
        for (path, routes) in items {
            let params = parameters(&routes[0].template);
            let mut item =
                PathItemBuilder::new().parameters((!params.is_empty()).then_some(params));
            for r in routes {
                item = item.operation(r.method.clone(), operation(self, r.route));
            }
            paths = paths.path(path, item.build());
        }
        let info = InfoBuilder::new()
            .title(options.title.as_deref().unwrap_or("rampgate contract"))
            .version(self.version().to_string())
            .description(Some(format!(
                "The security of each operation, from version {} of the ramp contract.",
                self.version()
            )));
        let openapi = OpenApiBuilder::new()
            .info(info)
            .paths(paths)
            .components(Some(
                ComponentsBuilder::new()
                    .security_scheme(SCHEME, scheme)
                    .build(),
            ))
            .build();
        Ok(OpenApiDocument { openapi, left_out })
    }
}

/// One operation: its security, the layers' answers, the trust extension.
fn operation(contract: &Contract, route: &Route) -> utoipa::openapi::path::Operation {
    let mut op = OperationBuilder::new()
        .securities(Some(security::requirements(route)))
        .extensions(security::trust(contract, route));
    for (status, response) in security::responses(contract, route) {
        op = op.response(status, response);
    }
    op.build()
}

/// The path parameters of a template, each a required string; a wildcard's
/// description says it spans segments.
fn parameters(template: &template::Template) -> Vec<utoipa::openapi::path::Parameter> {
    template
        .params
        .iter()
        .map(|(name, wildcard)| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(
                    wildcard
                        .then_some("The rest of the path, slashes included (an axum wildcard)."),
                )
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build()
        })
        .collect()
}
