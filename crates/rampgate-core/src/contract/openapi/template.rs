//! Route templates as OpenAPI writes them: axum's `/accounts/{id}` is already
//! an OpenAPI path template; a wildcard `{*rest}` becomes `{rest}`, a path
//! parameter that (unlike OpenAPI's) may span segments.

/// A contract path in OpenAPI's path templating, with its parameters in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Template {
    /// The OpenAPI path (`/files/{rest}` for `/files/{*rest}`).
    pub(super) path: String,
    /// Each parameter: its name and whether it was a wildcard.
    pub(super) params: Vec<(String, bool)>,
}

/// Writes an axum path template in OpenAPI's path templating; `Err` says why
/// it cannot be.
pub(super) fn convert(path: &str) -> Result<Template, String> {
    let mut out = String::with_capacity(path.len());
    let mut params: Vec<(String, bool)> = Vec::new();
    let mut rest = path;
    while let Some(at) = rest.find(['{', '}']) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            return Err(format!(
                "the literal brace {:?} has no spelling in an OpenAPI path template",
                &tail[..1]
            ));
        }
        let Some(close) = tail.strip_prefix('{').and_then(|t| t.find('}')) else {
            return Err("a brace is not part of a {name} parameter".to_owned());
        };
        let inner = &tail[1..=close];
        let (name, wildcard) = match inner.strip_prefix('*') {
            Some(name) => (name, true),
            None => (inner, false),
        };
        if name.is_empty() || name.contains(['{', '/', '*']) {
            return Err(format!("{{{inner}}} is not a parameter name"));
        }
        if params.iter().any(|(n, _)| n == name) {
            return Err(format!("the parameter {name:?} appears twice"));
        }
        rest = &tail[close + 2..];
        if wildcard && !rest.is_empty() {
            return Err(format!("the wildcard {{*{name}}} is not at the end"));
        }
        out.push('{');
        out.push_str(name);
        out.push('}');
        params.push((name.to_owned(), wildcard));
    }
    out.push_str(rest);
    Ok(Template { path: out, params })
}

/// The path with every `{parameter}` written `{}`: OpenAPI templates that
/// differ only in their parameters' names are one path.
pub(super) fn shape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_param = false;
    for c in path.chars() {
        match (c, in_param) {
            ('{', false) => {
                in_param = true;
                out.push_str("{}");
            }
            ('}', true) => in_param = false,
            (_, true) => {}
            (c, false) => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axum_templates_become_openapi_templates() {
        let t = convert("/accounts/{id}/cards/{card}").unwrap();
        assert_eq!(t.path, "/accounts/{id}/cards/{card}");
        assert_eq!(
            t.params,
            [("id".to_owned(), false), ("card".to_owned(), false)]
        );
        let t = convert("/files/{*rest}").unwrap();
        assert_eq!(
            (t.path.as_str(), t.params),
            ("/files/{rest}", vec![("rest".to_owned(), true)])
        );
        assert_eq!(convert("/me").unwrap().params, []);
    }

    #[test]
    fn templates_openapi_cannot_spell_are_refused_with_the_reason() {
        for (path, why) in [
            ("/a/{{literal}}", "literal brace"),
            ("/a/}", "not part of"),
            ("/a/{id", "not part of"),
            ("/a/{}", "not a parameter name"),
            ("/a/{*}", "not a parameter name"),
            ("/a/{id}/{id}", "appears twice"),
            ("/a/{*rest}/b", "not at the end"),
        ] {
            let err = convert(path).unwrap_err();
            assert!(err.contains(why), "{path}: {err}");
        }
    }

    #[test]
    fn shapes_ignore_parameter_names() {
        assert_eq!(shape("/orders/{id}/lines/{n}"), "/orders/{}/lines/{}");
        assert_eq!(
            shape("/orders/{orderId}/lines/{line}"),
            shape("/orders/{id}/lines/{n}")
        );
        assert_eq!(shape("/healthz"), "/healthz");
    }
}
