//! What the contract says about one operation, in OpenAPI's words: the
//! security scheme, each route's security requirements, its trust level as
//! `x-rampgate-trust` and the answers the layers may give instead of the
//! handler's. Shared by the generated document and the merge.

use super::{OpenApiError, OpenApiOptions, SCHEME, TRUST_EXTENSION};
use crate::BearerError;
use crate::contract::{Contract, Route, TrustLevel};
use std::collections::BTreeSet;
use utoipa::openapi::Response;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::security::{
    ClientCredentials, Flow, Http, HttpAuthScheme, OAuth2, OpenIdConnect, Scopes,
    SecurityRequirement, SecurityScheme,
};

/// The security scheme the options and the contract call for: OAuth 2.0
/// client credentials at a given token URL, or OpenID Connect discovery of
/// the issuer (given, or the contract's); with neither, HTTP bearer tokens
/// (JWT), whose requirements list the scopes as OpenAPI 3.1 roles. No URL is
/// guessed.
pub(super) fn scheme(
    contract: &Contract,
    options: &OpenApiOptions,
) -> Result<SecurityScheme, OpenApiError> {
    let catalog = contract.scopes();
    if let Some(token_url) = &options.token_url {
        if options.issuer.is_some() {
            return Err(OpenApiError::TwoSchemes);
        }
        check_url("token URL", token_url, false)?;
        let scopes = Scopes::from_iter(catalog.iter().map(|(s, d)| (s.as_str(), d.as_str())));
        return Ok(SecurityScheme::OAuth2(OAuth2::with_description(
            [Flow::ClientCredentials(ClientCredentials::new(
                token_url.as_str(),
                scopes,
            ))],
            "OAuth 2.0 access tokens (JWT), verified by rampgate; the scopes are the ramp contract's catalog.",
        )));
    }
    let issuer = match (&options.issuer, contract.issuer()) {
        (Some(given), Some(named)) if given != named => {
            return Err(OpenApiError::IssuerMismatch {
                given: given.clone(),
                contract: named.to_owned(),
            });
        }
        (Some(issuer), _) => issuer.as_str(),
        (None, Some(issuer)) => issuer,
        (None, None) => return Ok(bearer(catalog)),
    };
    check_url("issuer", issuer, true)?;
    // OpenID Connect Discovery 1.0 §4: the issuer without its trailing slash.
    let discovery = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let description = with_catalog(
        format!(
            "Access tokens (JWT) of {issuer}, verified by rampgate. The scopes of the ramp contract:"
        ),
        catalog,
    );
    Ok(SecurityScheme::OpenIdConnect(
        OpenIdConnect::with_description(discovery, description),
    ))
}

/// `Authorization: Bearer` with a JWT, for a contract that names no issuer:
/// OpenAPI 3.1 lets a requirement on such a scheme list roles, here the
/// contract's scopes, which the description lists with their meaning.
fn bearer(catalog: &std::collections::BTreeMap<String, String>) -> SecurityScheme {
    let description = with_catalog(
        "Access tokens (JWT) in `Authorization: Bearer`, verified by rampgate. Each operation's requirement lists the scopes of the ramp contract it needs:".to_owned(),
        catalog,
    );
    SecurityScheme::Http(
        Http::builder()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .description(Some(description))
            .build(),
    )
}

/// `lead` followed by the scope catalog, one `- `scope`: meaning` line each.
fn with_catalog(mut lead: String, catalog: &std::collections::BTreeMap<String, String>) -> String {
    for (scope, about) in catalog {
        lead.push_str(&format!("\n- `{scope}`: {about}"));
    }
    if catalog.is_empty() {
        lead.push_str(" none.");
    }
    lead
}

/// An absolute `http(s)` URL with a host and no fragment; an issuer has no
/// query either (OpenID Connect Discovery 1.0 §2).
fn check_url(what: &'static str, url: &str, issuer: bool) -> Result<(), OpenApiError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let host_ok = rest.is_some_and(|r| !r.is_empty() && !r.starts_with(['/', '?', '#']));
    if !host_ok
        || url.contains('#')
        || (issuer && url.contains('?'))
        || url.contains(char::is_whitespace)
    {
        return Err(OpenApiError::BadUrl {
            what,
            url: url.to_owned(),
        });
    }
    Ok(())
}

/// The route's security requirements: the all-of scopes as one requirement;
/// with an any-of list, one requirement per alternative, each the all-of
/// scopes and that one. A route without scopes still needs a valid token: one
/// requirement with no scope.
pub(super) fn requirements(route: &Route) -> Vec<SecurityRequirement> {
    let all = route.requirement.all_of();
    let any = route.requirement.any_of();
    if any.is_empty() {
        return vec![SecurityRequirement::new(SCHEME, all.iter())];
    }
    any.iter()
        .map(|alternative| {
            let mut scopes: BTreeSet<&String> = all.iter().collect();
            scopes.insert(alternative);
            SecurityRequirement::new(SCHEME, scopes)
        })
        .collect()
}

/// `x-rampgate-trust`: the step-up the route's trust level demands (RFC
/// 9470), or `None` for `standard`.
pub(super) fn trust(contract: &Contract, route: &Route) -> Option<Extensions> {
    let level = contract.trust_levels().get(&route.trust)?;
    let value = trust_value(&route.trust, level);
    Some(Extensions::from_iter([(TRUST_EXTENSION, value)]))
}

fn trust_value(name: &str, level: &TrustLevel) -> serde_json::Value {
    let mut value = serde_json::json!({
        "level": name,
        "acr_values": level.acr_values,
    });
    if !level.acr_hierarchy.is_empty() {
        value["acr_hierarchy"] = serde_json::json!(level.acr_hierarchy);
    }
    if !level.amr.is_empty() {
        value["amr"] = serde_json::json!(level.amr);
    }
    if let Some(max_age) = level.max_age {
        value["max_age"] = serde_json::json!(max_age);
    }
    if level.sender_constrained {
        value["sender_constrained"] = serde_json::json!("required");
    }
    value
}

/// The answers the layers give instead of the handler's: 401 and 403, with
/// the step-up challenge named on a route with a trust level.
pub(super) fn responses(contract: &Contract, route: &Route) -> [(&'static str, Response); 2] {
    let mut unauthorized = format!(
        "No valid access token: missing, malformed, expired or revoked (RFC 6750 `{}`).",
        BearerError::InvalidToken.as_str()
    );
    if contract.trust_levels().contains_key(&route.trust) {
        unauthorized.push_str(&format!(
            " Or the authentication is not strong or recent enough for trust level `{}` (RFC 9470 `{}`): authenticate again as `x-rampgate-trust` says.",
            route.trust,
            BearerError::InsufficientUserAuthentication.as_str()
        ));
    }
    let forbidden = format!(
        "The token's scopes, or the ramp stage of its client, do not allow this operation (`{}`).",
        BearerError::InsufficientScope.as_str()
    );
    [
        ("401", Response::new(unauthorized)),
        ("403", Response::new(forbidden)),
    ]
}
