//! The `htu` comparison of RFC 9449 §4.3: the proof's URI and the request's,
//! both without query and fragment, after the syntax-based (RFC 3986
//! §6.2.2) and scheme-based (§6.2.3) normalisations.
//!
//! What is normalised: the scheme and host to lowercase; percent-encodings to
//! uppercase hex, and those of unreserved characters decoded; dot segments
//! removed (`/a/./b/../c` is `/a/c`); a port that is empty or the scheme's
//! default (80 for http, 443 for https) dropped; an empty path made `/`.
//! Anything that is not an absolute URI with an authority (relative
//! references, userinfo, bytes outside the URI alphabet, broken
//! percent-encodings) has no normal form, and so never matches.

/// The normal form of `uri`'s scheme, authority and path, or `None` when it
/// is not an absolute URI with an authority.
pub(super) fn normalise(uri: &str) -> Option<String> {
    if !uri.bytes().all(is_uri_byte) {
        return None;
    }
    // The query and the fragment are not compared; whichever comes first ends
    // the path (a fragment may hold a `?`).
    let uri = uri.split(['?', '#']).next().unwrap_or_default();
    let (scheme, rest) = uri.split_once(':')?;
    if !is_scheme(scheme) {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    let rest = rest.strip_prefix("//")?;
    let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    // RFC 9110 §4.2.4: http(s) URIs never carry userinfo.
    if authority.contains('@') {
        return None;
    }
    let (host, port) = split_host_port(authority)?;
    let host = percent_normalised(host, Case::Lower)?;
    if host.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(uri.len() + 1);
    out.push_str(&scheme);
    out.push_str("://");
    out.push_str(&host);
    if let Some(port) = port
        && Some(port) != default_port(&scheme)
    {
        out.push(':');
        out.push_str(&port.to_string());
    }
    let path = percent_normalised(path, Case::AsIs)?;
    if path.is_empty() {
        out.push('/');
    } else {
        out.push_str(&remove_dot_segments(&path));
    }
    Some(out)
}

/// The bytes a URI may hold (RFC 3986 §2): unreserved, reserved and `%`.
fn is_uri_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}

/// `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` (RFC 3986 §3.1).
fn is_scheme(scheme: &str) -> bool {
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// The host and the port of an authority; an empty port is none (§6.2.3).
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if authority.starts_with('[') {
        // An IP literal: its colons are not the port's.
        let end = authority.find(']')? + 1;
        let (host, rest) = authority.split_at(end);
        match rest {
            "" => (host, None),
            _ => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(digits) if digits.bytes().all(|b| b.is_ascii_digit()) => Some(digits.parse().ok()?),
        Some(_) => return None,
    };
    Some((host, port))
}

/// Whether the characters of a component are case-insensitive (a host's).
#[derive(Clone, Copy, PartialEq)]
enum Case {
    Lower,
    AsIs,
}

/// Percent-encodings with uppercase hex digits, and those of unreserved
/// characters decoded (RFC 3986 §6.2.2.1, §6.2.2.2); with [`Case::Lower`],
/// every other character in lowercase. `None` for a `%` that is not followed
/// by two hex digits.
fn percent_normalised(text: &str, case: Case) -> Option<String> {
    let fold = |b: u8| match case {
        Case::Lower => char::from(b.to_ascii_lowercase()),
        Case::AsIs => char::from(b),
    };
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            out.push(fold(bytes[i]));
            i += 1;
            continue;
        }
        let hex = bytes.get(i + 1..i + 3)?;
        let hex = std::str::from_utf8(hex).ok()?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let value = u8::from_str_radix(hex, 16).ok()?;
        if value.is_ascii_alphanumeric() || b"-._~".contains(&value) {
            out.push(fold(value));
        } else {
            out.push('%');
            out.push_str(&hex.to_ascii_uppercase());
        }
        i += 3;
    }
    Some(out)
}

/// RFC 3986 §5.2.4, for a path that starts with `/`.
fn remove_dot_segments(path: &str) -> String {
    let mut input = path;
    let mut out = String::with_capacity(path.len());
    while !input.is_empty() {
        if let Some(rest) = input.strip_prefix("../") {
            input = rest;
        } else if let Some(rest) = input.strip_prefix("./") {
            input = rest;
        } else if input.starts_with("/./") {
            input = &input[2..];
        } else if input == "/." {
            input = "/";
        } else if input.starts_with("/../") || input == "/.." {
            input = if input == "/.." { "/" } else { &input[3..] };
            out.truncate(out.rfind('/').unwrap_or(0));
        } else if input == "." || input == ".." {
            input = "";
        } else {
            // The first segment, with its leading `/`, up to the next `/`.
            let end = input[1..].find('/').map_or(input.len(), |i| i + 1);
            out.push_str(&input[..end]);
            input = &input[end..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(uri: &str) -> Option<String> {
        normalise(uri)
    }

    #[test]
    fn query_and_fragment_are_not_compared() {
        // conformance: 9449-5
        let base = n("https://api.example/orders");
        assert_eq!(n("https://api.example/orders?page=2"), base);
        assert_eq!(n("https://api.example/orders#top"), base);
        assert_eq!(n("https://api.example/orders#top?x"), base);
        assert_eq!(n("https://api.example/orders?"), base);
        assert_ne!(n("https://api.example/orders/"), base);
        assert_ne!(n("https://api.example/order"), base);
    }

    #[test]
    fn scheme_host_and_default_port_are_normalised() {
        let base = n("https://api.example/a").unwrap();
        assert_eq!(base, "https://api.example/a");
        for same in [
            "HTTPS://API.Example/a",
            "https://api.example:443/a",
            "https://api.example:/a",
            "https://api.example:0443/a",
        ] {
            assert_eq!(n(same).as_deref(), Some(base.as_str()), "{same}");
        }
        assert_eq!(
            n("http://api.example:80/a").unwrap(),
            "http://api.example/a"
        );
        assert_eq!(
            n("http://api.example:443/a").unwrap(),
            "http://api.example:443/a"
        );
        assert_eq!(
            n("https://api.example:8443/a").unwrap(),
            "https://api.example:8443/a"
        );
        assert_ne!(n("http://api.example/a").unwrap(), base);
        assert_eq!(n("https://api.example").unwrap(), "https://api.example/");
        assert_eq!(n("https://[::1]:443").unwrap(), "https://[::1]/");
        assert_eq!(n("https://[::1]:8443/x").unwrap(), "https://[::1]:8443/x");
        assert_eq!(
            n("http://127.0.0.1:8080/x").unwrap(),
            "http://127.0.0.1:8080/x"
        );
    }

    #[test]
    fn percent_encodings_and_dot_segments_are_normalised() {
        assert_eq!(
            n("https://a.example/%7euser/%c3%a9").unwrap(),
            "https://a.example/~user/%C3%A9"
        );
        assert_eq!(
            n("https://a.example/%61%2F%2f").unwrap(),
            "https://a.example/a%2F%2F"
        );
        // An encoded slash is not a slash.
        assert_ne!(n("https://a.example/a%2Fb"), n("https://a.example/a/b"));
        assert_eq!(
            n("https://a.example/a/./b/../c").unwrap(),
            "https://a.example/a/c"
        );
        assert_eq!(
            n("https://a.example/a/%2E%2E/c").unwrap(),
            "https://a.example/c"
        );
        assert_eq!(
            n("https://a.example/../../x").unwrap(),
            "https://a.example/x"
        );
        assert_eq!(n("https://a.example/a/..").unwrap(), "https://a.example/");
        assert_eq!(n("https://a.example/a/.").unwrap(), "https://a.example/a/");
        assert_eq!(
            n("https://a.example/a//b").unwrap(),
            "https://a.example/a//b"
        );
        assert_eq!(n("https://EX%41MPLE.com/").unwrap(), "https://example.com/");
    }

    #[test]
    fn what_is_not_an_absolute_uri_never_matches() {
        for bad in [
            "",
            "/orders",
            "api.example/orders",
            "https:/api.example/a",
            "1https://api.example/a",
            "https://user@api.example/a",
            "https://api.example:x/a",
            "https://api.example:99999/a",
            "https:///a",
            "https://api.example/a b",
            "https://api.example/é",
            "https://api.example/%zz",
            "https://api.example/%4",
            "https://[::1/a",
            "https://[::1]x/a",
            "https://api.example/\n",
        ] {
            assert_eq!(n(bad), None, "{bad:?}");
        }
    }
}
