//! A rule manager for continuous evaluation: the groups of a set of rule files, each
//! evaluated at its aligned slots as wall-clock time passes, with reload (alert state of rules
//! that did not change is kept, as Prometheus keeps it across reloads).

use std::path::PathBuf;

use promlite_eval::Engine;
use promlite_model::Timestamp;

use crate::file::{read_rule_file, RuleKind};
use crate::group::{EvalContext, Group};
use crate::storage::RuleStorage;
use crate::Result;

/// Groups loaded from rule files, with when each is next due.
#[derive(Debug)]
pub struct Manager {
    files: Vec<PathBuf>,
    default_interval_ms: i64,
    ctx: EvalContext,
    groups: Vec<Group>,
    /// Per group: the slot of its last evaluation.
    last_slot: Vec<Option<Timestamp>>,
}

/// Identifies a rule across reloads: kind, name, expression, labels.
fn rule_key(group: &Group, idx: usize) -> Option<String> {
    let rule = group.rules.get(idx)?;
    let kind = match rule.spec.kind {
        RuleKind::Recording { .. } => "record",
        RuleKind::Alerting { .. } => "alert",
    };
    Some(format!(
        "{}\u{0}{}\u{0}{kind}\u{0}{}\u{0}{}\u{0}{:?}",
        group.file,
        group.name,
        rule.spec.name(),
        rule.spec.expr,
        rule.spec.labels
    ))
}

impl Manager {
    /// Loads `files`; groups without an interval use `default_interval_ms`.
    pub fn load(
        files: Vec<PathBuf>,
        default_interval_ms: i64,
        ctx: EvalContext,
    ) -> Result<Manager> {
        let groups = Self::read(&files, default_interval_ms)?;
        Ok(Manager {
            files,
            default_interval_ms,
            ctx,
            last_slot: vec![None; groups.len()],
            groups,
        })
    }

    fn read(files: &[PathBuf], default_interval_ms: i64) -> Result<Vec<Group>> {
        let mut groups = Vec::new();
        for path in files {
            let file = read_rule_file(path)?;
            for spec in file.groups {
                groups.push(Group::new(&file.path, spec, default_interval_ms));
            }
        }
        Ok(groups)
    }

    /// Re-reads the rule files. On error the current rules stay in place. Rules that are
    /// unchanged (same file, group, kind, name, expression and labels) keep their state.
    pub fn reload(&mut self) -> Result<()> {
        let mut groups = Self::read(&self.files, self.default_interval_ms)?;
        let mut old_state = std::collections::HashMap::new();
        for group in &self.groups {
            for idx in 0..group.rules.len() {
                if let (Some(key), Some(rule)) = (rule_key(group, idx), group.rules.get(idx)) {
                    old_state.insert(key, rule.clone());
                }
            }
        }
        let mut last_slot = Vec::with_capacity(groups.len());
        for group in &mut groups {
            let keys: Vec<Option<String>> =
                (0..group.rules.len()).map(|i| rule_key(group, i)).collect();
            for (rule, key) in group.rules.iter_mut().zip(keys) {
                if let Some(old) = key.and_then(|k| old_state.remove(&k)) {
                    *rule = old;
                }
            }
            let previous = self
                .groups
                .iter()
                .position(|g| g.file == group.file && g.name == group.name)
                .and_then(|i| self.last_slot.get(i).copied().flatten());
            last_slot.push(previous);
        }
        self.groups = groups;
        self.last_slot = last_slot;
        Ok(())
    }

    /// The groups with their rules' state.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// Evaluates every group whose current slot (at `now_ms`) it has not evaluated yet, at
    /// that slot's timestamp. Returns the number of groups evaluated.
    pub fn evaluate_due(
        &mut self,
        engine: &Engine,
        storage: &dyn RuleStorage,
        now_ms: Timestamp,
    ) -> usize {
        let mut n = 0;
        for (group, last) in self.groups.iter_mut().zip(self.last_slot.iter_mut()) {
            let slot = group.eval_timestamp(now_ms);
            if *last != Some(slot) {
                group.eval(engine, storage, slot, &self.ctx);
                *last = Some(slot);
                n += 1;
            }
        }
        n
    }

    /// Milliseconds from `now_ms` until the next group is due.
    pub fn until_next_due(&self, now_ms: Timestamp) -> i64 {
        self.groups
            .iter()
            .map(|g| g.eval_timestamp(now_ms) + g.interval_ms - now_ms)
            .min()
            .unwrap_or(1000)
            .max(1)
    }
}
