//! The lossless rewrite: evaluate every `paths` condition, then insert or replace only the
//! `event` keys of what is skipped, in the original text.

use std::collections::{HashMap, HashSet};

use super::condition::{ChangedIndex, PathsCondition};
use super::doublestar::Pattern;
use super::error::{Error, ErrorKind, Location, PathsProblem};
use super::yaml::{self, Kind, NodeId, Role, Tree};

/// The value set on `event` to skip a pipeline or step: Drone then excludes every event.
const MARKER: &str = "{exclude: ['*']}";

/// How deep `<<` merges are followed (a merge of a mapping that merges …).
const MAX_MERGE_DEPTH: usize = 16;

const CORE: &str = "tag:yaml.org,2002:";

/// The answer of [`rewrite`]: the rewritten configuration, if anything changed, and what was
/// decided for every pipeline and step.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rewrite {
    /// The configuration with the skip markers added, or `None` when the original text is
    /// already the answer: nothing is skipped, or every skipped pipeline and step already
    /// carries the marker (a converter answers `204`, "keep the original").
    pub config: Option<String>,
    /// One entry per `kind: pipeline` document, in order.
    pub pipelines: Vec<PipelineDecision>,
}

impl Rewrite {
    /// Whether a pipeline or a step is skipped.
    pub fn skips_anything(&self) -> bool {
        self.pipelines
            .iter()
            .any(|p| p.skipped || p.steps.iter().any(|s| s.skipped))
    }
}

/// What was decided for one pipeline (a `kind: pipeline` document).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PipelineDecision {
    /// 1-based index of the document in the file (every document counts, `kind: secret` too).
    pub document: usize,
    /// 1-based line where the document starts.
    pub line: usize,
    /// The pipeline's `name`, if it has one.
    pub name: Option<String>,
    /// Its `trigger.paths` condition, if it has one.
    pub condition: Option<PathsCondition>,
    /// Whether the pipeline is skipped (`trigger.event` set to `{exclude: ['*']}`).
    pub skipped: bool,
    /// Its steps, in order (`null` entries of `steps` left out).
    pub steps: Vec<StepDecision>,
}

/// What was decided for one step.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StepDecision {
    /// 1-based position in `steps`.
    pub index: usize,
    /// 1-based line where the step starts.
    pub line: usize,
    /// The step's `name`, if it has one.
    pub name: Option<String>,
    /// Its `when.paths` condition, if it has one.
    pub condition: Option<PathsCondition>,
    /// Whether the step is skipped (`when.event` set to `{exclude: ['*']}`).
    pub skipped: bool,
}

/// Whether any pipeline of the configuration has a `trigger.paths` or `steps[].when.paths`
/// condition: without one, nothing can be skipped and the changed files need not be asked for.
///
/// ```
/// use drone_extension::pathschanged::has_paths_conditions;
///
/// assert!(!has_paths_conditions("kind: pipeline\nsteps:\n- name: a\n")?);
/// assert!(has_paths_conditions("kind: pipeline\ntrigger:\n  paths: [src/**]\n")?);
/// // Only `kind: pipeline` documents, only `trigger` and step `when`.
/// assert!(!has_paths_conditions("kind: Pipeline\ntrigger:\n  paths: [src/**]\n")?);
/// # Ok::<(), drone_extension::pathschanged::Error>(())
/// ```
///
/// # Errors
///
/// The same as [`rewrite`] before any file is matched: invalid YAML, a malformed condition or
/// pattern (so a broken configuration fails before the changed files are computed).
pub fn has_paths_conditions(config: &str) -> Result<bool, Error> {
    let tree = yaml::parse(config)?;
    let evaluation = evaluate(&tree, None)?;
    Ok(evaluation.iter().any(|p| {
        p.trigger.condition.is_some() || p.steps.iter().any(|s| s.position.condition.is_some())
    }))
}

/// Evaluates every `paths` condition of `config` against the changed files and marks what is
/// skipped, editing the original text (see the [module documentation](super) for the rules).
///
/// ```
/// use drone_extension::pathschanged::rewrite;
///
/// let config = "\
/// kind: pipeline
/// name: api # the API
///
/// steps:
/// - name: test
///   image: golang
///   when:
///     paths: [api/**]
/// - name: docs
///   image: alpine
///   when: {paths: [docs/**]}
/// ";
/// let answer = rewrite(config, &["api/main.go"])?;
/// assert_eq!(answer.config.as_deref(), Some("\
/// kind: pipeline
/// name: api # the API
///
/// steps:
/// - name: test
///   image: golang
///   when:
///     paths: [api/**]
/// - name: docs
///   image: alpine
///   when: {paths: [docs/**], event: {exclude: ['*']}}
/// "));
/// let steps = &answer.pipelines[0].steps;
/// assert_eq!((steps[0].skipped, steps[1].skipped), (false, true));
///
/// // Nothing skipped: keep the original (a converter answers 204).
/// assert_eq!(rewrite(config, &["api/main.go", "docs/index.md"])?.config, None);
/// # Ok::<(), drone_extension::pathschanged::Error>(())
/// ```
///
/// # Errors
///
/// An [`Error`] naming the line, column, document, pipeline and step: invalid YAML or a tab in
/// indentation, a pipeline whose `steps`, step, `when` or `trigger` has the wrong type, a
/// duplicate key or an ambiguous merge where the rewrite reads, a `paths` value the reference
/// would silently ignore in part or in whole, a malformed pattern, a condition shared through
/// anchors in a way that the marker cannot be added to only what is skipped, and (never
/// expected) a rewrite that does not verify. Nothing is returned then: never a configuration
/// that is not the intended one.
pub fn rewrite<S: AsRef<str>>(config: &str, changed_files: &[S]) -> Result<Rewrite, Error> {
    let tree = yaml::parse(config)?;
    // Sorted once for every condition and for the verification.
    let changed = ChangedIndex::new(changed_files);
    let evaluation = evaluate(&tree, Some(&changed))?;
    let reader = Reader {
        tree: &tree,
        text: config,
    };
    let mut edits: Vec<Edit> = Vec::new();
    let mut planned: HashSet<NodeId> = HashSet::new();
    for pipeline in &evaluation {
        let positions =
            std::iter::once(&pipeline.trigger).chain(pipeline.steps.iter().map(|s| &s.position));
        for position in positions {
            if !position.skipped {
                continue;
            }
            let Some(target) = position.target else {
                continue;
            };
            if planned.insert(target)
                && let Some(edit) = reader.plan(position, target, pipeline.root)?
            {
                edits.push(edit);
            }
        }
    }
    let pipelines = evaluation.iter().map(Evaluated::decision).collect();
    if edits.is_empty() {
        return Ok(Rewrite {
            config: None,
            pipelines,
        });
    }
    let output = apply(config, &mut edits)?;
    verify(&tree, &evaluation, &edits, &output, &changed)?;
    Ok(Rewrite {
        config: Some(output),
        pipelines,
    })
}

/// One evaluated place: a pipeline's `trigger` or a step's `when`.
#[derive(Debug)]
struct Position {
    /// The `trigger` or `when` mapping (aliases resolved), when there is one.
    target: Option<NodeId>,
    condition: Option<PathsCondition>,
    skipped: bool,
    location: Location,
}

#[derive(Debug)]
struct EvaluatedStep {
    index: usize,
    name: Option<String>,
    position: Position,
}

#[derive(Debug)]
struct Evaluated {
    document: usize,
    line: usize,
    root: NodeId,
    name: Option<String>,
    trigger: Position,
    steps: Vec<EvaluatedStep>,
}

impl Evaluated {
    fn decision(&self) -> PipelineDecision {
        PipelineDecision {
            document: self.document,
            line: self.line,
            name: self.name.clone(),
            condition: self.trigger.condition.clone(),
            skipped: self.trigger.skipped,
            steps: self
                .steps
                .iter()
                .map(|s| StepDecision {
                    index: s.index,
                    line: s.position.location.line,
                    name: s.name.clone(),
                    condition: s.position.condition.clone(),
                    skipped: s.position.skipped,
                })
                .collect(),
        }
    }
}

/// A key found in a mapping, explicitly or through `<<`.
#[derive(Debug, Clone, Copy)]
struct Found {
    key: NodeId,
    value: NodeId,
    merged: bool,
}

/// Reads a tree: lookups with merge keys, conditions, error locations.
struct Reader<'a> {
    tree: &'a Tree,
    text: &'a str,
}

fn evaluate(tree: &Tree, changed: Option<&ChangedIndex<'_>>) -> Result<Vec<Evaluated>, Error> {
    let reader = Reader { tree, text: "" };
    let mut out = Vec::new();
    for (index, document) in tree.documents.iter().enumerate() {
        let mut context = Location {
            document: index + 1,
            ..Location::default()
        };
        let root = tree.resolve(document.root);
        let node = tree.node(root);
        if node.is_null() {
            continue;
        }
        match node.kind {
            Kind::Map(_) => {}
            _ => {
                return Err(reader.error(
                    ErrorKind::NotAMapping {
                        found: node.describe(),
                    },
                    root,
                    &context,
                ));
            }
        }
        let Some(kind) = reader.lookup(root, "kind", &context)? else {
            continue;
        };
        let kind_value = tree.resolve(kind.value);
        match &tree.node(kind_value).kind {
            _ if tree.node(kind_value).is_null() => continue,
            Kind::Scalar { value, .. } if value == "pipeline" => {}
            Kind::Scalar { .. } => continue,
            _ => {
                return Err(reader.error(
                    ErrorKind::WrongType {
                        key: "kind",
                        expected: "a string",
                        found: tree.node(kind_value).describe(),
                    },
                    kind_value,
                    &context,
                ));
            }
        }
        let name = reader.name(root);
        context.pipeline.clone_from(&name);
        let trigger = reader.position(root, "trigger", &context, changed)?;
        let mut steps = Vec::new();
        if let Some(found) = reader.lookup(root, "steps", &context)? {
            let list = tree.resolve(found.value);
            let items = match &tree.node(list).kind {
                _ if tree.node(list).is_null() => Vec::new(),
                Kind::Seq(items) => items.clone(),
                _ => {
                    return Err(reader.error(
                        ErrorKind::WrongType {
                            key: "steps",
                            expected: "a list",
                            found: tree.node(list).describe(),
                        },
                        list,
                        &context,
                    ));
                }
            };
            for (i, item) in items.into_iter().enumerate() {
                let step = tree.resolve(item);
                let mut step_context = Location {
                    step: Some(i + 1),
                    ..context.clone()
                };
                match &tree.node(step).kind {
                    _ if tree.node(step).is_null() => continue,
                    Kind::Map(_) => {}
                    _ => {
                        return Err(reader.error(
                            ErrorKind::WrongType {
                                key: "step",
                                expected: "a mapping",
                                found: tree.node(step).describe(),
                            },
                            step,
                            &step_context,
                        ));
                    }
                }
                let name = reader.name(step);
                step_context.step_name.clone_from(&name);
                let mut position = reader.position(step, "when", &step_context, changed)?;
                // A step is located at its own start, whatever its `when`.
                let at = reader.location(item, &step_context);
                position.location.line = at.line;
                position.location.column = at.column;
                steps.push(EvaluatedStep {
                    index: i + 1,
                    name,
                    position,
                });
            }
        }
        out.push(Evaluated {
            document: index + 1,
            line: document.line,
            root,
            name,
            trigger,
            steps,
        });
    }
    Ok(out)
}

impl Reader<'_> {
    fn location(&self, id: NodeId, context: &Location) -> Location {
        let node = self.tree.node(id);
        Location {
            line: node.line,
            column: node.column,
            ..context.clone()
        }
    }

    fn error(&self, kind: ErrorKind, id: NodeId, context: &Location) -> Error {
        Error::new(kind, self.location(id, context))
    }

    /// The `name` (last explicit one, or merged), for reports: never an error.
    fn name(&self, map: NodeId) -> Option<String> {
        let found = self
            .lookup(map, "name", &Location::default())
            .ok()
            .flatten();
        let found = found.or_else(|| {
            // Duplicate `name` keys: the last one, as Drone reads it.
            let Kind::Map(entries) = &self.tree.node(map).kind else {
                return None;
            };
            entries
                .iter()
                .rev()
                .find(|(k, _)| self.key_is(*k, "name"))
                .map(|&(key, value)| Found {
                    key,
                    value,
                    merged: false,
                })
        })?;
        let value = self.tree.node(self.tree.resolve(found.value));
        if value.is_null() {
            return None;
        }
        value.scalar().map(str::to_owned)
    }

    fn key_is(&self, key: NodeId, name: &str) -> bool {
        let node = self.tree.node(self.tree.resolve(key));
        !node.is_merge_key() && node.scalar() == Some(name)
    }

    /// `key` in the mapping `map`: explicit, else through its `<<` merges (YAML's rule: the
    /// explicit key wins, then the merged mappings in order).
    fn lookup(&self, map: NodeId, key: &str, context: &Location) -> Result<Option<Found>, Error> {
        self.lookup_in(map, key, context, 0, &mut HashSet::new())
    }

    fn lookup_in(
        &self,
        map: NodeId,
        key: &str,
        context: &Location,
        depth: usize,
        seen: &mut HashSet<NodeId>,
    ) -> Result<Option<Found>, Error> {
        let Kind::Map(entries) = &self.tree.node(map).kind else {
            return Ok(None);
        };
        if depth > MAX_MERGE_DEPTH || !seen.insert(map) {
            return Ok(None);
        }
        let mut explicit: Option<(usize, Found)> = None;
        let mut merge: Option<(usize, NodeId, NodeId)> = None;
        for (i, &(k, v)) in entries.iter().enumerate() {
            if self.tree.node(self.tree.resolve(k)).is_merge_key() {
                if merge.is_some() {
                    return Err(self.error(ErrorKind::DuplicateKey("<<".into()), k, context));
                }
                merge = Some((i, k, v));
            } else if self.key_is(k, key) {
                if explicit.is_some() {
                    return Err(self.error(ErrorKind::DuplicateKey(key.into()), k, context));
                }
                explicit = Some((
                    i,
                    Found {
                        key: k,
                        value: v,
                        merged: false,
                    },
                ));
            }
        }
        let mut merged = None;
        if let Some((_, merge_key, value)) = merge {
            for source in self.merge_sources(merge_key, value, context)? {
                if let Some(found) = self.lookup_in(source, key, context, depth + 1, seen)? {
                    merged = Some(Found {
                        merged: true,
                        ..found
                    });
                    break;
                }
            }
        }
        match (explicit, merged, merge) {
            (Some((at, _)), Some(_), Some((merge_at, merge_key, _))) if at < merge_at => {
                Err(self.error(ErrorKind::MergeConflict(key.into()), merge_key, context))
            }
            (Some((_, found)), _, _) => Ok(Some(found)),
            (None, merged, _) => Ok(merged),
        }
    }

    /// The mappings a `<<` brings: one mapping or a list of them.
    fn merge_sources(
        &self,
        key: NodeId,
        value: NodeId,
        context: &Location,
    ) -> Result<Vec<NodeId>, Error> {
        let resolved = self.tree.resolve(value);
        match &self.tree.node(resolved).kind {
            Kind::Map(_) => Ok(vec![resolved]),
            Kind::Seq(items) => items
                .iter()
                .map(|&item| {
                    let item = self.tree.resolve(item);
                    match self.tree.node(item).kind {
                        Kind::Map(_) => Ok(item),
                        _ => Err(self.error(ErrorKind::InvalidMerge, item, context)),
                    }
                })
                .collect(),
            _ => Err(self.error(ErrorKind::InvalidMerge, key, context)),
        }
    }

    /// Evaluates `trigger` of a pipeline or `when` of a step.
    fn position(
        &self,
        map: NodeId,
        key: &'static str,
        context: &Location,
        changed: Option<&ChangedIndex<'_>>,
    ) -> Result<Position, Error> {
        let mut position = Position {
            target: None,
            condition: None,
            skipped: false,
            location: self.location(map, context),
        };
        let Some(found) = self.lookup(map, key, context)? else {
            return Ok(position);
        };
        let target = self.tree.resolve(found.value);
        let node = self.tree.node(target);
        match node.kind {
            _ if node.is_null() => return Ok(position),
            Kind::Map(_) => {}
            _ => {
                return Err(self.error(
                    ErrorKind::WrongType {
                        key,
                        expected: "a mapping",
                        found: node.describe(),
                    },
                    target,
                    context,
                ));
            }
        }
        position.target = Some(target);
        let Some(paths) = self.lookup(target, "paths", context)? else {
            return Ok(position);
        };
        let condition = self.paths(paths.value, context)?;
        if let Some(condition) = condition.filter(|c| !c.is_empty()) {
            position.skipped = changed.is_some_and(|files| !condition.keeps_indexed(files));
            position.condition = Some(condition);
        }
        Ok(position)
    }

    /// Decodes a `paths` value (reference §2.2), refusing what the reference silently drops.
    fn paths(&self, value: NodeId, context: &Location) -> Result<Option<PathsCondition>, Error> {
        let value = self.tree.resolve(value);
        let node = self.tree.node(value);
        if node.is_null() {
            return Ok(None);
        }
        match &node.kind {
            Kind::Scalar { .. } => {
                let pattern = self.pattern(value, context)?;
                Ok(Some(PathsCondition::new([pattern], Vec::<String>::new())))
            }
            Kind::Seq(items) => {
                let include = self.patterns(items, context)?;
                Ok(Some(PathsCondition::new(include, Vec::new())))
            }
            Kind::Map(_) => {
                self.check_paths_keys(value, context, 0, &mut HashSet::new())?;
                let include = self.pattern_list(value, "include", context)?;
                let exclude = self.pattern_list(value, "exclude", context)?;
                Ok(Some(PathsCondition::new(include, exclude)))
            }
            Kind::Alias(_) => Ok(None),
        }
    }

    /// Every key of a `paths` mapping (merged ones too) is `include` or `exclude`.
    fn check_paths_keys(
        &self,
        map: NodeId,
        context: &Location,
        depth: usize,
        seen: &mut HashSet<NodeId>,
    ) -> Result<(), Error> {
        let Kind::Map(entries) = &self.tree.node(map).kind else {
            return Ok(());
        };
        if depth > MAX_MERGE_DEPTH || !seen.insert(map) {
            return Ok(());
        }
        for &(k, v) in entries {
            let key = self.tree.node(self.tree.resolve(k));
            if key.is_merge_key() {
                for source in self.merge_sources(k, v, context)? {
                    self.check_paths_keys(source, context, depth + 1, seen)?;
                }
                continue;
            }
            match key.scalar() {
                Some("include" | "exclude") if !key.is_null() => {}
                other => {
                    let name = other.map_or_else(|| key.describe().to_owned(), str::to_owned);
                    return Err(self.error(
                        ErrorKind::InvalidPaths(PathsProblem::UnknownKey(name)),
                        k,
                        context,
                    ));
                }
            }
        }
        Ok(())
    }

    /// `include` or `exclude` of a `paths` mapping: a list of patterns (or null).
    fn pattern_list(
        &self,
        map: NodeId,
        key: &'static str,
        context: &Location,
    ) -> Result<Vec<String>, Error> {
        let Some(found) = self.lookup(map, key, context)? else {
            return Ok(Vec::new());
        };
        let value = self.tree.resolve(found.value);
        let node = self.tree.node(value);
        if node.is_null() {
            return Ok(Vec::new());
        }
        match &node.kind {
            Kind::Seq(items) => self.patterns(items, context),
            _ => Err(self.error(
                ErrorKind::InvalidPaths(PathsProblem::NotAList(key)),
                found.value,
                context,
            )),
        }
    }

    fn patterns(&self, items: &[NodeId], context: &Location) -> Result<Vec<String>, Error> {
        items
            .iter()
            .map(|&item| {
                let resolved = self.tree.resolve(item);
                let node = self.tree.node(resolved);
                match node.kind {
                    Kind::Scalar { .. } if !node.is_null() => self.pattern(resolved, context),
                    _ => Err(self.error(
                        ErrorKind::InvalidPaths(PathsProblem::NotAPattern),
                        item,
                        context,
                    )),
                }
            })
            .collect()
    }

    /// One pattern: a scalar's text (numbers and booleans as written), validated.
    fn pattern(&self, id: NodeId, context: &Location) -> Result<String, Error> {
        let node = self.tree.node(id);
        if let Some(tag) = &node.tag
            && tag != &format!("{CORE}str")
            && tag != "!"
        {
            let shown = match tag.strip_prefix(CORE) {
                Some(suffix) => format!("!!{suffix}"),
                None => tag.clone(),
            };
            return Err(self.error(
                ErrorKind::InvalidPaths(PathsProblem::Tagged(shown)),
                id,
                context,
            ));
        }
        let text = node.scalar().unwrap_or_default();
        if text.is_empty() {
            return Err(self.error(
                ErrorKind::InvalidPaths(PathsProblem::EmptyPattern),
                id,
                context,
            ));
        }
        Pattern::new(text).map_err(|error| {
            self.error(
                ErrorKind::Pattern {
                    pattern: text.to_owned(),
                    error,
                },
                id,
                context,
            )
        })?;
        Ok(text.to_owned())
    }

    /// Whether the node (aliases resolved) is the skip marker `{exclude: ['*']}`.
    fn is_marker(&self, id: NodeId) -> bool {
        let node = self.tree.node(self.tree.resolve(id));
        let Kind::Map(entries) = &node.kind else {
            return false;
        };
        let [(key, value)] = entries.as_slice() else {
            return false;
        };
        if !self.key_is(*key, "exclude") {
            return false;
        }
        let list = self.tree.node(self.tree.resolve(*value));
        let Kind::Seq(items) = &list.kind else {
            return false;
        };
        let [item] = items.as_slice() else {
            return false;
        };
        let item = self.tree.node(self.tree.resolve(*item));
        item.scalar() == Some("*")
            && item
                .tag
                .as_deref()
                .is_none_or(|t| t == "!" || t == format!("{CORE}str"))
    }

    /// The edit that marks `target` (the `trigger` or `when` mapping of a skipped position),
    /// or `None` when it already carries the marker.
    fn plan(
        &self,
        position: &Position,
        target: NodeId,
        root: NodeId,
    ) -> Result<Option<Edit>, Error> {
        let context = &position.location;
        let event = self.lookup(target, "event", context)?;
        if event.is_some_and(|e| self.is_marker(e.value)) {
            return Ok(None);
        }
        self.check_owned(target, root, context)?;
        match event {
            Some(found) if found.merged => Err(self.error(
                ErrorKind::SharedCondition(
                    "its `event` comes from a `<<` merge; set `event` in the mapping itself",
                ),
                found.key,
                context,
            )),
            Some(found) => {
                for node in self.tree.subtree(found.value) {
                    if self.tree.node(node).anchored && self.tree.is_referenced(node) {
                        return Err(self.error(
                            ErrorKind::SharedCondition(
                                "the `event` value holds an anchor used elsewhere",
                            ),
                            node,
                            context,
                        ));
                    }
                }
                self.replace_event(target, found, context).map(Some)
            }
            None => self.insert_event(target, context).map(Some),
        }
    }

    /// The marker may only reach skipped places: the `when`/`trigger` mapping must sit in its
    /// own step or pipeline, and the anchors on its way may only be reused by other steps
    /// (which then share its condition and decision).
    fn check_owned(&self, target: NodeId, root: NodeId, context: &Location) -> Result<(), Error> {
        let tree = self.tree;
        let refuse = |why: &'static str, at: NodeId| {
            Err(self.error(ErrorKind::SharedCondition(why), at, context))
        };
        let node = tree.node(target);
        let (Some(parent), Role::Value(key)) = (node.parent, node.role) else {
            return refuse(
                "the mapping is defined under an anchor elsewhere and reused here",
                target,
            );
        };
        let steps_list = self.root_steps(root);
        let is_step = |map: NodeId| {
            let n = tree.node(map);
            matches!(n.kind, Kind::Map(_))
                && n.role == Role::Item
                && n.parent.is_some()
                && n.parent == steps_list
        };
        let physical_trigger = parent == root && self.key_is(key, "trigger");
        let physical_when = is_step(parent) && self.key_is(key, "when");
        if !physical_trigger && !physical_when {
            return refuse(
                "the mapping is defined elsewhere (under an anchor) and reused here",
                target,
            );
        }
        // Aliases of the mapping itself: only as another step's `when` or the `trigger`.
        for &alias in tree.references(target) {
            let a = tree.node(alias);
            let ok = match (a.parent, a.role) {
                (Some(p), Role::Value(k)) => {
                    (is_step(p) && self.key_is(k, "when"))
                        || (p == root && self.key_is(k, "trigger"))
                }
                _ => false,
            };
            if !ok {
                return refuse("the mapping is an anchor also used elsewhere", alias);
            }
        }
        if physical_when {
            // Aliases and merges of the step: other steps (same condition, same decision).
            for &alias in tree.references(parent) {
                let a = tree.node(alias);
                let ok = match (a.parent, a.role) {
                    (Some(p), Role::Item) if Some(p) == steps_list => true,
                    (Some(p), Role::Value(k)) => {
                        is_step(p) && tree.node(tree.resolve(k)).is_merge_key()
                    }
                    (Some(list), Role::Item) => {
                        let l = tree.node(list);
                        matches!(
                            (l.parent, l.role),
                            (Some(p), Role::Value(k))
                                if is_step(p) && tree.node(tree.resolve(k)).is_merge_key()
                        )
                    }
                    _ => false,
                };
                if !ok {
                    return refuse("the step is an anchor also used outside `steps`", alias);
                }
            }
            if let Some(list) = steps_list
                && tree.is_referenced(list)
            {
                return refuse("`steps` is an anchor also used elsewhere", list);
            }
        }
        if tree.is_referenced(root) {
            return refuse("the pipeline is an anchor used in itself", root);
        }
        Ok(())
    }

    /// The `steps` list physically in the pipeline mapping.
    fn root_steps(&self, root: NodeId) -> Option<NodeId> {
        let Kind::Map(entries) = &self.tree.node(root).kind else {
            return None;
        };
        entries
            .iter()
            .find(|(k, v)| {
                self.key_is(*k, "steps") && matches!(self.tree.node(*v).kind, Kind::Seq(_))
            })
            .map(|&(_, v)| v)
    }

    /// Replace the value of an explicit `event`: from just after its `:` to its end.
    fn replace_event(
        &self,
        target: NodeId,
        found: Found,
        context: &Location,
    ) -> Result<Edit, Error> {
        let bytes = self.text.as_bytes();
        let mut i = self.tree.node(found.key).end;
        while i < bytes.len() {
            match bytes[i] {
                b' ' | b'\t' | b'\r' | b'\n' => i += 1,
                b'#' => {
                    while i < bytes.len() && !matches!(bytes[i], b'\r' | b'\n') {
                        i += 1;
                    }
                }
                _ => break,
            }
        }
        if bytes.get(i) != Some(&b':') {
            return Err(self.error(
                ErrorKind::Unsupported("cannot find the `:` after `event`"),
                found.key,
                context,
            ));
        }
        let from = i + 1;
        let value = self.tree.node(found.value);
        let to = if value.textless {
            from
        } else {
            value.end.max(from)
        };
        Ok(Edit {
            target,
            replaced: Some(found.key),
            from,
            to,
            text: format!(" {MARKER}"),
        })
    }

    /// Insert `event: {exclude: ['*']}` as the first entry of a block mapping (own line, the
    /// entries' indentation, the file's line ending) or as the last entry of a flow mapping.
    fn insert_event(&self, target: NodeId, context: &Location) -> Result<Edit, Error> {
        let node = self.tree.node(target);
        let Kind::Map(entries) = &node.kind else {
            return Err(self.error(
                ErrorKind::Verification("the marked node is not a mapping".into()),
                target,
                context,
            ));
        };
        let (Some(&(first_key, _)), Some(&(last_key, last_value))) =
            (entries.first(), entries.last())
        else {
            return Err(self.error(
                ErrorKind::Verification("the marked mapping is empty".into()),
                target,
                context,
            ));
        };
        if node.flow {
            let end_of = |n: NodeId| {
                let n = self.tree.node(n);
                (!n.textless).then_some(n.end)
            };
            let at = end_of(last_key)
                .into_iter()
                .chain(end_of(last_value))
                .max()
                .unwrap_or(self.tree.node(last_key).end);
            return Ok(Edit {
                target,
                replaced: None,
                from: at,
                to: at,
                text: format!(", event: {MARKER}"),
            });
        }
        let text = self.text;
        let key_start = self.tree.node(first_key).start;
        let line_start = line_start(text, key_start);
        let indent = &text[line_start..key_start];
        if !indent.bytes().all(|b| b == b' ') {
            return Err(self.error(
                ErrorKind::Unsupported(
                    "the mapping's first key does not start its line; write one key per line",
                ),
                first_key,
                context,
            ));
        }
        // Above the comments and blank lines that precede the first key, right under the line
        // that opens the mapping (`when:`).
        let mut at = line_start;
        while at > 0 {
            let previous = line_start_before(text, at);
            let content = text[previous..at].trim();
            if content.is_empty() || content.starts_with('#') {
                at = previous;
            } else {
                break;
            }
        }
        let eol = line_ending_before(text, at);
        Ok(Edit {
            target,
            replaced: None,
            from: at,
            to: at,
            text: format!("{indent}event: {MARKER}{eol}"),
        })
    }
}

/// The start of the line holding `at`.
fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind(['\n', '\r']).map_or(0, |i| i + 1)
}

/// The start of the line that ends just before `at` (`at` is a line start, not 0).
fn line_start_before(text: &str, at: usize) -> usize {
    let mut end = at;
    let bytes = text.as_bytes();
    if end > 0 && bytes[end - 1] == b'\n' {
        end -= 1;
    }
    if end > 0 && bytes[end - 1] == b'\r' {
        end -= 1;
    }
    line_start(text, end)
}

/// The line break that ends the line before `at` (`\n` at the start of the text).
fn line_ending_before(text: &str, at: usize) -> &'static str {
    let before = &text.as_bytes()[..at];
    if before.ends_with(b"\r\n") {
        "\r\n"
    } else if before.ends_with(b"\r") {
        "\r"
    } else {
        "\n"
    }
}

/// One text edit: replace `from..to` with `text`.
#[derive(Debug)]
struct Edit {
    /// The `when`/`trigger` mapping that receives the marker.
    target: NodeId,
    /// The key of the `event` entry whose value is replaced (`None`: a new entry).
    replaced: Option<NodeId>,
    from: usize,
    to: usize,
    text: String,
}

/// Applies the edits (disjoint by construction: each is inside its own `when`/`trigger`).
fn apply(text: &str, edits: &mut [Edit]) -> Result<String, Error> {
    edits.sort_by_key(|e| (e.from, e.to));
    let mut out = String::with_capacity(text.len() + edits.len() * 32);
    let mut at = 0;
    for edit in edits.iter() {
        let (Some(kept), Some(_)) = (text.get(at..edit.from), text.get(edit.from..edit.to)) else {
            return Err(Error::new(
                ErrorKind::Verification("overlapping edits".into()),
                Location::default(),
            ));
        };
        out.push_str(kept);
        out.push_str(&edit.text);
        at = edit.to;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

/// Re-parses the output and checks that it is the input with exactly the planned markers: the
/// same tree node for node (values, styles, tags, anchors, aliases) except for the `event`
/// entries of the marked mappings, the same decisions, and the marker read (through merges and
/// aliases) wherever something is skipped.
fn verify(
    before: &Tree,
    evaluation: &[Evaluated],
    edits: &[Edit],
    output: &str,
    changed: &ChangedIndex<'_>,
) -> Result<(), Error> {
    let fail = |detail: String| Error::new(ErrorKind::Verification(detail), Location::default());
    let after = yaml::parse(output).map_err(|e| fail(format!("the output does not parse: {e}")))?;
    if after.documents.len() != before.documents.len() {
        return Err(fail("the number of documents changed".into()));
    }
    let marked: HashMap<NodeId, Option<NodeId>> =
        edits.iter().map(|e| (e.target, e.replaced)).collect();
    let reader_after = Reader {
        tree: &after,
        text: output,
    };
    // The node of the output each node of the input was paired with (indexed by node id).
    let mut mapped: Vec<Option<NodeId>> = vec![None; before.nodes.len()];
    let mut stack: Vec<(NodeId, NodeId)> = before
        .documents
        .iter()
        .zip(&after.documents)
        .map(|(a, b)| (a.root, b.root))
        .rev()
        .collect();
    while let Some((a, b)) = stack.pop() {
        mapped[a] = Some(b);
        let (na, nb) = (before.node(a), after.node(b));
        if na.anchored != nb.anchored || na.tag != nb.tag {
            return Err(fail(format!("node at line {} changed", na.line)));
        }
        match (&na.kind, &nb.kind) {
            (
                Kind::Scalar {
                    value: va,
                    plain: pa,
                },
                Kind::Scalar {
                    value: vb,
                    plain: pb,
                },
            ) if va == vb && pa == pb => {}
            (Kind::Alias(ta), Kind::Alias(tb)) if mapped[*ta] == Some(*tb) => {}
            (Kind::Seq(ia), Kind::Seq(ib)) if ia.len() == ib.len() => {
                stack.extend(ia.iter().copied().zip(ib.iter().copied()).rev());
            }
            (Kind::Map(ea), Kind::Map(eb)) => {
                let (ea, eb): (Vec<_>, Vec<_>) = match marked.get(&a) {
                    None => (ea.clone(), eb.clone()),
                    Some(replaced) => {
                        let events: Vec<_> = eb
                            .iter()
                            .filter(|(k, _)| reader_after.key_is(*k, "event"))
                            .collect();
                        let &[&(_, marker)] = events.as_slice() else {
                            return Err(fail(format!(
                                "the marked mapping at line {} has no single `event`",
                                na.line
                            )));
                        };
                        if !reader_after.is_marker(marker) {
                            return Err(fail(format!(
                                "the `event` at line {} is not the marker",
                                after.node(marker).line
                            )));
                        }
                        (
                            ea.iter()
                                .filter(|(k, _)| Some(*k) != *replaced)
                                .copied()
                                .collect(),
                            eb.iter().filter(|(_, v)| *v != marker).copied().collect(),
                        )
                    }
                };
                if ea.len() != eb.len() {
                    return Err(fail(format!("mapping at line {} changed", na.line)));
                }
                for (&(ka, va), &(kb, vb)) in ea.iter().zip(&eb).rev() {
                    stack.push((va, vb));
                    stack.push((ka, kb));
                }
            }
            _ => return Err(fail(format!("node at line {} changed", na.line))),
        }
    }
    // The same decisions, and the marker where something is skipped.
    let again = evaluate(&after, Some(changed))
        .map_err(|e| fail(format!("the output does not evaluate: {e}")))?;
    if again.len() != evaluation.len() {
        return Err(fail("the pipelines changed".into()));
    }
    for (a, b) in evaluation.iter().zip(&again) {
        let positions = |p: &Evaluated| {
            std::iter::once((None, &p.trigger))
                .chain(p.steps.iter().map(|s| (Some(s.index), &s.position)))
                .map(|(i, pos)| (i, pos.skipped, pos.condition.clone(), pos.target.is_some()))
                .collect::<Vec<_>>()
        };
        if positions(a) != positions(b) {
            return Err(fail(format!(
                "the decisions of document {} changed",
                a.document
            )));
        }
        let skipped = std::iter::once(&b.trigger)
            .chain(b.steps.iter().map(|s| &s.position))
            .filter(|p| p.skipped);
        for position in skipped {
            let Some(target) = position.target else {
                continue;
            };
            let event = reader_after
                .lookup(target, "event", &position.location)
                .map_err(|e| fail(e.to_string()))?;
            if !event.is_some_and(|e| reader_after.is_marker(e.value)) {
                return Err(fail(format!(
                    "the skipped place at line {} does not read the marker",
                    position.location.line
                )));
            }
        }
    }
    Ok(())
}
