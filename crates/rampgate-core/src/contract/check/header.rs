//! The header step: version, issuer, audience, resource, authorization
//! servers, and the names in the scope catalog.

use super::{Catalog, Checker, RawChange, RawContract};
use crate::contract::ChangeNote;
use toml::Spanned;

/// The header fields of a checked contract.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Header {
    pub(super) version: u64,
    pub(super) issuer: Option<String>,
    pub(super) audience: Option<String>,
    pub(super) resource: Option<String>,
    pub(super) authorization_servers: Vec<String>,
}

impl Checker<'_> {
    /// Checks the top-level fields and the catalog's names.
    pub(super) fn header(&mut self, raw: &RawContract) -> Header {
        let version = *raw.version.get_ref();
        if version < 1 {
            self.error(
                Some(raw.version.span()),
                "version must be a positive integer that increases on every change".into(),
            );
        }
        for (field, value) in [("issuer", &raw.issuer), ("audience", &raw.audience)] {
            if let Some(value) = value
                && value.get_ref().trim().is_empty()
            {
                self.error(
                    Some(value.span()),
                    format!("{field} must not be empty (or leave it out)"),
                );
            }
        }
        if let Some(r) = &raw.resource
            && (r.get_ref().contains('#') || !r.get_ref().contains("://"))
        {
            self.error(
                Some(r.span()),
                "resource must be an absolute URL without a fragment (RFC 9728)".into(),
            );
        }
        self.scope_names(&raw.scopes);
        let issuer = raw.issuer.as_ref().map(|i| i.get_ref().clone());
        Header {
            // A version below 1 is an error above, so the contract is never built with it.
            version: u64::try_from(version).unwrap_or(0),
            authorization_servers: raw
                .authorization_servers
                .clone()
                .unwrap_or_else(|| issuer.iter().cloned().collect()),
            issuer,
            audience: raw.audience.as_ref().map(|a| a.get_ref().clone()),
            resource: raw.resource.as_ref().map(|r| r.get_ref().clone()),
        }
    }

    /// Checks `[change]`: an author and a reason, neither empty.
    pub(super) fn change_note(&mut self, note: &Spanned<RawChange>) -> ChangeNote {
        let n = note.get_ref();
        for (field, value) in [("author", &n.author), ("reason", &n.reason)] {
            if value.trim().is_empty() {
                self.error(
                    Some(note.span()),
                    format!(
                        "change.{field} must not be empty: say who changed the contract and why"
                    ),
                );
            }
        }
        if n.ticket.as_deref().is_some_and(|t| t.trim().is_empty()) {
            self.error(
                Some(note.span()),
                "change.ticket must not be empty (or leave it out)".into(),
            );
        }
        ChangeNote {
            author: n.author.clone(),
            reason: n.reason.clone(),
            ticket: n.ticket.clone(),
        }
    }

    /// Scope names go into `scope` strings and challenges, so they must be
    /// valid OAuth scope tokens. The catalog is a table, so they have no line.
    pub(super) fn scope_names(&mut self, catalog: &Catalog) {
        for name in catalog.keys() {
            if name.is_empty()
                || name.contains(|ch: char| {
                    ch == ' ' || ch == '"' || ch == '\\' || !ch.is_ascii_graphic()
                })
            {
                self.error(None, format!("scope name {name:?} must be visible ASCII without spaces, quotes or backslashes (RFC 6749 §3.3)"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{messages, raw};
    use super::*;

    #[test]
    fn a_valid_header_is_kept_and_servers_default_to_the_issuer() {
        let text = "version = 3\nissuer = \"https://i.example\"\naudience = \"api\"\nresource = \"https://api.example\"\n";
        let mut c = Checker::new(text);
        let header = c.header(&raw(text));
        assert_eq!(messages(&c), Vec::<String>::new());
        assert_eq!(
            header,
            Header {
                version: 3,
                issuer: Some("https://i.example".into()),
                audience: Some("api".into()),
                resource: Some("https://api.example".into()),
                authorization_servers: vec!["https://i.example".into()],
            }
        );
        let text = "version = 1\nissuer = \"https://i.example\"\nauthorization_servers = [\"https://as.example\"]\n";
        let header = Checker::new(text).header(&raw(text));
        assert_eq!(header.authorization_servers, ["https://as.example"]);
    }

    #[test]
    fn header_errors_each_have_their_line() {
        let text = "version = 0\nissuer = \" \"\naudience = \"\"\nresource = \"https://api.example#x\"\n[scopes]\n\"a b\" = \"A\"\n";
        let mut c = Checker::new(text);
        c.header(&raw(text));
        assert_eq!(
            messages(&c),
            [
                "line 1: version must be a positive integer that increases on every change",
                "line 2: issuer must not be empty (or leave it out)",
                "line 3: audience must not be empty (or leave it out)",
                "line 4: resource must be an absolute URL without a fragment (RFC 9728)",
                "scope name \"a b\" must be visible ASCII without spaces, quotes or backslashes (RFC 6749 §3.3)",
            ]
        );
    }

    #[test]
    fn scope_names_must_be_oauth_scope_tokens() {
        let mut c = Checker::new("");
        let catalog: Catalog = [("", ""), ("ok:read", ""), ("say\"hi", ""), ("é", "")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        c.scope_names(&catalog);
        assert_eq!(
            messages(&c),
            [
                "scope name \"\" must be visible ASCII without spaces, quotes or backslashes (RFC 6749 §3.3)",
                "scope name \"say\\\"hi\" must be visible ASCII without spaces, quotes or backslashes (RFC 6749 §3.3)",
                "scope name \"é\" must be visible ASCII without spaces, quotes or backslashes (RFC 6749 §3.3)",
            ]
        );
    }
}
