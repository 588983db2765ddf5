//! `McpResource`: an MCP server's canonical URI, the audience its tokens must
//! name (RFC 8707) and where its RFC 9728 metadata is served.

use rampgate_core::IssuerConfig;

/// Where RFC 9728 metadata is served, before the resource's path (§3.1).
const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// An MCP server's canonical URI (`https://mcp.example.com/mcp`), as the MCP
/// authorization specification asks: clients name it as their RFC 8707
/// `resource` when they get a token, the token's `aud` must be exactly it,
/// and the server's RFC 9728 metadata names it at the path-suffixed
/// well-known URL (`https://mcp.example.com/.well-known/oauth-protected-resource/mcp`).
///
/// The audience is compared byte for byte, so [`McpResource::new`] refuses
/// a URI with surprises: an upper-case scheme or host, a trailing slash, a
/// default port, a query, a fragment or user information.
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
    /// The canonical URI `uri`: `http` or `https`, a lower-case host, no
    /// trailing slash, default port, query, fragment or user information.
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
        let default_port = if scheme == "https" { ":443" } else { ":80" };
        if authority.ends_with(default_port) {
            return refuse("it names the scheme's default port");
        }
        if path.ends_with('/') {
            return refuse("it ends with a slash");
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
    /// from the contract in force: `resource` this URI (unless the contract
    /// names its own), `scopes_supported` the contract's scope catalog, and
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
        crate::metadata::MetadataRouter::new(contract)
            .resource(self.uri.clone())
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
        ] {
            let error = McpResource::new(uri).unwrap_err();
            assert_eq!(error.why, why, "{uri}");
            assert!(error.to_string().contains(uri));
        }
    }
}
