//! Errors with byte spans, and a renderer that draws a caret under the input.
//!
//! An [`Error`] records *what* was expected or found ([`ErrorKind`]), *where* (a byte
//! [`Span`]) and *which grammar* reported it ([`Grammar`]), so a server can answer with the
//! right RFC 7644 section 3.12 `scimType` ([`Error::scim_type`]). Line and column are worked
//! out only when rendering ([`Error::render`]).
//!
//! ```
//! use scim_parser::{parse_filter, ErrorKind};
//! let input = "(userName eq \"john\"";
//! let err = parse_filter(input).unwrap_err();
//! assert_eq!(err.kind, ErrorKind::UnclosedParen { open: 0 });
//! assert_eq!(err.scim_type(), "invalidFilter");
//! assert!(err.render(input).ends_with("  (userName eq \"john\"\n                     ^\n"));
//! ```

use std::fmt;

/// A half-open byte range `start..end` into the parsed input.
///
/// ```
/// let input = r#"title pr and userName eq "x""#;
/// let err = scim_parser::parse_filter(&input[..24]).unwrap_err();
/// // Empty at the end of the input: the value is missing.
/// assert_eq!(err.span, scim_parser::Span::new(24, 24));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// First byte of the node.
    pub start: usize,
    /// One past the last byte of the node.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    ///
    /// ```
    /// let span = scim_parser::Span::new(4, 9);
    /// assert_eq!(&"the userName"[span.start..span.end], "userN");
    /// ```
    pub const fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }
}

/// The token an error found: the end of the input or a short piece of text.
///
/// ```
/// use scim_parser::{parse_filter, ErrorKind, Found};
/// let err = parse_filter("userName eq").unwrap_err();
/// assert_eq!(err.kind, ErrorKind::ExpectedSpace { after: "eq".into(), found: Found::End });
/// assert_eq!(Found::Text("x".into()).to_string(), "`x`");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// Nothing was left.
    End,
    /// The offending token (at most a few dozen bytes of it).
    Text(String),
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Found::End => f.write_str("end of input"),
            Found::Text(t) => {
                f.write_str("`")?;
                write_visible(f, t)?;
                f.write_str("`")
            }
        }
    }
}

/// Writes `t` with control characters escaped (`\n`, `\u{1b}`) and everything else as is.
fn write_visible(f: &mut fmt::Formatter<'_>, t: &str) -> fmt::Result {
    for c in t.chars() {
        if c.is_control() {
            write!(f, "{}", c.escape_default())?;
        } else {
            fmt::Write::write_char(f, c)?;
        }
    }
    Ok(())
}

/// What closes the expression being read; used to say what may follow a term.
///
/// ```
/// use scim_parser::{parse_filter, Closer, ErrorKind};
/// let err = parse_filter("(title pr ]").unwrap_err();
/// assert!(matches!(err.kind, ErrorKind::ExpectedLogicalOperator { closer: Closer::Paren, .. }));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Closer {
    /// The end of the input.
    End,
    /// The `)` of a group.
    Paren,
    /// The `]` of a value path.
    Bracket,
}

/// Which grammar an error came from; decides the `scimType`.
///
/// ```
/// use scim_parser::{parse_filter, parse_patch_path, Grammar};
/// assert_eq!(parse_filter("a[").unwrap_err().grammar, Grammar::Filter);
/// assert_eq!(parse_patch_path("a[").unwrap_err().grammar, Grammar::PatchPath);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Grammar {
    /// A `filter` query parameter or `filter` member (RFC 7644 section 3.4.2.2).
    #[default]
    Filter,
    /// A PATCH operation's `path` (RFC 7644 section 3.5.2).
    PatchPath,
}

/// What went wrong. Every variant's doc shows an input that produces it; `Display` is a
/// lowercase fragment naming what was expected and what was found.
///
/// ```
/// use scim_parser::{parse_filter, ErrorKind};
/// let err = parse_filter("meta.lastModified lte \"2011\"").unwrap_err();
/// assert_eq!(err.kind, ErrorKind::UnknownOperator { found: "lte".into() });
/// assert!(err.kind.to_string().starts_with("unknown operator `lte`; expected `eq`"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Nothing to parse: `` (or only whitespace).
    EmptyInput,
    /// The input is longer than [`ParseOptions::max_len`](crate::ParseOptions::max_len):
    /// `userName eq "aaaa…"` with 100 kB of `a`.
    InputTooLong {
        /// Length of the input in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Groups, `not` and brackets nest deeper than the limit: `((((…title pr…))))`.
    NestingTooDeep {
        /// The limit.
        max: usize,
    },
    /// More comparisons and presence tests than the limit: `id eq "0" or id eq "1" or …`.
    TooManyTerms {
        /// The limit.
        max: usize,
    },
    /// A filter was expected: `()`, `userName pr and`, `[value eq "false"]`.
    ExpectedFilter {
        /// What stood there instead.
        found: Found,
    },
    /// An attribute name must start with a letter: `_abc eq "x"`, `1abc pr`, `attr.`.
    ExpectedAttrName {
        /// What stood there instead.
        found: Found,
    },
    /// The schema URI before the last `:` is malformed: `:userName pr`, `1urn:x:a pr`.
    InvalidUri {
        /// The URI text.
        found: Found,
    },
    /// Only one sub-attribute is allowed (`*1subAttr`): `name.given.first pr`.
    TooManySubAttrs,
    /// A leading `$` outside a sub-attribute: `$ref pr` (use `members.$ref` or
    /// `members[$ref eq "…"]`).
    LeadingDollar,
    /// `$` in a name with `allow_dollar` off (strict profile): `members.$ref pr`.
    DollarInName,
    /// An operator must follow the attribute path after a space: `userName`,
    /// `userName="x"`.
    ExpectedOperator {
        /// What stood there instead.
        found: Found,
    },
    /// The filter still looks URL-encoded (`+` or `%` where a space belongs):
    /// `userName+eq+%22bjensen%22`.
    UrlEncoded,
    /// Not one of the ten operators or `pr`: `meta.lastModified lte "2011"`, `title prand x`.
    UnknownOperator {
        /// The word found.
        found: String,
    },
    /// `not` must be followed by `(`: `not userName pr`, `not not (title pr)`.
    NotNeedsParen,
    /// A space is required here: `userName eq"x"`, `a pr and(b pr)`.
    ExpectedSpace {
        /// The token the space must follow.
        after: String,
        /// What stood there instead.
        found: Found,
    },
    /// A space is required before a keyword: `(a pr)and b pr`.
    ExpectedSpaceBefore {
        /// The keyword.
        keyword: &'static str,
    },
    /// A JSON value was expected: `userName eq ("x")`, `userName eq`.
    ExpectedValue {
        /// What stood there instead.
        found: Found,
    },
    /// A bare word where a JSON value belongs: `userName eq bjensen`.
    UnquotedValue {
        /// The word.
        found: String,
    },
    /// JSON literals are lowercase: `active eq TRUE`.
    MiscasedLiteral {
        /// The word as written.
        found: String,
    },
    /// A malformed JSON number: `x eq +1`, `x eq .5`, `x eq 1.5.3`.
    InvalidNumber {
        /// The text.
        found: String,
    },
    /// A JSON number may not have a leading zero: `x eq 01`.
    LeadingZero,
    /// A digit is required here in a JSON number: `x eq 1.`, `x eq 1e`, `x eq -`.
    ExpectedDigit {
        /// What stood there instead.
        found: Found,
    },
    /// The number does not fit an IEEE 754 binary64: `x eq 1e400`.
    NumberOutOfRange,
    /// A string has no closing quote: `userName eq "abc`.
    UnterminatedString,
    /// Not a JSON escape: `userName eq "\a"`.
    InvalidEscape {
        /// The character after the backslash.
        found: char,
    },
    /// `\u` must be followed by four hex digits: `userName co "\ufe"`.
    InvalidUnicodeEscape,
    /// A `\u` surrogate escape without its partner: `userName eq "\uD800"`.
    LoneSurrogate {
        /// The code unit.
        unit: u16,
    },
    /// A raw control character inside a string: `"a` LF `b"`.
    ControlCharacter {
        /// The byte.
        byte: u8,
    },
    /// Only `and`, `or` or the closer may follow a complete term: `userName eq "x" garbage`,
    /// `(title pr ]`.
    ExpectedLogicalOperator {
        /// What closes the expression being read.
        closer: Closer,
        /// What stood there instead.
        found: Found,
    },
    /// A `(` was never closed: `(userName eq "john"`.
    UnclosedParen {
        /// Byte offset of the `(`.
        open: usize,
    },
    /// A `[` was never closed: `emails[type eq "work"`.
    UnclosedBracket {
        /// Byte offset of the `[`.
        open: usize,
    },
    /// A `)` without its `(`: `userName eq "john")`.
    UnmatchedParen,
    /// A `]` without its `[`: `userName eq "john"]`.
    UnmatchedBracket,
    /// A value path inside a value path (RFC 7644 errata 4690/7322):
    /// `emails[type eq "work" and emails[value pr]]`.
    NestedValuePath,
    /// Two bracket groups in a row: `emails[type eq "work"][primary eq true]`.
    SecondValueFilter,
    /// A comparison right after `]`: `emails[type eq "work"] eq "x"`.
    ComparisonAfterValuePath {
        /// The operator as written.
        op: String,
    },
    /// The Entra form `a[f].b op v` with the interop leniency off:
    /// `emails[type eq "work"].value eq "x"`.
    EntraValuePathCompare,
    /// Strict profile: whitespace that is not exactly one SP: `userName  eq "x"`,
    /// `userName<TAB>eq "x"`, ` title pr`, `( title pr )`.
    StrictWhitespace,
    /// Input left after a complete PATCH path: `emails[type eq "work"].value extra`.
    ExpectedEndOfPath {
        /// What stood there instead.
        found: Found,
    },
    /// A comparison as a PATCH path (errata 7122, not applied): `name.familyName eq "x"`.
    FilterAsPath,
}

fn closer_text(closer: Closer) -> &'static str {
    match closer {
        Closer::End => "end of input",
        Closer::Paren => "`)`",
        Closer::Bracket => "`]`",
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ErrorKind::*;
        match self {
            EmptyInput => f.write_str("empty input"),
            InputTooLong { len, max } => {
                write!(f, "input is {len} bytes, longer than the limit of {max}")
            }
            NestingTooDeep { max } => write!(f, "nesting deeper than the limit of {max}"),
            TooManyTerms { max } => write!(f, "more than the limit of {max} comparisons"),
            ExpectedFilter { found } => write!(f, "expected a filter, found {found}"),
            ExpectedAttrName { found } => {
                write!(
                    f,
                    "expected an attribute name starting with a letter, found {found}"
                )
            }
            InvalidUri { found } => {
                write!(
                    f,
                    "expected a schema URI starting with a letter before `:`, found {found}"
                )
            }
            TooManySubAttrs => {
                f.write_str("more than one sub-attribute; only `attr.sub` is allowed")
            }
            LeadingDollar => f.write_str(
                "a leading `$` is allowed only in sub-attribute names such as `members.$ref`",
            ),
            DollarInName => f.write_str("`$` in an attribute name is not allowed in strict mode"),
            ExpectedOperator { found } => write!(
                f,
                "expected a space and an operator (`eq`, `ne`, `co`, `sw`, `ew`, `gt`, `lt`, \
                 `ge`, `le` or `pr`), found {found}"
            ),
            UnknownOperator { found } => write!(
                f,
                "unknown operator `{}`; expected `eq`, `ne`, `co`, `sw`, `ew`, `gt`, `lt`, `ge`, \
                 `le` or `pr`",
                found.escape_debug()
            ),
            NotNeedsParen => f.write_str("expected `(` after `not`"),
            UrlEncoded => f.write_str(
                "expected a space, found `+` or `%`; the filter looks URL-encoded, decode the \
                 query string once before parsing",
            ),
            ExpectedSpace { after, found } => {
                write!(f, "expected a space after `{after}`, found {found}")
            }
            ExpectedSpaceBefore { keyword } => write!(f, "expected a space before `{keyword}`"),
            ExpectedValue { found } => write!(
                f,
                "expected a value (a JSON string, number, `true`, `false` or `null`), found {found}"
            ),
            UnquotedValue { found } => write!(
                f,
                "expected a value, found the bare word `{}`; strings need double quotes",
                found.escape_debug()
            ),
            MiscasedLiteral { found } => write!(
                f,
                "`{found}` is not a JSON literal; write `{}`",
                found.to_ascii_lowercase()
            ),
            InvalidNumber { found } => {
                write!(f, "`{}` is not a JSON number", found.escape_debug())
            }
            LeadingZero => f.write_str("a JSON number cannot have a leading `0`"),
            ExpectedDigit { found } => {
                write!(f, "expected a digit in the number, found {found}")
            }
            NumberOutOfRange => f.write_str("number is out of range for a 64-bit float"),
            UnterminatedString => f.write_str("unterminated string; expected a closing `\"`"),
            InvalidEscape { found } => write!(
                f,
                "invalid escape `\\{}`; JSON allows `\\\"`, `\\\\`, `\\/`, `\\b`, `\\f`, `\\n`, \
                 `\\r`, `\\t` and `\\uXXXX`",
                found.escape_debug()
            ),
            InvalidUnicodeEscape => f.write_str("expected four hex digits after `\\u`"),
            LoneSurrogate { unit } => {
                write!(
                    f,
                    "lone surrogate `\\u{unit:04X}`; a surrogate escape needs its pair"
                )
            }
            ControlCharacter { byte } => write!(
                f,
                "raw control character U+{byte:04X} in a string; escape it as `\\u{byte:04x}`"
            ),
            ExpectedLogicalOperator { closer, found } => write!(
                f,
                "expected `and`, `or` or {}, found {found}",
                closer_text(*closer)
            ),
            UnclosedParen { open } => {
                write!(f, "the `(` at byte {open} is never closed; expected `)`")
            }
            UnclosedBracket { open } => {
                write!(f, "the `[` at byte {open} is never closed; expected `]`")
            }
            UnmatchedParen => f.write_str("unmatched `)`"),
            UnmatchedBracket => f.write_str("unmatched `]`"),
            NestedValuePath => {
                f.write_str("a value path cannot contain another value path (`[` inside `[...]`)")
            }
            SecondValueFilter => f.write_str("only one `[...]` is allowed after an attribute"),
            ComparisonAfterValuePath { op } => write!(
                f,
                "`{op}` cannot follow `]`; compare inside the brackets, as in `emails[value {op} \
                 \"x\"]`"
            ),
            EntraValuePathCompare => f.write_str(
                "a sub-attribute after `]` is not allowed in a filter (the Entra form \
                 `a[f].b op v`); interop parsing accepts it",
            ),
            StrictWhitespace => f.write_str("only a single space is allowed here in strict mode"),
            ExpectedEndOfPath { found } => {
                write!(f, "expected the end of the PATCH path, found {found}")
            }
            FilterAsPath => {
                f.write_str("a comparison is not a PATCH path; select values with `attr[filter]`")
            }
        }
    }
}

/// A parse error: what was expected or found, and where.
///
/// ```
/// use scim_parser::{parse_filter, ErrorKind, Span};
/// let err = parse_filter(r#"emails[type eq "work""#).unwrap_err();
/// assert_eq!(err.kind, ErrorKind::UnclosedBracket { open: 6 });
/// assert_eq!(err.span, Span::new(21, 21));
/// assert_eq!(err.to_string(), "the `[` at byte 6 is never closed; expected `]` at byte 21");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Where in the input, as a byte range (empty at end of input).
    pub span: Span,
    /// Which grammar reported the error.
    pub grammar: Grammar,
}

impl Error {
    /// An error of the filter grammar.
    ///
    /// ```
    /// use scim_parser::{Error, ErrorKind, Span};
    /// let err = Error::new(ErrorKind::EmptyInput, Span::new(0, 0));
    /// assert_eq!(err.scim_type(), "invalidFilter");
    /// ```
    pub fn new(kind: ErrorKind, span: Span) -> Error {
        Error {
            kind,
            span,
            grammar: Grammar::Filter,
        }
    }

    /// The same error, reported by `grammar`.
    ///
    /// ```
    /// use scim_parser::{Error, ErrorKind, Grammar, Span};
    /// let err = Error::new(ErrorKind::EmptyInput, Span::new(0, 0)).with_grammar(Grammar::PatchPath);
    /// assert_eq!(err.scim_type(), "invalidPath");
    /// ```
    pub fn with_grammar(mut self, grammar: Grammar) -> Error {
        self.grammar = grammar;
        self
    }

    /// The RFC 7644 section 3.12 `scimType` for a 400 response: `invalidFilter` for
    /// filters, `invalidPath` for PATCH paths.
    ///
    /// ```
    /// assert_eq!(scim_parser::parse_filter("a eq").unwrap_err().scim_type(), "invalidFilter");
    /// assert_eq!(scim_parser::parse_patch_path("a eq 1").unwrap_err().scim_type(), "invalidPath");
    /// ```
    pub fn scim_type(&self) -> &'static str {
        match self.grammar {
            Grammar::Filter => "invalidFilter",
            Grammar::PatchPath => "invalidPath",
        }
    }

    /// The message, the input (or a window of it around the error, for long inputs) and a
    /// caret line under the bytes at fault. Control characters are shown escaped and wide
    /// characters take two columns, so the caret stays under the right character.
    ///
    /// ```
    /// let err = scim_parser::parse_filter("userName eq\"x\"").unwrap_err();
    /// assert_eq!(
    ///     err.render("userName eq\"x\""),
    ///     "error: expected a space after `eq`, found `\"` (byte 11)\n  userName eq\"x\"\n             ^\n"
    /// );
    /// ```
    pub fn render(&self, input: &str) -> String {
        render::render(&self.kind, self.span, input)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind, self.span.start)
    }
}

impl std::error::Error for Error {}

pub(crate) mod render {
    //! The caret renderer behind [`Error::render`](super::Error::render).

    use super::Span;
    use std::fmt::{Display, Write};

    /// Columns shown either side of the error when the input is wider than `MAX_WIDTH`.
    const CONTEXT: usize = 40;
    /// Widest input shown whole.
    const MAX_WIDTH: usize = 100;

    /// One character as displayed.
    struct Cell {
        /// Byte offset of the character in the input.
        byte: usize,
        /// Its length in bytes.
        len: usize,
        /// What is printed for it (control characters are escaped).
        text: String,
        /// Columns it takes.
        width: usize,
    }

    /// Columns a printable character takes on a terminal: 0 for combining marks, 2 for
    /// East Asian wide characters and emoji, else 1.
    fn char_width(c: char) -> usize {
        match c as u32 {
            0x0300..=0x036F | 0x200B..=0x200F | 0xFE00..=0xFE0F => 0,
            0x1100..=0x115F
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x1F300..=0x1F64F
            | 0x1F900..=0x1F9FF
            | 0x20000..=0x3FFFD => 2,
            _ => 1,
        }
    }

    fn cells(input: &str) -> Vec<Cell> {
        input
            .char_indices()
            .map(|(byte, c)| {
                let len = c.len_utf8();
                if c.is_control() {
                    let text: String = c.escape_default().collect();
                    Cell {
                        byte,
                        len,
                        width: text.len(),
                        text,
                    }
                } else {
                    Cell {
                        byte,
                        len,
                        text: c.to_string(),
                        width: char_width(c),
                    }
                }
            })
            .collect()
    }

    fn width(cells: &[Cell]) -> usize {
        cells.iter().map(|c| c.width).sum()
    }

    /// `message`, the input (or a window of it) and a caret line under `span`.
    pub(crate) fn render(message: &dyn Display, span: Span, input: &str) -> String {
        let cells = cells(input);
        let start = span.start.min(input.len());
        let end = span.end.clamp(start, input.len());
        // cells[first..last] are the characters under the caret
        let first = cells.partition_point(|c| c.byte + c.len <= start);
        let last = cells.partition_point(|c| c.byte < end).max(first);
        let (from, to) = if width(&cells) <= MAX_WIDTH {
            (0, cells.len())
        } else {
            window(&cells, first)
        };
        let mut line = String::from("  ");
        if from > 0 {
            line.push('…');
        }
        for cell in &cells[from..to] {
            line.push_str(&cell.text);
        }
        if to < cells.len() {
            line.push('…');
        }
        let col = usize::from(from > 0) + width(&cells[from..first.min(to)]);
        let carets = width(&cells[first.min(to)..last.min(to)]).max(1);
        let mut out = String::new();
        let _ = writeln!(out, "error: {message} (byte {})", span.start);
        let _ = writeln!(out, "{line}");
        let _ = writeln!(out, "  {}{}", " ".repeat(col), "^".repeat(carets));
        out
    }

    /// The cells shown for a long input: from about `CONTEXT` columns before the error to
    /// about `2 * CONTEXT` columns after that start.
    fn window(cells: &[Cell], first: usize) -> (usize, usize) {
        let mut from = first.min(cells.len());
        let mut before = 0;
        while from > 0 && before + cells[from - 1].width <= CONTEXT {
            from -= 1;
            before += cells[from].width;
        }
        let mut to = from;
        let mut shown = 0;
        while to < cells.len() && shown + cells[to].width <= 2 * CONTEXT {
            shown += cells[to].width;
            to += 1;
        }
        (from, to)
    }
}

#[cfg(test)]
mod tests {
    use crate::{parse_filter, parse_filter_with, parse_patch_path, ParseOptions};
    use insta::assert_snapshot;

    fn filter_error(input: &str) -> String {
        parse_filter(input).expect_err(input).to_string()
    }

    fn render(input: &str) -> String {
        parse_filter(input).expect_err(input).render(input)
    }

    #[test]
    fn messages_name_what_was_expected_and_where() {
        assert_snapshot!(filter_error(r#"userName eq"x""#), @r#"expected a space after `eq`, found `"` at byte 11"#);
        assert_snapshot!(filter_error("userName eq bjensen"), @"expected a value, found the bare word `bjensen`; strings need double quotes at byte 12");
        assert_snapshot!(filter_error("not userName pr"), @"expected `(` after `not` at byte 4");
        assert_snapshot!(filter_error(r#"(userName eq "john""#), @"the `(` at byte 0 is never closed; expected `)` at byte 19");
        assert_snapshot!(filter_error(r#"emails[type eq "work"].value eq "x""#), @"a sub-attribute after `]` is not allowed in a filter (the Entra form `a[f].b op v`); interop parsing accepts it at byte 22");
        assert_snapshot!(filter_error("x eq 1e400"), @"number is out of range for a 64-bit float at byte 5");
        assert_snapshot!(filter_error(r#"a eq "\uD800""#), @r"lone surrogate `\uD800`; a surrogate escape needs its pair at byte 6");
        assert_snapshot!(filter_error("title pr\tand\nx pr"), @r"expected a space after `and`, found `\n` at byte 12");
        let strict = parse_filter_with("a  pr", &ParseOptions::strict()).unwrap_err();
        assert_snapshot!(strict, @"only a single space is allowed here in strict mode at byte 1");
    }

    #[test]
    fn scim_type_follows_the_grammar() {
        assert_eq!(
            parse_filter("a eq").unwrap_err().scim_type(),
            "invalidFilter"
        );
        assert_eq!(
            parse_patch_path("a[b eq]").unwrap_err().scim_type(),
            "invalidPath"
        );
        assert_eq!(parse_patch_path("").unwrap_err().scim_type(), "invalidPath");
    }

    #[test]
    fn caret_under_the_token() {
        assert_snapshot!(render(r#"userName eq "x" garbage"#), @r#"
        error: expected `and`, `or` or end of input, found `garbage` (byte 16)
          userName eq "x" garbage
                          ^^^^^^^
        "#);
    }

    #[test]
    fn caret_at_the_end_of_input() {
        assert_snapshot!(render(r#"(userName eq "john""#), @r#"
        error: the `(` at byte 0 is never closed; expected `)` (byte 19)
          (userName eq "john"
                             ^
        "#);
    }

    #[test]
    fn caret_counts_wide_and_combining_characters() {
        assert_snapshot!(render("displayName eq \"名前😀e\u{301}\" garbage"), @r#"
        error: expected `and`, `or` or end of input, found `garbage` (byte 31)
          displayName eq "名前😀é" garbage
                                   ^^^^^^^
        "#);
    }

    #[test]
    fn caret_stays_aligned_after_escaped_control_characters() {
        assert_snapshot!(render("a pr\tand\tb eq 1 x"), @r"
        error: expected `and`, `or` or end of input, found `x` (byte 16)
          a pr\tand\tb eq 1 x
                            ^
        ");
    }

    #[test]
    fn long_inputs_show_a_window() {
        let input = format!(
            "userName eq \"{}\" and {} x",
            "a".repeat(150),
            "b pr and ".repeat(5)
        );
        let out = parse_filter(&input).unwrap_err().render(&input);
        assert_snapshot!(out, @r"
        error: expected a space and an operator (`eq`, `ne`, `co`, `sw`, `ew`, `gt`, `lt`, `ge`, `le` or `pr`), found end of input (byte 216)
          …d b pr and b pr and b pr and b pr and  x
                                                   ^
        ");
        let input = format!("{}x zzz {}", "a pr and ".repeat(20), "b pr and ".repeat(20));
        let out = parse_filter(&input).unwrap_err().render(&input);
        assert_snapshot!(out, @r"
        error: unknown operator `zzz`; expected `eq`, `ne`, `co`, `sw`, `ew`, `gt`, `lt`, `ge`, `le` or `pr` (byte 182)
          …d a pr and a pr and a pr and a pr and x zzz b pr and b pr and b pr and b pr and …
                                                   ^^^
        ");
    }

    #[test]
    fn render_survives_a_span_beyond_the_input() {
        let err = parse_filter("a pr)").unwrap_err();
        assert_snapshot!(err.render("a"), @r"
        error: unmatched `)` (byte 4)
          a
           ^
        ");
    }
}
