//! Client-chosen text made safe to print: in log fields, in terminal output.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with the characters that could forge or hide output escaped, for a
/// log field or a terminal: a value taken from a token (`sub`, `client_id`,
/// `jti`...), a revocation value, an anomaly key.
///
/// Escaped are the control characters (`\n`, `\r`, `\t` by name, the others
/// such as ESC as `\u{1b}`), which could start a forged log line or drive a
/// terminal, and the Unicode line separators and bidirectional controls
/// (`\u{2028}`, `\u{202e}`...), which could do the same or reorder what is
/// shown. Everything else, backslashes included, stays as it is. Borrowed
/// when nothing needs escaping.
///
/// ```
/// use rampgate_core::escape_control;
///
/// assert_eq!(escape_control("alice"), "alice");
/// assert_eq!(escape_control("a\nb\u{1b}[31m"), "a\\nb\\u{1b}[31m");
/// ```
pub fn escape_control(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            c if needs_escape(c) => {
                // Writing to a String cannot fail.
                let _ = write!(escaped, "\\u{{{:x}}}", u32::from(c));
            }
            c => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}

/// `url` with its secrets hidden, for messages, logs and `Debug`: the
/// password of its userinfo (`redis://user:***@host`) and the value of any
/// `pass` or `password` query parameter (`unix:///run/redis.sock?pass=***`).
///
/// ```
/// use rampgate_core::redact_url;
///
/// assert_eq!(redact_url("redis://ops:s3cret@db:6379/0"), "redis://ops:***@db:6379/0");
/// assert_eq!(redact_url("unix:///run/r.sock?db=1&pass=s3cret"), "unix:///run/r.sock?db=1&pass=***");
/// ```
pub fn redact_url(url: &str) -> String {
    let url = redact_userinfo(url);
    let Some((base, query)) = url.split_once('?') else {
        return url;
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _))
                if k.eq_ignore_ascii_case("pass") || k.eq_ignore_ascii_case("password") =>
            {
                format!("{k}=***")
            }
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

/// `url` with the password of its userinfo replaced by `***`.
fn redact_userinfo(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// A control character, a line or paragraph separator, or a bidirectional
/// control (marks, embeddings, overrides, isolates).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}' | '\u{061c}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_passwords_in_userinfo_and_query() {
        assert_eq!(redact_url("redis://:pw@h:1"), "redis://:***@h:1");
        assert_eq!(redact_url("redis://h:1/0"), "redis://h:1/0");
        assert_eq!(
            redact_url("redis+unix:///s.sock?PASSWORD=x&user=u"),
            "redis+unix:///s.sock?PASSWORD=***&user=u"
        );
        assert_eq!(
            redact_url("redis://u:p@h?pass=q"),
            "redis://u:***@h?pass=***"
        );
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        for text in [
            "alice",
            "client-42/ünïcödé",
            "a\\nb",
            "",
            "spaces and = signs",
        ] {
            assert!(matches!(escape_control(text), Cow::Borrowed(t) if t == text));
        }
    }

    #[test]
    fn controls_separators_and_bidi_are_escaped() {
        let cases = [
            ("a\nb", "a\\nb"),
            ("a\r\n", "a\\r\\n"),
            ("\t", "\\t"),
            ("\u{1b}[2J", "\\u{1b}[2J"),
            ("\0\u{7f}\u{85}\u{9b}", "\\u{0}\\u{7f}\\u{85}\\u{9b}"),
            ("x\u{2028}y\u{2029}", "x\\u{2028}y\\u{2029}"),
            ("\u{202e}gnp.exe", "\\u{202e}gnp.exe"),
            (
                "\u{2066}\u{2069}\u{200f}\u{61c}",
                "\\u{2066}\\u{2069}\\u{200f}\\u{61c}",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(escape_control(text), expected, "{text:?}");
        }
    }

    #[test]
    fn no_output_char_needs_escaping() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let escaped = escape_control(&all);
        assert!(!escaped.chars().any(needs_escape));
    }
}

/// Captures the `tracing` events of a closure as a naive subscriber writes
/// them: one line per event, string fields as they are, others through
/// `Debug` (or `Display` for `%` fields), so a raw control character in a
/// field shows in the capture.
#[cfg(test)]
pub(crate) mod capture {
    use std::fmt::Write as _;
    use std::sync::{Arc, Mutex};
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    struct Capture(Arc<Mutex<String>>);

    struct Line<'a>(&'a mut String);

    impl Visit for Line<'_> {
        fn record_str(&mut self, field: &Field, value: &str) {
            let _ = write!(self.0, " {}={value}", field.name());
        }

        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    impl Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }

        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }

        fn record(&self, _: &Id, _: &Record<'_>) {}

        fn record_follows_from(&self, _: &Id, _: &Id) {}

        fn event(&self, event: &Event<'_>) {
            let mut out = self.0.lock().unwrap_or_else(|e| e.into_inner());
            let _ = write!(out, "{}", event.metadata().level());
            event.record(&mut Line(&mut out));
            out.push('\n');
        }

        fn enter(&self, _: &Id) {}

        fn exit(&self, _: &Id) {}
    }

    /// The events `f` logs, one line each.
    pub(crate) fn logs(f: impl FnOnce()) -> String {
        let out = Arc::new(Mutex::new(String::new()));
        tracing::subscriber::with_default(Capture(Arc::clone(&out)), f);
        out.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Asserts `logs` holds `events` lines and no raw ESC.
    pub(crate) fn assert_no_forged_line(logs: &str, events: usize) {
        assert_eq!(logs.lines().count(), events, "a forged line in {logs:?}");
        assert!(!logs.contains('\u{1b}'), "a raw ESC in {logs:?}");
    }
}
