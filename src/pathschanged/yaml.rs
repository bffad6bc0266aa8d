//! A positioned YAML tree built from `saphyr-parser`'s events: every node knows its byte range
//! in the original text, its parent, and whether it is an alias; anchors are resolved to nodes.
//! Nothing is re-serialised: the rewrite edits the original text at these offsets.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::error::{Error, ErrorKind, Location};

/// Collections nested deeper than this are refused (the tree's users recurse over it).
pub(crate) const MAX_DEPTH: usize = 128;

pub(crate) type NodeId = usize;

const CORE: &str = "tag:yaml.org,2002:";

#[derive(Debug)]
pub(crate) enum Kind {
    /// A scalar. `plain` is the plain style; an empty plain scalar is an empty node (null).
    Scalar {
        value: String,
        plain: bool,
    },
    Seq(Vec<NodeId>),
    Map(Vec<(NodeId, NodeId)>),
    /// An alias, resolved to its anchored node.
    Alias(NodeId),
}

/// How a node hangs from its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Root,
    Item,
    Key,
    /// The value of the entry with this key node.
    Value(NodeId),
}

#[derive(Debug)]
pub(crate) struct Node {
    pub kind: Kind,
    /// Whether an anchor (`&name`) is set on this node.
    pub anchored: bool,
    /// The explicit tag, as `handle` + `suffix` (`tag:yaml.org,2002:str` for `!!str`).
    pub tag: Option<String>,
    /// Byte offset where the node's text starts (its properties included when the parser says
    /// so; for a block mapping, the first key or the properties).
    pub start: usize,
    /// Byte offset just past the node's last content character (trailing blank lines and
    /// comments excluded); `start` for an empty node without properties.
    pub end: usize,
    /// 1-based line and column (characters) of `start`.
    pub line: usize,
    pub column: usize,
    /// A flow collection (`[...]`, `{...}`), or a node inside one.
    pub flow: bool,
    /// An empty node without properties: no text of its own (`start`/`end` are only near it).
    pub textless: bool,
    pub parent: Option<NodeId>,
    pub role: Role,
}

impl Node {
    /// A scalar's value (`None` for collections and aliases).
    pub fn scalar(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// Null: an empty node, `~`, `null`, `Null`, `NULL` (plain), or tagged `!!null`.
    pub fn is_null(&self) -> bool {
        match &self.kind {
            Kind::Scalar { value, plain } => {
                if let Some(tag) = &self.tag {
                    return tag == &format!("{CORE}null");
                }
                *plain && matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL")
            }
            _ => false,
        }
    }

    /// A plain `<<` key (the merge key).
    pub fn is_merge_key(&self) -> bool {
        match &self.kind {
            Kind::Scalar { value, plain } => {
                value == "<<"
                    && match &self.tag {
                        None => *plain,
                        Some(tag) => tag == &format!("{CORE}merge"),
                    }
            }
            _ => false,
        }
    }

    /// What the node is, for error messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            _ if self.is_null() => "null",
            Kind::Scalar { .. } => "a scalar",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
            Kind::Alias(_) => "an alias",
        }
    }
}

#[derive(Debug)]
pub(crate) struct Document {
    pub root: NodeId,
    /// 1-based line of the document's first event.
    pub line: usize,
}

#[derive(Debug)]
pub(crate) struct Tree {
    pub nodes: Vec<Node>,
    pub documents: Vec<Document>,
    /// For each anchored node, the alias nodes that refer to it.
    pub references: HashMap<NodeId, Vec<NodeId>>,
}

impl Tree {
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// The node itself, or the node an alias refers to.
    pub fn resolve(&self, id: NodeId) -> NodeId {
        match self.nodes[id].kind {
            Kind::Alias(target) => target,
            _ => id,
        }
    }

    /// Whether an alias refers to this node.
    pub fn is_referenced(&self, id: NodeId) -> bool {
        self.references.get(&id).is_some_and(|r| !r.is_empty())
    }

    /// The alias nodes referring to this node.
    pub fn references(&self, id: NodeId) -> &[NodeId] {
        self.references.get(&id).map_or(&[], Vec::as_slice)
    }

    /// Every node of the subtree rooted at `id` (aliases not followed), `id` included.
    pub fn subtree(&self, id: NodeId) -> Vec<NodeId> {
        let mut out = Vec::new();
        let mut stack = vec![id];
        while let Some(n) = stack.pop() {
            out.push(n);
            match &self.nodes[n].kind {
                Kind::Seq(items) => stack.extend(items.iter().rev()),
                Kind::Map(entries) => {
                    for (k, v) in entries.iter().rev() {
                        stack.push(*v);
                        stack.push(*k);
                    }
                }
                Kind::Scalar { .. } | Kind::Alias(_) => {}
            }
        }
        out
    }
}

/// Character index → byte offset (identity for ASCII text).
struct Offsets {
    bytes: Option<Vec<usize>>,
    len: usize,
}

impl Offsets {
    fn new(text: &str) -> Offsets {
        let bytes = (!text.is_ascii()).then(|| {
            let mut v: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
            v.push(text.len());
            v
        });
        Offsets {
            bytes,
            len: text.len(),
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.bytes {
            None => char_index.min(self.len),
            Some(v) => v.get(char_index).copied().unwrap_or(self.len),
        }
    }
}

struct Open {
    node: NodeId,
    key: Option<NodeId>,
}

struct Builder<'t> {
    text: &'t str,
    offsets: Offsets,
    nodes: Vec<Node>,
    documents: Vec<Document>,
    anchors: HashMap<usize, NodeId>,
    references: HashMap<NodeId, Vec<NodeId>>,
    stack: Vec<Open>,
    root: Option<NodeId>,
    document_line: usize,
}

/// Parses the whole stream.
pub(crate) fn parse(text: &str) -> Result<Tree, Error> {
    let mut b = Builder {
        text,
        offsets: Offsets::new(text),
        nodes: Vec::new(),
        documents: Vec::new(),
        anchors: HashMap::new(),
        references: HashMap::new(),
        stack: Vec::new(),
        root: None,
        document_line: 1,
    };
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            let mark = e.marker();
            b.error(
                ErrorKind::Syntax(e.info().to_owned()),
                mark.line(),
                mark.col() + 1,
            )
        })?;
        b.event(event, span)?;
    }
    Ok(Tree {
        nodes: b.nodes,
        documents: b.documents,
        references: b.references,
    })
}

impl Builder<'_> {
    fn error(&self, kind: ErrorKind, line: usize, column: usize) -> Error {
        Error::new(
            kind,
            Location {
                line,
                column,
                document: self.documents.len() + 1,
                ..Location::default()
            },
        )
    }

    fn in_flow(&self) -> bool {
        self.stack.last().is_some_and(|o| self.nodes[o.node].flow)
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), Error> {
        let start = self.offsets.byte(span.start.index());
        let end = self.offsets.byte(span.end.index()).max(start);
        let line = span.start.line();
        let column = span.start.col() + 1;
        let seq = matches!(event, Event::SequenceStart(..));
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
            Event::DocumentStart(_) => {
                self.root = None;
                self.anchors.clear();
                self.document_line = line;
            }
            Event::DocumentEnd => {
                let root = match self.root.take() {
                    Some(root) => root,
                    // Not produced by the parser; an empty document is a null root.
                    None => self.push(
                        Kind::Scalar {
                            value: String::new(),
                            plain: true,
                        },
                        None,
                        start,
                        start,
                        line,
                        column,
                        false,
                    ),
                };
                self.documents.push(Document {
                    root,
                    line: self.document_line,
                });
            }
            Event::Alias(anchor) => {
                self.check_tab(start, line)?;
                let Some(&target) = self.anchors.get(&anchor) else {
                    return Err(self.error(
                        ErrorKind::Syntax("alias to an unknown anchor".into()),
                        line,
                        column,
                    ));
                };
                let flow = self.in_flow();
                let end = self.trim_end(start, end);
                let id = self.push(Kind::Alias(target), None, start, end, line, column, flow);
                self.references.entry(target).or_default().push(id);
                self.attach(id);
            }
            Event::Scalar(value, style, anchor, tag) => {
                let plain = style == ScalarStyle::Plain;
                let empty = plain && value.is_empty();
                let flow = self.in_flow();
                let end = if empty {
                    // An empty node: only its properties (if any) are text.
                    self.properties_end(start, end, flow)
                } else {
                    self.check_tab(start, line)?;
                    self.trim_end(start, end)
                };
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                let id = self.push(
                    Kind::Scalar {
                        value: value.into_owned(),
                        plain,
                    },
                    tag,
                    start,
                    end,
                    line,
                    column,
                    flow,
                );
                self.nodes[id].textless = empty && end == start;
                self.anchor(anchor, id);
                self.attach(id);
            }
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) => {
                if self.stack.len() >= MAX_DEPTH {
                    return Err(self.error(ErrorKind::TooDeep { limit: MAX_DEPTH }, line, column));
                }
                let opening = self.opening_bracket(start, end);
                let flow = self.in_flow() || opening.is_some();
                if start < end {
                    self.check_tab(start, line)?;
                }
                let kind = if seq {
                    Kind::Seq(Vec::new())
                } else {
                    Kind::Map(Vec::new())
                };
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                // A flow collection's end is found when it closes; start past its bracket.
                let content = opening.map_or(start, |o| o + 1);
                let id = self.push(kind, tag, start, content, line, column, flow);
                self.anchor(anchor, id);
                self.stack.push(Open {
                    node: id,
                    key: None,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(open) = self.stack.pop() else {
                    return Ok(());
                };
                let id = open.node;
                let end_of = |n: NodeId| (!self.nodes[n].textless).then_some(self.nodes[n].end);
                let last = match &self.nodes[id].kind {
                    Kind::Seq(items) => items.iter().filter_map(|&i| end_of(i)).max(),
                    Kind::Map(entries) => entries
                        .iter()
                        .flat_map(|&(k, v)| [end_of(k), end_of(v)])
                        .flatten()
                        .max(),
                    _ => None,
                };
                let node_end = self.nodes[id].end;
                let last = last.unwrap_or(node_end).max(node_end);
                let end = if self.nodes[id].flow && self.opening_bracket_of(id).is_some() {
                    self.closing_bracket(last).ok_or_else(|| {
                        self.error(
                            ErrorKind::Syntax("cannot find the end of a flow collection".into()),
                            line,
                            column,
                        )
                    })?
                } else {
                    last
                };
                self.nodes[id].end = end;
                self.attach(id);
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        kind: Kind,
        tag: Option<String>,
        start: usize,
        end: usize,
        line: usize,
        column: usize,
        flow: bool,
    ) -> NodeId {
        self.nodes.push(Node {
            kind,
            anchored: false,
            tag,
            start,
            end,
            line,
            column,
            flow,
            textless: false,
            parent: None,
            role: Role::Root,
        });
        self.nodes.len() - 1
    }

    fn anchor(&mut self, anchor: usize, id: NodeId) {
        if anchor != 0 {
            self.nodes[id].anchored = true;
            self.anchors.insert(anchor, id);
        }
    }

    fn attach(&mut self, id: NodeId) {
        let Some(open) = self.stack.last_mut() else {
            self.root = Some(id);
            return;
        };
        let parent = open.node;
        let role = match &mut self.nodes[parent].kind {
            Kind::Seq(items) => {
                items.push(id);
                Role::Item
            }
            Kind::Map(entries) => match open.key.take() {
                None => {
                    open.key = Some(id);
                    Role::Key
                }
                Some(key) => {
                    entries.push((key, id));
                    Role::Value(key)
                }
            },
            _ => Role::Item,
        };
        self.nodes[id].parent = Some(parent);
        self.nodes[id].role = role;
    }

    /// `end` moved back over trailing whitespace (a block scalar's span runs to the next token).
    fn trim_end(&self, start: usize, end: usize) -> usize {
        let trimmed = self.text[start..end].trim_end_matches([' ', '\t', '\r', '\n']);
        start + trimmed.len()
    }

    /// The end of the properties (`&anchor`, `!tag`) that start at `start`, or `start`.
    fn properties_end(&self, start: usize, limit: usize, flow: bool) -> usize {
        let bytes = self.text.as_bytes();
        let mut i = start;
        let mut end = start;
        while i < limit && matches!(bytes[i], b'&' | b'!') {
            while i < limit
                && !matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n')
                && !(flow && matches!(bytes[i], b',' | b'[' | b']' | b'{' | b'}'))
            {
                i += 1;
            }
            end = i;
            while i < limit && matches!(bytes[i], b' ' | b'\t') {
                i += 1;
            }
        }
        end
    }

    /// The offset of the `[` or `{` of a collection start event, skipping its properties.
    fn opening_bracket(&self, start: usize, end: usize) -> Option<usize> {
        let bytes = self.text.as_bytes();
        let mut i = start;
        while i < end {
            match bytes[i] {
                b'[' | b'{' => return Some(i),
                b'&' | b'!' => {
                    while i < end && !matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n' | b'[' | b'{')
                    {
                        i += 1;
                    }
                }
                b' ' | b'\t' | b'\r' | b'\n' => i += 1,
                _ => return None,
            }
        }
        None
    }

    fn opening_bracket_of(&self, id: NodeId) -> Option<usize> {
        let node = &self.nodes[id];
        // The content end was set just past the bracket when the collection opened.
        let at = node.end.checked_sub(1)?;
        matches!(self.text.as_bytes().get(at), Some(b'[' | b'{')).then_some(at)
    }

    /// The offset just past the `]` or `}` that closes a flow collection whose content ends at
    /// `from`: only blanks, `,`, `:`, `?` and comments can come between.
    fn closing_bracket(&self, from: usize) -> Option<usize> {
        let bytes = self.text.as_bytes();
        let mut i = from;
        while i < bytes.len() {
            match bytes[i] {
                b']' | b'}' => return Some(i + 1),
                b' ' | b'\t' | b'\r' | b'\n' | b',' | b':' | b'?' => i += 1,
                b'#' => {
                    while i < bytes.len() && !matches!(bytes[i], b'\r' | b'\n') {
                        i += 1;
                    }
                }
                _ => return None,
            }
        }
        None
    }

    /// Drone's parser (libyaml's scanner) refuses a tab where indentation is read: at the start
    /// of a line or after a block indicator (`-`, `?`, `:`) that starts the line. YAML 1.2
    /// parsers accept some of these (`-\tname: a`).
    fn check_tab(&self, start: usize, line: usize) -> Result<(), Error> {
        if self.in_flow() {
            return Ok(());
        }
        let before = &self.text[..start];
        let line_start = before.rfind(['\n', '\r']).map_or(0, |i| i + 1);
        let prefix = &before[line_start..];
        if prefix.starts_with("---") || prefix.starts_with("...") {
            return Ok(());
        }
        if prefix
            .chars()
            .all(|c| matches!(c, ' ' | '\t' | '-' | '?' | ':'))
            && let Some(tab) = prefix.find('\t')
        {
            let column = prefix[..tab].chars().count() + 1;
            return Err(self.error(ErrorKind::Tab, line, column));
        }
        Ok(())
    }
}
