//! `McpResource`: an MCP server's canonical URI, the audience its tokens must
//! name (RFC 8707) and where its RFC 9728 metadata is served.

use crate::WELL_KNOWN;
use rampgate_core::IssuerConfig;

/// An MCP server's canonical URI (`https://mcp.example.com/mcp`), as the MCP
/// authorization specification asks: clients name it as their RFC 8707
/// `resource` when they get a token, the token's `aud` must be exactly it,
/// and the server's RFC 9728 metadata names it at the path-suffixed
/// well-known URL (`https://mcp.example.com/.well-known/oauth-protected-resource/mcp`).
///
/// The audience is compared byte for byte, so [`McpResource::new`] refuses
/// a URI with surprises: an upper-case scheme or host, a trailing slash, a
/// default port or one written otherwise than in shortest digits (`:0443`,
/// an empty port), a dot segment (`/./`, `/../`), a percent-escape, a query,
/// a fragment or user information.
///
/// ```
/// use rampgate_tower::McpResource;
///
/// let mcp = McpResource::new("https://mcp.example.com/mcp").unwrap();
/// assert_eq!(
///     mcp.metadata_url(),
///     "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
/// );
/// let issuer = mcp.issuer("https://login.example.com/"); // aud = the URI, exactly
/// # let _ = issuer;
/// assert!(McpResource::new("https://mcp.example.com/mcp/").is_err());
/// assert!(McpResource::new("https://MCP.example.com/mcp").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpResource {
    uri: String,
    /// Where the path starts in `uri` (its length when there is none).
    path_at: usize,
}

/// Why a URI is not an MCP server's canonical URI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{uri:?} is not a canonical MCP server URI: {why}")]
pub struct McpResourceError {
    uri: String,
    why: &'static str,
}

impl McpResource {
    /// The canonical URI `uri`: `http` or `https`, a lower-case host, a port
    /// only when it is not the default, in shortest digits; no trailing
    /// slash, dot segment, percent-escape, query, fragment or user
    /// information.
    pub fn new(uri: impl Into<String>) -> Result<Self, McpResourceError> {
        let uri = uri.into();
        let refuse = |why| {
            Err(McpResourceError {
                uri: uri.clone(),
                why,
            })
        };
        let Some((scheme, rest)) = uri.split_once("://") else {
            return refuse("it is not an absolute http or https URL");
        };
        if scheme != "http" && scheme != "https" {
            return refuse("its scheme must be http or https, in lower case");
        }
        if uri.contains(['?', '#']) {
            return refuse("it has a query or a fragment");
        }
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if authority.is_empty() || authority.contains('@') {
            return refuse("it needs a host, without user information");
        }
        if authority.chars().any(|c| c.is_ascii_uppercase()) {
            return refuse("its host must be in lower case");
        }
        // After an IPv6 literal's brackets, a colon starts the port.
        let host_end = authority.rfind(']').unwrap_or(0);
        if let Some(colon) = authority[host_end..].rfind(':') {
            let port = &authority[host_end + colon + 1..];
            let default_port = if scheme == "https" { "443" } else { "80" };
            if port == default_port {
                return refuse("it names the scheme's default port");
            }
            let shortest = port
                .parse::<u16>()
                .is_ok_and(|p| p != 0 && p.to_string() == port);
            if !shortest {
                return refuse("its port must be a number from 1 to 65535 in shortest digits");
            }
        }
        if path.ends_with('/') {
            return refuse("it ends with a slash");
        }
        if path
            .split('/')
            .any(|segment| segment == "." || segment == "..")
        {
            return refuse("its path has a dot segment");
        }
        if uri.contains('%') {
            return refuse("it has a percent-escape");
        }
        let path_at = uri.len() - path.len();
        Ok(McpResource { uri, path_at })
    }

    /// The canonical URI, which is also the audience.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// An issuer whose tokens must name exactly this URI as their audience.
    pub fn issuer(&self, issuer: impl Into<String>) -> IssuerConfig {
        IssuerConfig::new(issuer, [self.uri.as_str()])
    }

    /// The path of the metadata document: the well-known prefix, then the
    /// URI's path (`/.well-known/oauth-protected-resource/mcp`).
    pub fn metadata_path(&self) -> String {
        format!("{WELL_KNOWN}{}", &self.uri[self.path_at..])
    }

    /// The URL of the metadata document, for `JwtLayer::resource_metadata`:
    /// every 401 names it (`resource_metadata=`), as MCP clients expect.
    pub fn metadata_url(&self) -> String {
        format!("{}{}", &self.uri[..self.path_at], self.metadata_path())
    }

    /// The router serving the metadata document at [`metadata_path`](Self::metadata_path)
    /// from the contract in force: `resource` this URI, always (a contract's
    /// own `resource` is not used: the document must name the resource the
    /// 401s point to, as clients check, RFC 9728 §3.3), `scopes_supported`
    /// the contract's scope catalog, and
    /// `authorization_servers` the contract's or `servers`. Merge it outside
    /// `JwtLayer`: the metadata is public.
    #[cfg(feature = "axum")]
    pub fn metadata_router<S, I, T>(
        &self,
        contract: rampgate_core::contract::ContractHandle,
        servers: I,
    ) -> axum::Router<S>
    where
        S: Clone + Send + Sync + 'static,
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        if let Some(named) = contract.current().resource()
            && named != self.uri
        {
            tracing::warn!(
                contract_resource = named,
                mcp_resource = self.uri.as_str(),
                "the contract's resource is not the MCP server's URI: the metadata document \
                 names the MCP server's URI, as its 401s do"
            );
        }
        crate::metadata::MetadataRouter::new(contract)
            .resource_over_contract(self.uri.clone())
            .authorization_servers(servers)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_uris_are_taken_as_they_are() {
        for (uri, metadata) in [
            (
                "https://mcp.example.com/mcp",
                "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
            ),
            (
                "http://127.0.0.1:3000/mcp",
                "http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp",
            ),
            (
                "https://mcp.example.com",
                "https://mcp.example.com/.well-known/oauth-protected-resource",
            ),
            (
                "http://[::1]:3000/mcp",
                "http://[::1]:3000/.well-known/oauth-protected-resource/mcp",
            ),
            (
                "https://mcp.example.com/v1/.well/mcp",
                "https://mcp.example.com/.well-known/oauth-protected-resource/v1/.well/mcp",
            ),
        ] {
            let resource = McpResource::new(uri).unwrap();
            assert_eq!(resource.uri(), uri);
            assert_eq!(resource.metadata_url(), metadata);
        }
    }

    #[test]
    fn uris_with_surprises_are_refused_saying_why() {
        for (uri, why) in [
            (
                "mcp.example.com/mcp",
                "it is not an absolute http or https URL",
            ),
            (
                "HTTPS://mcp.example.com/mcp",
                "its scheme must be http or https, in lower case",
            ),
            (
                "ftp://mcp.example.com/mcp",
                "its scheme must be http or https, in lower case",
            ),
            (
                "https://Mcp.example.com/mcp",
                "its host must be in lower case",
            ),
            ("https://mcp.example.com/mcp/", "it ends with a slash"),
            ("https://mcp.example.com/", "it ends with a slash"),
            (
                "https://mcp.example.com:443/mcp",
                "it names the scheme's default port",
            ),
            (
                "https://mcp.example.com/mcp?x=1",
                "it has a query or a fragment",
            ),
            (
                "https://mcp.example.com/mcp#a",
                "it has a query or a fragment",
            ),
            (
                "https://user@mcp.example.com/mcp",
                "it needs a host, without user information",
            ),
            ("https:///mcp", "it needs a host, without user information"),
            (
                "https://mcp.example.com:0443/mcp",
                "its port must be a number from 1 to 65535 in shortest digits",
            ),
            (
                "https://mcp.example.com:/mcp",
                "its port must be a number from 1 to 65535 in shortest digits",
            ),
            (
                "http://127.0.0.1:03000/mcp",
                "its port must be a number from 1 to 65535 in shortest digits",
            ),
            (
                "http://127.0.0.1:70000/mcp",
                "its port must be a number from 1 to 65535 in shortest digits",
            ),
            ("http://[::1]:80/mcp", "it names the scheme's default port"),
            (
                "https://mcp.example.com/a/../mcp",
                "its path has a dot segment",
            ),
            (
                "https://mcp.example.com/./mcp",
                "its path has a dot segment",
            ),
            (
                "https://mcp.example.com/mcp/..",
                "its path has a dot segment",
            ),
            ("https://mcp.example.com/%6dcp", "it has a percent-escape"),
            ("https://mcp.ex%61mple.com/mcp", "it has a percent-escape"),
        ] {
            let error = McpResource::new(uri).unwrap_err();
            assert_eq!(error.why, why, "{uri}");
            assert!(error.to_string().contains(uri));
        }
    }
}
