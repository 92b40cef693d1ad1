//! The filter AST (every node with a byte span), the filter parser and a `Display` that
//! round-trips.
//!
//! The tree comes in two forms with the same nodes and spans: [`Filter`] owns its names and
//! values and boxes its nodes; [`FilterRef`] borrows names and values from the input
//! ([`parse_filter_ref`]) and keeps its nodes in one vector, read through [`FilterNode`]
//! views. The parser builds the borrowed form and [`parse_filter`] converts it, so both
//! share one grammar.
//!
//! The parser is hand-written over bytes, one method per grammar production, each with
//! its ABNF (RFC 7644 section 3.4.2.2, read with errata 4690 and 7322) in its doc comment.
//! It does not recurse: groups, `not` and value-path brackets open frames on an explicit
//! stack, each charged against the depth limit as it opens, so no input can overflow the
//! call stack. See the crate docs, "Grammar policy", for every choice
//! the RFC leaves open.
//!
//! ```
//! use scim_parser::{parse_filter, FilterKind};
//! let f = parse_filter(r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#).unwrap();
//! let FilterKind::And(terms) = &f.kind else { unreachable!() };
//! assert!(matches!(terms[1].kind, FilterKind::Or(_)));
//! assert_eq!(f.to_string(), r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#);
//! ```

use crate::error::{Closer, Error, ErrorKind, Found, Grammar, Span};
use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

/// An attribute path: `[URI ":"] ATTRNAME *1subAttr` (RFC 7644 section 3.4.2.2).
///
/// Names keep the case they were written in; comparison is the consumer's business
/// (RFC 7644 section 3.10 makes every facet case-insensitive).
///
/// ```
/// use scim_parser::{parse_filter, FilterKind};
/// let f = parse_filter("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName pr").unwrap();
/// let FilterKind::Present { path } = &f.kind else { unreachable!() };
/// assert_eq!(path.uri.as_deref(), Some("urn:ietf:params:scim:schemas:core:2.0:User"));
/// assert_eq!((path.name.as_str(), path.sub_attr.as_deref()), ("name", Some("givenName")));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URI without the trailing `:`, for example
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
    pub uri: Option<String>,
    /// The attribute name, for example `manager`.
    pub name: String,
    /// The sub-attribute name after `.`, for example `value`.
    pub sub_attr: Option<String>,
    /// Where the path stands in the input.
    pub span: Span,
}

/// A comparison operator (RFC 7644 section 3.4.2.2, Table 3).
///
/// ```
/// use scim_parser::{parse_filter, CompareOp, FilterKind};
/// let f = parse_filter(r#"title SW "Tour""#).unwrap();
/// assert!(matches!(f.kind, FilterKind::Compare { op: CompareOp::Sw, .. }));
/// assert_eq!(CompareOp::Sw.to_string(), "sw");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `co`
    Co,
    /// `sw`
    Sw,
    /// `ew`
    Ew,
    /// `gt`
    Gt,
    /// `lt`
    Lt,
    /// `ge`
    Ge,
    /// `le`
    Le,
}

/// A JSON literal as written in a filter (`compValue`).
///
/// ```
/// use scim_parser::{parse_filter, FilterKind, LiteralValue};
/// let f = parse_filter(r#"x eq 1.50e3"#).unwrap();
/// let FilterKind::Compare { value, .. } = &f.kind else { unreachable!() };
/// assert_eq!(value.value, LiteralValue::Number("1.50e3".into()));
/// assert_eq!(LiteralValue::String("a\"b".into()).to_string(), r#""a\"b""#);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum LiteralValue {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A JSON number; the text is kept exactly as written so printing is lossless.
    Number(String),
    /// A JSON string, unescaped.
    String(String),
}

/// A `compValue` with its span.
///
/// ```
/// use scim_parser::{parse_filter, FilterKind, LiteralValue, Span};
/// let f = parse_filter(r#"userName eq "bjensen""#).unwrap();
/// let FilterKind::Compare { value, .. } = &f.kind else { unreachable!() };
/// assert_eq!(value.value, LiteralValue::String("bjensen".into()));
/// assert_eq!(value.span, Span::new(12, 21));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Literal {
    /// The value.
    pub value: LiteralValue,
    /// Where the literal stands in the input.
    pub span: Span,
}

/// A filter node with its span.
///
/// ```
/// use scim_parser::{parse_filter, Span};
/// let input = r#"title pr and userType eq "Employee" or userType eq "Intern""#;
/// let f = parse_filter(input).unwrap();
/// assert_eq!(f.span, Span::new(0, input.len()));
/// assert_eq!(f.to_string(), input);
/// // A group leaves no node: the `or` covers the text inside the parentheses.
/// let g = parse_filter("(title pr or nickName pr)").unwrap();
/// assert_eq!(g.span, Span::new(1, 24));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    /// What kind of node this is.
    pub kind: FilterKind,
    /// Where the node stands in the input (for a group, the text inside the parentheses
    /// is what the node covers; the parentheses leave no node).
    pub span: Span,
}

/// The kinds of filter node.
///
/// `And` and `Or` are n-ary (at least two operands): `a and b and c` is one `And` with
/// three operands, while `(a and b) and c` keeps the written grouping as a nested `And`,
/// so printing and re-parsing gives back the same tree.
///
/// ```
/// use scim_parser::{parse_filter, FilterKind};
/// let f = parse_filter("(a pr and b pr) and c pr").unwrap();
/// let FilterKind::And(items) = &f.kind else { unreachable!() };
/// assert_eq!(items.len(), 2);
/// assert!(matches!(items[0].kind, FilterKind::And(_)));
/// assert_eq!(f.to_string(), "(a pr and b pr) and c pr");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum FilterKind {
    /// `attrPath SP compareOp SP compValue`
    Compare {
        /// The attribute compared.
        path: AttrPath,
        /// The operator.
        op: CompareOp,
        /// The value compared with.
        value: Literal,
    },
    /// `attrPath SP "pr"`
    Present {
        /// The attribute tested.
        path: AttrPath,
    },
    /// `FILTER SP "and" SP FILTER ...`, two or more operands.
    And(Vec<Filter>),
    /// `FILTER SP "or" SP FILTER ...`, two or more operands.
    Or(Vec<Filter>),
    /// `"not" "(" FILTER ")"`
    Not(Box<Filter>),
    /// `attrPath "[" valFilter "]"`
    ValuePath {
        /// The multi-valued attribute whose values are filtered.
        path: AttrPath,
        /// The filter applied to each value (never itself contains a valuePath).
        filter: Box<Filter>,
    },
}

/// An attribute path borrowed from the input: the zero-copy twin of [`AttrPath`], made by
/// [`parse_filter_ref`].
///
/// ```
/// use scim_parser::filter::{parse_filter_ref, FilterRefKind};
/// let f = parse_filter_ref("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName pr").unwrap();
/// let FilterRefKind::Present { path } = f.kind() else { unreachable!() };
/// assert_eq!(path.uri, Some("urn:ietf:params:scim:schemas:core:2.0:User"));
/// assert_eq!((path.name, path.sub_attr), ("name", Some("givenName")));
/// assert_eq!(path.into_owned().sub_attr.as_deref(), Some("givenName"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AttrPathRef<'a> {
    /// The schema URI without the trailing `:`.
    pub uri: Option<&'a str>,
    /// The attribute name.
    pub name: &'a str,
    /// The sub-attribute name after `.`.
    pub sub_attr: Option<&'a str>,
    /// Where the path stands in the input.
    pub span: Span,
}

/// A JSON literal borrowed from the input: the zero-copy twin of [`LiteralValue`]. A string
/// without escapes is a slice of the input; one with escapes was decoded once, while
/// parsing, and is borrowed from the tree. (`Cow::Owned` appears only in literals built by
/// hand.)
///
/// ```
/// use scim_parser::filter::{parse_filter_ref, FilterRefKind, LiteralValueRef};
/// use std::borrow::Cow;
/// let input = r#"a eq "plain" or b eq "tab\tbed" or c eq -1.5"#;
/// let f = parse_filter_ref(input).unwrap();
/// let FilterRefKind::Or(terms) = f.kind() else { unreachable!() };
/// let values: Vec<_> = terms.map(|t| match t.kind() {
///     FilterRefKind::Compare { value, .. } => value.value,
///     _ => unreachable!(),
/// }).collect();
/// assert!(matches!(values[0], LiteralValueRef::String(Cow::Borrowed("plain"))));
/// assert!(matches!(values[1], LiteralValueRef::String(Cow::Borrowed("tab\tbed"))));
/// assert_eq!(values[2], LiteralValueRef::Number("-1.5"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum LiteralValueRef<'a> {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A JSON number, exactly as written.
    Number(&'a str),
    /// A JSON string, unescaped.
    String(Cow<'a, str>),
}

/// A `compValue` with its span, borrowed from the input: the twin of [`Literal`].
///
/// ```
/// use scim_parser::filter::{parse_filter_ref, FilterRefKind, LiteralValueRef};
/// use scim_parser::Span;
/// let f = parse_filter_ref("active eq true").unwrap();
/// let FilterRefKind::Compare { value, .. } = f.kind() else { unreachable!() };
/// assert_eq!((&value.value, value.span), (&LiteralValueRef::Bool(true), Span::new(10, 14)));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LiteralRef<'a> {
    /// The value.
    pub value: LiteralValueRef<'a>,
    /// Where the literal stands in the input.
    pub span: Span,
}

/// A filter tree borrowed from the input, made by [`parse_filter_ref`]: the same tree as
/// [`Filter`] (same nodes, same spans), but names, numbers and strings without escapes are
/// slices of the input instead of owned `String`s, and the nodes live in one vector (an
/// arena) instead of one allocation each: a lone comparison allocates nothing, and a
/// filter with `and`, `or`, `not` or a value path allocates one vector whatever its shape.
/// Nodes store byte offsets into the input, not slices, so each is 40 bytes and owns
/// nothing: dropping a tree of any depth frees one vector (and the strings that had
/// escapes, which are decoded once while parsing).
///
/// Walk it from [`FilterRef::root`]: each [`FilterNode`] gives its [`FilterNode::kind`],
/// whose `and`/`or` operands come as an iterator of nodes.
/// [`FilterRef::into_owned`] gives the [`Filter`] that [`parse_filter`] returns for the
/// same input; [`parse_filter`] is implemented that way, so the two never disagree.
///
/// ```
/// use scim_parser::filter::{parse_filter_ref, FilterRefKind};
/// use scim_parser::parse_filter;
/// let input = r#"userType eq "Employee" and not (emails[type eq "work"])"#;
/// let borrowed = parse_filter_ref(input).unwrap();
/// let FilterRefKind::And(mut terms) = borrowed.root().kind() else { unreachable!() };
/// assert_eq!(terms.len(), 2);
/// assert!(matches!(terms.nth(1).unwrap().kind(), FilterRefKind::Not(_)));
/// assert_eq!(borrowed.to_string(), input);
/// assert_eq!(borrowed.into_owned(), parse_filter(input).unwrap());
/// ```
#[derive(Clone)]
pub struct FilterRef<'a> {
    /// The input: every offset in the nodes points into it.
    src: &'a str,
    /// The root, kept out of `nodes` so that a lone comparison needs no vector.
    root: Node,
    /// Every other node, each after its operands (post-order): the parser pushes a node
    /// once it is finished, so the root is always the last one pushed.
    nodes: Arena,
    /// The strings that had escapes, decoded, indexed by [`LitKind::Escaped`].
    strings: Vec<String>,
}

thread_local! {
    /// The arena of the last tree dropped (or parse failed, [`Parser::recycle`]) on this
    /// thread, emptied, for the next parse to fill: a server that parses a filter per
    /// request and drops it afterwards allocates no arena in the steady state. It holds at
    /// most one vector of at most [`MAX_SPARE_NODES`] nodes per thread, freed when the
    /// thread ends (`tests/arena.rs` counts the bytes).
    static SPARE_ARENA: Cell<Vec<Node>> = const { Cell::new(Vec::new()) };
}

/// The largest arena kept as [`SPARE_ARENA`] (1,024 nodes, 40 KiB); larger ones are freed.
const MAX_SPARE_NODES: usize = 1024;

/// The node vector of a [`FilterRef`]. A type of its own, without the input's lifetime,
/// so that the tree has no `Drop` of its own: a tree may then be dropped after its input
/// (declared before it) as long as it is not used once the input is gone, as before the
/// spare arena existed (`tests/borrowed.rs`, `a_tree_may_be_dropped_after_its_input`).
#[derive(Clone, Default)]
struct Arena(Vec<Node>);

/// Hands the vector to [`SPARE_ARENA`] (freeing the one there, if any), so the next parse
/// on this thread need not allocate.
impl Drop for Arena {
    fn drop(&mut self) {
        let mut nodes = std::mem::take(&mut self.0);
        if nodes.capacity() == 0 || nodes.capacity() > MAX_SPARE_NODES {
            return;
        }
        nodes.clear();
        // during thread teardown the spare is gone: `nodes` is then simply freed
        let _ = SPARE_ARENA.try_with(|spare| spare.set(nodes));
    }
}

/// Converts a byte offset into the input to the 32 bits a node stores it in; the parser
/// refuses any input longer than `u32::MAX` bytes before it reads anything.
#[inline(always)]
fn off(at: usize) -> u32 {
    debug_assert!(u32::try_from(at).is_ok());
    at as u32
}

/// A [`Span`] from two stored offsets.
#[inline(always)]
fn span_of(start: u32, end: u32) -> Span {
    Span::new(start as usize, end as usize)
}

/// An attribute path as offsets into the input: the path is `start..end`, its name
/// `name..dot`, its URI (when `name > start`) `start..name - 1`, and its sub-attribute
/// (when `dot < end`) `dot + 1..end`. [`PathAt::resolve`] gives the [`AttrPathRef`].
#[derive(Clone, Copy, Debug, PartialEq)]
struct PathAt {
    start: u32,
    name: u32,
    dot: u32,
    end: u32,
}

impl PathAt {
    /// A lone name, `start..end`.
    #[inline(always)]
    fn name(start: usize, end: usize) -> PathAt {
        PathAt {
            start: off(start),
            name: off(start),
            dot: off(end),
            end: off(end),
        }
    }

    /// The path in `src`, the input it was read from.
    #[inline]
    fn resolve(self, src: &str) -> AttrPathRef<'_> {
        let (start, name, dot, end) = (
            self.start as usize,
            self.name as usize,
            self.dot as usize,
            self.end as usize,
        );
        AttrPathRef {
            uri: (name > start).then(|| &src[start..name - 1]),
            name: &src[name..dot],
            sub_attr: (dot < end).then(|| &src[dot + 1..end]),
            span: Span::new(start, end),
        }
    }
}

/// What a `compValue` is, the text itself staying in the input.
#[derive(Clone, Copy, Debug, PartialEq)]
enum LitKind {
    Null,
    Bool(bool),
    /// The number is the literal's text.
    Number,
    /// A string without escapes: the text between the quotes.
    Str,
    /// A string with escapes, decoded into [`FilterRef::strings`] at this index.
    Escaped(u32),
}

/// A `compValue` as its kind and offsets (`start..end`, quotes included).
#[derive(Clone, Copy, Debug, PartialEq)]
struct LitAt {
    kind: LitKind,
    start: u32,
    end: u32,
}

impl LitAt {
    /// The literal in `src`, with decoded strings borrowed from `strings`.
    #[inline]
    fn resolve<'t>(self, src: &'t str, strings: &'t [String]) -> LiteralRef<'t> {
        let (start, end) = (self.start as usize, self.end as usize);
        let value = match self.kind {
            LitKind::Null => LiteralValueRef::Null,
            LitKind::Bool(b) => LiteralValueRef::Bool(b),
            LitKind::Number => LiteralValueRef::Number(&src[start..end]),
            LitKind::Str => LiteralValueRef::String(Cow::Borrowed(&src[start + 1..end - 1])),
            LitKind::Escaped(i) => LiteralValueRef::String(Cow::Borrowed(&strings[i as usize])),
        };
        LiteralRef {
            value,
            span: Span::new(start, end),
        }
    }

    /// The owned [`Literal`]; a decoded string is moved out of `strings`, not copied.
    fn into_owned(self, src: &str, strings: &mut [String]) -> Literal {
        let value = match self.kind {
            LitKind::Escaped(i) => LiteralValue::String(std::mem::take(&mut strings[i as usize])),
            _ => self.resolve(src, &[]).value.into_owned(),
        };
        Literal {
            value,
            span: span_of(self.start, self.end),
        }
    }
}

/// One node of a [`FilterRef`]: its kind, and the index of its next sibling when it is an
/// `and`/`or` operand. Names, values and spans are byte offsets into the input (32-bit),
/// so that a node is small (40 bytes), cheap to move and needs no drop; the
/// [`FilterNode`] view turns them back into slices.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Node {
    kind: NodeKind,
    next: u32,
}

/// [`FilterRefKind`] as stored: operands are indexes into [`FilterRef::nodes`].
#[derive(Clone, Copy, Debug, PartialEq)]
enum NodeKind {
    /// Spans from the path to the end of the value.
    Compare {
        path: PathAt,
        op: CompareOp,
        value: LitAt,
    },
    /// Spans from the path to `end`, the end of `pr`.
    Present {
        path: PathAt,
        end: u32,
    },
    /// The first operand and the number of operands, linked by [`Node::next`].
    And {
        first: u32,
        len: u32,
        start: u32,
        end: u32,
    },
    /// As for `And`.
    Or {
        first: u32,
        len: u32,
        start: u32,
        end: u32,
    },
    Not {
        inner: u32,
        start: u32,
        end: u32,
    },
    /// Spans from the path to `end`, after `]` (or after the Entra comparison).
    ValuePath {
        path: PathAt,
        filter: u32,
        end: u32,
    },
}

impl Node {
    #[inline(always)]
    fn new(kind: NodeKind) -> Node {
        Node { kind, next: 0 }
    }

    #[inline]
    fn span(&self) -> Span {
        match self.kind {
            NodeKind::Compare { path, value, .. } => span_of(path.start, value.end),
            NodeKind::Present { path, end } | NodeKind::ValuePath { path, end, .. } => {
                span_of(path.start, end)
            }
            NodeKind::And { start, end, .. }
            | NodeKind::Or { start, end, .. }
            | NodeKind::Not { start, end, .. } => span_of(start, end),
        }
    }
}

/// One node of a [`FilterRef`], as seen from outside: cheap to copy, and borrowing the
/// tree (`'t`) whose leaves borrow the input (`'a`).
///
/// ```
/// use scim_parser::filter::{parse_filter_ref, FilterRefKind};
/// use scim_parser::Span;
/// let f = parse_filter_ref("not (a pr)").unwrap();
/// let FilterRefKind::Not(inner) = f.root().kind() else { unreachable!() };
/// assert_eq!((f.root().span(), inner.span()), (Span::new(0, 10), Span::new(5, 9)));
/// assert_eq!(inner.to_string(), "a pr");
/// ```
#[derive(Clone, Copy)]
pub struct FilterNode<'t, 'a> {
    tree: &'t FilterRef<'a>,
    node: &'t Node,
}

/// What a [`FilterNode`] is: [`FilterKind`] with borrowed leaves and operands given as
/// nodes of the same tree.
///
/// ```
/// use scim_parser::filter::{parse_filter_ref, FilterRefKind};
/// let f = parse_filter_ref("(a pr and b pr) and c pr").unwrap();
/// let FilterRefKind::And(mut items) = f.root().kind() else { unreachable!() };
/// assert!(matches!(items.next().unwrap().kind(), FilterRefKind::And(_)));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum FilterRefKind<'t, 'a> {
    /// `attrPath SP compareOp SP compValue`
    Compare {
        /// The attribute compared.
        path: AttrPathRef<'a>,
        /// The operator.
        op: CompareOp,
        /// The value compared with, borrowed for as long as the tree (`'t`): a string with
        /// escapes borrows its decoded text from the tree, anything else the input. Keep
        /// it beyond the tree with [`LiteralRef::into_owned`].
        value: LiteralRef<'t>,
    },
    /// `attrPath SP "pr"`
    Present {
        /// The attribute tested.
        path: AttrPathRef<'a>,
    },
    /// `FILTER SP "and" SP FILTER ...`, two or more operands.
    And(Operands<'t, 'a>),
    /// `FILTER SP "or" SP FILTER ...`, two or more operands.
    Or(Operands<'t, 'a>),
    /// `"not" "(" FILTER ")"`
    Not(FilterNode<'t, 'a>),
    /// `attrPath "[" valFilter "]"`
    ValuePath {
        /// The multi-valued attribute whose values are filtered.
        path: AttrPathRef<'a>,
        /// The filter applied to each value.
        filter: FilterNode<'t, 'a>,
    },
}

/// The operands of an `and` or `or` node, in the order written.
///
/// ```
/// use scim_parser::filter::{parse_filter_ref, FilterRefKind};
/// let f = parse_filter_ref("a pr or b pr or c pr").unwrap();
/// let FilterRefKind::Or(items) = f.root().kind() else { unreachable!() };
/// let printed: Vec<String> = items.map(|n| n.to_string()).collect();
/// assert_eq!(printed, ["a pr", "b pr", "c pr"]);
/// ```
#[derive(Clone)]
pub struct Operands<'t, 'a> {
    tree: &'t FilterRef<'a>,
    next: usize,
    left: usize,
}

/// The hard ceiling on [`ParseOptions::max_depth`]: deeper limits are clamped to this, so
/// that parsing, `Drop`, `Debug`, `Display` and comparison of any tree the parser returns
/// stay far inside a 2 MiB thread stack.
///
/// ```
/// use scim_parser::{filter::MAX_DEPTH_CEILING, parse_filter_with, ErrorKind, ParseOptions};
/// let options = ParseOptions { max_depth: 10_000, ..ParseOptions::default() };
/// let deep = format!("{}a pr{}", "(".repeat(200), ")".repeat(200));
/// let err = parse_filter_with(&deep, &options).unwrap_err();
/// assert_eq!(err.kind, ErrorKind::NestingTooDeep { max: MAX_DEPTH_CEILING });
/// ```
pub const MAX_DEPTH_CEILING: usize = 128;

/// Limits and leniencies for parsing. `ParseOptions::default()` is the documented default
/// profile; see the crate docs for each choice.
///
/// ```
/// use scim_parser::{parse_filter_with, ErrorKind, ParseOptions};
/// let tight = ParseOptions { max_terms: 2, ..ParseOptions::default() };
/// let err = parse_filter_with("a pr or b pr or c pr", &tight).unwrap_err();
/// assert_eq!(err.kind, ErrorKind::TooManyTerms { max: 2 });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseOptions {
    /// Longest input accepted, in bytes. Inputs beyond `u32::MAX` bytes (4 GiB) are
    /// refused whatever this says: the tree stores 32-bit offsets.
    pub max_len: usize,
    /// Deepest nesting of groups, `not` and valuePath brackets (clamped to
    /// [`MAX_DEPTH_CEILING`]).
    pub max_depth: usize,
    /// Most comparisons and presence tests in one filter.
    pub max_terms: usize,
    /// Accept exactly one SP between tokens only (RFC 5234 `SP`), no tabs, no trimming.
    pub strict_whitespace: bool,
    /// Accept `$` in attribute names (`$ref`, RFC 7643 section 2.1 `nameChar`).
    pub allow_dollar: bool,
    /// Accept the Entra form `emails[type eq "work"].value eq "x"` and read it as
    /// `emails[type eq "work" and value eq "x"]`.
    pub entra_value_path_compare: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            max_len: 8 * 1024,
            max_depth: 64,
            max_terms: 1024,
            strict_whitespace: false,
            allow_dollar: true,
            entra_value_path_compare: false,
        }
    }
}

impl ParseOptions {
    /// Exactly the published grammar: single spaces, no `$`, no Entra form.
    ///
    /// ```
    /// use scim_parser::{parse_filter_with, ErrorKind, ParseOptions};
    /// let err = parse_filter_with("userName  eq \"x\"", &ParseOptions::strict()).unwrap_err();
    /// assert_eq!(err.kind, ErrorKind::StrictWhitespace);
    /// assert!(parse_filter_with("userName  eq \"x\"", &ParseOptions::default()).is_ok());
    /// ```
    pub fn strict() -> Self {
        ParseOptions {
            strict_whitespace: true,
            allow_dollar: false,
            ..Self::default()
        }
    }

    /// The default profile plus the leniencies real identity providers need.
    ///
    /// ```
    /// use scim_parser::{parse_filter_with, ParseOptions};
    /// let entra = r#"emails[type eq "work"].value eq "a@x.com""#;
    /// assert!(parse_filter_with(entra, &ParseOptions::default()).is_err());
    /// let f = parse_filter_with(entra, &ParseOptions::interop()).unwrap();
    /// assert_eq!(f.to_string(), r#"emails[type eq "work" and value eq "a@x.com"]"#);
    /// ```
    pub fn interop() -> Self {
        ParseOptions {
            entra_value_path_compare: true,
            ..Self::default()
        }
    }
}

/// Parses a filter with the default options.
///
/// ```
/// use scim_parser::{parse_filter, FilterKind};
/// let f = parse_filter(r#"title pr or userType eq "Intern""#).unwrap();
/// assert!(matches!(f.kind, FilterKind::Or(ref v) if v.len() == 2));
/// ```
pub fn parse_filter(input: &str) -> Result<Filter, Error> {
    parse_filter_with(input, &ParseOptions::default())
}

/// Parses a filter with the given options.
///
/// ```
/// use scim_parser::{parse_filter_with, ErrorKind, ParseOptions};
/// let err = parse_filter_with("members.$ref pr", &ParseOptions::strict()).unwrap_err();
/// assert_eq!(err.kind, ErrorKind::DollarInName);
/// assert!(parse_filter_with("members.$ref pr", &ParseOptions::default()).is_ok());
/// ```
pub fn parse_filter_with(input: &str, options: &ParseOptions) -> Result<Filter, Error> {
    parse_filter_ref_with(input, options).map(FilterRef::into_owned)
}

/// Parses a filter with the default options into a tree that borrows from `input`.
///
/// Accepts and rejects exactly what [`parse_filter`] does, with the same errors:
/// [`parse_filter`] is this parse followed by [`FilterRef::into_owned`]. Use it when the
/// tree does not need to outlive the input, for example to inspect or check a filter
/// taken from a request.
///
/// ```
/// use scim_parser::filter::{parse_filter_ref, FilterRefKind};
/// use scim_parser::parse_filter;
/// let f = parse_filter_ref(r#"userName eq "bjensen""#).unwrap();
/// let FilterRefKind::Compare { path, .. } = f.root().kind() else { unreachable!() };
/// assert_eq!(path.name, "userName");
/// let bad = "userName eq bjensen";
/// assert_eq!(parse_filter_ref(bad).unwrap_err(), parse_filter(bad).unwrap_err());
/// ```
pub fn parse_filter_ref(input: &str) -> Result<FilterRef<'_>, Error> {
    parse_filter_ref_with(input, &ParseOptions::default())
}

/// Parses a filter with the given options into a tree that borrows from `input`; see
/// [`parse_filter_ref`].
///
/// ```
/// use scim_parser::filter::parse_filter_ref_with;
/// use scim_parser::{parse_filter_with, ParseOptions};
/// let entra = r#"emails[type eq "work"].value eq "a@x.com""#;
/// let f = parse_filter_ref_with(entra, &ParseOptions::interop()).unwrap();
/// assert_eq!(f.to_string(), r#"emails[type eq "work" and value eq "a@x.com"]"#);
/// let strict = ParseOptions::strict();
/// assert_eq!(parse_filter_ref_with(entra, &strict).unwrap_err(), parse_filter_with(entra, &strict).unwrap_err());
/// ```
pub fn parse_filter_ref_with<'a>(
    input: &'a str,
    options: &ParseOptions,
) -> Result<FilterRef<'a>, Error> {
    match filter_ref(input, options) {
        Ok(filter) => Ok(filter),
        Err(e) => Err(*e),
    }
}

/// [`parse_filter_ref_with`] with the parser's boxed error.
#[inline]
fn filter_ref<'a>(input: &'a str, options: &ParseOptions) -> PResult<FilterRef<'a>> {
    let mut p = Parser::new(input, options, Grammar::Filter)?;
    // a `finish` error drops the finished tree, whose arena goes back to the spare
    let filter = p.or_expr().map_err(|e| p.recycle(e))?;
    p.finish()?;
    Ok(filter)
}

/// Byte classes for the scanners, one bit each, looked up in [`CLASS`].
const NAME: u8 = 1;
const PATH: u8 = 2;
const WORD: u8 = 4;
const WS: u8 = 8;
/// `nameChar` without `$`: the bytes the path scanner skips without a second look.
const PLAIN: u8 = 16;

/// The class bits of every byte, so each scanner step is one load and one test.
static CLASS: [u8; 256] = classes();

const fn classes() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            NAME | PATH | WORD | PLAIN
        } else if b == b'$' {
            NAME | PATH | WORD
        } else if b == b':' || b == b'.' {
            PATH | WORD
        } else if b == b'+' {
            WORD
        } else if b == b' ' || b == b'\t' {
            WS
        } else {
            0
        };
        i += 1;
    }
    table
}

/// An attribute-path byte: `nameChar` plus the `:` and `.` that join URI, name and
/// sub-attribute.
#[inline]
fn is_path_byte(b: u8) -> bool {
    CLASS[usize::from(b)] & PATH != 0
}

/// `nameChar = "-" / "_" / DIGIT / ALPHA`, plus `$` (RFC 7643 section 2.1).
#[inline]
fn is_name_byte(b: u8) -> bool {
    CLASS[usize::from(b)] & NAME != 0
}

/// Bytes of a word in value position, read whole so errors can quote it.
#[inline]
fn is_value_word_byte(b: u8) -> bool {
    CLASS[usize::from(b)] & WORD != 0
}

/// [`is_name_byte`] without `$`.
#[inline]
fn is_plain_name_byte(b: u8) -> bool {
    CLASS[usize::from(b)] & PLAIN != 0
}

#[inline]
fn is_ws(b: u8) -> bool {
    CLASS[usize::from(b)] & WS != 0
}

/// The offset of the first `"`, `\` or control byte (U+0000 to U+001F) in `bytes`, or its
/// length: the run a JSON string copies verbatim. Eight bytes are tested at a time with
/// the classic zero-byte bit trick (the lowest flagged byte is always a true hit).
#[inline]
fn string_run(bytes: &[u8]) -> usize {
    let mut at = 0;
    while at + 8 <= bytes.len() {
        if let Some(i) = first_special(bytes, at) {
            return i;
        }
        at += 8;
    }
    if at == bytes.len() {
        return at;
    }
    if bytes.len() >= 8 {
        // the last eight bytes, overlapping bytes already known to be plain: any hit is new
        return first_special(bytes, bytes.len() - 8).unwrap_or(bytes.len());
    }
    at + bytes[at..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .unwrap_or(bytes.len() - at)
}

/// The offset of the first `"`, `\` or control byte in `bytes[at..at + 8]`, with the
/// zero-byte bit trick: a flagged byte above a true hit may be false, the lowest one never.
#[inline(always)]
fn first_special(bytes: &[u8], at: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    let x = u64::from_le_bytes(word);
    let quote = x ^ (ONES * u64::from(b'"'));
    let backslash = x ^ (ONES * u64::from(b'\\'));
    let hits = (quote.wrapping_sub(ONES) & !quote
        | backslash.wrapping_sub(ONES) & !backslash
        | x.wrapping_sub(ONES * 0x20) & !x)
        & HIGHS;
    (hits != 0).then(|| at + (hits.trailing_zeros() / 8) as usize)
}

/// The parser's results: the error is boxed so a result fits in registers (errors are
/// rare; the public functions unbox it).
pub(crate) type PResult<T> = Result<T, Box<Error>>;

/// What opened a [`Frame`].
enum FrameKind {
    /// The whole filter; ends at the end of the input.
    Top,
    /// `(`
    Group,
    /// `not (`, starting at byte `start`.
    Not {
        /// Where `not` stands.
        start: usize,
    },
    /// The `[` of a value path in a filter.
    Bracket {
        /// The attribute path before `[`.
        path: PathAt,
    },
    /// The `[` of a PATCH path; the bottom frame of [`Parser::bracket_filter`].
    PathBracket,
}

/// How a term begins.
enum TermStart {
    /// With an opener: `(`, `not (` or `attrPath [`.
    Open(FrameKind),
    /// With the attribute path of an `attrExp`.
    Attr(PathAt),
}

/// What [`Parser::or_expr`] already read before handing over to [`Parser::expression`].
enum Pending {
    /// A finished first term, at this index in the arena.
    Term(usize),
    /// The start of the first term.
    Start(TermStart),
}

/// The finished operands of a chain being read, already in the arena and linked through
/// [`Node::next`].
#[derive(Clone, Copy, Default)]
struct Chain {
    first: usize,
    last: usize,
    len: usize,
}

impl Chain {
    /// Appends the node at `id`.
    #[inline]
    fn push(&mut self, nodes: &mut [Node], id: usize) {
        if self.len == 0 {
            self.first = id;
        } else {
            nodes[self.last].next = off(id);
        }
        self.last = id;
        self.len += 1;
    }
}

/// One open level of nesting: what opened it, where, and the finished operands of its
/// `or` chain and of the `and` chain being read.
struct Frame {
    kind: FrameKind,
    /// Byte offset of the `(` or `[`.
    at: usize,
    /// The finished `or` operands of this level.
    ors: Chain,
    /// The finished `and` operands of the `or` operand being read.
    ands: Chain,
}

impl Frame {
    /// A level with no operands yet.
    fn new(kind: FrameKind, at: usize) -> Frame {
        Frame {
            kind,
            at,
            ors: Chain::default(),
            ands: Chain::default(),
        }
    }
}

/// The open frames below the current one: the first few inline, so a filter with little
/// nesting allocates no stack, the rest on the heap.
struct Frames {
    inline: [Option<Frame>; 4],
    len: usize,
    spill: Vec<Frame>,
}

impl Frames {
    fn new() -> Frames {
        Frames {
            inline: [None, None, None, None],
            len: 0,
            spill: Vec::new(),
        }
    }

    #[inline]
    fn push(&mut self, frame: Frame) {
        match self.inline.get_mut(self.len) {
            Some(slot) => *slot = Some(frame),
            None => self.spill.push(frame),
        }
        self.len += 1;
    }

    #[inline]
    fn pop(&mut self) -> Option<Frame> {
        self.len = self.len.checked_sub(1)?;
        match self.inline.get_mut(self.len) {
            Some(slot) => slot.take(),
            None => self.spill.pop(),
        }
    }
}

/// The logical operator after a term.
enum LogOp {
    And,
    Or,
}

/// An `and` node's kind, for [`Parser::finish_chain`].
fn and_kind(first: u32, len: u32, start: u32, end: u32) -> NodeKind {
    NodeKind::And {
        first,
        len,
        start,
        end,
    }
}

/// An `or` node's kind, for [`Parser::finish_chain`].
fn or_kind(first: u32, len: u32, start: u32, end: u32) -> NodeKind {
    NodeKind::Or {
        first,
        len,
        start,
        end,
    }
}

/// The parser state shared by the filter and PATCH-path grammars.
pub(crate) struct Parser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    /// The next byte to read.
    pub(crate) pos: usize,
    /// One past the last byte to read (the input is trimmed by moving `pos` and `end`).
    pub(crate) end: usize,
    /// A copy, so the tree's lifetime is the input's alone.
    opts: ParseOptions,
    max_depth: usize,
    depth: usize,
    terms: usize,
    /// Inside `[...]`: names are sub-attributes and a second `[` is a nested value path.
    in_brackets: bool,
    grammar: Grammar,
    /// The arena of the tree being built: every finished node but the root.
    nodes: Vec<Node>,
    /// The decoded strings of the tree being built (those that had escapes).
    strings: Vec<String>,
}

impl<'a> Parser<'a> {
    /// Checks the length limit and trims (or, in strict mode, refuses) whitespace at both
    /// ends.
    #[inline]
    pub(crate) fn new(src: &'a str, opts: &ParseOptions, grammar: Grammar) -> PResult<Parser<'a>> {
        let bytes = src.as_bytes();
        let err = |kind, span| Err(Box::new(Error::new(kind, span).with_grammar(grammar)));
        // nodes keep 32-bit offsets
        let max_len = opts.max_len.min(u32::MAX as usize);
        if src.len() > max_len {
            let kind = ErrorKind::InputTooLong {
                len: src.len(),
                max: max_len,
            };
            return err(kind, Span::new(max_len, src.len()));
        }
        let is_end_ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
        let (mut pos, mut end) = (0, bytes.len());
        if opts.strict_whitespace {
            if bytes.first().is_some_and(is_end_ws) {
                return err(ErrorKind::StrictWhitespace, Span::new(0, 1));
            }
            if bytes.last().is_some_and(is_end_ws) {
                return err(ErrorKind::StrictWhitespace, Span::new(end - 1, end));
            }
        } else {
            while pos < end && is_end_ws(&bytes[pos]) {
                pos += 1;
            }
            while end > pos && is_end_ws(&bytes[end - 1]) {
                end -= 1;
            }
        }
        if pos == end {
            return err(ErrorKind::EmptyInput, Span::new(0, src.len()));
        }
        Ok(Parser {
            src,
            // cut at `end`, so one bounds check also checks the end of the input
            bytes: &bytes[..end],
            pos,
            end,
            opts: opts.clone(),
            max_depth: opts.max_depth.min(MAX_DEPTH_CEILING),
            depth: 0,
            terms: 0,
            in_brackets: false,
            grammar,
            nodes: Vec::new(),
            strings: Vec::new(),
        })
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn error(&self, kind: ErrorKind, span: Span) -> Box<Error> {
        Box::new(Error::new(kind, span).with_grammar(self.grammar))
    }

    #[inline]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// The end of the run of `class` bytes starting at `from`.
    #[inline(always)]
    pub(crate) fn scan(&self, from: usize, class: fn(u8) -> bool) -> usize {
        match self.bytes[from.min(self.end)..self.end]
            .iter()
            .position(|&b| !class(b))
        {
            Some(n) => from + n,
            None => self.end.max(from),
        }
    }

    /// The input between two byte offsets.
    pub(crate) fn text(&self, start: usize, end: usize) -> &'a str {
        &self.src[start..end]
    }

    /// The token at `at`, for an error message: a word, one character, or the end.
    pub(crate) fn found_at(&self, at: usize) -> (Found, Span) {
        if at >= self.end {
            return (Found::End, Span::new(at, at));
        }
        let word_end = self.scan(at, is_value_word_byte);
        let mut stop = if word_end > at {
            word_end.min(at + 32)
        } else {
            at + self.src[at..].chars().next().map_or(1, char::len_utf8)
        };
        while !self.src.is_char_boundary(stop) {
            stop += 1;
        }
        (
            Found::Text(self.src[at..stop].to_owned()),
            Span::new(at, stop),
        )
    }

    /// An error whose span is the token at `at`.
    #[cold]
    pub(crate) fn error_found(
        &self,
        at: usize,
        kind: impl FnOnce(Found) -> ErrorKind,
    ) -> Box<Error> {
        let (found, span) = self.found_at(at);
        self.error(kind(found), span)
    }

    /// Skips a run of SP/HTAB and returns its length.
    #[inline]
    pub(crate) fn skip_ws(&mut self) -> usize {
        let start = self.pos;
        // the common cases, no space or exactly one, without the scanning loop
        match self.bytes.get(start..start + 2) {
            Some([a, _]) if !is_ws(*a) => return 0,
            Some([b' ', b]) if !is_ws(*b) => {
                self.pos = start + 1;
                return 1;
            }
            _ => {}
        }
        self.pos = self.scan(start, is_ws);
        self.pos - start
    }

    /// In strict mode, refuses whitespace `start..start+len` unless it is exactly one SP.
    #[inline]
    fn check_ws(&self, start: usize, len: usize) -> PResult<()> {
        if self.opts.strict_whitespace && (len != 1 || self.bytes[start] != b' ') {
            return Err(self.error(ErrorKind::StrictWhitespace, Span::new(start, start + len)));
        }
        Ok(())
    }

    /// `SP`, required after `after`: one or more SP/HTAB (exactly one SP in strict mode).
    #[inline(always)]
    fn sp(&mut self, after: &str) -> PResult<()> {
        let start = self.pos;
        let n = self.skip_ws();
        if n == 0 {
            return Err(self.error_found(start, |found| ErrorKind::ExpectedSpace {
                after: after.to_owned(),
                found,
            }));
        }
        self.check_ws(start, n)
    }

    /// Whitespace just inside `(` or `[`: allowed by default, refused in strict mode.
    fn ws_inside(&mut self) -> PResult<()> {
        let start = self.pos;
        let n = self.skip_ws();
        if n > 0 && self.opts.strict_whitespace {
            return Err(self.error(ErrorKind::StrictWhitespace, Span::new(start, start + n)));
        }
        Ok(())
    }

    /// Enters a group, `not` or bracket at `at`, charging the depth limit.
    fn enter(&mut self, at: usize) -> PResult<()> {
        self.depth += 1;
        if self.depth > self.max_depth {
            let kind = ErrorKind::NestingTooDeep {
                max: self.max_depth,
            };
            return Err(self.error(kind, Span::new(at, at + 1)));
        }
        Ok(())
    }

    /// Charges one comparison or presence test against the term limit.
    #[inline]
    fn count_term(&mut self, span: Span) -> PResult<()> {
        self.terms += 1;
        if self.terms > self.opts.max_terms {
            return Err(self.error(
                ErrorKind::TooManyTerms {
                    max: self.opts.max_terms,
                },
                span,
            ));
        }
        Ok(())
    }

    /// After the top-level expression: only trailing whitespace may remain.
    pub(crate) fn finish(&mut self) -> PResult<()> {
        self.skip_ws();
        match self.peek() {
            None => Ok(()),
            Some(b')') => {
                Err(self.error(ErrorKind::UnmatchedParen, Span::new(self.pos, self.pos + 1)))
            }
            Some(b']') => Err(self.error(
                ErrorKind::UnmatchedBracket,
                Span::new(self.pos, self.pos + 1),
            )),
            Some(_) => {
                Err(
                    self.error_found(self.pos, |found| ErrorKind::ExpectedLogicalOperator {
                        closer: Closer::End,
                        found,
                    }),
                )
            }
        }
    }

    /// `FILTER`, read without recursion.
    ///
    /// ```abnf
    /// FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
    /// logExp    = FILTER SP ("and" / "or") SP FILTER
    /// valuePath = attrPath "[" valFilter "]"
    /// ```
    ///
    /// read as `orExp = andExp *(SP "or" SP andExp)`, `andExp = term *(SP "and" SP term)`,
    /// `term = "(" FILTER ")" / "not" *1SP "(" FILTER ")" / valuePath / attrExp`, since
    /// RFC 7644 section 3.4.2.2 gives `and` precedence over `or`. Every `(`, `not (` and
    /// `[` pushes a [`Frame`] on an explicit stack and every closer pops one, so nesting
    /// costs heap, never call stack; the depth limit is charged at each push.
    fn or_expr(&mut self) -> PResult<FilterRef<'a>> {
        let at = self.pos;
        let first = match self.term_start()? {
            TermStart::Attr(path) => {
                let term = self.attr_exp(path)?;
                // the most common filter is one comparison: done without the frame machinery
                // and without an arena
                if self.pos == self.end {
                    return Ok(FilterRef {
                        src: self.src,
                        root: term,
                        nodes: Arena(Vec::new()),
                        strings: std::mem::take(&mut self.strings),
                    });
                }
                Pending::Term(self.push(term))
            }
            start => Pending::Start(start),
        };
        let root = self.expression(FrameKind::Top, at, Some(first))?;
        Ok(self.tree(root))
    }

    /// `"[" valFilter "]"` where
    /// `valFilter = attrExp / valLogExp / *1"not" "(" valFilter ")"` and
    /// `valLogExp = valFilter SP ("and" / "or") SP valFilter` (errata 7322): the full
    /// filter grammar minus value paths. Used by PATCH paths.
    pub(crate) fn bracket_filter(&mut self) -> PResult<FilterRef<'a>> {
        let at = self.pos;
        self.open_bracket()?;
        let root = self.expression(FrameKind::PathBracket, at, None)?;
        Ok(self.tree(root))
    }

    /// The finished tree whose root is the node at `root`, taking the arena. The root is
    /// the last node pushed (operands come before their node), so it moves out of the arena.
    fn tree(&mut self, root: usize) -> FilterRef<'a> {
        let mut nodes = std::mem::take(&mut self.nodes);
        debug_assert_eq!(root + 1, nodes.len());
        match nodes.pop() {
            Some(root) => FilterRef {
                src: self.src,
                root,
                nodes: Arena(nodes),
                strings: std::mem::take(&mut self.strings),
            },
            None => unreachable!("an expression pushes its root"),
        }
    }

    /// Moves a finished node into the arena and returns its index. The first push reserves
    /// a node per 4 bytes of input, between 16 and 1,024: a term takes at least 4 bytes and
    /// adds at most two nodes, so most filters never grow the arena, and up to 100 bytes
    /// of input the reservation (at most 25 nodes of 40 bytes) stays within the
    /// small-block caches of common allocators (glibc's tcache ends at 1,032 bytes).
    #[inline(always)]
    fn push(&mut self, node: Node) -> usize {
        if self.nodes.len() == self.nodes.capacity() {
            self.grow();
        }
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// Makes room for more nodes: the first reservation (in the thread's spare arena when
    /// there is one, see [`SPARE_ARENA`]), or doubling.
    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        match self.nodes.capacity() {
            0 => {
                let want = (self.end / 4).clamp(16, 1024);
                // a spare with room is used as it is; a smaller one grows (one realloc)
                let mut spare = SPARE_ARENA.try_with(Cell::take).unwrap_or_default();
                spare.reserve_exact(want);
                self.nodes = spare;
            }
            n => self.nodes.reserve_exact(n),
        }
    }

    /// After a failed parse: hands the arena of the unfinished tree to [`SPARE_ARENA`], as
    /// a dropped tree does, and returns the error.
    #[cold]
    #[inline(never)]
    pub(crate) fn recycle(&mut self, e: Box<Error>) -> Box<Error> {
        drop(Arena(std::mem::take(&mut self.nodes)));
        e
    }

    /// Ends a chain: the operands of `chain` followed by `last`, as one n-ary node made by
    /// `make`, or `last` alone when the chain has one operand.
    #[inline(always)]
    fn finish_chain(
        &mut self,
        chain: Chain,
        last: usize,
        make: fn(u32, u32, u32, u32) -> NodeKind,
    ) -> usize {
        if chain.len == 0 {
            return last;
        }
        self.nodes[chain.last].next = off(last);
        let start = off(self.nodes[chain.first].span().start);
        let end = off(self.nodes[last].span().end);
        let kind = make(off(chain.first), off(chain.len + 1), start, end);
        self.push(Node::new(kind))
    }

    /// The loop behind [`Parser::or_expr`]: reads terms, joins them with `and`/`or`, and
    /// opens and closes frames, until the bottom frame (`bottom`, opened at `at`) is
    /// complete.
    ///
    /// Finished operands go straight into the arena, linked into their frame's chains, so
    /// a lone comparison allocates nothing here and no node allocates on its own.
    fn expression(
        &mut self,
        bottom: FrameKind,
        at: usize,
        first: Option<Pending>,
    ) -> PResult<usize> {
        let mut stack = Frames::new();
        let mut cur = Frame::new(bottom, at);
        let mut term = match first {
            Some(Pending::Term(term)) => term,
            Some(Pending::Start(start)) => self.term(start, &mut stack, &mut cur)?,
            None => {
                let start = self.term_start()?;
                self.term(start, &mut stack, &mut cur)?
            }
        };
        loop {
            match self.log_op()? {
                Some(LogOp::And) => cur.ands.push(&mut self.nodes, term),
                Some(LogOp::Or) => {
                    let ands = std::mem::take(&mut cur.ands);
                    let and = self.finish_chain(ands, term, and_kind);
                    cur.ors.push(&mut self.nodes, and);
                }
                None => {
                    let ands = std::mem::take(&mut cur.ands);
                    let and = self.finish_chain(ands, term, and_kind);
                    let expr = self.finish_chain(cur.ors, and, or_kind);
                    let Some(parent) = stack.pop() else {
                        return self.close_bottom(cur, expr);
                    };
                    let done = std::mem::replace(&mut cur, parent);
                    term = self.close_frame(done, expr)?;
                    continue;
                }
            }
            let start = self.term_start()?;
            term = self.term(start, &mut stack, &mut cur)?;
        }
    }

    /// Reads a term that begins with `start`: opens a frame for each opener until an
    /// `attrExp` comes.
    #[inline(always)]
    fn term(
        &mut self,
        mut start: TermStart,
        stack: &mut Frames,
        cur: &mut Frame,
    ) -> PResult<usize> {
        loop {
            match start {
                TermStart::Attr(path) => {
                    // room first, so the node goes straight from `attr_exp` into the arena
                    // instead of being saved across a call to `grow`
                    if self.nodes.len() == self.nodes.capacity() {
                        self.grow();
                    }
                    let term = self.attr_exp(path)?;
                    self.nodes.push(term);
                    return Ok(self.nodes.len() - 1);
                }
                TermStart::Open(kind) => {
                    let next = Frame::new(kind, self.pos - 1);
                    stack.push(std::mem::replace(cur, next));
                    start = self.term_start()?;
                }
            }
        }
    }

    /// The start of a `term`: opens a group, `not (` or value-path bracket (the opener
    /// consumed), or reads the attribute path of an `attrExp`.
    #[inline(always)]
    fn term_start(&mut self) -> PResult<TermStart> {
        match self.peek() {
            Some(b'(') => {
                self.open_paren()?;
                Ok(TermStart::Open(FrameKind::Group))
            }
            Some(b) if is_path_byte(b) => {
                if matches!(b, b'n' | b'N') && self.at_not() {
                    let start = self.pos;
                    self.pos += 3;
                    let ws = self.pos;
                    let n = self.skip_ws();
                    if n > 0 {
                        self.check_ws(ws, n)?;
                    }
                    self.open_paren()?;
                    return Ok(TermStart::Open(FrameKind::Not { start }));
                }
                let path = self.path_at()?;
                if self.peek() == Some(b'[') {
                    self.open_bracket()?;
                    return Ok(TermStart::Open(FrameKind::Bracket { path }));
                }
                Ok(TermStart::Attr(path))
            }
            _ => Err(self.error_found(self.pos, |found| ErrorKind::ExpectedFilter { found })),
        }
    }

    /// `"("`: charges the depth limit, and refuses an empty group.
    fn open_paren(&mut self) -> PResult<()> {
        self.enter(self.pos)?;
        self.pos += 1;
        self.ws_inside()?;
        if self.peek() == Some(b')') {
            return Err(self.error_found(self.pos, |found| ErrorKind::ExpectedFilter { found }));
        }
        Ok(())
    }

    /// `"["` of a value path: charges the depth limit, refuses a nested value path and an
    /// empty filter.
    fn open_bracket(&mut self) -> PResult<()> {
        let at = self.pos;
        if self.in_brackets {
            return Err(self.error(ErrorKind::NestedValuePath, Span::new(at, at + 1)));
        }
        self.enter(at)?;
        self.pos += 1;
        self.in_brackets = true;
        self.ws_inside()?;
        if self.peek() == Some(b']') {
            return Err(self.error_found(self.pos, |found| ErrorKind::ExpectedFilter { found }));
        }
        Ok(())
    }

    /// Closes `frame`, whose contents are `expr`, and returns the finished term.
    fn close_frame(&mut self, frame: Frame, expr: usize) -> PResult<usize> {
        match frame.kind {
            FrameKind::Group => {
                self.close(b')', frame.at)?;
                self.depth -= 1;
                Ok(expr)
            }
            FrameKind::Not { start } => {
                self.close(b')', frame.at)?;
                self.depth -= 1;
                Ok(self.push(Node::new(NodeKind::Not {
                    inner: off(expr),
                    start: off(start),
                    end: off(self.pos),
                })))
            }
            FrameKind::Bracket { path } => {
                self.close(b']', frame.at)?;
                self.depth -= 1;
                self.in_brackets = false;
                self.after_value_path(path, expr)
            }
            FrameKind::Top | FrameKind::PathBracket => self.close_bottom(frame, expr),
        }
    }

    /// Completes the bottom frame: the whole filter, or the `[...]` of a PATCH path.
    #[inline]
    fn close_bottom(&mut self, frame: Frame, expr: usize) -> PResult<usize> {
        if matches!(frame.kind, FrameKind::PathBracket) {
            self.close(b']', frame.at)?;
            self.depth -= 1;
            self.in_brackets = false;
        }
        Ok(expr)
    }

    /// `SP ("and" / "or") SP`: consumes a logical keyword (case-insensitive, a whole word)
    /// and the spaces around it, or nothing if the next word is neither.
    #[inline]
    fn log_op(&mut self) -> PResult<Option<LogOp>> {
        let save = self.pos;
        let n = self.skip_ws();
        let word_end = self.scan(self.pos, is_path_byte);
        let (op, kw) = match &self.bytes[self.pos..word_end] {
            [a, n, d] if [a, n, d].map(u8::to_ascii_lowercase) == *b"and" => (LogOp::And, "and"),
            [o, r] if [o, r].map(u8::to_ascii_lowercase) == *b"or" => (LogOp::Or, "or"),
            _ => {
                self.pos = save;
                return Ok(None);
            }
        };
        if n == 0 {
            let span = Span::new(self.pos, word_end);
            return Err(self.error(ErrorKind::ExpectedSpaceBefore { keyword: kw }, span));
        }
        self.check_ws(save, n)?;
        self.pos = word_end;
        if self.pos >= self.end {
            return Err(self.error_found(self.pos, |found| ErrorKind::ExpectedFilter { found }));
        }
        self.sp(kw)?;
        Ok(Some(op))
    }

    /// Whether the next word is the keyword `not` followed (after optional spaces) by `(`.
    /// Otherwise `not` is an ordinary attribute name, as in `not pr`.
    #[inline(never)]
    fn at_not(&self) -> bool {
        if !matches!(self.peek(), Some(b'n' | b'N')) {
            return false;
        }
        let word_end = self.scan(self.pos, is_path_byte);
        if !self.bytes[self.pos..word_end].eq_ignore_ascii_case(b"not") {
            return false;
        }
        self.bytes.get(self.scan(word_end, is_ws)) == Some(&b'(')
    }

    /// The `)` or `]` that ends the group or bracket opened at `open`.
    fn close(&mut self, closer: u8, open: usize) -> PResult<()> {
        let ws = self.pos;
        let n = self.skip_ws();
        match self.peek() {
            Some(b) if b == closer => {
                if n > 0 && self.opts.strict_whitespace {
                    return Err(self.error(ErrorKind::StrictWhitespace, Span::new(ws, ws + n)));
                }
                self.pos += 1;
                Ok(())
            }
            None => {
                let kind = if closer == b')' {
                    ErrorKind::UnclosedParen { open }
                } else {
                    ErrorKind::UnclosedBracket { open }
                };
                Err(self.error(kind, Span::new(self.pos, self.pos)))
            }
            Some(_) => {
                let closer = if closer == b')' {
                    Closer::Paren
                } else {
                    Closer::Bracket
                };
                Err(
                    self.error_found(self.pos, |found| ErrorKind::ExpectedLogicalOperator {
                        closer,
                        found,
                    }),
                )
            }
        }
    }

    /// After `]` in a filter: the end, `SP logOp` or a closer; the Entra form
    /// `]` `"." ATTRNAME SP compareOp SP compValue` is read when
    /// [`ParseOptions::entra_value_path_compare`] is on.
    fn after_value_path(&mut self, path: PathAt, filter: usize) -> PResult<usize> {
        match self.peek() {
            Some(b'[') => Err(self.error(
                ErrorKind::SecondValueFilter,
                Span::new(self.pos, self.pos + 1),
            )),
            Some(b'.') => self.entra_compare(path, filter),
            next => {
                if next.is_some_and(is_ws) {
                    self.refuse_compare_after_bracket()?;
                }
                Ok(self.push(Node::new(NodeKind::ValuePath {
                    path,
                    filter: off(filter),
                    end: off(self.pos),
                })))
            }
        }
    }

    /// `emails[type eq "work"] eq "x"`: an operator after `]` gets its own error.
    fn refuse_compare_after_bracket(&self) -> PResult<()> {
        let at = self.scan(self.pos, is_ws);
        let word_end = self.scan(at, is_path_byte);
        let word = &self.src[at..word_end];
        if compare_op(word.as_bytes()).is_some() || word.eq_ignore_ascii_case("pr") {
            let kind = ErrorKind::ComparisonAfterValuePath { op: snippet(word) };
            return Err(self.error(kind, Span::new(at, word_end)));
        }
        Ok(())
    }

    /// Interop only: `attrPath "[" valFilter "]" "." ATTRNAME SP (compareOp SP compValue /
    /// "pr")`, rewritten to `attrPath "[" valFilter SP "and" SP ATTRNAME ... "]"` so the
    /// two conditions must hold for the same value.
    fn entra_compare(&mut self, path: PathAt, filter: usize) -> PResult<usize> {
        let dot = self.pos;
        if !self.opts.entra_value_path_compare {
            return Err(self.error(ErrorKind::EntraValuePathCompare, Span::new(dot, dot + 1)));
        }
        self.pos += 1;
        let sub = self.sub_path_at()?;
        self.in_brackets = true;
        let compare = self.attr_exp(sub)?;
        self.in_brackets = false;
        let start = off(self.nodes[filter].span().start);
        let end = off(compare.span().end);
        let inner = match self.nodes[filter].kind {
            // an `and` just finished is the arena's last node, after its operands: it moves
            // after the new operand, so operands still come before their node
            NodeKind::And { first, len, .. } => {
                debug_assert_eq!(filter + 1, self.nodes.len());
                self.nodes.pop();
                let id = self.push(compare);
                self.nodes[id - 1].next = off(id);
                and_kind(first, len + 1, start, end)
            }
            _ => {
                let id = self.push(compare);
                self.nodes[filter].next = off(id);
                and_kind(off(filter), 2, start, end)
            }
        };
        let inner = self.push(Node::new(inner));
        Ok(self.push(Node::new(NodeKind::ValuePath {
            path,
            filter: off(inner),
            end: off(self.pos),
        })))
    }

    /// `subAttr = "." ATTRNAME` after `]`, the `.` already read: a lone name, which may
    /// start with `$` (`members[...].$ref`).
    fn sub_path_at(&mut self) -> PResult<PathAt> {
        let start = self.pos;
        let end = self.scan(start, is_name_byte);
        match self.bytes.get(end) {
            Some(b'.') if end < self.end => {
                return Err(self.error(ErrorKind::TooManySubAttrs, Span::new(end, end + 1)));
            }
            _ => {}
        }
        self.check_attr_name(start, end, true)?;
        self.pos = end;
        Ok(PathAt::name(start, end))
    }

    /// [`Parser::sub_path_at`], as names.
    pub(crate) fn sub_attr_name(&mut self) -> PResult<AttrPathRef<'a>> {
        let at = self.sub_path_at()?;
        Ok(at.resolve(self.src))
    }

    /// `attrPath = [URI ":"] ATTRNAME *1subAttr` and `subAttr = "." ATTRNAME`, as names.
    pub(crate) fn attr_path(&mut self) -> PResult<AttrPathRef<'a>> {
        let at = self.path_at()?;
        Ok(at.resolve(self.src))
    }

    /// `attrPath = [URI ":"] ATTRNAME *1subAttr` and `subAttr = "." ATTRNAME`, as offsets.
    ///
    /// The path is read as one token of name characters, `:` and `.`; the URI is
    /// everything before the token's last `:` (so the dots of `...:2.0:User:` belong to
    /// the URI), and at most one `.` may follow the attribute name.
    #[inline]
    fn path_at(&mut self) -> PResult<PathAt> {
        let start = self.pos;
        // the common case: a lone name, neither URI nor sub-attribute (nor `$`)
        let end = self.scan(start, is_plain_name_byte);
        if !matches!(self.bytes.get(end), Some(b':' | b'.' | b'$')) {
            self.check_attr_name(start, end, false)?;
            self.pos = end;
            return Ok(PathAt::name(start, end));
        }
        self.qualified_path_at(start, end)
    }

    /// [`Parser::path_at`] for a path with a URI, a sub-attribute or a `$`; `start..seg`
    /// is its first run of [`is_plain_name_byte`] bytes.
    ///
    /// One pass over the token, a run of name bytes at a time, notes its last `:` and the
    /// first two `.` after it. A `$` anywhere hands the path to
    /// [`Parser::dollar_path_at`], which checks each part for it.
    #[inline(never)]
    fn qualified_path_at(&mut self, start: usize, seg: usize) -> PResult<PathAt> {
        let (mut colon, mut dot, mut dot2) = (None, None, None);
        let mut end = seg;
        loop {
            match self.bytes.get(end) {
                Some(b':') => (colon, dot, dot2) = (Some(end), None, None),
                Some(b'.') if dot.is_none() => dot = Some(end),
                Some(b'.') => {
                    dot2 = dot2.or(Some(end));
                }
                Some(b'$') => return self.dollar_path_at(start),
                _ => break,
            }
            end = self.scan(end + 1, is_plain_name_byte);
        }
        let name_start = match colon {
            Some(at) => {
                if !self.bytes[start].is_ascii_alphabetic() {
                    self.check_uri(start, at)?;
                }
                at + 1
            }
            None => start,
        };
        self.finish_path(start, name_start, dot.unwrap_or(end), dot2, end)
    }

    /// The end of [`Parser::qualified_path_at`] and [`Parser::dollar_path_at`]: checks the
    /// name at `name..name_end` and, when a `.` at `name_end` comes before `end`, the
    /// sub-attribute after it (`dot2`, a second `.` after that one, is an error); then
    /// moves past the path.
    #[inline(always)]
    fn finish_path(
        &mut self,
        start: usize,
        name: usize,
        name_end: usize,
        dot2: Option<usize>,
        end: usize,
    ) -> PResult<PathAt> {
        self.check_attr_name(name, name_end, false)?;
        if name_end < end {
            if let Some(at) = dot2 {
                return Err(self.error(ErrorKind::TooManySubAttrs, Span::new(at, at + 1)));
            }
            self.check_attr_name(name_end + 1, end, true)?;
        }
        self.pos = end;
        Ok(PathAt {
            start: off(start),
            name: off(name),
            dot: off(name_end),
            end: off(end),
        })
    }

    /// [`Parser::qualified_path_at`] for a path with a `$` somewhere, read part by part
    /// so that each part gets its own error.
    #[cold]
    #[inline(never)]
    fn dollar_path_at(&mut self, start: usize) -> PResult<PathAt> {
        // the whole token, then its last `:`, searched from the end (only the name follows)
        let end = self.scan(start, is_path_byte);
        let colon = self.bytes[start..end]
            .iter()
            .rposition(|&b| b == b':')
            .map(|i| start + i);
        let name_start = match colon {
            Some(at) => {
                self.check_uri(start, at)?;
                at + 1
            }
            None => start,
        };
        let dot = self.bytes[name_start..end].iter().position(|&b| b == b'.');
        let name_end = dot.map_or(end, |d| name_start + d);
        let dot2 = dot.and_then(|_| {
            let sub = name_end + 1;
            let second = self.bytes[sub..end].iter().position(|&b| b == b'.');
            second.map(|d| sub + d)
        });
        self.finish_path(start, name_start, name_end, dot2, end)
    }

    /// `ATTRNAME = ALPHA *(nameChar)` with `nameChar = "$" / "-" / "_" / DIGIT / ALPHA`
    /// (RFC 7643 section 2.1) for the name at `start..end`; a leading `$` only for
    /// sub-attributes (`sub`, or any name inside brackets), and no `$` at all unless
    /// [`ParseOptions::allow_dollar`].
    #[inline(always)]
    fn check_attr_name(&self, start: usize, end: usize, sub: bool) -> PResult<()> {
        // the common case, decided by the first byte alone
        if start < end && self.bytes[start].is_ascii_alphabetic() && self.opts.allow_dollar {
            return Ok(());
        }
        self.checked_attr_name(start, end, sub)
    }

    /// [`Parser::check_attr_name`] for a name that starts with `$` or no letter, or when
    /// `$` is refused.
    #[inline(never)]
    fn checked_attr_name(&self, start: usize, end: usize, sub: bool) -> PResult<()> {
        let name = &self.bytes[start..end];
        match name.first() {
            Some(b) if b.is_ascii_alphabetic() => {}
            Some(b'$') if self.opts.allow_dollar && !(sub || self.in_brackets) => {
                return Err(self.error(ErrorKind::LeadingDollar, Span::new(start, start + 1)));
            }
            Some(b'$') if self.opts.allow_dollar => {}
            Some(b'$') => {
                return Err(self.error(ErrorKind::DollarInName, Span::new(start, start + 1)));
            }
            _ => {
                let (found, span) = self.found_at(start);
                let found = match found {
                    Found::Text(_) if end > start => Found::Text(self.src[start..end].to_owned()),
                    f => f,
                };
                let span = if end > start {
                    Span::new(start, end)
                } else {
                    span
                };
                return Err(self.error(ErrorKind::ExpectedAttrName { found }, span));
            }
        }
        if !self.opts.allow_dollar {
            if let Some(i) = name.iter().position(|&b| b == b'$') {
                let at = start + i;
                return Err(self.error(ErrorKind::DollarInName, Span::new(at, at + 1)));
            }
        }
        Ok(())
    }

    /// `URI` (RFC 3986 Appendix A), restricted to what SCIM schema URIs use: a scheme
    /// letter first, then letters, digits, `-`, `_`, `.` and `:`.
    fn check_uri(&self, start: usize, end: usize) -> PResult<()> {
        let uri = &self.bytes[start..end];
        let ok = uri.first().is_some_and(u8::is_ascii_alphabetic) && !uri.contains(&b'$');
        if !ok {
            let found = Found::Text(self.src[start..end + 1].to_owned());
            return Err(self.error(ErrorKind::InvalidUri { found }, Span::new(start, end + 1)));
        }
        Ok(())
    }

    /// `attrExp = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)`
    ///
    /// `compareOp = "eq" / "ne" / "co" / "sw" / "ew" / "gt" / "lt" / "ge" / "le"`,
    /// case-insensitive and read as a whole word (`prand` is not `pr`).
    #[inline]
    fn attr_exp(&mut self, path: PathAt) -> PResult<Node> {
        let ws = self.pos;
        let n = self.skip_ws();
        let op_start = self.pos;
        let op_end = self.scan(op_start, is_path_byte);
        if n == 0 || op_end == op_start {
            return Err(self.missing_operator(path, n));
        }
        self.check_ws(ws, n)?;
        let word = &self.bytes[op_start..op_end];
        let op = if word.eq_ignore_ascii_case(b"pr") {
            None
        } else if let Some(op) = compare_op(word) {
            Some(op)
        } else {
            return Err(self.unknown_operator(path, op_start, op_end));
        };
        self.pos = op_end;
        let Some(op) = op else {
            self.count_term(span_of(path.start, off(op_end)))?;
            return Ok(Node::new(NodeKind::Present {
                path,
                end: off(op_end),
            }));
        };
        let ws = self.pos;
        let n = self.skip_ws();
        if n == 0 {
            return Err(self.error_found(ws, |found| ErrorKind::ExpectedSpace {
                after: self.src[op_start..op_end].to_owned(),
                found,
            }));
        }
        self.check_ws(ws, n)?;
        let value = self.comp_value()?;
        self.count_term(span_of(path.start, value.end))?;
        Ok(Node::new(NodeKind::Compare { path, op, value }))
    }

    /// Whether `path` is the lone name `not` (in any case), which needs `(` after it.
    fn is_not(&self, path: PathAt) -> bool {
        path.name == path.start
            && path.dot == path.end
            && self.bytes[path.start as usize..path.end as usize].eq_ignore_ascii_case(b"not")
    }

    /// The error for an `attrExp` with no operator after its path (`n` spaces read).
    #[cold]
    #[inline(never)]
    fn missing_operator(&self, path: PathAt, n: usize) -> Box<Error> {
        if n == 0 && matches!(self.peek(), Some(b'+' | b'%')) {
            let span = Span::new(self.pos, self.pos + 1);
            return self.error(ErrorKind::UrlEncoded, span);
        }
        if self.is_not(path) {
            let (_, span) = self.found_at(self.pos);
            return self.error(ErrorKind::NotNeedsParen, span);
        }
        self.error_found(self.pos, |found| ErrorKind::ExpectedOperator { found })
    }

    /// The error for a word at `start..end` that is no operator.
    #[cold]
    #[inline(never)]
    fn unknown_operator(&self, path: PathAt, start: usize, end: usize) -> Box<Error> {
        let span = Span::new(start, end);
        if self.is_not(path) {
            return self.error(ErrorKind::NotNeedsParen, span);
        }
        let kind = ErrorKind::UnknownOperator {
            found: snippet(&self.src[start..end]),
        };
        self.error(kind, span)
    }

    /// `compValue = false / null / true / number / string` (JSON, RFC 8259).
    #[inline]
    fn comp_value(&mut self) -> PResult<LitAt> {
        let start = self.pos;
        let kind = match self.peek() {
            Some(b'"') => self.json_string()?,
            Some(b'-' | b'+' | b'.' | b'0'..=b'9') => {
                self.json_number()?;
                LitKind::Number
            }
            Some(b) if b.is_ascii_alphabetic() => self.json_word()?,
            _ => return Err(self.error_found(start, |found| ErrorKind::ExpectedValue { found })),
        };
        Ok(LitAt {
            kind,
            start: off(start),
            end: off(self.pos),
        })
    }

    /// `false = %x66.61.6c.73.65`, `null = %x6e.75.6c.6c`, `true = %x74.72.75.65`:
    /// lowercase only (RFC 8259 section 3).
    fn json_word(&mut self) -> PResult<LitKind> {
        let start = self.pos;
        let end = self.scan(start, is_value_word_byte);
        let word = &self.src[start..end];
        let value = match word {
            "true" => LitKind::Bool(true),
            "false" => LitKind::Bool(false),
            "null" => LitKind::Null,
            _ => {
                let kind = if ["true", "false", "null"]
                    .iter()
                    .any(|l| word.eq_ignore_ascii_case(l))
                {
                    ErrorKind::MiscasedLiteral {
                        found: snippet(word),
                    }
                } else {
                    ErrorKind::UnquotedValue {
                        found: snippet(word),
                    }
                };
                return Err(self.error(kind, Span::new(start, end)));
            }
        };
        self.pos = end;
        Ok(value)
    }

    /// `number = [ minus ] int [ frac ] [ exp ]` (RFC 8259 section 6), kept as written;
    /// a number beyond the binary64 range is refused.
    fn json_number(&mut self) -> PResult<()> {
        let start = self.pos;
        let end = self.scan(start, is_value_word_byte);
        let word = &self.bytes[start..end];
        let text = &self.src[start..end];
        match scan_number(word) {
            Ok(len) if len == word.len() => {
                // without an exponent, fewer than 300 digits stay below f64::MAX (1.8e308)
                let may_overflow = len >= 300 || word.iter().any(|&b| b == b'e' || b == b'E');
                if may_overflow && text.parse::<f64>().map_or(true, f64::is_infinite) {
                    return Err(self.error(ErrorKind::NumberOutOfRange, Span::new(start, end)));
                }
                self.pos = end;
                Ok(())
            }
            _ if looks_unquoted(word) => {
                let kind = ErrorKind::UnquotedValue {
                    found: snippet(text),
                };
                Err(self.error(kind, Span::new(start, end)))
            }
            Err((NumberError::LeadingZero, at)) => Err(self.error(
                ErrorKind::LeadingZero,
                Span::new(start + at, start + at + 1),
            )),
            Err((NumberError::Digit, at)) if at > 0 => {
                Err(self.error_found(start + at, |found| ErrorKind::ExpectedDigit { found }))
            }
            _ => {
                let kind = ErrorKind::InvalidNumber {
                    found: snippet(text),
                };
                Err(self.error(kind, Span::new(start, end)))
            }
        }
    }

    /// `string = quotation-mark *char quotation-mark` (RFC 8259 section 7): every escape
    /// is decoded, raw control characters and lone surrogates are refused. A string with
    /// escapes is decoded into [`Parser::strings`].
    #[inline]
    fn json_string(&mut self) -> PResult<LitKind> {
        let open = self.pos;
        let body = open + 1;
        let stop = body + string_run(&self.bytes[body..]);
        // the common case: no escape, so the value is a slice of the input
        if self.bytes.get(stop) == Some(&b'"') {
            self.pos = stop + 1;
            return Ok(LitKind::Str);
        }
        self.pos = stop;
        let decoded = self.json_string_escaped(open)?;
        self.strings.push(decoded);
        Ok(LitKind::Escaped(off(self.strings.len() - 1)))
    }

    /// The rest of the string opened at `open`, from its first escape (or the error that
    /// stopped [`Parser::json_string`]).
    #[inline(never)]
    fn json_string_escaped(&mut self, open: usize) -> PResult<String> {
        let mut out = String::from(&self.src[open + 1..self.pos]);
        loop {
            match self.bytes.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => out.push(self.escape()?),
                Some(&byte) => {
                    let span = Span::new(self.pos, self.pos + 1);
                    return Err(self.error(ErrorKind::ControlCharacter { byte }, span));
                }
                None => {
                    let span = Span::new(open, self.end);
                    return Err(self.error(ErrorKind::UnterminatedString, span));
                }
            }
            let run = self.pos;
            self.pos += string_run(&self.bytes[run..]);
            out.push_str(&self.src[run..self.pos]);
        }
    }

    /// `escape = "\" ( %x22 / %x5C / %x2F / %x62 / %x66 / %x6E / %x72 / %x74 / %x75 4HEXDIG )`;
    /// a `\uD800`-`\uDBFF` escape must be followed by a `\uDC00`-`\uDFFF` escape.
    fn escape(&mut self) -> PResult<char> {
        let start = self.pos;
        self.pos += 1;
        let Some(&b) = self.bytes.get(self.pos).filter(|_| self.pos < self.end) else {
            return Err(self.error(ErrorKind::UnterminatedString, Span::new(start, self.end)));
        };
        self.pos += 1;
        let c = match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => return self.unicode_escape(start),
            _ => {
                let found = self.src[self.pos - 1..].chars().next().unwrap_or('\\');
                let span = Span::new(start, self.pos - 1 + found.len_utf8());
                return Err(self.error(ErrorKind::InvalidEscape { found }, span));
            }
        };
        Ok(c)
    }

    /// The `4HEXDIG` of a `\u` escape at `start`, and its low surrogate if one is needed.
    fn unicode_escape(&mut self, start: usize) -> PResult<char> {
        let unit = self.hex4(start)?;
        let code = match unit {
            0xD800..=0xDBFF => {
                let low_start = self.pos;
                let has_pair = self.bytes.get(self.pos..self.pos + 2) == Some(b"\\u")
                    && self.pos + 2 <= self.end;
                if !has_pair {
                    let span = Span::new(start, self.pos);
                    return Err(self.error(ErrorKind::LoneSurrogate { unit }, span));
                }
                self.pos += 2;
                let low = self.hex4(low_start)?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    let span = Span::new(start, low_start);
                    return Err(self.error(ErrorKind::LoneSurrogate { unit }, span));
                }
                0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00)
            }
            0xDC00..=0xDFFF => {
                let span = Span::new(start, self.pos);
                return Err(self.error(ErrorKind::LoneSurrogate { unit }, span));
            }
            _ => u32::from(unit),
        };
        // every value left is a Unicode scalar value
        Ok(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER))
    }

    /// Four hex digits (either case) of the escape that began at `start`.
    fn hex4(&mut self, start: usize) -> PResult<u16> {
        let digits = self
            .bytes
            .get(self.pos..self.pos + 4)
            .filter(|_| self.pos + 4 <= self.end);
        let parsed = digits.and_then(|d| {
            d.iter().try_fold(0u16, |acc, &b| {
                Some(acc * 16 + (b as char).to_digit(16)? as u16)
            })
        });
        match parsed {
            Some(v) => {
                self.pos += 4;
                Ok(v)
            }
            None => {
                let stop = self
                    .scan(self.pos, |b| b.is_ascii_hexdigit())
                    .min(self.pos + 4);
                Err(self.error(ErrorKind::InvalidUnicodeEscape, Span::new(start, stop)))
            }
        }
    }
}

/// `word` for an error message: at most 32 bytes, cut at a character boundary.
fn snippet(word: &str) -> String {
    if word.len() <= 32 {
        return word.to_owned();
    }
    let mut end = 32;
    while !word.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &word[..end])
}

/// Whether a word that failed as a number reads better as an unquoted string: it has a
/// byte no number has, or a `-` in the middle (`00000000-0000-4000-...`).
fn looks_unquoted(word: &[u8]) -> bool {
    word.iter().enumerate().any(|(i, &b)| match b {
        b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' => false,
        b'-' => i > 0 && !matches!(word[i - 1], b'e' | b'E'),
        _ => true,
    })
}

/// Why a word is not a JSON number.
enum NumberError {
    /// A digit was required.
    Digit,
    /// `0` followed by a digit.
    LeadingZero,
}

/// The length of the longest JSON number at the start of `b`, or where it goes wrong.
fn scan_number(b: &[u8]) -> Result<usize, (NumberError, usize)> {
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let digits = |mut i: usize| {
        while digit(i) {
            i += 1;
        }
        i
    };
    let mut i = usize::from(b.first() == Some(&b'-'));
    if !digit(i) {
        return Err((NumberError::Digit, i));
    }
    if b[i] == b'0' {
        i += 1;
        if digit(i) {
            return Err((NumberError::LeadingZero, i - 1));
        }
    } else {
        i = digits(i);
    }
    if b.get(i) == Some(&b'.') {
        if !digit(i + 1) {
            return Err((NumberError::Digit, i + 1));
        }
        i = digits(i + 1);
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digit(i) {
            return Err((NumberError::Digit, i));
        }
        i = digits(i);
    }
    Ok(i)
}

/// The comparison operator spelled `word`, in any case.
fn compare_op(b: &[u8]) -> Option<CompareOp> {
    let [b0, b1] = *b else {
        return None;
    };
    // `| 0x20` lowercases a letter; a byte that is no letter never lands on an operator's
    // key, since every key is made of letters
    let key = u16::from(b0 | 0x20) | u16::from(b1 | 0x20) << 8;
    let (want, op) = OPERATORS[op_slot(key)];
    (key == want).then_some(op)
}

/// The slot of an operator's two-letter key in [`OPERATORS`]: a hash found by search that
/// puts the nine operators in nine different slots, so the lookup needs no branch per
/// operator (`tests::operator_slots_are_distinct` checks it).
const fn op_slot(key: u16) -> usize {
    ((key as usize * 23) >> 6) & 15
}

/// The comparison operators by [`op_slot`], each with its key; empty slots have key 0,
/// which no input produces.
static OPERATORS: [(u16, CompareOp); 16] = operators();

const fn operators() -> [(u16, CompareOp); 16] {
    let all = [
        (*b"eq", CompareOp::Eq),
        (*b"ne", CompareOp::Ne),
        (*b"co", CompareOp::Co),
        (*b"sw", CompareOp::Sw),
        (*b"ew", CompareOp::Ew),
        (*b"gt", CompareOp::Gt),
        (*b"lt", CompareOp::Lt),
        (*b"ge", CompareOp::Ge),
        (*b"le", CompareOp::Le),
    ];
    let mut table = [(0u16, CompareOp::Eq); 16];
    let mut i = 0;
    while i < all.len() {
        let ([b0, b1], op) = all[i];
        let key = b0 as u16 | (b1 as u16) << 8;
        table[op_slot(key)] = (key, op);
        i += 1;
    }
    table
}

impl CompareOp {
    /// The operator in lowercase, as printed.
    ///
    /// ```
    /// assert_eq!(scim_parser::CompareOp::Ne.as_str(), "ne");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Lt => "lt",
            CompareOp::Ge => "ge",
            CompareOp::Le => "le",
        }
    }
}

impl AttrPath {
    /// Whether `self` and `other` are the same path as written, ignoring spans.
    ///
    /// ```
    /// use scim_parser::{parse_patch_path, parse_filter, FilterKind};
    /// let a = parse_patch_path("name.givenName").unwrap().attr;
    /// let f = parse_filter("x pr and name.givenName pr").unwrap();
    /// let FilterKind::And(items) = &f.kind else { unreachable!() };
    /// let FilterKind::Present { path: b } = &items[1].kind else { unreachable!() };
    /// assert!(a.eq_ignore_spans(b) && a != *b);
    /// ```
    pub fn eq_ignore_spans(&self, other: &AttrPath) -> bool {
        self.uri == other.uri && self.name == other.name && self.sub_attr == other.sub_attr
    }

    /// A copy with every span set to `0..0`.
    ///
    /// ```
    /// let a = scim_parser::parse_patch_path(" title").unwrap().attr;
    /// assert_eq!(a.without_spans().span, scim_parser::Span::default());
    /// ```
    pub fn without_spans(&self) -> AttrPath {
        AttrPath {
            span: Span::default(),
            ..self.clone()
        }
    }
}

impl Filter {
    /// Whether two trees are the same, ignoring spans.
    ///
    /// ```
    /// use scim_parser::parse_filter;
    /// let a = parse_filter("title pr or x eq 1").unwrap();
    /// let b = parse_filter("  title pr  OR  x eq 1").unwrap();
    /// assert!(a.eq_ignore_spans(&b) && a != b);
    /// ```
    pub fn eq_ignore_spans(&self, other: &Filter) -> bool {
        use FilterKind::*;
        match (&self.kind, &other.kind) {
            (
                Compare {
                    path: p1,
                    op: o1,
                    value: v1,
                },
                Compare {
                    path: p2,
                    op: o2,
                    value: v2,
                },
            ) => p1.eq_ignore_spans(p2) && o1 == o2 && v1.value == v2.value,
            (Present { path: p1 }, Present { path: p2 }) => p1.eq_ignore_spans(p2),
            (And(a), And(b)) | (Or(a), Or(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_spans(y))
            }
            (Not(a), Not(b)) => a.eq_ignore_spans(b),
            (
                ValuePath {
                    path: p1,
                    filter: f1,
                },
                ValuePath {
                    path: p2,
                    filter: f2,
                },
            ) => p1.eq_ignore_spans(p2) && f1.eq_ignore_spans(f2),
            _ => false,
        }
    }

    /// A copy with every span set to `0..0`, for comparing with `==` or snapshotting.
    ///
    /// ```
    /// use scim_parser::parse_filter;
    /// let a = parse_filter("not (title pr)").unwrap().without_spans();
    /// let b = parse_filter(" not(title pr) ").unwrap().without_spans();
    /// assert_eq!(a, b);
    /// ```
    pub fn without_spans(&self) -> Filter {
        use FilterKind::*;
        let kind = match &self.kind {
            Compare { path, op, value } => Compare {
                path: path.without_spans(),
                op: *op,
                value: Literal {
                    value: value.value.clone(),
                    span: Span::default(),
                },
            },
            Present { path } => Present {
                path: path.without_spans(),
            },
            And(items) => And(items.iter().map(Filter::without_spans).collect()),
            Or(items) => Or(items.iter().map(Filter::without_spans).collect()),
            Not(inner) => Not(Box::new(inner.without_spans())),
            ValuePath { path, filter } => ValuePath {
                path: path.without_spans(),
                filter: Box::new(filter.without_spans()),
            },
        };
        Filter {
            kind,
            span: Span::default(),
        }
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(uri) = &self.uri {
            write!(f, "{uri}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Writes `s` as a JSON string: `"` and `\` escaped, control characters as `\n`-style or
/// `\u00XX` escapes, everything else as is.
pub(crate) fn write_json_string(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        f.write_str(&s[run..i])?;
        if esc.is_empty() {
            write!(f, "\\u{b:04x}")?;
        } else {
            f.write_str(esc)?;
        }
        run = i + 1;
    }
    f.write_str(&s[run..])?;
    f.write_char('"')
}

impl fmt::Display for LiteralValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiteralValue::Null => f.write_str("null"),
            LiteralValue::Bool(b) => write!(f, "{b}"),
            LiteralValue::Number(n) => f.write_str(n),
            LiteralValue::String(s) => write_json_string(f, s),
        }
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

/// Canonical form: lowercase keywords and operators, single spaces, `not (...)`, and
/// parentheses exactly where the tree needs them to survive a re-parse (an `And` or `Or`
/// operand of an `And`, an `Or` operand of an `Or`).
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            FilterKind::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            FilterKind::Present { path } => write!(f, "{path} pr"),
            FilterKind::And(items) => write_chain(f, items, " and ", |k| {
                matches!(k, FilterKind::And(_) | FilterKind::Or(_))
            }),
            FilterKind::Or(items) => {
                write_chain(f, items, " or ", |k| matches!(k, FilterKind::Or(_)))
            }
            FilterKind::Not(inner) => write!(f, "not ({inner})"),
            FilterKind::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
        }
    }
}

fn write_chain(
    f: &mut fmt::Formatter<'_>,
    items: &[Filter],
    sep: &str,
    needs_parens: fn(&FilterKind) -> bool,
) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        if needs_parens(&item.kind) {
            write!(f, "({item})")?;
        } else {
            write!(f, "{item}")?;
        }
    }
    Ok(())
}

impl AttrPathRef<'_> {
    /// The owned [`AttrPath`] with the same names and span.
    ///
    /// ```
    /// use scim_parser::filter::{parse_filter_ref, FilterRefKind};
    /// let f = parse_filter_ref("members.$ref pr").unwrap();
    /// let FilterRefKind::Present { path } = f.kind() else { unreachable!() };
    /// let owned = path.into_owned();
    /// assert_eq!((owned.name.as_str(), owned.sub_attr.as_deref()), ("members", Some("$ref")));
    /// assert_eq!(owned.span, path.span);
    /// ```
    pub fn into_owned(self) -> AttrPath {
        AttrPath {
            uri: self.uri.map(str::to_owned),
            name: self.name.to_owned(),
            sub_attr: self.sub_attr.map(str::to_owned),
            span: self.span,
        }
    }
}

impl LiteralValueRef<'_> {
    /// The owned [`LiteralValue`]; a string decoded from escapes is moved, not copied.
    ///
    /// ```
    /// use scim_parser::filter::LiteralValueRef;
    /// use scim_parser::LiteralValue;
    /// assert_eq!(LiteralValueRef::Number("1e3").into_owned(), LiteralValue::Number("1e3".into()));
    /// assert_eq!(LiteralValueRef::Null.into_owned(), LiteralValue::Null);
    /// ```
    pub fn into_owned(self) -> LiteralValue {
        match self {
            LiteralValueRef::Null => LiteralValue::Null,
            LiteralValueRef::Bool(b) => LiteralValue::Bool(b),
            LiteralValueRef::Number(n) => LiteralValue::Number(n.to_owned()),
            LiteralValueRef::String(s) => LiteralValue::String(s.into_owned()),
        }
    }
}

impl LiteralRef<'_> {
    /// The owned [`Literal`] with the same value and span.
    ///
    /// ```
    /// use scim_parser::filter::{LiteralRef, LiteralValueRef};
    /// use scim_parser::{LiteralValue, Span};
    /// let lit = LiteralRef { value: LiteralValueRef::Bool(false), span: Span::new(3, 8) };
    /// let owned = lit.into_owned();
    /// assert_eq!((owned.value, owned.span), (LiteralValue::Bool(false), Span::new(3, 8)));
    /// ```
    pub fn into_owned(self) -> Literal {
        Literal {
            value: self.value.into_owned(),
            span: self.span,
        }
    }
}

impl<'a> FilterRef<'a> {
    /// The root node, where a walk over the tree starts.
    ///
    /// ```
    /// use scim_parser::filter::{parse_filter_ref, FilterRefKind};
    /// let f = parse_filter_ref(r#"emails[type eq "work"]"#).unwrap();
    /// let FilterRefKind::ValuePath { path, filter } = f.root().kind() else { unreachable!() };
    /// assert_eq!((path.name, filter.to_string().as_str()), ("emails", r#"type eq "work""#));
    /// ```
    pub fn root(&self) -> FilterNode<'_, 'a> {
        FilterNode {
            tree: self,
            node: &self.root,
        }
    }

    /// The root's kind: `self.root().kind()`.
    ///
    /// ```
    /// use scim_parser::filter::{parse_filter_ref, FilterRefKind};
    /// let f = parse_filter_ref("title pr").unwrap();
    /// assert!(matches!(f.kind(), FilterRefKind::Present { path } if path.name == "title"));
    /// ```
    pub fn kind(&self) -> FilterRefKind<'_, 'a> {
        self.root().kind()
    }

    /// The root's span: the whole filter without surrounding whitespace (as for
    /// [`Filter::span`]).
    ///
    /// ```
    /// use scim_parser::filter::parse_filter_ref;
    /// assert_eq!(parse_filter_ref(" (a pr) ").unwrap().span(), scim_parser::Span::new(2, 6));
    /// ```
    pub fn span(&self) -> Span {
        self.root.span()
    }

    /// The owned [`Filter`]: what [`parse_filter`] returns for the same input and options.
    /// Strings decoded from escapes are moved, not copied.
    ///
    /// ```
    /// use scim_parser::filter::parse_filter_ref;
    /// use scim_parser::parse_filter;
    /// let input = r#"emails[type eq "work" and value co "@example.com"] or title pr"#;
    /// assert_eq!(parse_filter_ref(input).unwrap().into_owned(), parse_filter(input).unwrap());
    /// ```
    pub fn into_owned(mut self) -> Filter {
        let mut strings = std::mem::take(&mut self.strings);
        Owning {
            src: self.src,
            nodes: &self.nodes.0,
            strings: &mut strings,
        }
        .node(self.root)
    }

    /// An owned copy, leaving the borrowed tree as it is (`self.clone().into_owned()`).
    ///
    /// ```
    /// use scim_parser::filter::parse_filter_ref;
    /// let borrowed = parse_filter_ref("not (title pr)").unwrap();
    /// let owned = borrowed.to_owned_filter();
    /// assert_eq!(owned.to_string(), borrowed.to_string());
    /// ```
    pub fn to_owned_filter(&self) -> Filter {
        self.clone().into_owned()
    }
}

/// What [`FilterRef::into_owned`] reads from: the input, the arena, and the decoded
/// strings it moves out.
struct Owning<'s> {
    src: &'s str,
    nodes: &'s [Node],
    strings: &'s mut [String],
}

impl Owning<'_> {
    /// The owned twin of `node`. It recurses once per level of nesting, which the parser
    /// bounds ([`MAX_DEPTH_CEILING`]), as `Display` does.
    fn node(&mut self, node: Node) -> Filter {
        let span = node.span();
        let kind = match node.kind {
            NodeKind::Compare { path, op, value } => FilterKind::Compare {
                path: path.resolve(self.src).into_owned(),
                op,
                value: value.into_owned(self.src, self.strings),
            },
            NodeKind::Present { path, .. } => FilterKind::Present {
                path: path.resolve(self.src).into_owned(),
            },
            NodeKind::Not { inner, .. } => {
                FilterKind::Not(Box::new(self.node(self.nodes[inner as usize])))
            }
            NodeKind::ValuePath { path, filter, .. } => FilterKind::ValuePath {
                path: path.resolve(self.src).into_owned(),
                filter: Box::new(self.node(self.nodes[filter as usize])),
            },
            NodeKind::And { first, len, .. } => FilterKind::And(self.operands(first, len)),
            NodeKind::Or { first, len, .. } => FilterKind::Or(self.operands(first, len)),
        };
        Filter { kind, span }
    }

    /// The owned operands of an `and`/`or` node: `len` nodes linked from `first`.
    fn operands(&mut self, first: u32, len: u32) -> Vec<Filter> {
        let mut items = Vec::with_capacity(len as usize);
        let mut id = first;
        for _ in 0..len {
            let node = self.nodes[id as usize];
            id = node.next;
            items.push(self.node(node));
        }
        items
    }
}

impl<'a> From<FilterRef<'a>> for Filter {
    fn from(filter: FilterRef<'a>) -> Filter {
        filter.into_owned()
    }
}

impl<'t, 'a> FilterNode<'t, 'a> {
    /// What kind of node this is, with its operands as nodes.
    ///
    /// ```
    /// use scim_parser::filter::{parse_filter_ref, FilterRefKind};
    /// use scim_parser::CompareOp;
    /// let f = parse_filter_ref("a eq 1 and b pr").unwrap();
    /// let FilterRefKind::And(mut items) = f.root().kind() else { unreachable!() };
    /// let first = items.next().unwrap();
    /// assert!(matches!(first.kind(), FilterRefKind::Compare { op: CompareOp::Eq, .. }));
    /// ```
    pub fn kind(&self) -> FilterRefKind<'t, 'a> {
        let tree = self.tree;
        let node = |i: u32| FilterNode {
            tree,
            node: &tree.nodes.0[i as usize],
        };
        let operands = |first: u32, len: u32| Operands {
            tree,
            next: first as usize,
            left: len as usize,
        };
        match self.node.kind {
            NodeKind::Compare { path, op, value } => FilterRefKind::Compare {
                path: path.resolve(tree.src),
                op,
                value: value.resolve(tree.src, &tree.strings),
            },
            NodeKind::Present { path, .. } => FilterRefKind::Present {
                path: path.resolve(tree.src),
            },
            NodeKind::And { first, len, .. } => FilterRefKind::And(operands(first, len)),
            NodeKind::Or { first, len, .. } => FilterRefKind::Or(operands(first, len)),
            NodeKind::Not { inner, .. } => FilterRefKind::Not(node(inner)),
            NodeKind::ValuePath { path, filter, .. } => FilterRefKind::ValuePath {
                path: path.resolve(tree.src),
                filter: node(filter),
            },
        }
    }

    /// Where the node stands in the input (as for [`Filter::span`]).
    ///
    /// ```
    /// use scim_parser::filter::{parse_filter_ref, FilterRefKind};
    /// use scim_parser::Span;
    /// let f = parse_filter_ref("a pr or b[c pr]").unwrap();
    /// let FilterRefKind::Or(items) = f.root().kind() else { unreachable!() };
    /// let spans: Vec<Span> = items.map(|n| n.span()).collect();
    /// assert_eq!(spans, [Span::new(0, 4), Span::new(8, 15)]);
    /// ```
    pub fn span(&self) -> Span {
        self.node.span()
    }
}

impl<'t, 'a> Iterator for Operands<'t, 'a> {
    type Item = FilterNode<'t, 'a>;

    fn next(&mut self) -> Option<FilterNode<'t, 'a>> {
        self.left = self.left.checked_sub(1)?;
        let node = &self.tree.nodes.0[self.next];
        self.next = node.next as usize;
        Some(FilterNode {
            tree: self.tree,
            node,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Operands<'_, '_> {}

/// Two trees are equal when they have the same shape, names, values and spans, whatever
/// input they were read from (as for [`Filter`]).
impl PartialEq for FilterRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.root() == other.root()
    }
}

/// Same kind, same span, and equal operands, compared in order.
impl PartialEq for FilterNode<'_, '_> {
    fn eq(&self, other: &Self) -> bool {
        self.span() == other.span() && self.kind() == other.kind()
    }
}

/// The same number of operands, equal in order.
impl PartialEq for Operands<'_, '_> {
    fn eq(&self, other: &Self) -> bool {
        self.clone().eq(other.clone())
    }
}

impl std::iter::FusedIterator for Operands<'_, '_> {}

impl fmt::Debug for FilterRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.root().fmt(f)
    }
}

impl fmt::Debug for FilterNode<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilterNode")
            .field("kind", &self.kind())
            .field("span", &self.span())
            .finish()
    }
}

impl fmt::Debug for Operands<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

impl fmt::Display for AttrPathRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(uri) = self.uri {
            write!(f, "{uri}:")?;
        }
        f.write_str(self.name)?;
        if let Some(sub) = self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl fmt::Display for LiteralValueRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiteralValueRef::Null => f.write_str("null"),
            LiteralValueRef::Bool(b) => write!(f, "{b}"),
            LiteralValueRef::Number(n) => f.write_str(n),
            LiteralValueRef::String(s) => write_json_string(f, s),
        }
    }
}

/// The same canonical form as [`Filter`]'s `Display`.
impl fmt::Display for FilterRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.root().fmt(f)
    }
}

/// The canonical form of the subtree under this node, as for [`Filter`]'s `Display`.
impl fmt::Display for FilterNode<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            FilterRefKind::Compare { path, op, value } => write!(f, "{path} {op} {}", value.value),
            FilterRefKind::Present { path } => write!(f, "{path} pr"),
            FilterRefKind::And(items) => write_ref_chain(f, items, " and ", |k| {
                matches!(k, FilterRefKind::And(_) | FilterRefKind::Or(_))
            }),
            FilterRefKind::Or(items) => {
                write_ref_chain(f, items, " or ", |k| matches!(k, FilterRefKind::Or(_)))
            }
            FilterRefKind::Not(inner) => write!(f, "not ({inner})"),
            FilterRefKind::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
        }
    }
}

fn write_ref_chain(
    f: &mut fmt::Formatter<'_>,
    items: Operands<'_, '_>,
    sep: &str,
    needs_parens: fn(&FilterRefKind<'_, '_>) -> bool,
) -> fmt::Result {
    for (i, item) in items.enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        if needs_parens(&item.kind()) {
            write!(f, "({item})")?;
        } else {
            write!(f, "{item}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind as K;

    #[test]
    fn the_operator_hash_agrees_with_a_plain_match_on_every_two_bytes() {
        let plain = |a: u8, b: u8| match [a.to_ascii_lowercase(), b.to_ascii_lowercase()] {
            [b'e', b'q'] => Some(CompareOp::Eq),
            [b'n', b'e'] => Some(CompareOp::Ne),
            [b'c', b'o'] => Some(CompareOp::Co),
            [b's', b'w'] => Some(CompareOp::Sw),
            [b'e', b'w'] => Some(CompareOp::Ew),
            [b'g', b't'] => Some(CompareOp::Gt),
            [b'l', b't'] => Some(CompareOp::Lt),
            [b'g', b'e'] => Some(CompareOp::Ge),
            [b'l', b'e'] => Some(CompareOp::Le),
            _ => None,
        };
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(compare_op(&[a, b]), plain(a, b), "{a:#04x} {b:#04x}");
                assert_eq!(compare_op(&[a, b, b'x']), None);
            }
            assert_eq!(compare_op(&[a]), None);
        }
        assert_eq!(compare_op(b""), None);
    }

    #[test]
    fn operator_slots_are_distinct() {
        let ops = ["eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le"];
        let mut slots: Vec<usize> = ops
            .iter()
            .map(|o| {
                let [a, b] = o.as_bytes() else { unreachable!() };
                op_slot(u16::from(*a) | u16::from(*b) << 8)
            })
            .collect();
        slots.sort_unstable();
        slots.dedup();
        assert_eq!(slots.len(), ops.len());
        for op in ops {
            assert_eq!(compare_op(op.as_bytes()).map(CompareOp::as_str), Some(op));
            let upper = op.to_ascii_uppercase();
            assert_eq!(
                compare_op(upper.as_bytes()).map(CompareOp::as_str),
                Some(op)
            );
        }
        // every other pair of bytes is no operator
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let word = [a, b];
                let lower = word.to_ascii_lowercase();
                let known = ops.iter().any(|o| o.as_bytes() == lower);
                assert_eq!(compare_op(&word).is_some(), known, "{word:?}");
            }
        }
        assert_eq!(compare_op(b"e"), None);
        assert_eq!(compare_op(b"eqq"), None);
    }

    #[test]
    fn a_dropped_arena_is_reused_by_the_next_parse_on_the_thread() {
        // a fresh thread, so that no other test's tree is in the spare
        std::thread::spawn(|| {
            let spare = || {
                SPARE_ARENA.with(|s| {
                    let v = s.take();
                    let cap = v.capacity();
                    s.set(v);
                    cap
                })
            };
            assert_eq!(spare(), 0);
            let first = parse_filter_ref("a pr and b pr").unwrap();
            let cap = first.nodes.0.capacity();
            assert!(cap >= 16, "{cap}");
            drop(first);
            assert_eq!(spare(), cap, "the arena goes to the spare");
            let second = parse_filter_ref("(c pr or d pr) and e eq 1").unwrap();
            assert_eq!(second.nodes.0.capacity(), cap, "the next parse takes it");
            assert_eq!(spare(), 0);
            assert_eq!(second.to_string(), "(c pr or d pr) and e eq 1");
            // conversion recycles it too
            let owned = second.into_owned();
            assert_eq!(owned.to_string(), "(c pr or d pr) and e eq 1");
            assert_eq!(spare(), cap);
            // a lone comparison has no arena and leaves the spare alone
            drop(parse_filter_ref("a pr").unwrap());
            assert_eq!(spare(), cap);
            // a huge arena is freed, not kept
            let opts = ParseOptions {
                max_len: usize::MAX,
                max_terms: 10_000,
                ..ParseOptions::default()
            };
            let long = vec!["a pr"; 3000].join(" or ");
            let big = parse_filter_ref_with(&long, &opts).unwrap();
            assert!(big.nodes.0.capacity() > MAX_SPARE_NODES);
            assert_eq!(spare(), 0, "the big parse took the spare and grew it");
            drop(big);
            assert_eq!(spare(), 0);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn nodes_stay_small() {
        // the arena's reservation and the speed numbers assume this size
        assert_eq!(std::mem::size_of::<Node>(), 40);
    }

    fn parse(s: &str) -> Filter {
        parse_filter(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn fail(s: &str) -> Error {
        match parse_filter(s) {
            Ok(f) => panic!("{s:?} parsed as {f}"),
            Err(e) => e,
        }
    }

    fn strict(s: &str) -> Result<Filter, Error> {
        parse_filter_with(s, &ParseOptions::strict())
    }

    fn path(name: &str) -> AttrPath {
        AttrPath {
            uri: None,
            name: name.into(),
            sub_attr: None,
            span: Span::default(),
        }
    }

    fn pr(name: &str) -> Filter {
        Filter {
            kind: FilterKind::Present { path: path(name) },
            span: Span::default(),
        }
    }

    fn eq(name: &str, value: LiteralValue) -> Filter {
        let value = Literal {
            value,
            span: Span::default(),
        };
        let kind = FilterKind::Compare {
            path: path(name),
            op: CompareOp::Eq,
            value,
        };
        Filter {
            kind,
            span: Span::default(),
        }
    }

    fn str_(s: &str) -> LiteralValue {
        LiteralValue::String(s.into())
    }

    fn and(items: Vec<Filter>) -> Filter {
        Filter {
            kind: FilterKind::And(items),
            span: Span::default(),
        }
    }

    fn or(items: Vec<Filter>) -> Filter {
        Filter {
            kind: FilterKind::Or(items),
            span: Span::default(),
        }
    }

    fn not(inner: Filter) -> Filter {
        Filter {
            kind: FilterKind::Not(Box::new(inner)),
            span: Span::default(),
        }
    }

    fn vp(name: &str, inner: Filter) -> Filter {
        let kind = FilterKind::ValuePath {
            path: path(name),
            filter: Box::new(inner),
        };
        Filter {
            kind,
            span: Span::default(),
        }
    }

    fn value(s: &str) -> LiteralValue {
        match parse(s).kind {
            FilterKind::Compare { value, .. } => value.value,
            other => panic!("{other:?}"),
        }
    }

    fn kind(s: &str) -> K {
        fail(s).kind
    }

    // attrPath

    #[test]
    fn attr_path_splits_the_uri_at_the_last_colon() {
        let FilterKind::Present { path } = parse("urn:a-b:2.0:User:name.givenName pr").kind else {
            panic!()
        };
        assert_eq!(path.uri.as_deref(), Some("urn:a-b:2.0:User"));
        assert_eq!(
            (path.name.as_str(), path.sub_attr.as_deref()),
            ("name", Some("givenName"))
        );
        assert_eq!(path.span, Span::new(0, 31));
    }

    #[test]
    fn attr_path_keeps_case_and_allows_name_chars() {
        assert_eq!(parse("My-Attr_2 pr").without_spans(), pr("My-Attr_2"));
    }

    #[test]
    fn attr_path_refuses_bad_names() {
        assert_eq!(
            kind("_abc pr"),
            K::ExpectedAttrName {
                found: Found::Text("_abc".into())
            }
        );
        assert!(matches!(kind("9x pr"), K::ExpectedAttrName { .. }));
        assert!(matches!(
            kind("name. pr"),
            K::ExpectedAttrName {
                found: Found::Text(_)
            }
        ));
        assert!(matches!(kind("urn:x: pr"), K::ExpectedAttrName { .. }));
        assert!(matches!(kind(":x pr"), K::InvalidUri { .. }));
        assert!(matches!(kind("1urn:x pr"), K::InvalidUri { .. }));
        assert_eq!(kind("a.b.c pr"), K::TooManySubAttrs);
    }

    #[test]
    fn dollar_policy() {
        assert!(parse_filter("myCu$tom pr").is_ok());
        assert!(parse_filter("members.$ref pr").is_ok());
        assert!(parse_filter("members[$ref pr]").is_ok());
        assert_eq!(kind("$ref pr"), K::LeadingDollar);
        assert_eq!(strict("members.$ref pr").unwrap_err().kind, K::DollarInName);
        assert_eq!(strict("a$b pr").unwrap_err().kind, K::DollarInName);
        assert!(matches!(kind("urn:$x:a pr"), K::InvalidUri { .. }));
    }

    // attrExp and compareOp

    #[test]
    fn every_operator_in_any_case() {
        let ops = ["eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le"];
        for op in ops {
            for spelled in [
                op.to_owned(),
                op.to_uppercase(),
                format!("{}{}", &op[..1].to_uppercase(), &op[1..]),
            ] {
                let f = parse(&format!("a {spelled} 1"));
                let FilterKind::Compare { op: got, .. } = f.kind else {
                    panic!()
                };
                assert_eq!(got.as_str(), op);
            }
        }
        assert_eq!(parse("a PR").without_spans(), pr("a"));
    }

    #[test]
    fn operators_are_whole_words() {
        assert_eq!(
            kind("a eqx 1"),
            K::UnknownOperator {
                found: "eqx".into()
            }
        );
        assert_eq!(
            kind("a lte 1"),
            K::UnknownOperator {
                found: "lte".into()
            }
        );
        assert!(matches!(
            kind("a"),
            K::ExpectedOperator { found: Found::End }
        ));
        assert!(matches!(kind("a=1"), K::ExpectedOperator { .. }));
        assert_eq!(kind("a+eq+1"), K::UrlEncoded);
    }

    #[test]
    fn space_is_required_around_operators() {
        let e = fail("a eq\"x\"");
        assert_eq!(
            e.kind,
            K::ExpectedSpace {
                after: "eq".into(),
                found: Found::Text("\"".into())
            }
        );
        assert_eq!(e.span, Span::new(4, 5));
        assert!(matches!(
            kind("a eq"),
            K::ExpectedSpace {
                found: Found::End,
                ..
            }
        ));
    }

    // compValue

    #[test]
    fn json_literals_are_lowercase() {
        assert_eq!(value("a eq true"), LiteralValue::Bool(true));
        assert_eq!(value("a eq false"), LiteralValue::Bool(false));
        assert_eq!(value("a eq null"), LiteralValue::Null);
        assert_eq!(
            kind("a eq Null"),
            K::MiscasedLiteral {
                found: "Null".into()
            }
        );
        assert_eq!(
            kind("a eq bob"),
            K::UnquotedValue {
                found: "bob".into()
            }
        );
        assert_eq!(
            kind("a eq truex"),
            K::UnquotedValue {
                found: "truex".into()
            }
        );
    }

    #[test]
    fn numbers_keep_their_text() {
        for n in [
            "0",
            "-0",
            "12",
            "-1.50",
            "1e5",
            "1E+5",
            "2.5e-3",
            "12345678901234567890",
            "1e-400",
        ] {
            assert_eq!(
                value(&format!("a eq {n}")),
                LiteralValue::Number(n.into()),
                "{n}"
            );
        }
    }

    #[test]
    fn numbers_follow_rfc_8259() {
        assert_eq!(kind("a eq 01"), K::LeadingZero);
        assert_eq!(kind("a eq -01"), K::LeadingZero);
        assert!(matches!(
            kind("a eq 1."),
            K::ExpectedDigit { found: Found::End }
        ));
        assert!(matches!(kind("a eq 1e"), K::ExpectedDigit { .. }));
        assert!(matches!(kind("a eq 1e+"), K::ExpectedDigit { .. }));
        assert!(matches!(kind("a eq -"), K::ExpectedDigit { .. }));
        assert_eq!(kind("a eq +1"), K::InvalidNumber { found: "+1".into() });
        assert_eq!(kind("a eq .5"), K::InvalidNumber { found: ".5".into() });
        assert_eq!(
            kind("a eq 1.5.3"),
            K::InvalidNumber {
                found: "1.5.3".into()
            }
        );
        assert_eq!(kind("a eq 1e400"), K::NumberOutOfRange);
        assert_eq!(kind("a eq -1e400"), K::NumberOutOfRange);
        assert_eq!(
            kind("a eq 0x10"),
            K::UnquotedValue {
                found: "0x10".into()
            }
        );
    }

    #[test]
    fn strings_decode_every_escape() {
        let v = value(r#"a eq "\"\\\/\b\f\n\r\t\u00e9\u00C9\uD83D\uDE00 x""#);
        assert_eq!(v, str_("\"\\/\u{8}\u{c}\n\r\té\u{c9}😀 x"));
        assert_eq!(value(r#"a eq "é 名""#), str_("é 名"));
        assert_eq!(value(r#"a eq "a]b)c(""#), str_("a]b)c("));
    }

    #[test]
    fn strings_refuse_what_json_refuses() {
        assert_eq!(kind(r#"a eq "\a""#), K::InvalidEscape { found: 'a' });
        assert_eq!(kind(r#"a eq "\é""#), K::InvalidEscape { found: 'é' });
        assert_eq!(kind(r#"a eq "\u12"#), K::InvalidUnicodeEscape);
        assert_eq!(kind(r#"a eq "\u12g4""#), K::InvalidUnicodeEscape);
        assert_eq!(kind(r#"a eq "abc"#), K::UnterminatedString);
        assert_eq!(kind(r#"a eq "abc\"#), K::UnterminatedString);
        assert_eq!(kind("a eq \"a\u{1}b\""), K::ControlCharacter { byte: 1 });
        assert_eq!(
            kind("a eq 'x'"),
            K::ExpectedValue {
                found: Found::Text("'".into())
            }
        );
    }

    #[test]
    fn string_run_finds_the_first_special_byte_at_every_offset() {
        let naive = |b: &[u8]| b.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
        for len in 0..20 {
            for at in 0..=len {
                for special in 0..=255u8 {
                    // filler bytes around the probe: ASCII, UTF-8 continuation, DEL, space
                    for filler in [b'a', 0x80, 0xff, 0x7f, b' ', 0x21] {
                        let mut input = vec![filler; len];
                        if at < len {
                            input[at] = special;
                        }
                        let want = naive(&input).unwrap_or(len);
                        assert_eq!(super::string_run(&input), want, "{input:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn lone_surrogates_are_refused() {
        assert_eq!(kind(r#"a eq "\uD800""#), K::LoneSurrogate { unit: 0xD800 });
        assert_eq!(kind(r#"a eq "\uDC00""#), K::LoneSurrogate { unit: 0xDC00 });
        assert_eq!(
            kind(r#"a eq "\uD800\u0041""#),
            K::LoneSurrogate { unit: 0xD800 }
        );
        assert_eq!(kind(r#"a eq "\uD800x""#), K::LoneSurrogate { unit: 0xD800 });
        assert_eq!(fail(r#"a eq "\uD800""#).span, Span::new(6, 12));
    }

    // logExp, precedence and grouping

    #[test]
    fn and_binds_tighter_than_or() {
        let f = parse("a pr or b pr and c pr or d pr").without_spans();
        assert_eq!(f, or(vec![pr("a"), and(vec![pr("b"), pr("c")]), pr("d")]));
    }

    #[test]
    fn chains_are_n_ary_and_written_grouping_is_kept() {
        assert_eq!(
            parse("a pr and b pr and c pr").without_spans(),
            and(vec![pr("a"), pr("b"), pr("c")])
        );
        assert_eq!(
            parse("(a pr and b pr) and c pr").without_spans(),
            and(vec![and(vec![pr("a"), pr("b")]), pr("c")])
        );
        assert_eq!(parse("((a pr))").without_spans(), pr("a"));
    }

    #[test]
    fn keywords_are_case_insensitive_whole_words() {
        assert_eq!(
            parse("a pr AND b pr Or c pr").without_spans(),
            or(vec![and(vec![pr("a"), pr("b")]), pr("c")])
        );
        assert_eq!(
            parse("orders pr or andy pr").without_spans(),
            or(vec![pr("orders"), pr("andy")])
        );
        assert_eq!(
            parse("and pr and or pr").without_spans(),
            and(vec![pr("and"), pr("or")])
        );
        assert_eq!(
            kind("a pr andb pr"),
            K::ExpectedLogicalOperator {
                closer: Closer::End,
                found: Found::Text("andb".into())
            }
        );
    }

    #[test]
    fn logical_keywords_need_spaces() {
        assert_eq!(
            kind("(a pr)and b pr"),
            K::ExpectedSpaceBefore { keyword: "and" }
        );
        assert!(matches!(kind("a pr and(b pr)"), K::ExpectedSpace { .. }));
        assert!(matches!(
            kind("a pr or"),
            K::ExpectedFilter { found: Found::End }
        ));
    }

    #[test]
    fn not_forms() {
        assert_eq!(parse("not(a pr)").without_spans(), not(pr("a")));
        assert_eq!(parse("NOT  (a pr)").without_spans(), not(pr("a")));
        assert_eq!(strict("not (a pr)").unwrap().without_spans(), not(pr("a")));
        assert_eq!(strict("not(a pr)").unwrap().without_spans(), not(pr("a")));
        assert_eq!(strict("not  (a pr)").unwrap_err().kind, K::StrictWhitespace);
        assert_eq!(parse("not pr").without_spans(), pr("not"));
        assert_eq!(kind("not a pr"), K::NotNeedsParen);
        assert_eq!(kind("not"), K::NotNeedsParen);
        let f = parse("x pr and not (a pr)");
        let FilterKind::And(items) = &f.kind else {
            panic!()
        };
        assert_eq!(items[1].span, Span::new(9, 19));
    }

    #[test]
    fn groups_must_balance_and_hold_a_filter() {
        assert_eq!(kind("(a pr"), K::UnclosedParen { open: 0 });
        assert_eq!(kind("a pr)"), K::UnmatchedParen);
        assert_eq!(kind("a pr]"), K::UnmatchedBracket);
        assert!(matches!(kind("( )"), K::ExpectedFilter { .. }));
        assert!(matches!(
            kind("(a pr ]"),
            K::ExpectedLogicalOperator {
                closer: Closer::Paren,
                ..
            }
        ));
    }

    // valuePath

    #[test]
    fn value_paths_take_a_full_value_filter() {
        let f = parse(r#"emails[type eq "work" or not (value pr)]"#).without_spans();
        assert_eq!(
            f,
            vp(
                "emails",
                or(vec![eq("type", str_("work")), not(pr("value"))])
            )
        );
        assert_eq!(kind("a[b[c pr]]"), K::NestedValuePath);
        assert_eq!(kind("a[(b[c pr])]"), K::NestedValuePath);
        assert_eq!(kind("a[b pr][c pr]"), K::SecondValueFilter);
        assert_eq!(kind("a[b pr"), K::UnclosedBracket { open: 1 });
        assert!(matches!(kind("a[]"), K::ExpectedFilter { .. }));
        assert_eq!(
            kind("a[b pr] pr"),
            K::ComparisonAfterValuePath { op: "pr".into() }
        );
        assert_eq!(
            parse("a[b pr] and c[d pr]").without_spans(),
            and(vec![vp("a", pr("b")), vp("c", pr("d"))])
        );
    }

    #[test]
    fn entra_form_only_with_interop() {
        let input = r#"emails[type eq "work"].value eq "x""#;
        assert_eq!(kind(input), K::EntraValuePathCompare);
        assert_eq!(strict(input).unwrap_err().kind, K::EntraValuePathCompare);
        let f = parse_filter_with(input, &ParseOptions::interop()).unwrap();
        assert_eq!(
            f.without_spans(),
            vp(
                "emails",
                and(vec![eq("type", str_("work")), eq("value", str_("x"))])
            )
        );
        assert_eq!(f.span, Span::new(0, input.len()));
        let f = parse_filter_with("a[b pr or c pr].d pr", &ParseOptions::interop()).unwrap();
        assert_eq!(f.to_string(), "a[(b pr or c pr) and d pr]");
        let f = parse_filter_with("a[b pr and c pr].d pr", &ParseOptions::interop()).unwrap();
        assert_eq!(f.to_string(), "a[b pr and c pr and d pr]");
        // the `and` moves behind the new operand in the arena; its operands stay linked
        let input = "x pr or a[b pr and (c pr or d pr)].e pr";
        let f = parse_filter_with(input, &ParseOptions::interop()).unwrap();
        assert_eq!(f.to_string(), "x pr or a[b pr and (c pr or d pr) and e pr]");
        let r = parse_filter_ref_with(input, &ParseOptions::interop()).unwrap();
        let FilterRefKind::Or(mut items) = r.kind() else {
            panic!()
        };
        let FilterRefKind::ValuePath { filter, .. } = items.nth(1).unwrap().kind() else {
            panic!()
        };
        let FilterRefKind::And(ands) = filter.kind() else {
            panic!()
        };
        let printed: Vec<String> = ands.map(|n| n.to_string()).collect();
        assert_eq!(printed, ["b pr", "c pr or d pr", "e pr"]);
        let e = parse_filter_with("a[b pr].d.e pr", &ParseOptions::interop()).unwrap_err();
        assert_eq!(e.kind, K::TooManySubAttrs);
    }

    // whitespace

    #[test]
    fn default_whitespace_is_lenient_but_never_zero() {
        assert_eq!(
            parse(" \ta \t eq\t\t1 \r\n").without_spans(),
            eq("a", LiteralValue::Number("1".into()))
        );
        assert_eq!(parse("( a pr )").without_spans(), pr("a"));
        assert_eq!(parse("a[ b pr ]").without_spans(), vp("a", pr("b")));
        assert!(matches!(
            kind("a pr\nand b pr"),
            K::ExpectedLogicalOperator { .. }
        ));
        assert_eq!(kind(" \t\r\n"), K::EmptyInput);
    }

    #[test]
    fn strict_whitespace_is_one_space() {
        assert!(strict("a eq 1 and (b pr)").is_ok());
        for bad in [
            "a  eq 1",
            "a\teq 1",
            " a pr",
            "a pr ",
            "( a pr)",
            "(a pr )",
            "a[ b pr]",
            "a pr  and b pr",
        ] {
            assert_eq!(
                strict(bad).unwrap_err().kind,
                K::StrictWhitespace,
                "{bad:?}"
            );
        }
    }

    // spans and Display

    #[test]
    fn spans_cover_each_node() {
        let f = parse(r#"  a eq "x" or b[c pr]"#);
        assert_eq!(f.span, Span::new(2, 21));
        let FilterKind::Or(items) = &f.kind else {
            panic!()
        };
        let FilterKind::Compare { path, value, .. } = &items[0].kind else {
            panic!()
        };
        assert_eq!(
            (path.span, value.span, items[0].span),
            (Span::new(2, 3), Span::new(7, 10), Span::new(2, 10))
        );
        let FilterKind::ValuePath { path, filter } = &items[1].kind else {
            panic!()
        };
        assert_eq!(
            (path.span, filter.span, items[1].span),
            (Span::new(14, 15), Span::new(16, 20), Span::new(14, 21))
        );
    }

    #[test]
    fn display_is_canonical() {
        let cases = [
            ("a  EQ  \"x\"", "a eq \"x\""),
            ("NOT(a pr)", "not (a pr)"),
            ("(a pr or b pr) and c pr", "(a pr or b pr) and c pr"),
            ("a pr or (b pr and c pr)", "a pr or b pr and c pr"),
            ("a pr or (b pr or c pr)", "a pr or (b pr or c pr)"),
            ("(a pr and b pr) and c pr", "(a pr and b pr) and c pr"),
            ("a eq \"q\\\"\\u0001\\/\"", "a eq \"q\\\"\\u0001/\""),
            ("x eq -0.0E+1", "x eq -0.0E+1"),
            ("urn:x:a.b pr", "urn:x:a.b pr"),
        ];
        for (input, want) in cases {
            let f = parse(input);
            assert_eq!(f.to_string(), want);
            assert!(parse(want).eq_ignore_spans(&f));
        }
    }

    #[test]
    fn eq_ignore_spans_compares_structure() {
        assert!(parse("a pr").eq_ignore_spans(&parse(" a  pr")));
        assert!(!parse("a pr").eq_ignore_spans(&parse("A pr")));
        assert!(!parse("a eq 1").eq_ignore_spans(&parse("a eq \"1\"")));
        assert!(!parse("a pr and b pr").eq_ignore_spans(&parse("a pr or b pr")));
        assert_ne!(parse("a pr"), parse(" a pr"), "== compares spans");
    }
}
