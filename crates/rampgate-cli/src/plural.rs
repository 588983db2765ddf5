//! Counting in words, the same way in every command: `1 route`,
//! `12 400 requests`. The one place that chooses between a noun's singular
//! and plural.

/// `12 400`: digits grouped by three with spaces.
pub(crate) fn number(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// The word for `n` things: `one` for exactly one, `many` otherwise
/// (`it`/`them`, `request was`/`requests were`).
pub(crate) fn form<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// `1 request`, `12 400 requests`.
pub(crate) fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", number(n), form(n, one, many))
}

/// `1 route`, `3 routes`: a noun whose plural adds an `s`.
pub(crate) fn count(n: usize, noun: &str) -> String {
    plural(n as u64, noun, &format!("{noun}s"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_by_three() {
        assert_eq!(number(0), "0");
        assert_eq!(number(999), "999");
        assert_eq!(number(12_400), "12 400");
        assert_eq!(number(1_234_567), "1 234 567");
    }

    #[test]
    fn counts_are_singular_or_plural() {
        assert_eq!(count(0, "route"), "0 routes");
        assert_eq!(count(1, "route"), "1 route");
        assert_eq!(count(2, "scope"), "2 scopes");
        assert_eq!(count(12_400, "line"), "12 400 lines");
        assert_eq!(plural(1, "request was", "requests were"), "1 request was");
        assert_eq!(plural(3, "request was", "requests were"), "3 requests were");
        assert_eq!(form(2, "it", "them"), "them");
    }
}
