//! The contract's security added to an application's own OpenAPI 3 document
//! (utoipa's, aide's...), and the operations the two do not share.
//!
//! The document is read as plain JSON and only what the contract says is
//! written into it, with values made from the OpenAPI model: every other
//! member is kept as it was (objects' keys come out in alphabetical order).
//! An operation matches a route by method and path template, whatever the
//! parameters are named (`/orders/{orderId}` is the route `/orders/{id}`);
//! a `head` operation falls back to the `GET` route, as decisions do.

use super::{LeftOut, OpenApiError, OpenApiOptions, SCHEME, TRUST_EXTENSION, http_routes};
use super::{security, template};
use crate::contract::Contract;
use serde_json::{Map, Value};
use std::collections::HashMap;
use utoipa::openapi::security::SecurityScheme;

/// The operations of OpenAPI 3's path item, as they are keyed there.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One operation: its method (upper case) and path template.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[non_exhaustive]
pub struct OperationRef {
    /// `GET`, `POST`...
    pub method: String,
    /// As the document or the contract spells it.
    pub path: String,
}

impl std::fmt::Display for OperationRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// The merged document and where the document and the contract disagree.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MergedOpenApi {
    /// The document with the contract's security scheme, each covered
    /// operation's `security`, `x-rampgate-trust` and, where it had none,
    /// its 401 and 403 answers.
    pub document: Value,
    /// Operations of the document that no contract route covers, in the
    /// document's order of paths (alphabetical) and methods.
    pub not_in_contract: Vec<OperationRef>,
    /// HTTP routes of the contract with no operation in the document, in
    /// file order.
    pub not_in_document: Vec<OperationRef>,
    /// The contract's routes that have no place in OpenAPI (gRPC...).
    pub left_out: Vec<LeftOut>,
}

impl Contract {
    /// Adds the contract's security to `document`, an OpenAPI 3.0, 3.1 or 3.2
    /// document as JSON, and lists the operations the contract does not cover
    /// and the routes the document does not have. The security scheme is
    /// chosen as for [`Contract::openapi`].
    pub fn merge_openapi(
        &self,
        document: &str,
        options: &OpenApiOptions,
    ) -> Result<MergedOpenApi, OpenApiError> {
        let scheme = security::scheme(self, options)?;
        let mut document: Value = serde_json::from_str(document).map_err(|e| {
            let full = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            OpenApiError::NotJson {
                line: e.line(),
                column: e.column(),
                message: full.strip_suffix(&suffix).unwrap_or(&full).to_owned(),
            }
        })?;
        let root = check_root(&mut document)?;
        // OpenAPI 3.0 lets only oauth2 and openIdConnect requirements list
        // scopes; 3.1 lets every scheme list roles. A 3.0 document with the
        // bearer scheme gets empty requirements (the scheme's description
        // keeps the scopes).
        let scopes_listed = !matches!(scheme, SecurityScheme::Http(_))
            || !root
                .get("openapi")
                .and_then(Value::as_str)
                .is_some_and(|v| v.starts_with("3.0."));
        let (routes, left_out) = http_routes(self)?;
        // (path shape, METHOD) -> the route's index in `routes`.
        let index: HashMap<(String, &str), usize> = routes
            .iter()
            .enumerate()
            .map(|(i, r)| {
                (
                    (template::shape(&r.template.path), r.route.method.as_str()),
                    i,
                )
            })
            .collect();
        let mut covered = vec![false; routes.len()];
        let mut not_in_contract = Vec::new();
        let paths = object_at(root, "paths", "")?;
        for (path, item) in paths.iter_mut() {
            let pointer = format!("/paths/{}", escape_pointer(path));
            let Value::Object(item) = item else {
                return Err(not_openapi(&pointer, "a path item must be an object"));
            };
            if item.contains_key("$ref") {
                return Err(not_openapi(
                    &pointer,
                    "a path item that is a $ref: resolve it first, its operations cannot be seen here",
                ));
            }
            let shape = template::shape(path);
            for method in METHODS {
                let Some(op) = item.get_mut(method) else {
                    continue;
                };
                let Value::Object(op) = op else {
                    return Err(not_openapi(
                        &format!("{pointer}/{method}"),
                        "an operation must be an object",
                    ));
                };
                let upper = method.to_ascii_uppercase();
                let found = index.get(&(shape.clone(), upper.as_str())).or_else(|| {
                    (method == "head")
                        .then(|| index.get(&(shape.clone(), "GET")))
                        .flatten()
                });
                match found {
                    Some(&i) => {
                        covered[i] = true;
                        let at = format!("{pointer}/{method}");
                        secure(self, routes[i].route, op, &at, scopes_listed)?;
                    }
                    None => not_in_contract.push(OperationRef {
                        method: upper,
                        path: path.clone(),
                    }),
                }
            }
        }
        let schemes = object_at(
            object_at(root, "components", "")?,
            "securitySchemes",
            "/components",
        )?;
        schemes.insert(SCHEME.to_owned(), to_value(&scheme));
        let not_in_document = routes
            .iter()
            .zip(covered)
            .filter(|(_, covered)| !covered)
            .map(|(r, _)| OperationRef {
                method: r.route.method.clone(),
                path: r.route.path.clone(),
            })
            .collect();
        Ok(MergedOpenApi {
            document,
            not_in_contract,
            not_in_document,
            left_out,
        })
    }
}

/// The root object of an OpenAPI 3 document.
fn check_root(document: &mut Value) -> Result<&mut Map<String, Value>, OpenApiError> {
    let Value::Object(root) = document else {
        return Err(not_openapi("", "an OpenAPI document is a JSON object"));
    };
    match root.get("openapi") {
        Some(Value::String(v)) if ["3.0.", "3.1.", "3.2."].iter().any(|p| v.starts_with(p)) => {
            Ok(root)
        }
        Some(Value::String(v)) => Err(not_openapi(
            "/openapi",
            &format!("version {v:?}: an OpenAPI 3.0, 3.1 or 3.2 document is needed"),
        )),
        _ if root.contains_key("swagger") => Err(not_openapi(
            "/swagger",
            "a Swagger 2.0 document: convert it to OpenAPI 3 first",
        )),
        _ => Err(not_openapi(
            "/openapi",
            "no \"openapi\" version string: not an OpenAPI 3 document",
        )),
    }
}

/// The object under `key`, created when absent.
fn object_at<'v>(
    parent: &'v mut Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<&'v mut Map<String, Value>, OpenApiError> {
    match parent
        .entry(key)
        .or_insert_with(|| Value::Object(Map::new()))
    {
        Value::Object(map) => Ok(map),
        _ => Err(not_openapi(&format!("{at}/{key}"), "must be an object")),
    }
}

/// Writes the route's security, trust level and (when absent) the layers'
/// answers into one operation.
fn secure(
    contract: &Contract,
    route: &crate::contract::Route,
    op: &mut Map<String, Value>,
    pointer: &str,
    scopes_listed: bool,
) -> Result<(), OpenApiError> {
    let requirements = if scopes_listed {
        to_value(&security::requirements(route))
    } else {
        serde_json::json!([{ SCHEME: [] }])
    };
    op.insert("security".to_owned(), requirements);
    match security::trust(contract, route) {
        Some(extensions) => {
            for (key, value) in extensions.iter() {
                op.insert(key.clone(), value.clone());
            }
        }
        None => {
            op.remove(TRUST_EXTENSION);
        }
    }
    let responses = object_at(op, "responses", pointer)?;
    for (status, response) in security::responses(contract, route) {
        responses
            .entry(status)
            .or_insert_with(|| to_value(&response));
    }
    Ok(())
}

/// A model value as JSON. The model's types are maps of strings and
/// structs of them, which always serialize.
fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn not_openapi(pointer: &str, message: &str) -> OpenApiError {
    OpenApiError::NotOpenApi {
        pointer: pointer.to_owned(),
        message: message.to_owned(),
    }
}

/// A JSON pointer's reference token (RFC 6901): `~` as `~0`, `/` as `~1`.
fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}
