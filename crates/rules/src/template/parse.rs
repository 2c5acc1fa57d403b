//! Lexer and parser for the Go text/template subset rule templates use: text, `{{ pipeline }}`
//! actions with `{{-`/`-}}` trimming and `/* */` comments, variables (`$x := ...`, `$x = ...`),
//! pipelines with `|`, parenthesised sub-pipelines, field chains (`.Labels.job`, `$labels.job`),
//! literals, and the `if`/`else if`/`else`, `range` and `with` blocks.
//!
//! Invariant: the parser rejects what it does not support (`define`, `template`, `block`,
//! `break`, `continue`, method calls with arguments) with a parse error instead of
//! misinterpreting it, and checks function names and variables at parse time as Go does.

use super::funcs::is_function;
use super::TemplateError;

/// A parsed template: a list of nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    /// The top-level nodes.
    pub nodes: Vec<Node>,
}

/// A template node.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Literal text, copied to the output.
    Text(String),
    /// `{{ pipeline }}`: the value is printed unless the pipeline declares a variable.
    Action(Pipeline),
    /// `{{ if }}`, `{{ range }}` or `{{ with }}` with its bodies.
    Block(Block),
}

/// Which block keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// `if`: the body runs when the pipeline is true.
    If,
    /// `range`: the body runs for each element (dot and declared variables set to it).
    Range,
    /// `with`: the body runs with dot set to the value when it is true.
    With,
}

/// A block: `{{kind pipe}} body {{else}} else_body {{end}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// The keyword.
    pub kind: BlockKind,
    /// The condition or the ranged value.
    pub pipe: Pipeline,
    /// The main body.
    pub body: Vec<Node>,
    /// The `else` body (an `else if` is a nested `if` block here).
    pub else_body: Vec<Node>,
}

/// A pipeline: optional variable declarations and `|`-separated commands.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// Declared or assigned variable names (without `$`).
    pub vars: Vec<String>,
    /// `=` (assignment to an existing variable) instead of `:=`.
    pub is_assign: bool,
    /// The commands; each one's value is passed as the last argument of the next.
    pub commands: Vec<Command>,
    /// 1-based line of the action in the template text.
    pub line: usize,
    /// Byte offset of the action in the template text.
    pub offset: usize,
}

/// One command: a function call or a single operand.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// The operands; a command with several starts with a function name.
    pub args: Vec<Operand>,
    /// Source text of the command, for error messages (`at <humanize "x">`).
    pub text: String,
    /// Byte offset of the command in the template text.
    pub offset: usize,
}

/// An operand.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// `.`
    Dot,
    /// `.A.B`: fields of dot.
    Field(Vec<String>),
    /// `$x.A.B` (`$` is the root data).
    Variable(String, Vec<String>),
    /// A function name.
    Function(String),
    /// A string literal.
    Str(String),
    /// An integer literal (also character constants).
    Int(i64),
    /// A float literal.
    Float(f64),
    /// `true` / `false`.
    Bool(bool),
    /// `nil`.
    Nil,
    /// `( pipeline ).A.B`
    Paren(Box<Pipeline>, Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Pipe,
    LParen,
    RParen,
    Comma,
    Declare,
    Assign,
    Str(String),
    Int(i64),
    Float(f64),
    Variable(String),
    /// `.A` (a field after a value or at operand start); `.` alone is `Dot`.
    Field(String),
    Dot,
    Ident(String),
}

/// A token with its byte offset in the whole template.
#[derive(Debug, Clone)]
struct Spanned {
    token: Token,
    offset: usize,
    end: usize,
}

/// Nodes parsed up to a block keyword, and that keyword with its offset.
type ParsedList = (Vec<Node>, Option<(String, usize)>);

struct Parser<'a> {
    name: &'a str,
    text: &'a str,
    /// Variables in scope; each block pushes a mark.
    vars: Vec<String>,
}

/// One raw item of the template: text or an action's inside.
enum Item {
    Text(String),
    /// Inside of `{{ }}`, its byte offset, and whether it is a comment.
    Action {
        body: String,
        offset: usize,
    },
}

fn line_of(text: &str, offset: usize) -> usize {
    1 + text
        .as_bytes()
        .get(..offset.min(text.len()))
        .unwrap_or_default()
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

impl<'a> Parser<'a> {
    fn error(&self, offset: usize, message: impl Into<String>) -> TemplateError {
        TemplateError::Parse {
            name: self.name.to_string(),
            line: line_of(self.text, offset),
            message: message.into(),
        }
    }

    /// Splits the text into text and action items, applying trim markers and dropping
    /// comments.
    fn split(&self) -> Result<Vec<Item>, TemplateError> {
        let text = self.text;
        let mut items = Vec::new();
        let mut pos = 0;
        let mut trim_next_text = false;
        while pos <= text.len() {
            let rest = text.get(pos..).unwrap_or("");
            let Some(open_rel) = rest.find("{{") else {
                let mut t = rest.to_string();
                if trim_next_text {
                    t = t.trim_start().to_string();
                }
                if !t.is_empty() {
                    items.push(Item::Text(t));
                }
                break;
            };
            let open = pos + open_rel;
            let mut inner_start = open + 2;
            let trim_left = text.get(inner_start..).is_some_and(|r| {
                r.starts_with("- ")
                    || r.starts_with("-\t")
                    || r.starts_with("-\n")
                    || r.starts_with("-\r")
            });
            let mut t = text.get(pos..open).unwrap_or("").to_string();
            if trim_next_text {
                t = t.trim_start().to_string();
            }
            if trim_left {
                t = t.trim_end().to_string();
                inner_start += 1;
            }
            if !t.is_empty() {
                items.push(Item::Text(t));
            }
            // Find the closing delimiter outside quotes.
            let close = self.find_close(inner_start)?;
            let mut inner_end = close;
            let trim_right = close > inner_start
                && text.get(close - 1..close) == Some("-")
                && text
                    .get(close - 2..close - 1)
                    .is_some_and(|c| c.chars().all(char::is_whitespace));
            if trim_right {
                inner_end -= 1;
            }
            trim_next_text = trim_right;
            let body = text.get(inner_start..inner_end).unwrap_or("");
            let trimmed = body.trim();
            if trimmed.starts_with("/*") {
                if !trimmed.ends_with("*/") || trimmed.len() < 4 {
                    return Err(self.error(open, "unclosed comment"));
                }
                // A comment must be the whole action.
            } else {
                items.push(Item::Action {
                    body: body.to_string(),
                    offset: inner_start,
                });
            }
            pos = close + 2;
        }
        Ok(items)
    }

    fn find_close(&self, from: usize) -> Result<usize, TemplateError> {
        let bytes = self.text.as_bytes();
        let mut i = from;
        let trimmed_start = self.text.get(from..).unwrap_or("").trim_start();
        if trimmed_start.starts_with("/*") {
            let start = from + (self.text.len() - from - trimmed_start.len());
            return match self.text.get(start..).and_then(|r| r.find("*/")) {
                Some(end) => {
                    let after = start + end + 2;
                    let rest = self.text.get(after..).unwrap_or("");
                    let ws = rest.len() - rest.trim_start().len();
                    let rest_trim = rest.trim_start();
                    if rest_trim.starts_with("}}") {
                        Ok(after + ws)
                    } else if rest_trim.starts_with("-}}") {
                        Ok(after + ws + 1)
                    } else {
                        Err(self.error(from, "comment ends before closing delimiter"))
                    }
                }
                None => Err(self.error(from, "unclosed comment")),
            };
        }
        while i < bytes.len() {
            match bytes.get(i) {
                Some(b'}') if bytes.get(i + 1) == Some(&b'}') => return Ok(i),
                Some(&q @ (b'"' | b'`' | b'\'')) => {
                    i += 1;
                    while i < bytes.len() && bytes.get(i) != Some(&q) {
                        if q != b'`' && bytes.get(i) == Some(&b'\\') {
                            i += 1;
                        }
                        if q != b'`' && bytes.get(i) == Some(&b'\n') {
                            return Err(self.error(i, "unterminated quoted string"));
                        }
                        i += 1;
                    }
                    if i >= bytes.len() {
                        return Err(self.error(from, "unterminated quoted string"));
                    }
                    i += 1;
                }
                _ => i += 1,
            }
        }
        Err(self.error(from, "unclosed action"))
    }

    fn lex(&self, body: &str, base: usize) -> Result<Vec<Spanned>, TemplateError> {
        let bytes = body.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let Some(&b) = bytes.get(i) else { break };
            let start = i;
            let simple = match b {
                b' ' | b'\t' | b'\n' | b'\r' => {
                    i += 1;
                    continue;
                }
                b'|' => Some(Token::Pipe),
                b'(' => Some(Token::LParen),
                b')' => Some(Token::RParen),
                b',' => Some(Token::Comma),
                b'=' => Some(Token::Assign),
                b':' if bytes.get(i + 1) == Some(&b'=') => {
                    i += 1;
                    Some(Token::Declare)
                }
                _ => None,
            };
            if let Some(token) = simple {
                i += 1;
                out.push(Spanned {
                    token,
                    offset: base + start,
                    end: base + i,
                });
                continue;
            }
            let token = match b {
                b'"' => {
                    let (s, len) = read_go_string(body.get(i..).unwrap_or(""))
                        .ok_or_else(|| self.error(base + i, "unterminated quoted string"))?;
                    i += len;
                    Token::Str(s)
                }
                b'`' => {
                    let rest = body.get(i + 1..).unwrap_or("");
                    let end = rest
                        .find('`')
                        .ok_or_else(|| self.error(base + i, "unterminated raw quoted string"))?;
                    i += end + 2;
                    Token::Str(rest.get(..end).unwrap_or("").to_string())
                }
                b'\'' => {
                    let rest = body.get(i + 1..).unwrap_or("");
                    let mut chars = rest.chars();
                    let c = match chars.next() {
                        Some('\\') => match chars.next() {
                            Some('n') => '\n',
                            Some('t') => '\t',
                            Some('\\') => '\\',
                            Some('\'') => '\'',
                            _ => return Err(self.error(base + i, "bad character constant")),
                        },
                        Some(c) => c,
                        None => return Err(self.error(base + i, "unterminated character constant")),
                    };
                    if chars.next() != Some('\'') {
                        return Err(self.error(base + i, "unterminated character constant"));
                    }
                    i += rest.len() - chars.as_str().len() + 1;
                    Token::Int(i64::from(u32::from(c)))
                }
                b'$' => {
                    i += 1;
                    while bytes
                        .get(i)
                        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    {
                        i += 1;
                    }
                    Token::Variable(body.get(start + 1..i).unwrap_or("").to_string())
                }
                b'.' if bytes
                    .get(i + 1)
                    .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') =>
                {
                    i += 1;
                    while bytes
                        .get(i)
                        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    {
                        i += 1;
                    }
                    Token::Field(body.get(start + 1..i).unwrap_or("").to_string())
                }
                b'.' if !bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                    i += 1;
                    Token::Dot
                }
                b'0'..=b'9' | b'+' | b'-' | b'.' => {
                    i += 1;
                    while bytes
                        .get(i)
                        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'_')
                        || (bytes.get(i).is_some_and(|c| *c == b'+' || *c == b'-')
                            && bytes.get(i - 1).is_some_and(|c| *c == b'e' || *c == b'E'))
                    {
                        i += 1;
                    }
                    let text = body.get(start..i).unwrap_or("");
                    parse_number(text).ok_or_else(|| {
                        self.error(base + start, format!("bad number syntax: {text:?}"))
                    })?
                }
                c if c.is_ascii_alphabetic() || c == b'_' => {
                    while bytes
                        .get(i)
                        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    {
                        i += 1;
                    }
                    Token::Ident(body.get(start..i).unwrap_or("").to_string())
                }
                _ => {
                    let c = body.get(i..).and_then(|r| r.chars().next()).unwrap_or('?');
                    return Err(self.error(
                        base + i,
                        format!("unexpected {:?} in command", c.to_string()),
                    ));
                }
            };
            out.push(Spanned {
                token,
                offset: base + start,
                end: base + i,
            });
        }
        Ok(out)
    }

    fn parse(&mut self) -> Result<Tree, TemplateError> {
        let items = self.split()?;
        let mut iter = items.into_iter().peekable();
        let (nodes, end) = self.parse_list(&mut iter)?;
        if let Some((word, offset)) = end {
            return Err(self.error(offset, format!("unexpected {{{{{word}}}}}")));
        }
        Ok(Tree { nodes })
    }

    /// Parses nodes until `{{end}}`/`{{else ...}}` (returned with its offset and, for else,
    /// the rest of the action) or the end of input.
    fn parse_list(
        &mut self,
        items: &mut std::iter::Peekable<std::vec::IntoIter<Item>>,
    ) -> Result<ParsedList, TemplateError> {
        let mut nodes = Vec::new();
        while let Some(item) = items.next() {
            match item {
                Item::Text(t) => nodes.push(Node::Text(t)),
                Item::Action { body, offset } => {
                    let tokens = self.lex(&body, offset)?;
                    let Some(first) = tokens.first() else {
                        return Err(self.error(offset, "missing value for command"));
                    };
                    match &first.token {
                        Token::Ident(word) if word == "end" => {
                            if tokens.len() > 1 {
                                return Err(self.error(offset, "unexpected token in end"));
                            }
                            return Ok((nodes, Some(("end".into(), offset))));
                        }
                        Token::Ident(word) if word == "else" => {
                            let rest = body.trim_start().strip_prefix("else").unwrap_or("");
                            return Ok((nodes, Some((format!("else{rest}"), offset))));
                        }
                        Token::Ident(word) if matches!(word.as_str(), "if" | "range" | "with") => {
                            let kind = match word.as_str() {
                                "if" => BlockKind::If,
                                "range" => BlockKind::Range,
                                _ => BlockKind::With,
                            };
                            let block = self.parse_block(
                                kind,
                                tokens.get(1..).unwrap_or_default(),
                                offset,
                                items,
                            )?;
                            nodes.push(Node::Block(block));
                        }
                        Token::Ident(word)
                            if matches!(
                                word.as_str(),
                                "define" | "template" | "block" | "break" | "continue"
                            ) =>
                        {
                            return Err(self.error(
                                offset,
                                format!("{{{{{word}}}}} is not supported in rule templates"),
                            ));
                        }
                        _ => {
                            let pipe = self.parse_pipeline(&tokens, offset, true)?;
                            nodes.push(Node::Action(pipe));
                        }
                    }
                }
            }
        }
        Ok((nodes, None))
    }

    fn parse_block(
        &mut self,
        kind: BlockKind,
        tokens: &[Spanned],
        offset: usize,
        items: &mut std::iter::Peekable<std::vec::IntoIter<Item>>,
    ) -> Result<Block, TemplateError> {
        let mark = self.vars.len();
        let pipe = self.parse_pipeline(
            tokens,
            offset,
            kind == BlockKind::Range || kind != BlockKind::Range,
        )?;
        if pipe.commands.is_empty() {
            return Err(self.error(offset, format!("missing value for {}", kind_name(kind))));
        }
        let (body, end) = self.parse_list(items)?;
        let mut else_body = Vec::new();
        match end {
            None => {
                return Err(self.error(self.text.len(), "unexpected EOF".to_string()));
            }
            Some((word, _)) if word == "end" => {}
            Some((word, else_offset)) => {
                let rest = word.strip_prefix("else").unwrap_or("").trim().to_string();
                self.vars.truncate(mark);
                if rest.is_empty() {
                    let (nodes, end) = self.parse_list(items)?;
                    if !matches!(end.as_ref(), Some((w, _)) if w == "end") {
                        return Err(self.error(else_offset, "expected end; found EOF or else"));
                    }
                    else_body = nodes;
                } else {
                    // `else if ...` / `else with ...`: a nested block that consumes the end.
                    let rest_offset = else_offset;
                    let tokens = self.lex(&rest, rest_offset)?;
                    let nested_kind = match tokens.first().map(|t| &t.token) {
                        Some(Token::Ident(w)) if w == "if" => BlockKind::If,
                        Some(Token::Ident(w)) if w == "with" => BlockKind::With,
                        _ => return Err(self.error(else_offset, "unexpected token in else")),
                    };
                    let nested = self.parse_block(
                        nested_kind,
                        tokens.get(1..).unwrap_or_default(),
                        rest_offset,
                        items,
                    )?;
                    else_body = vec![Node::Block(nested)];
                }
            }
        }
        self.vars.truncate(mark);
        Ok(Block {
            kind,
            pipe,
            body,
            else_body,
        })
    }

    fn parse_pipeline(
        &mut self,
        tokens: &[Spanned],
        offset: usize,
        allow_decl: bool,
    ) -> Result<Pipeline, TemplateError> {
        let mut pos = 0;
        let mut vars = Vec::new();
        let mut is_assign = false;
        // Declarations: `$x :=`, `$x, $y :=`, `$x =`.
        if allow_decl {
            let mut look = 0;
            let mut names = Vec::new();
            while let Some(Spanned {
                token: Token::Variable(name),
                ..
            }) = tokens.get(look)
            {
                names.push(name.clone());
                look += 1;
                match tokens.get(look).map(|t| &t.token) {
                    Some(Token::Comma) => look += 1,
                    Some(Token::Declare) | Some(Token::Assign) => break,
                    _ => {
                        names.clear();
                        break;
                    }
                }
            }
            match tokens.get(look).map(|t| &t.token) {
                Some(Token::Declare) if !names.is_empty() => {
                    vars = names;
                    pos = look + 1;
                }
                Some(Token::Assign) if names.len() == 1 => {
                    if !self.vars.iter().any(|v| Some(v) == names.first()) {
                        return Err(self.error(
                            offset,
                            format!(
                                "undefined variable \"${}\"",
                                names.first().map_or("", |s| s.as_str())
                            ),
                        ));
                    }
                    vars = names;
                    is_assign = true;
                    pos = look + 1;
                }
                _ => {}
            }
        }
        let (commands, next) = self.parse_commands(tokens, pos)?;
        if next < tokens.len() {
            let t = tokens.get(next).map_or(offset, |t| t.offset);
            return Err(self.error(t, "unexpected \")\" in command"));
        }
        if !is_assign {
            self.vars.extend(vars.iter().cloned());
        }
        if commands.is_empty() && !vars.is_empty() {
            return Err(self.error(offset, "missing value for command"));
        }
        Ok(Pipeline {
            vars,
            is_assign,
            commands,
            line: line_of(self.text, offset),
            offset,
        })
    }

    /// Parses `cmd | cmd | ...` from `pos` until a `)` or the end; returns the index of the
    /// stopping token.
    fn parse_commands(
        &mut self,
        tokens: &[Spanned],
        mut pos: usize,
    ) -> Result<(Vec<Command>, usize), TemplateError> {
        let mut commands = Vec::new();
        loop {
            let start_pos = pos;
            let mut args = Vec::new();
            while let Some(t) = tokens.get(pos) {
                match &t.token {
                    Token::Pipe | Token::RParen => break,
                    _ => {
                        let (operand, next) = self.parse_operand(tokens, pos)?;
                        args.push(operand);
                        pos = next;
                    }
                }
            }
            let cmd_offset = tokens.get(start_pos).map_or(0, |t| t.offset);
            if args.is_empty() {
                if tokens.get(pos).map(|t| &t.token) == Some(&Token::Pipe) || !commands.is_empty() {
                    return Err(self.error(cmd_offset, "missing command"));
                }
                return Ok((commands, pos));
            }
            if args.len() > 1 && !matches!(args.first(), Some(Operand::Function(_))) {
                let what = match args.first() {
                    Some(Operand::Field(_)) | Some(Operand::Variable(..)) => {
                        "method calls with arguments are not supported in rule templates"
                    }
                    _ => "can't give argument to non-function",
                };
                return Err(self.error(cmd_offset, what));
            }
            let end = pos
                .checked_sub(1)
                .and_then(|p| tokens.get(p))
                .map_or(cmd_offset, |t| t.end);
            let text = self.text.get(cmd_offset..end).unwrap_or("").to_string();
            commands.push(Command {
                args,
                text,
                offset: cmd_offset,
            });
            match tokens.get(pos).map(|t| &t.token) {
                Some(Token::Pipe) => pos += 1,
                _ => return Ok((commands, pos)),
            }
        }
    }

    fn parse_fields(tokens: &[Spanned], mut pos: usize) -> (Vec<String>, usize) {
        let mut fields = Vec::new();
        while let Some(Spanned {
            token: Token::Field(f),
            offset,
            ..
        }) = tokens.get(pos)
        {
            // A field chain continues only without a space before the dot.
            let prev_end = pos
                .checked_sub(1)
                .and_then(|p| tokens.get(p))
                .map(|t| t.end);
            if prev_end != Some(*offset) {
                break;
            }
            fields.push(f.clone());
            pos += 1;
        }
        (fields, pos)
    }

    fn parse_operand(
        &mut self,
        tokens: &[Spanned],
        pos: usize,
    ) -> Result<(Operand, usize), TemplateError> {
        let Some(t) = tokens.get(pos) else {
            return Err(self.error(self.text.len(), "missing operand"));
        };
        let operand = match &t.token {
            Token::Dot => (Operand::Dot, pos + 1),
            Token::Field(f) => {
                let mut fields = vec![f.clone()];
                let (more, next) = Self::parse_fields(tokens, pos + 1);
                fields.extend(more);
                (Operand::Field(fields), next)
            }
            Token::Variable(name) => {
                if !name.is_empty() && !self.vars.iter().any(|v| v == name) {
                    return Err(self.error(t.offset, format!("undefined variable \"${name}\"")));
                }
                let (fields, next) = Self::parse_fields(tokens, pos + 1);
                (Operand::Variable(name.clone(), fields), next)
            }
            Token::Str(s) => (Operand::Str(s.clone()), pos + 1),
            Token::Int(i) => (Operand::Int(*i), pos + 1),
            Token::Float(f) => (Operand::Float(*f), pos + 1),
            Token::Ident(word) => match word.as_str() {
                "true" => (Operand::Bool(true), pos + 1),
                "false" => (Operand::Bool(false), pos + 1),
                "nil" => (Operand::Nil, pos + 1),
                name if is_function(name) => (Operand::Function(name.to_string()), pos + 1),
                name => {
                    return Err(self.error(t.offset, format!("function {name:?} not defined")));
                }
            },
            Token::LParen => {
                let mark = self.vars.len();
                let inner = self.parse_pipeline_at(tokens, pos + 1, t.offset)?;
                self.vars.truncate(mark.max(self.vars.len()));
                let (pipe, close) = inner;
                if tokens.get(close).map(|t| &t.token) != Some(&Token::RParen) {
                    return Err(self.error(t.offset, "unclosed left paren"));
                }
                let (fields, next) = Self::parse_fields(tokens, close + 1);
                (Operand::Paren(Box::new(pipe), fields), next)
            }
            Token::RParen => return Err(self.error(t.offset, "unexpected \")\"")),
            Token::Pipe | Token::Comma | Token::Declare | Token::Assign => {
                return Err(self.error(t.offset, "unexpected token in operand"));
            }
        };
        Ok(operand)
    }

    fn parse_pipeline_at(
        &mut self,
        tokens: &[Spanned],
        pos: usize,
        offset: usize,
    ) -> Result<(Pipeline, usize), TemplateError> {
        let (commands, next) = self.parse_commands(tokens, pos)?;
        if commands.is_empty() {
            return Err(self.error(offset, "missing value for parenthesized pipeline"));
        }
        Ok((
            Pipeline {
                vars: Vec::new(),
                is_assign: false,
                commands,
                line: line_of(self.text, offset),
                offset,
            },
            next,
        ))
    }
}

fn kind_name(kind: BlockKind) -> &'static str {
    match kind {
        BlockKind::If => "if",
        BlockKind::Range => "range",
        BlockKind::With => "with",
    }
}

fn parse_number(text: &str) -> Option<Token> {
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    let (neg, body) = match clean.strip_prefix('-') {
        Some(b) => (true, b.to_string()),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean).to_string()),
    };
    if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        let v = i64::from_str_radix(hex, 16).ok()?;
        return Some(Token::Int(if neg { -v } else { v }));
    }
    if body.bytes().all(|b| b.is_ascii_digit()) && !body.is_empty() {
        let v: i64 = body.parse().ok()?;
        return Some(Token::Int(if neg { -v } else { v }));
    }
    let v: f64 = body.parse().ok()?;
    if !v.is_finite() {
        return None;
    }
    Some(Token::Float(if neg { -v } else { v }))
}

/// Reads a Go interpreted string literal at the start of `s`; returns it and its byte length.
fn read_go_string(s: &str) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    chars.next()?; // opening quote
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, i + 1)),
            '\n' => return None,
            '\\' => {
                let (_, e) = chars.next()?;
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'a' => out.push('\u{7}'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'v' => out.push('\u{b}'),
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    '\'' => out.push('\''),
                    'x' => {
                        let h: String = (0..2)
                            .filter_map(|_| chars.next().map(|(_, c)| c))
                            .collect();
                        out.push(char::from(u8::from_str_radix(&h, 16).ok()?));
                    }
                    'u' => {
                        let h: String = (0..4)
                            .filter_map(|_| chars.next().map(|(_, c)| c))
                            .collect();
                        out.push(char::from_u32(u32::from_str_radix(&h, 16).ok()?)?);
                    }
                    _ => return None,
                }
            }
            c => out.push(c),
        }
    }
    None
}

/// Parses template `text` named `name` (the name appears in errors, as Go's does).
pub fn parse(name: &str, text: &str) -> Result<Tree, TemplateError> {
    let mut parser = Parser {
        name,
        text,
        vars: vec![String::new()],
    };
    parser.parse()
}
