//! `EXPLAIN`: the decisions the evaluator took for each node of a query, and what each
//! selector read.
//!
//! Recorded while the query runs (when [`crate::EngineOptions::explain`] is on), one
//! [`ExplainNode`] per evaluated node in evaluation order, nested by depth. A node's decisions
//! start with what the plan (`crate::plan`, made before evaluation) decided for it, each
//! `plan: ...`: step invariance, the join strategy (concurrent sides or key pushdown), the
//! set-operation label-count shortcut, a range function fused with its selection, `__name__`
//! that may be left to the consumer or dropped in place, a `label_replace` copy without a
//! regex, value runs for a selector. What the data decided follows: storage's estimate of a pushdown join's sides and the strategy it chose (`crate::join_cost`), join keys pushed (label and
//! number of values), pushdown declined (the rule it would break), an instant selector answered
//! from value runs, `__name__` left or dropped, a step-invariant node evaluated once. Selectors
//! report the series storage returned and the samples decoded (runs for the value-run index,
//! which decodes none).
//!
//! Recording costs one string per node and is off by default; it never changes what is
//! evaluated.

use std::fmt::Write as _;

/// One evaluated node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainNode {
    /// Nesting depth (0 for the query's root).
    pub depth: usize,
    /// The node, printed as PromQL (long expressions shortened).
    pub node: String,
    /// What the evaluator decided here, in order.
    pub decisions: Vec<String>,
    /// Series storage returned for this node's own selections (selectors only).
    pub series_selected: usize,
    /// Samples decoded for this node's own selections (value runs count as one each).
    pub samples_loaded: usize,
}

/// Nodes being recorded for one query.
#[derive(Debug, Default)]
pub(crate) struct ExplainLog {
    pub(crate) nodes: Vec<ExplainNode>,
    /// Indexes of the nodes entered and not yet left (the innermost last).
    open: Vec<usize>,
}

/// Longest node text kept, in bytes.
const MAX_NODE_TEXT: usize = 160;

impl ExplainLog {
    /// Starts node `text`; returns its index for [`ExplainLog::leave`].
    pub(crate) fn enter(&mut self, text: String) -> usize {
        let mut node = text;
        if node.len() > MAX_NODE_TEXT {
            let mut cut = MAX_NODE_TEXT;
            while !node.is_char_boundary(cut) {
                cut -= 1;
            }
            node.truncate(cut);
            node.push_str(" …");
        }
        let idx = self.nodes.len();
        self.nodes.push(ExplainNode {
            depth: self.open.len(),
            node,
            decisions: Vec::new(),
            series_selected: 0,
            samples_loaded: 0,
        });
        self.open.push(idx);
        idx
    }

    /// Ends the innermost node.
    pub(crate) fn leave(&mut self) {
        self.open.pop();
    }

    /// Records a decision on the innermost open node.
    pub(crate) fn decide(&mut self, text: String) {
        if let Some(node) = self.open.last().and_then(|&i| self.nodes.get_mut(i)) {
            node.decisions.push(text);
        }
    }

    /// Adds a selection's counts to the innermost open node.
    pub(crate) fn selected(&mut self, series: usize, samples: usize) {
        if let Some(node) = self.open.last().and_then(|&i| self.nodes.get_mut(i)) {
            node.series_selected += series;
            node.samples_loaded += samples;
        }
    }

    /// Appends the nodes another evaluator recorded (a concurrently evaluated join side) under
    /// the innermost open node.
    pub(crate) fn absorb(&mut self, child: ExplainLog) {
        let base = self.open.len();
        self.nodes.extend(child.nodes.into_iter().map(|mut n| {
            n.depth += base;
            n
        }));
    }
}

/// The plan as indented text, one node per line followed by its decisions and counts.
pub fn render_explain(nodes: &[ExplainNode]) -> String {
    let mut out = String::new();
    for n in nodes {
        let indent = "  ".repeat(n.depth);
        let _ = write!(out, "{indent}{}", n.node);
        if n.series_selected > 0 || n.samples_loaded > 0 {
            let _ = write!(
                out,
                "  [series {}, samples {}]",
                n.series_selected, n.samples_loaded
            );
        }
        out.push('\n');
        for d in &n.decisions {
            let _ = writeln!(out, "{indent}  - {d}");
        }
    }
    out
}
