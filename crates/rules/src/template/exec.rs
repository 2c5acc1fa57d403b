//! Executes a parsed template against data: Go text/template's evaluation rules for the
//! supported subset (dot, variables with block scope, field chains on maps and the root data,
//! pipelines passing the previous value as the last argument, short-circuit `and`/`or`).

use std::collections::BTreeMap;

use super::funcs::{call, Environment};
use super::gofmt::format_value;
use super::parse::{Block, BlockKind, Command, Node, Operand, Pipeline, Tree};
use super::value::Value;
use super::TemplateError;

/// Upper bound on nodes executed, so a template cannot loop without end (`range` over a
/// query result is bounded by the result; this guards nested ranges over large results).
const MAX_STEPS: usize = 1_000_000;

struct Exec<'a> {
    name: &'a str,
    text: &'a str,
    env: &'a dyn Environment,
    vars: Vec<(String, Value)>,
    out: String,
    steps: usize,
}

fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or("");
    let line = 1 + before.matches('\n').count();
    let col = before.rfind('\n').map_or(offset, |i| offset - i - 1);
    (line, col)
}

impl<'a> Exec<'a> {
    fn error(&self, offset: usize, at: &str, message: String) -> TemplateError {
        let (line, column) = position(self.text, offset);
        TemplateError::Exec {
            name: self.name.to_string(),
            line,
            column,
            at: at.to_string(),
            message,
        }
    }

    fn list(&mut self, nodes: &[Node], dot: &Value) -> Result<(), TemplateError> {
        for node in nodes {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                return Err(self.error(0, "", "template executed too many steps".into()));
            }
            match node {
                Node::Text(t) => self.out.push_str(t),
                Node::Action(pipe) => {
                    let value = self.pipeline(pipe, dot)?;
                    if pipe.vars.is_empty() {
                        self.out.push_str(&format_value(&value));
                    }
                }
                Node::Block(block) => self.block(block, dot)?,
            }
        }
        Ok(())
    }

    fn block(&mut self, block: &Block, dot: &Value) -> Result<(), TemplateError> {
        let mark = self.vars.len();
        match block.kind {
            BlockKind::If | BlockKind::With => {
                let value = self.pipeline(&block.pipe, dot)?;
                if value.is_true() {
                    let new_dot = if block.kind == BlockKind::With {
                        value
                    } else {
                        dot.clone()
                    };
                    self.list(&block.body, &new_dot)?;
                } else {
                    self.vars.truncate(mark);
                    self.list(&block.else_body, dot)?;
                }
            }
            BlockKind::Range => {
                // Range declarations bind per element, so evaluate the pipeline without them.
                let plain = Pipeline {
                    vars: Vec::new(),
                    ..block.pipe.clone()
                };
                let value = self.pipeline(&plain, dot)?;
                let elements: Vec<(Value, Value)> = match value {
                    Value::Map(m) => m
                        .into_iter()
                        .map(|(k, v)| (Value::Str(k), Value::Str(v)))
                        .collect(),
                    Value::ArgMap(m) => m.into_iter().map(|(k, v)| (Value::Str(k), v)).collect(),
                    Value::Samples(s) => s
                        .into_iter()
                        .enumerate()
                        .map(|(i, s)| {
                            (
                                Value::Int(i64::try_from(i).unwrap_or(i64::MAX)),
                                Value::Sample(s),
                            )
                        })
                        .collect(),
                    Value::Int(n) => (0..n.max(0))
                        .map(|i| (Value::Int(i), Value::Int(i)))
                        .collect(),
                    Value::Nil => Vec::new(),
                    other => {
                        return Err(self.error(
                            block.pipe.offset,
                            "",
                            format!("range can't iterate over {}", format_value(&other)),
                        ))
                    }
                };
                if elements.is_empty() {
                    self.list(&block.else_body, dot)?;
                } else {
                    for (key, element) in elements {
                        self.vars.truncate(mark);
                        match block.pipe.vars.as_slice() {
                            [] => {}
                            [v] => self.vars.push((v.clone(), element.clone())),
                            [k, v, ..] => {
                                self.vars.push((k.clone(), key));
                                self.vars.push((v.clone(), element.clone()));
                            }
                        }
                        self.list(&block.body, &element)?;
                    }
                }
            }
        }
        self.vars.truncate(mark);
        Ok(())
    }

    fn pipeline(&mut self, pipe: &Pipeline, dot: &Value) -> Result<Value, TemplateError> {
        let mut value: Option<Value> = None;
        for cmd in &pipe.commands {
            value = Some(self.command(cmd, dot, value)?);
        }
        let value = value.unwrap_or(Value::Nil);
        if pipe.is_assign {
            if let Some(name) = pipe.vars.first() {
                if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    slot.1 = value.clone();
                }
            }
        } else {
            for name in &pipe.vars {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn variable(&self, name: &str) -> Value {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map_or(Value::Nil, |(_, v)| v.clone())
    }

    fn fields(
        &self,
        mut value: Value,
        fields: &[String],
        cmd: &Command,
    ) -> Result<Value, TemplateError> {
        for field in fields {
            value = match value {
                Value::Map(m) => match m.get(field) {
                    Some(v) => Value::Str(v.clone()),
                    // A missing label is the map's zero value, "" (what promtool 2.42 prints).
                    None => Value::Str(String::new()),
                },
                Value::ArgMap(m) => m.get(field).cloned().unwrap_or(Value::Nil),
                Value::Sample(s) => match field.as_str() {
                    "Labels" => Value::Map(s.labels.clone()),
                    "Value" => Value::Float(s.value),
                    _ => {
                        return Err(self.error(
                            cmd.offset,
                            &cmd.text,
                            format!("can't evaluate field {field} in type *template.sample"),
                        ))
                    }
                },
                Value::Nil => {
                    return Err(self.error(
                        cmd.offset,
                        &cmd.text,
                        format!("nil pointer evaluating interface {{}}.{field}"),
                    ))
                }
                other => {
                    return Err(self.error(
                        cmd.offset,
                        &cmd.text,
                        format!("can't evaluate field {field} in type {}", other.type_name()),
                    ))
                }
            };
        }
        Ok(value)
    }

    fn operand(
        &mut self,
        operand: &Operand,
        dot: &Value,
        cmd: &Command,
    ) -> Result<Value, TemplateError> {
        Ok(match operand {
            Operand::Dot => dot.clone(),
            Operand::Field(fields) => self.fields(dot.clone(), fields, cmd)?,
            Operand::Variable(name, fields) => {
                let value = self.variable(name);
                self.fields(value, fields, cmd)?
            }
            Operand::Str(s) => Value::Str(s.clone()),
            Operand::Int(i) => Value::Int(*i),
            Operand::Float(f) => Value::Float(*f),
            Operand::Bool(b) => Value::Bool(*b),
            Operand::Nil => Value::Nil,
            Operand::Paren(pipe, fields) => {
                let value = self.pipeline(pipe, dot)?;
                self.fields(value, fields, cmd)?
            }
            Operand::Function(name) => self.call(name, &[], None, dot, cmd)?,
        })
    }

    fn call(
        &mut self,
        name: &str,
        arg_operands: &[Operand],
        piped: Option<Value>,
        dot: &Value,
        cmd: &Command,
    ) -> Result<Value, TemplateError> {
        if name == "and" || name == "or" {
            let n_args = arg_operands.len() + usize::from(piped.is_some());
            if n_args == 0 {
                return Err(self.error(
                    cmd.offset,
                    &cmd.text,
                    format!("wrong number of args for {name}: want at least 1 got 0"),
                ));
            }
            let mut last = Value::Nil;
            for operand in arg_operands {
                last = self.operand(operand, dot, cmd)?;
                if (name == "and") != last.is_true() {
                    return Ok(last);
                }
            }
            if let Some(p) = piped {
                last = p;
            }
            return Ok(last);
        }
        let mut args = Vec::with_capacity(arg_operands.len() + 1);
        for operand in arg_operands {
            args.push(self.operand(operand, dot, cmd)?);
        }
        if let Some(p) = piped {
            args.push(p);
        }
        call(name, &args, self.env).map_err(|message| {
            let message =
                if message.starts_with("error calling") || message.starts_with("wrong number") {
                    message
                } else {
                    format!("error calling {name}: {message}")
                };
            self.error(cmd.offset, &cmd.text, message)
        })
    }

    fn command(
        &mut self,
        cmd: &Command,
        dot: &Value,
        piped: Option<Value>,
    ) -> Result<Value, TemplateError> {
        match cmd.args.split_first() {
            Some((Operand::Function(name), rest)) => self.call(name, rest, piped, dot, cmd),
            Some((operand, [])) => {
                if piped.is_some() {
                    return Err(self.error(
                        cmd.offset,
                        &cmd.text,
                        "can't give argument to non-function".into(),
                    ));
                }
                self.operand(operand, dot, cmd)
            }
            _ => Err(self.error(
                cmd.offset,
                &cmd.text,
                "can't give argument to non-function".into(),
            )),
        }
    }
}

/// Executes `tree` (parsed from `text`, named `name`) with root data `data`.
pub fn execute(
    name: &str,
    text: &str,
    tree: &Tree,
    data: &BTreeMap<String, Value>,
    env: &dyn Environment,
) -> Result<String, TemplateError> {
    let root = Value::ArgMap(data.clone());
    let mut exec = Exec {
        name,
        text,
        env,
        vars: vec![(String::new(), root.clone())],
        out: String::new(),
        steps: 0,
    };
    exec.list(&tree.nodes, &root)?;
    Ok(exec.out)
}
