//! Executes a parsed template against its data, as Go's `text/template`
//! does: `.` and variables, pipelines passing each result as the next
//! call's last argument, lazy `and`/`or`, `if`/`range`/`with` scoping,
//! named templates with a bounded call depth. Errors carry the position
//! and the command they happened at, for Prometheus' error text.

use super::functions::{self, Env};
use super::parse::{Arg, Cmd, Node, Pipe, Tree};
use super::value::Value;

/// `{{ template }}` calls nested deeper than this fail (Go allows 100,000
/// on its growable stacks; ours is fixed).
const MAX_CALL_DEPTH: usize = 100;

/// An execution error: where, the command text, and what went wrong.
#[derive(Debug)]
pub(super) struct ExecError {
    pub pos: usize,
    pub at: String,
    pub message: String,
    /// The named template it happened in (`None`: the alert's own).
    pub template: Option<String>,
}

enum Flow {
    Normal,
    Break,
    Continue,
}

pub(super) struct Exec<'a> {
    tree: &'a Tree,
    env: &'a Env<'a>,
    vars: Vec<(String, Value)>,
    out: String,
    depth: usize,
    /// The node Go's executor stands at (moved as it evaluates): where
    /// errors about a value, not a call, are placed.
    at: (usize, String),
    /// Whether `.` is an element of `args`' map, which Go types interface{}
    /// (so its field errors name that type).
    dot_iface: bool,
}

impl<'a> Exec<'a> {
    pub(super) fn run(
        tree: &'a Tree,
        env: &'a Env<'a>,
        dot: &Value,
        vars: Vec<(String, Value)>,
    ) -> Result<String, ExecError> {
        let mut exec = Exec { tree, env, vars, out: String::new(), depth: 0, at: (0, String::new()), dot_iface: false };
        exec.list(&tree.root, dot)?;
        Ok(exec.out)
    }

    fn list(&mut self, nodes: &[Node], dot: &Value) -> Result<Flow, ExecError> {
        for node in nodes {
            match self.node(node, dot)? {
                Flow::Normal => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Normal)
    }

    /// Runs `nodes` in a variable scope that ends with them.
    fn scoped(&mut self, nodes: &[Node], dot: &Value, mark: usize) -> Result<Flow, ExecError> {
        let flow = self.list(nodes, dot);
        self.vars.truncate(mark);
        flow
    }

    fn node(&mut self, node: &Node, dot: &Value) -> Result<Flow, ExecError> {
        match node {
            Node::Text(t) => self.out.push_str(t),
            Node::Action(pipe) => {
                let v = self.pipe(pipe, dot)?;
                if pipe.decl.is_empty() {
                    self.out.push_str(&v.print());
                }
            }
            Node::If(pipe, then, otherwise) | Node::With(pipe, then, otherwise) => {
                let mark = self.vars.len();
                let v = self.pipe(pipe, dot)?;
                let with = matches!(node, Node::With(..));
                let flow = match (v.truth(), with) {
                    (true, true) => {
                        let saved = std::mem::replace(&mut self.dot_iface, false);
                        let flow = self.scoped(then, &v, mark);
                        self.dot_iface = saved;
                        flow?
                    }
                    (true, false) => self.scoped(then, dot, mark)?,
                    (false, _) => self.scoped(otherwise, dot, mark)?,
                };
                if !matches!(flow, Flow::Normal) {
                    return Ok(flow);
                }
            }
            Node::Range(pipe, body, otherwise) => {
                let mark = self.vars.len();
                let v = self.range_value(pipe, dot)?;
                let iface = matches!(v, Value::Map(_));
                let entries: Vec<(Value, Value)> = match v {
                    Value::List(items) => {
                        items.into_iter().enumerate().map(|(i, item)| (Value::Int(i as i64), item)).collect()
                    }
                    Value::Labels(m) => m.iter().map(|(k, v)| (Value::Str(k.clone()), Value::Str(v.clone()))).collect(),
                    Value::Map(m) => m.into_iter().map(|(k, v)| (Value::Str(k), v)).collect(),
                    Value::Nil => Vec::new(),
                    other => {
                        let message = format!("range can't iterate over {}", other.print());
                        let (pos, at) = self.at.clone();
                        return Err(ExecError { pos, at, message, template: None });
                    }
                };
                if entries.is_empty() {
                    self.scoped(otherwise, dot, mark)?;
                }
                for (key, item) in entries {
                    match pipe.decl.as_slice() {
                        [one] => self.set(one, item.clone(), pipe.assign, pipe)?,
                        [k, e] => {
                            self.set(k, key, pipe.assign, pipe)?;
                            self.set(e, item.clone(), pipe.assign, pipe)?;
                        }
                        _ => {}
                    }
                    let inner = self.vars.len();
                    let saved = std::mem::replace(&mut self.dot_iface, iface);
                    let flow = self.scoped(body, &item, inner);
                    self.dot_iface = saved;
                    let flow = flow?;
                    if matches!(flow, Flow::Break) {
                        break;
                    }
                }
                self.vars.truncate(mark);
            }
            Node::Template(name, pipe, cmd) => {
                let body = self
                    .tree
                    .defs
                    .get(name)
                    .ok_or_else(|| self.error(cmd, format!("template {name:?} not defined")))?;
                let new_dot = match pipe {
                    Some(p) => self.pipe(p, dot)?,
                    None => Value::Nil,
                };
                if self.depth >= MAX_CALL_DEPTH {
                    return Err(self.error(cmd, format!("exceeded maximum template depth ({MAX_CALL_DEPTH})")));
                }
                // A template sees only `$`, set to its dot.
                let saved = std::mem::replace(&mut self.vars, vec![("$".into(), new_dot.clone())]);
                self.depth += 1;
                let saved_iface = std::mem::replace(&mut self.dot_iface, false);
                let flow = self.list(body, &new_dot);
                self.dot_iface = saved_iface;
                self.depth -= 1;
                self.vars = saved;
                flow.map_err(|mut e| {
                    e.template.get_or_insert_with(|| name.clone());
                    e
                })?;
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    /// The value `range` iterates: its pipeline without the declarations,
    /// which `range` binds per element instead.
    fn range_value(&mut self, pipe: &Pipe, dot: &Value) -> Result<Value, ExecError> {
        let mut value = None;
        self.at = (pipe.pos, pipe.text.clone());
        for cmd in &pipe.cmds {
            value = Some(self.command(cmd, dot, value)?);
        }
        Ok(value.unwrap_or(Value::Nil))
    }

    /// Declares `name`, or assigns it; assigning an undeclared variable
    /// fails (Go's parser lets it through).
    fn set(&mut self, name: &str, value: Value, assign: bool, pipe: &Pipe) -> Result<(), ExecError> {
        if assign {
            return match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                Some(slot) => {
                    slot.1 = value;
                    Ok(())
                }
                None => {
                    let cmd = pipe.cmds.last().ok_or_else(|| ExecError {
                        pos: 0,
                        at: String::new(),
                        message: format!("undefined variable: {name}"),
                        template: None,
                    })?;
                    Err(self.error(cmd, format!("undefined variable: {name}")))
                }
            };
        }
        self.vars.push((name.to_string(), value));
        Ok(())
    }

    fn pipe(&mut self, pipe: &Pipe, dot: &Value) -> Result<Value, ExecError> {
        let value = self.range_value(pipe, dot)?;
        if let Some(name) = pipe.decl.first() {
            self.set(name, value.clone(), pipe.assign, pipe)?;
        }
        Ok(value)
    }

    fn error(&self, cmd: &Cmd, message: String) -> ExecError {
        ExecError { pos: cmd.pos, at: cmd.text.clone(), message, template: None }
    }

    /// One command; `last` is the previous command's result in a pipeline.
    fn command(&mut self, cmd: &Cmd, dot: &Value, last: Option<Value>) -> Result<Value, ExecError> {
        let (head, rest) = cmd.args.split_first().ok_or_else(|| self.error(cmd, "empty command".into()))?;
        let Arg::Func(name) = head else {
            if !rest.is_empty() || last.is_some() {
                return self.method_or_non_function(head, rest, last, dot, cmd);
            }
            if matches!(head, Arg::Nil) {
                return Err(self.error(cmd, "nil is not a command".into()));
            }
            return self.arg(head, dot, cmd, cmd.operands.first());
        };
        self.call(name, rest, &cmd.operands[1.min(cmd.operands.len())..], last, dot, cmd)
    }

    /// A command whose head is not a function but has arguments: a time's
    /// `Format` method, or Go's error: a field (`.Value 1`) cannot be
    /// invoked, a map key (`$labels.host 1`) is not a method, anything else
    /// is a non-function. Go evaluates a field's receiver first, so its
    /// errors come first.
    fn method_or_non_function(
        &mut self,
        head: &Arg,
        rest: &[Arg],
        last: Option<Value>,
        dot: &Value,
        cmd: &Cmd,
    ) -> Result<Value, ExecError> {
        let given = rest.len() + usize::from(last.is_some());
        let operand = cmd.operands.first().cloned().unwrap_or((cmd.pos, cmd.text.clone()));
        let names = match head {
            Arg::Field(names) | Arg::Var(_, names) | Arg::Sub(_, names) => names.as_slice(),
            _ => &[],
        };
        if names.last().map(String::as_str) == Some("Format") {
            let receiver = self.arg_fields(head, dot, cmd, Some(&operand), true)?;
            if let Value::Time(ms) = receiver {
                if given != 1 {
                    let (pos, at) = self.at.clone();
                    let message = format!("wrong number of args for Format: want 1 got {given}");
                    return Err(ExecError { pos, at, message, template: None });
                }
                let layout = match (rest.first(), last) {
                    (Some(a), _) => {
                        let o = cmd.operands.get(1).cloned().unwrap_or((cmd.pos, cmd.text.clone()));
                        self.typed_arg(a, functions::Param::Str, &o, dot, cmd)?
                    }
                    (None, Some(v)) => v,
                    (None, None) => Value::Nil,
                };
                let Value::Str(layout) = layout else {
                    let (pos, at) = self.at.clone();
                    return Err(ExecError {
                        pos,
                        at,
                        message: wrong_type(functions::Param::Str, &layout),
                        template: None,
                    });
                };
                return Ok(Value::Str(super::format::go_time_format(ms, &layout)));
            }
        }
        Err(self.arguments_to_non_function(head, dot, cmd, given))
    }

    fn arguments_to_non_function(&mut self, head: &Arg, dot: &Value, cmd: &Cmd, given: usize) -> ExecError {
        let operand = cmd.operands.first().cloned().unwrap_or((cmd.pos, cmd.text.clone()));
        let names = match head {
            Arg::Field(names) | Arg::Var(_, names) | Arg::Sub(_, names) => names.as_slice(),
            _ => &[],
        };
        let Some(last) = names.last() else {
            let (pos, text) = operand;
            let (pos, at, what) = match head {
                // Not evaluated: Go complains before running it, placed
                // where it stood before this command.
                Arg::Sub(pipe, _) => (self.at.0, self.at.1.clone(), pipe.text.clone()),
                _ => (pos, text.clone(), text),
            };
            let message = format!("can't give argument to non-function {what}");
            return ExecError { pos, at, message, template: None };
        };
        let receiver = match self.arg_fields(head, dot, cmd, Some(&operand), true) {
            Ok(v) => v,
            Err(e) => return e,
        };
        let (pos, at) = last_node(head, &operand);
        let message = match receiver {
            Value::Labels(_) | Value::Map(_) => format!("{last} is not a method but has arguments"),
            // A time's methods take no arguments.
            Value::Time(_) if receiver.field(last).is_ok() => {
                format!("wrong number of args for {last}: want 0 got {given}")
            }
            ref v => match v.field(last) {
                Ok(_) => format!("{last} has arguments but cannot be invoked as function"),
                Err(e) => e,
            },
        };
        ExecError { pos, at, message, template: None }
    }

    /// Calls `name` as Go does: the number of arguments checked first, then
    /// each argument evaluated and checked against its parameter's type;
    /// `last` is a pipeline's value, passed last.
    fn call(
        &mut self,
        name: &str,
        rest: &[Arg],
        operands: &[(usize, String)],
        last: Option<Value>,
        dot: &Value,
        cmd: &Cmd,
    ) -> Result<Value, ExecError> {
        let ident = cmd.operands.first().cloned().unwrap_or((cmd.pos, name.to_string()));
        self.at = ident.clone();
        let at_ident = |message: String| ExecError { pos: ident.0, at: ident.1.clone(), message, template: None };
        let (params, variadic) = functions::signature(name);
        let given = rest.len() + usize::from(last.is_some());
        let arity_ok = match variadic {
            Some(_) => given >= params.len(),
            None => given == params.len(),
        };
        if !arity_ok {
            let at_least = if variadic.is_some() { "at least " } else { "" };
            return Err(at_ident(format!(
                "wrong number of args for {name}: want {at_least}{} got {given}",
                params.len()
            )));
        }
        if name == "and" || name == "or" {
            return self.and_or(name == "and", rest, dot, last, cmd);
        }
        let param = |i: usize| params.get(i).copied().or(variadic).unwrap_or(functions::Param::Any);
        let mut args = Vec::with_capacity(given);
        for (i, a) in rest.iter().enumerate() {
            let operand = operands.get(i).cloned().unwrap_or((cmd.pos, cmd.text.clone()));
            args.push(self.typed_arg(a, param(i), &operand, dot, cmd)?);
        }
        if let Some(v) = last {
            let p = param(rest.len());
            if !p.admits(&v) {
                let (pos, at) = self.at.clone();
                return Err(ExecError { pos, at, message: wrong_type(p, &v), template: None });
            }
            args.push(v);
        }
        functions::call(name, args, self.env).map_err(|e| self.error(cmd, format!("error calling {name}: {e}")))
    }

    /// An argument for a parameter of type `param`: a literal of another
    /// type is refused as written, a value of another type by its type.
    fn typed_arg(
        &mut self,
        arg: &Arg,
        param: functions::Param,
        operand: &(usize, String),
        dot: &Value,
        cmd: &Cmd,
    ) -> Result<Value, ExecError> {
        use functions::Param;
        let (pos, text) = operand.clone();
        let literal_error = match (param, arg) {
            (Param::Any, _) | (Param::Str, Arg::Lit(Value::Str(_))) => None,
            (Param::Str, Arg::Nil) => Some("cannot assign nil to string".to_string()),
            (Param::Str, Arg::Lit(_) | Arg::Overflow(..)) => Some(format!("expected string; found {text}")),
            (_, Arg::Lit(_) | Arg::Overflow(..)) => {
                Some(format!("can't handle {text} for arg of type {}", param.type_name()))
            }
            _ => None,
        };
        if let Some(message) = literal_error {
            return Err(ExecError { pos, at: text, message, template: None });
        }
        // The literal nil is a nil pointer or an empty slice for those types.
        match (param, arg) {
            (Param::Sample, Arg::Nil) => return Ok(Value::Nil),
            (Param::List, Arg::Nil) => return Ok(Value::List(Vec::new())),
            _ => {}
        }
        let v = self.arg(arg, dot, cmd, Some(operand))?;
        if !param.admits(&v) {
            let (pos, at) = self.at.clone();
            return Err(ExecError { pos, at, message: wrong_type(param, &v), template: None });
        }
        Ok(v)
    }

    /// `and`/`or`: the first falsy (truthy) argument or the last, evaluating
    /// no further than needed.
    fn and_or(
        &mut self,
        and: bool,
        rest: &[Arg],
        dot: &Value,
        last: Option<Value>,
        cmd: &Cmd,
    ) -> Result<Value, ExecError> {
        let mut value = Value::Nil;
        for (i, a) in rest.iter().enumerate() {
            value = self.arg(a, dot, cmd, cmd.operands.get(i + 1))?;
            if value.truth() != and {
                return Ok(value);
            }
        }
        Ok(last.unwrap_or(value))
    }

    /// An operand's value; `operand` is where it is and how it reads, for errors.
    fn arg(
        &mut self,
        arg: &Arg,
        dot: &Value,
        cmd: &Cmd,
        operand: Option<&(usize, String)>,
    ) -> Result<Value, ExecError> {
        self.arg_fields(arg, dot, cmd, operand, false)
    }

    /// An operand's value, without its last field where `but_last` (the
    /// receiver of that field).
    fn arg_fields(
        &mut self,
        arg: &Arg,
        dot: &Value,
        cmd: &Cmd,
        operand: Option<&(usize, String)>,
        but_last: bool,
    ) -> Result<Value, ExecError> {
        if let Some((pos, text)) = operand {
            self.at = (chain_pos(*pos, text), text.clone());
        }
        let (base, fields) = match arg {
            Arg::Lit(v) => return Ok(v.clone()),
            Arg::Overflow(text, pos) => {
                return Err(ExecError {
                    pos: *pos,
                    at: text.clone(),
                    message: format!("{text} overflows int"),
                    template: None,
                })
            }
            Arg::Nil => return Ok(Value::Nil),
            Arg::Func(name) => {
                // A function as an argument is called without arguments.
                let at = operand.cloned().unwrap_or((cmd.pos, name.clone()));
                let own = Cmd { args: vec![arg_func(name)], pos: at.0, text: name.clone(), operands: vec![at] };
                return self.call(name, &[], &[], None, dot, &own);
            }
            Arg::Field(names) => (dot.clone(), names),
            Arg::Var(name, names) => {
                let v = self.vars.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.clone());
                let undefined = || match operand {
                    Some((pos, text)) => ExecError {
                        pos: *pos,
                        at: text.clone(),
                        message: format!("undefined variable: {name}"),
                        template: None,
                    },
                    None => self.error(cmd, format!("undefined variable: {name}")),
                };
                (v.ok_or_else(undefined)?, names)
            }
            Arg::Sub(pipe, names) => {
                let mark = self.vars.len();
                let v = self.pipe(pipe, dot);
                self.vars.truncate(mark);
                (v?, names)
            }
        };
        let mut value = base;
        // A key missing from `args`' map is a nil interface{} in Go, whose
        // fields cannot be taken (a nil from a function's result can).
        // `.` from ranging over `args`' map starts as such a value.
        let from_dot_iface = self.dot_iface && matches!(arg, Arg::Field(_));
        let (mut nil_from_map, mut from_map) = (from_dot_iface && value == Value::Nil, from_dot_iface);
        let fields = if but_last { &fields[..fields.len().saturating_sub(1)] } else { &fields[..] };
        for name in fields {
            let field = if nil_from_map {
                Err(format!("nil pointer evaluating interface {{}}.{name}"))
            } else if from_map && !matches!(value, Value::Map(_) | Value::Labels(_) | Value::Nil) {
                // What `args` holds is typed interface{} for Go's complaint.
                value.field(name).map_err(|_| format!("can't evaluate field {name} in type interface {{}}"))
            } else {
                value.field(name)
            };
            from_map = matches!(value, Value::Map(_));
            nil_from_map = from_map && matches!(field, Ok(Value::Nil));
            value = field.map_err(|message| match operand {
                Some(o) => {
                    let (pos, at) = last_node(arg, o);
                    ExecError { pos, at, message, template: None }
                }
                None => self.error(cmd, message),
            })?;
        }
        Ok(value)
    }
}

fn arg_func(name: &str) -> Arg {
    Arg::Func(name.to_string())
}

/// Go's complaint about a value of the wrong type for a parameter.
fn wrong_type(param: functions::Param, v: &Value) -> String {
    let got = match v {
        Value::Nil => "interface {}",
        other => other.type_name(),
    };
    format!("wrong type for value; expected {}; got {got}", param.type_name())
}

/// Where Go reports a bad argument: the last node it evaluated for it (in
/// a parenthesized pipeline, its last command's last operand, or the
/// function there).
fn last_node(arg: &Arg, operand: &(usize, String)) -> (usize, String) {
    match arg {
        Arg::Sub(pipe, _) => pipe.cmds.last().and_then(last_node_of).unwrap_or_else(|| operand.clone()),
        _ => (chain_pos(operand.0, &operand.1), operand.1.clone()),
    }
}

/// The last node Go evaluates in a command: its last argument's, or the
/// function (a piped value moves nothing).
fn last_node_of(cmd: &Cmd) -> Option<(usize, String)> {
    if cmd.args.len() > 1 {
        return Some(last_node(cmd.args.last()?, cmd.operands.last()?));
    }
    match (cmd.args.first()?, cmd.operands.first()?) {
        (Arg::Func(_), o) => Some(o.clone()),
        (a, o) => Some(last_node(a, o)),
    }
}

/// Where Go places a field chain: at its first field after the term it
/// starts from (`.Value.X` at `.X`, `$labels.host` at `.host`,
/// `(x).A` at `.A`); a lone field at itself.
fn chain_pos(pos: usize, text: &str) -> usize {
    let after_term = if text.starts_with('$') {
        text.find('.')
    } else if let Some(rest) = text.strip_prefix('.') {
        rest.find('.').map(|i| i + 1)
    } else if text.starts_with('(') {
        text.rfind(").").map(|i| i + 1)
    } else {
        None
    };
    pos + after_term.unwrap_or(0)
}
