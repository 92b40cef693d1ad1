//! PATCH paths: `PATH = attrPath / valuePath [subAttr]` (RFC 7644 section 3.5.2).
//!
//! The attribute path and the value filter reuse the filter grammar of
//! [`crate::filter`]; errors from here report [`Grammar::PatchPath`], so their
//! [`Error::scim_type`] is `invalidPath`.
//!
//! ```
//! let p = scim_parser::parse_patch_path(r#"addresses[type eq "work"].streetAddress"#).unwrap();
//! assert_eq!(p.attr.name, "addresses");
//! assert_eq!(p.sub_attr.as_deref(), Some("streetAddress"));
//! let err = scim_parser::parse_patch_path(r#"userName eq "x""#).unwrap_err();
//! assert_eq!(err.scim_type(), "invalidPath");
//! ```

use crate::error::{Error, ErrorKind, Grammar, Span};
use crate::filter::{AttrPath, Filter, PResult, ParseOptions, Parser};
use std::fmt;

/// A parsed PATCH path.
///
/// A bare schema URN such as `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`
/// is grammatically a URI plus an attribute name (`uri = "urn:...:2.0"`, `name = "User"`);
/// only schema knowledge tells the two readings apart. Consumers should first test
/// [`PatchPath::schema_urn`] against the schemas they know (case-insensitively, RFC 7644
/// section 3.10) and treat a match as "the whole extension object"; otherwise the path
/// names attribute `name` of schema `uri`.
///
/// ```
/// let p = scim_parser::parse_patch_path(r#"emails[type eq "work"].value"#).unwrap();
/// assert_eq!(p.attr.name, "emails");
/// assert_eq!(p.filter.as_ref().unwrap().to_string(), r#"type eq "work""#);
/// assert_eq!(p.sub_attr.as_deref(), Some("value"));
/// assert_eq!(p.to_string(), r#"emails[type eq "work"].value"#);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PatchPath {
    /// The attribute the path starts from. For a bare schema URN such as
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User` this is
    /// `uri = "urn:...:2.0"`, `name = "User"`; resolve it against known schemas.
    pub attr: AttrPath,
    /// The value filter inside `[...]`, if any.
    pub filter: Option<Filter>,
    /// The sub-attribute after `]`, if any (`members[...].display`).
    pub sub_attr: Option<String>,
    /// Where the path stands in the input.
    pub span: Span,
}

impl PatchPath {
    /// The whole path as a candidate schema URN (`uri:name`), when it has the shape of one:
    /// a URI prefix, no sub-attribute and no filter.
    ///
    /// ```
    /// let p = scim_parser::parse_patch_path(
    ///     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    /// ).unwrap();
    /// assert_eq!(
    ///     p.schema_urn().as_deref(),
    ///     Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
    /// );
    /// ```
    pub fn schema_urn(&self) -> Option<String> {
        let uri = self.attr.uri.as_ref()?;
        if self.attr.sub_attr.is_some() || self.filter.is_some() || self.sub_attr.is_some() {
            return None;
        }
        Some(format!("{uri}:{}", self.attr.name))
    }

    /// Whether two paths are the same, ignoring spans.
    ///
    /// ```
    /// use scim_parser::parse_patch_path;
    /// let a = parse_patch_path("members[value eq \"1\"]").unwrap();
    /// let b = parse_patch_path("  members[ value eq \"1\" ]").unwrap();
    /// assert!(a.eq_ignore_spans(&b) && a != b);
    /// ```
    pub fn eq_ignore_spans(&self, other: &PatchPath) -> bool {
        let filters = match (&self.filter, &other.filter) {
            (Some(a), Some(b)) => a.eq_ignore_spans(b),
            (None, None) => true,
            _ => false,
        };
        self.attr.eq_ignore_spans(&other.attr) && filters && self.sub_attr == other.sub_attr
    }

    /// A copy with every span set to `0..0`.
    ///
    /// ```
    /// use scim_parser::parse_patch_path;
    /// let a = parse_patch_path(" title").unwrap().without_spans();
    /// assert_eq!(a, parse_patch_path("title").unwrap().without_spans());
    /// ```
    pub fn without_spans(&self) -> PatchPath {
        PatchPath {
            attr: self.attr.without_spans(),
            filter: self.filter.as_ref().map(Filter::without_spans),
            sub_attr: self.sub_attr.clone(),
            span: Span::default(),
        }
    }
}

/// Parses a PATCH path with the default options.
///
/// ```
/// let p = scim_parser::parse_patch_path(r#"members[value eq "2819c223"].displayName"#).unwrap();
/// assert_eq!(p.attr.name, "members");
/// assert_eq!(p.sub_attr.as_deref(), Some("displayName"));
/// ```
pub fn parse_patch_path(input: &str) -> Result<PatchPath, Error> {
    parse_patch_path_with(input, &ParseOptions::default())
}

/// Parses a PATCH path with the given options.
///
/// ```
/// use scim_parser::{parse_patch_path_with, ErrorKind, ParseOptions};
/// let err = parse_patch_path_with(" title", &ParseOptions::strict()).unwrap_err();
/// assert_eq!(err.kind, ErrorKind::StrictWhitespace);
/// assert_eq!(err.scim_type(), "invalidPath");
/// ```
pub fn parse_patch_path_with(input: &str, options: &ParseOptions) -> Result<PatchPath, Error> {
    let mut p = Parser::new(input, options, Grammar::PatchPath).map_err(|e| *e)?;
    p.patch_path().map_err(|e| *p.recycle(e))
}

impl Parser<'_> {
    /// `PATH = attrPath / valuePath [subAttr]`, then the end of the input.
    fn patch_path(&mut self) -> PResult<PatchPath> {
        let start = self.pos;
        if !self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b"$._-:".contains(&b))
        {
            return Err(self.error_found(start, |found| ErrorKind::ExpectedAttrName { found }));
        }
        let attr = self.attr_path()?.into_owned();
        let mut filter = None;
        let mut sub_attr = None;
        if self.peek() == Some(b'[') {
            filter = Some(self.bracket_filter()?.into_owned());
            if self.peek() == Some(b'.') {
                self.pos += 1;
                sub_attr = Some(self.sub_attr_name()?.name.to_owned());
            }
        }
        let span = Span::new(start, self.pos);
        self.path_end()?;
        Ok(PatchPath {
            attr,
            filter,
            sub_attr,
            span,
        })
    }

    /// Nothing may follow a PATCH path.
    fn path_end(&mut self) -> PResult<()> {
        let at = self.pos;
        match self.peek() {
            None => Ok(()),
            Some(b'[') => Err(self.error(ErrorKind::SecondValueFilter, Span::new(at, at + 1))),
            Some(b']') => Err(self.error(ErrorKind::UnmatchedBracket, Span::new(at, at + 1))),
            Some(b' ' | b'\t') => {
                self.skip_ws();
                let word_end = self.scan(self.pos, |b| b.is_ascii_alphabetic());
                let word = self.text(self.pos, word_end);
                if ["eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le", "pr"]
                    .iter()
                    .any(|op| word.eq_ignore_ascii_case(op))
                {
                    return Err(self.error(ErrorKind::FilterAsPath, Span::new(at, word_end)));
                }
                Err(self.error_found(self.pos, |found| ErrorKind::ExpectedEndOfPath { found }))
            }
            Some(_) => Err(self.error_found(at, |found| ErrorKind::ExpectedEndOfPath { found })),
        }
    }
}

/// Canonical form: `attrPath`, then `[filter]` and `.subAttr` when present.
impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}
