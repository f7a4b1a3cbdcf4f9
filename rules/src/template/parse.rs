//! Parses lexed items into a tree: text, actions, `if`/`else if`/`else`,
//! `range` (with `break` and `continue`), `with`, `define`, `template` and
//! `block`, with Go's parse-time checks — every function defined, every
//! variable declared in scope. Nesting is bounded so no template can
//! exhaust the stack.

use std::collections::HashMap;

use super::functions;
use super::lex::{lex, Item, Tok, Token};
use super::value::Value;

/// Blocks and parentheses nested deeper than this are refused.
const MAX_DEPTH: usize = 100;

#[derive(Debug)]
pub(super) enum Node {
    Text(String),
    /// Prints the pipeline's value, unless it declares or assigns a variable.
    Action(Pipe),
    If(Pipe, Vec<Node>, Vec<Node>),
    Range(Pipe, Vec<Node>, Vec<Node>),
    With(Pipe, Vec<Node>, Vec<Node>),
    /// `{{ template "name" pipeline }}`.
    Template(String, Option<Pipe>, Cmd),
    Break,
    Continue,
}

#[derive(Debug)]
pub(super) struct Pipe {
    /// Variables declared (`$x :=`) or assigned (`$x =`).
    pub decl: Vec<String>,
    pub assign: bool,
    pub cmds: Vec<Cmd>,
    /// Where it starts and how Go prints it (declarations always with
    /// `:=`), for errors placed at the pipeline.
    pub pos: usize,
    pub text: String,
}

#[derive(Debug)]
pub(super) struct Cmd {
    pub args: Vec<Arg>,
    /// Where it starts and how Go prints it, for `at <…>` in errors.
    pub pos: usize,
    pub text: String,
    /// Each operand's position and text.
    pub operands: Vec<(usize, String)>,
}

#[derive(Debug)]
pub(super) enum Arg {
    Lit(Value),
    /// An integer literal beyond Go's `int` (an error where it is used).
    Overflow(String, usize),
    Nil,
    /// `.` (no names) or `.A.B`.
    Field(Vec<String>),
    Var(String, Vec<String>),
    Func(String),
    /// `(pipeline).A.B`.
    Sub(Box<Pipe>, Vec<String>),
}

/// A parsed template and the templates it defines.
#[derive(Debug)]
pub(super) struct Tree {
    pub root: Vec<Node>,
    pub defs: HashMap<String, Vec<Node>>,
}

/// A parse error: where and what.
pub(super) type ParseError = (usize, String);

/// Parses `src`; `vars` are the variables declared before it (Prometheus
/// declares `$labels`, `$externalLabels`, `$externalURL` and `$value`).
/// `name` is the template's own name, which no `define` may take (the
/// template itself, never empty after Prometheus' preamble, has it).
pub(super) fn parse(src: &str, vars: &[&str], name: &str) -> Result<Tree, ParseError> {
    let items = lex(src)?;
    let mut parser = Parser {
        items,
        next: 0,
        vars: vars.iter().map(|v| v.to_string()).collect(),
        defs: HashMap::new(),
        name: name.to_string(),
        loops: 0,
        depth: 0,
    };
    let (root, end) = parser.list()?;
    if let Some((word, pos)) = end {
        return Err((pos, format!("unexpected {{{{{word}}}}}")));
    }
    Ok(Tree { root, defs: parser.defs })
}

struct Parser {
    items: Vec<Item>,
    next: usize,
    vars: Vec<String>,
    defs: HashMap<String, Vec<Node>>,
    /// The template's own name.
    name: String,
    /// How many `range` blocks enclose the current point.
    loops: usize,
    depth: usize,
}

/// What ended a list: `end` or `else`, the rest of its tokens, its position.
type Terminator = Option<(String, usize)>;

impl Parser {
    /// Nodes up to `{{end}}`, `{{else …}}` or the end of input; the
    /// terminator's rest of tokens is left in `self.rest`.
    fn list(&mut self) -> Result<(Vec<Node>, Terminator), ParseError> {
        let (nodes, end, _) = self.list_with_rest()?;
        Ok((nodes, end))
    }

    fn list_with_rest(&mut self) -> Result<(Vec<Node>, Terminator, Vec<Token>), ParseError> {
        let mut nodes = Vec::new();
        while self.next < self.items.len() {
            let index = self.next;
            self.next += 1;
            let (tokens, pos) = match &self.items[index] {
                Item::Text(t) => {
                    nodes.push(Node::Text(t.clone()));
                    continue;
                }
                Item::Action(tokens, pos) => (tokens.clone(), *pos),
            };
            let keyword = match tokens.first().map(|t| &t.tok) {
                Some(Tok::Ident(w)) => w.as_str(),
                _ => "",
            };
            match keyword {
                "end" if tokens.len() > 1 => return Err((pos, format!("unexpected {:?} in end", tokens[1].text))),
                "end" | "else" => return Ok((nodes, Some((keyword.to_string(), pos)), tokens[1..].to_vec())),
                // Templates are defined at the top level only.
                "define" if self.depth > 0 => return Err((pos, "unexpected <define> in command".into())),
                "if" | "range" | "with" => nodes.push(self.block(keyword, &tokens[1..], pos)?),
                "define" => self.define(&tokens[1..], pos)?,
                "block" => {
                    let name = template_name(&tokens, pos)?;
                    if tokens.len() < 3 {
                        return Err((pos, "missing value for block clause".into()));
                    }
                    let body = self.nested(vec!["$".to_string()], 0, |p| p.block_body(pos))?;
                    self.add_def(name.clone(), body, pos)?;
                    nodes.push(self.template_call(name, &tokens[2..], &tokens, pos)?);
                }
                "template" => {
                    let name = template_name(&tokens, pos)?;
                    nodes.push(self.template_call(name, &tokens[2..], &tokens, pos)?);
                }
                "break" | "continue" => {
                    if self.loops == 0 {
                        return Err((pos, format!("{{{{{keyword}}}}} outside {{{{range}}}}")));
                    }
                    if tokens.len() > 1 {
                        return Err((pos, format!("unexpected {} in {keyword}", tokens[1].text)));
                    }
                    nodes.push(if keyword == "break" { Node::Break } else { Node::Continue });
                }
                _ => nodes.push(Node::Action(self.pipe(&tokens, "command", pos)?)),
            }
        }
        Ok((nodes, None, Vec::new()))
    }

    /// Runs `f` one level deeper, with `vars` as the variables in scope
    /// (restored after) and `loops` more enclosing ranges.
    fn nested<T>(
        &mut self,
        vars: Vec<String>,
        loops: usize,
        f: impl FnOnce(&mut Self) -> Result<T, ParseError>,
    ) -> Result<T, ParseError> {
        if self.depth >= MAX_DEPTH {
            return Err((0, format!("template nested deeper than {MAX_DEPTH} levels")));
        }
        let saved = std::mem::replace(&mut self.vars, vars);
        self.depth += 1;
        self.loops += loops;
        let result = f(self);
        self.loops -= loops;
        self.depth -= 1;
        self.vars = saved;
        result
    }

    fn block_body(&mut self, pos: usize) -> Result<Vec<Node>, ParseError> {
        match self.list()? {
            (body, Some((end, _))) if end == "end" => Ok(body),
            (_, Some((other, p))) => Err((p, format!("unexpected {{{{{other}}}}} in block"))),
            (_, None) => Err((pos, "unexpected EOF".into())),
        }
    }

    fn define(&mut self, tokens: &[Token], pos: usize) -> Result<(), ParseError> {
        let name = match tokens {
            [Token { tok: Tok::Str(name), .. }] => name.clone(),
            _ => return Err((pos, "define: want a quoted template name".into())),
        };
        let body = self.nested(vec!["$".to_string()], 0, |p| p.block_body(pos))?;
        self.add_def(name, body, pos)
    }

    /// Records a named template. As in Go, an empty definition (blank text
    /// only) gives way to a non-empty one, but two non-empty ones clash.
    fn add_def(&mut self, name: String, body: Vec<Node>, pos: usize) -> Result<(), ParseError> {
        let empty = |nodes: &[Node]| nodes.iter().all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()));
        if name == self.name && !empty(&body) {
            return Err((pos, format!("template: multiple definition of template {name:?}")));
        }
        match self.defs.get(&name) {
            Some(old) if !empty(old) => {
                if !empty(&body) {
                    return Err((pos, format!("template: multiple definition of template {name:?}")));
                }
            }
            _ => {
                self.defs.insert(name, body);
            }
        }
        Ok(())
    }

    fn template_call(&mut self, name: String, rest: &[Token], all: &[Token], pos: usize) -> Result<Node, ParseError> {
        let pipe = if rest.is_empty() { None } else { Some(self.pipe(rest, "template clause", pos)?) };
        // Go places a template call at its name and prints it as `{{template "t" .}}`.
        let name_pos = all.get(1).map_or(pos, |t| t.pos);
        let text = match rest {
            [] => format!("{{{{template {:?}}}}}", name),
            _ => format!("{{{{template {:?} {}}}}}", name, join(rest)),
        };
        let cmd = Cmd { args: Vec::new(), pos: name_pos, text, operands: Vec::new() };
        Ok(Node::Template(name, pipe, cmd))
    }

    /// `if`, `range` or `with`: its pipeline, body and `else` part
    /// (`{{else if …}}` nests another `if` sharing the same `{{end}}`).
    fn block(&mut self, keyword: &str, tokens: &[Token], pos: usize) -> Result<Node, ParseError> {
        let vars = self.vars.clone();
        let loops = usize::from(keyword == "range");
        let keyword = keyword.to_string();
        self.nested(vars, 0, |p| {
            let pipe = p.pipe(tokens, &keyword, pos)?;
            if keyword != "range" && pipe.decl.len() > 1 {
                return Err((pos, format!("too many declarations in {keyword}")));
            }
            let (body, end, rest) = p.nested(p.vars.clone(), loops, Parser::list_with_rest)?;
            let otherwise = match end {
                Some((word, _)) if word == "end" => Vec::new(),
                Some((_, else_pos))
                    if keyword == "if" && matches!(rest.first().map(|t| &t.tok), Some(Tok::Ident(w)) if w == "if") =>
                {
                    vec![p.block("if", &rest[1..], else_pos)?]
                }
                Some((_, else_pos)) => {
                    if !rest.is_empty() {
                        return Err((else_pos, format!("unexpected {} in else", rest[0].text)));
                    }
                    p.nested(p.vars.clone(), 0, |p| p.block_body(else_pos))?
                }
                None => return Err((pos, "unexpected EOF".into())),
            };
            Ok(match keyword.as_str() {
                "if" => Node::If(pipe, body, otherwise),
                "range" => Node::Range(pipe, body, otherwise),
                _ => Node::With(pipe, body, otherwise),
            })
        })
    }

    /// A pipeline: optional declarations, then commands separated by `|`.
    fn pipe(&mut self, tokens: &[Token], context: &str, pos: usize) -> Result<Pipe, ParseError> {
        let mut rest = tokens;
        let mut decl = Vec::new();
        let mut assign = false;
        // `$x :=`, `$x =`, or `$i, $e :=` (range only).
        let declared = |t: &[Token]| -> Option<(Vec<String>, bool, usize)> {
            match t {
                [Token { tok: Tok::Var(a, f), .. }, Token { tok: Tok::Declare, .. }, ..] if f.is_empty() => {
                    Some((vec![a.clone()], false, 2))
                }
                [Token { tok: Tok::Var(a, f), .. }, Token { tok: Tok::Assign, .. }, ..] if f.is_empty() => {
                    Some((vec![a.clone()], true, 2))
                }
                [Token { tok: Tok::Var(a, fa), .. }, Token { tok: Tok::Comma, .. }, Token { tok: Tok::Var(b, fb), .. }, Token { tok: Tok::Declare | Tok::Assign, .. }, ..]
                    if fa.is_empty() && fb.is_empty() && context == "range" =>
                {
                    Some((vec![a.clone(), b.clone()], matches!(t[3].tok, Tok::Assign), 4))
                }
                _ => None,
            }
        };
        if let Some((names, is_assign, used)) = declared(rest) {
            // Assigning an undeclared variable fails when run, not here (as in Go).
            rest = &rest[used..];
            // A declared variable is in scope in its own pipeline, as in Go
            // (`{{ $x := $x }}` parses; it fails when run unless an outer
            // `$x` exists).
            if !is_assign {
                self.vars.extend(names.iter().cloned());
            }
            decl = names;
            assign = is_assign;
        }
        let mut cmds = Vec::new();
        for part in split_top(rest, pos)? {
            cmds.push(self.command(part, pos)?);
        }
        if cmds.is_empty() {
            return Err((pos, format!("missing value for {context}")));
        }
        // Each stage after the first receives a value, so must be able to
        // take one: not a literal, `nil` or `.`.
        for (stage, cmd) in cmds.iter().enumerate().skip(1) {
            if matches!(cmd.args.first(), Some(Arg::Lit(_) | Arg::Nil | Arg::Overflow(..))) || is_dot(cmd.args.first())
            {
                return Err((cmd.pos, format!("non executable command in pipeline stage {}", stage + 1)));
            }
        }
        let cmd_texts: Vec<&str> = cmds.iter().map(|c| c.text.as_str()).collect();
        let text = match decl.is_empty() {
            true => cmd_texts.join(" | "),
            false => format!("{} := {}", decl.join(", "), cmd_texts.join(" | ")),
        };
        let start = tokens.first().map_or(pos, |t| t.pos);
        Ok(Pipe { decl, assign, cmds, pos: start, text })
    }

    fn command(&mut self, tokens: &[Token], pos: usize) -> Result<Cmd, ParseError> {
        let start = tokens.first().map_or(pos, |t| t.pos);
        let mut args = Vec::new();
        let mut operands = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            // Operands are separated by spaces: `print"a"` or `1(2)` is not two.
            if i > 0 && !tokens[i].spaced {
                return Err((tokens[i].pos, format!("unexpected {:?} in operand", tokens[i].text)));
            }
            let (arg, used) = self.operand(&tokens[i..])?;
            args.push(arg);
            // As Go prints it: a parenthesized pipeline from its parts.
            let text = match args.last() {
                Some(Arg::Sub(pipe, names)) if tokens[i].tok == Tok::LParen => {
                    format!("({}){}", pipe.text, names.iter().map(|n| format!(".{n}")).collect::<String>())
                }
                _ => join(&tokens[i..i + used]),
            };
            operands.push((tokens[i].pos, text));
            i += used;
        }
        if args.is_empty() {
            return Err((start, "missing value for command".into()));
        }
        let text = operands.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join(" ");
        Ok(Cmd { args, pos: start, text, operands })
    }

    /// One operand and how many tokens it used.
    fn operand(&mut self, tokens: &[Token]) -> Result<(Arg, usize), ParseError> {
        let t = &tokens[0];
        let chained = match tokens.get(1) {
            Some(Token { tok: Tok::Field(names), spaced: false, .. }) if !names.is_empty() => Some(names.clone()),
            _ => None,
        };
        let literal = matches!(t.tok, Tok::Str(_) | Tok::Int(_) | Tok::Float(_) | Tok::Overflow(_) | Tok::Imag(_))
            || matches!(&t.tok, Tok::Ident(w) if matches!(w.as_str(), "true" | "false" | "nil"))
            || matches!(&t.tok, Tok::Field(names) if names.is_empty());
        if chained.is_some() && literal {
            return Err((tokens[1].pos, format!("unexpected . after term {:?}", t.text)));
        }
        // A function's result chained with fields: `print.x`.
        if let (Some(names), Tok::Ident(name)) = (&chained, &t.tok) {
            if functions::exists(name) {
                let cmd = Cmd {
                    args: vec![Arg::Func(name.clone())],
                    pos: t.pos,
                    text: t.text.clone(),
                    operands: vec![(t.pos, t.text.clone())],
                };
                let pipe = Pipe { decl: Vec::new(), assign: false, cmds: vec![cmd], pos: t.pos, text: t.text.clone() };
                return Ok((Arg::Sub(Box::new(pipe), names.clone()), 2));
            }
        }
        Ok(match &t.tok {
            Tok::Str(s) => (Arg::Lit(Value::Str(s.clone())), 1),
            Tok::Int(n) => (Arg::Lit(Value::Int(*n)), 1),
            Tok::Overflow(text) => (Arg::Overflow(text.clone(), t.pos), 1),
            Tok::Float(v) => (Arg::Lit(Value::Float(*v)), 1),
            Tok::Imag(v) => (Arg::Lit(Value::Complex(0.0, *v)), 1),
            Tok::Field(names) => (Arg::Field(names.clone()), 1),
            Tok::Var(name, names) => {
                if !self.vars.contains(name) {
                    return Err((t.pos, format!("undefined variable {name:?}")));
                }
                (Arg::Var(name.clone(), names.clone()), 1)
            }
            Tok::Ident(w) => match w.as_str() {
                "true" => (Arg::Lit(Value::Bool(true)), 1),
                "false" => (Arg::Lit(Value::Bool(false)), 1),
                "nil" => (Arg::Nil, 1),
                name if functions::exists(name) => (Arg::Func(name.to_string()), 1),
                name => return Err((t.pos, format!("function {name:?} not defined"))),
            },
            Tok::LParen => {
                let close = matching_paren(tokens).ok_or((t.pos, "unclosed left paren".to_string()))?;
                let vars = self.vars.clone();
                let pipe = self.nested(vars, 0, |p| p.pipe(&tokens[1..close], "parenthesized pipeline", t.pos))?;
                // A field chained onto it: `(…).A.B`.
                match tokens.get(close + 1) {
                    Some(Token { tok: Tok::Field(names), spaced: false, .. }) if !names.is_empty() => {
                        (Arg::Sub(Box::new(pipe), names.clone()), close + 2)
                    }
                    _ => (Arg::Sub(Box::new(pipe), Vec::new()), close + 1),
                }
            }
            _ => return Err((t.pos, format!("unexpected {:?} in operand", t.text))),
        })
    }
}

/// Whether an operand is `.` itself.
fn is_dot(arg: Option<&Arg>) -> bool {
    matches!(arg, Some(Arg::Field(names)) if names.is_empty())
}

/// The index of the `)` matching the `(` at 0.
fn matching_paren(tokens: &[Token]) -> Option<usize> {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate() {
        match t.tok {
            Tok::LParen => depth += 1,
            Tok::RParen => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits a pipeline's tokens at `|` outside parentheses.
fn split_top(tokens: &[Token], pos: usize) -> Result<Vec<&[Token]>, ParseError> {
    let mut parts = Vec::new();
    let mut depth = 0i64;
    let mut start = 0;
    for (i, t) in tokens.iter().enumerate() {
        match t.tok {
            Tok::LParen => depth += 1,
            Tok::RParen => {
                depth -= 1;
                if depth < 0 {
                    return Err((t.pos, "unexpected right paren".into()));
                }
            }
            Tok::Pipe if depth == 0 => {
                if i == start {
                    return Err((t.pos, "unexpected \"|\" in command".into()));
                }
                parts.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    // Go lets a pipeline end with `|`: `{{ $value | }}` is `{{ $value }}`.
    if start < tokens.len() {
        parts.push(&tokens[start..]);
    }
    let _ = pos;
    Ok(parts)
}

fn template_name(tokens: &[Token], pos: usize) -> Result<String, ParseError> {
    match tokens.get(1) {
        Some(Token { tok: Tok::Str(name), .. }) => Ok(name.clone()),
        _ => Err((pos, format!("{}: want a quoted template name", tokens[0].text))),
    }
}

/// Tokens as Go prints a node: spaces between, none inside parentheses.
fn join(tokens: &[Token]) -> String {
    let mut out = String::new();
    for (i, t) in tokens.iter().enumerate() {
        let after_open = i > 0 && tokens[i - 1].tok == Tok::LParen;
        let chained = matches!(t.tok, Tok::Field(_)) && !t.spaced && i > 0 && tokens[i - 1].tok == Tok::RParen;
        if i > 0 && !after_open && t.tok != Tok::RParen && !chained {
            out.push(' ');
        }
        out.push_str(&t.text);
    }
    out
}
