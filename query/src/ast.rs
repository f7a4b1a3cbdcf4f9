//! The syntax tree of a parsed query, and its canonical text form
//! (`Display`), which parses back to the same tree.

use std::fmt;

pub(crate) use pulsedb_model::MatchOp;

/// A parsed expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Number(f64),
    String(String),
    Vector(VectorSelector),
    Matrix(MatrixSelector),
    Subquery(Subquery),
    Paren(Box<Expr>),
    /// Only `-`: a unary `+` is dropped by the parser; `-` on a number
    /// literal is folded into it, as Prometheus does.
    Neg(Box<Expr>),
    Binary(Box<BinaryExpr>),
    Call(Call),
    Aggregate(Box<Aggregate>),
}

/// `name{matchers} offset d @ t`
#[derive(Clone, Debug, PartialEq)]
pub struct VectorSelector {
    pub name: Option<String>,
    /// Matchers as written, without the one the metric name implies.
    pub matchers: Vec<LabelMatcher>,
    /// Milliseconds, may be negative.
    pub offset: i64,
    pub at: Option<At>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LabelMatcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
}

/// `selector[range]`
#[derive(Clone, Debug, PartialEq)]
pub struct MatrixSelector {
    pub vector: VectorSelector,
    /// Milliseconds.
    pub range: i64,
}

/// `expr[range:step] offset d @ t`
#[derive(Clone, Debug, PartialEq)]
pub struct Subquery {
    pub expr: Box<Expr>,
    pub range: i64,
    /// `None` uses the query's evaluation interval (the engine default).
    pub step: Option<i64>,
    pub offset: i64,
    pub at: Option<At>,
}

/// The `@` modifier.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum At {
    /// Milliseconds since the epoch.
    Time(i64),
    Start,
    End,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    /// `atan2`, an arithmetic operator binding like `*`.
    Atan2,
    Eq,
    Neq,
    Gt,
    Lt,
    Gte,
    Lte,
    And,
    Or,
    Unless,
}

impl BinOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Pow => "^",
            BinOp::Atan2 => "atan2",
            BinOp::Eq => "==",
            BinOp::Neq => "!=",
            BinOp::Gt => ">",
            BinOp::Lt => "<",
            BinOp::Gte => ">=",
            BinOp::Lte => "<=",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Unless => "unless",
        }
    }

    /// Binding strength; higher binds tighter.
    pub(crate) fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And | BinOp::Unless => 2,
            BinOp::Eq | BinOp::Neq | BinOp::Gt | BinOp::Lt | BinOp::Gte | BinOp::Lte => 3,
            BinOp::Add | BinOp::Sub => 4,
            BinOp::Mul | BinOp::Div | BinOp::Mod | BinOp::Atan2 => 5,
            BinOp::Pow => 6,
        }
    }

    pub(crate) fn is_comparison(self) -> bool {
        matches!(self, BinOp::Eq | BinOp::Neq | BinOp::Gt | BinOp::Lt | BinOp::Gte | BinOp::Lte)
    }

    pub(crate) fn is_set(self) -> bool {
        matches!(self, BinOp::And | BinOp::Or | BinOp::Unless)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct BinaryExpr {
    pub op: BinOp,
    pub lhs: Expr,
    pub rhs: Expr,
    /// `bool` modifier of a comparison.
    pub return_bool: bool,
    /// `on`/`ignoring` and `group_left`/`group_right`, when written.
    pub matching: Option<VectorMatching>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct VectorMatching {
    /// `on(labels)` when true, `ignoring(labels)` when false.
    pub on: bool,
    pub labels: Vec<String>,
    pub card: Cardinality,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Cardinality {
    OneToOne,
    /// `group_left(include)`
    ManyToOne(Vec<String>),
    /// `group_right(include)`
    OneToMany(Vec<String>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub func: &'static crate::functions::Function,
    pub args: Vec<Expr>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggOp {
    Sum,
    Avg,
    Min,
    Max,
    Count,
    Group,
    Stddev,
    Stdvar,
    Topk,
    Bottomk,
    Quantile,
    CountValues,
    /// Prometheus 3's `limitk` (an extension against 2.42).
    Limitk,
    /// Prometheus 3's `limit_ratio` (an extension against 2.42).
    LimitRatio,
}

impl AggOp {
    pub const ALL: [AggOp; 14] = [
        AggOp::Sum,
        AggOp::Avg,
        AggOp::Min,
        AggOp::Max,
        AggOp::Count,
        AggOp::Group,
        AggOp::Stddev,
        AggOp::Stdvar,
        AggOp::Topk,
        AggOp::Bottomk,
        AggOp::Quantile,
        AggOp::CountValues,
        AggOp::Limitk,
        AggOp::LimitRatio,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AggOp::Sum => "sum",
            AggOp::Avg => "avg",
            AggOp::Min => "min",
            AggOp::Max => "max",
            AggOp::Count => "count",
            AggOp::Group => "group",
            AggOp::Stddev => "stddev",
            AggOp::Stdvar => "stdvar",
            AggOp::Topk => "topk",
            AggOp::Bottomk => "bottomk",
            AggOp::Quantile => "quantile",
            AggOp::CountValues => "count_values",
            AggOp::Limitk => "limitk",
            AggOp::LimitRatio => "limit_ratio",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<AggOp> {
        AggOp::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// Whether it takes a parameter before the vector.
    pub(crate) fn has_param(self) -> bool {
        matches!(
            self,
            AggOp::Topk | AggOp::Bottomk | AggOp::Quantile | AggOp::CountValues | AggOp::Limitk | AggOp::LimitRatio
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Aggregate {
    pub op: AggOp,
    pub expr: Expr,
    pub param: Option<Expr>,
    pub grouping: Vec<String>,
    /// `without (...)` rather than `by (...)`.
    pub without: bool,
}

/// Canonical duration text: `1h30m`, `100ms`, `0s`.
pub fn format_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    let mut rest = ms.unsigned_abs();
    if ms < 0 {
        out.push('-');
    }
    for (unit, size) in [
        ("y", 31_536_000_000u64),
        ("w", 604_800_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

fn format_number(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{v}")
    }
}

/// Double-quoted with escapes, so it lexes back to the same string.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn write_list(f: &mut fmt::Formatter<'_>, labels: &[String]) -> fmt::Result {
    f.write_str("(")?;
    f.write_str(&labels.join(", "))?;
    f.write_str(")")
}

fn write_modifiers(f: &mut fmt::Formatter<'_>, offset: i64, at: Option<At>) -> fmt::Result {
    if offset != 0 {
        write!(f, " offset {}", format_duration(offset))?;
    }
    match at {
        None => Ok(()),
        Some(At::Start) => f.write_str(" @ start()"),
        Some(At::End) => f.write_str(" @ end()"),
        Some(At::Time(ms)) => write!(f, " @ {}", format_number(ms as f64 / 1000.0)),
    }
}

impl VectorSelector {
    fn write_selector(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.name {
            f.write_str(name)?;
        }
        if !self.matchers.is_empty() || self.name.is_none() {
            f.write_str("{")?;
            for (i, m) in self.matchers.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{}{}{}", m.name, m.op.as_str(), quote(&m.value))?;
            }
            f.write_str("}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Number(v) => f.write_str(&format_number(*v)),
            Expr::String(s) => f.write_str(&quote(s)),
            Expr::Vector(v) => {
                v.write_selector(f)?;
                write_modifiers(f, v.offset, v.at)
            }
            Expr::Matrix(m) => {
                m.vector.write_selector(f)?;
                write!(f, "[{}]", format_duration(m.range))?;
                write_modifiers(f, m.vector.offset, m.vector.at)
            }
            Expr::Subquery(s) => {
                write!(f, "{}[{}:", s.expr, format_duration(s.range))?;
                if let Some(step) = s.step {
                    f.write_str(&format_duration(step))?;
                }
                f.write_str("]")?;
                write_modifiers(f, s.offset, s.at)
            }
            Expr::Paren(e) => write!(f, "({e})"),
            Expr::Neg(e) => write!(f, "-{e}"),
            Expr::Binary(b) => {
                write!(f, "{} {}", b.lhs, b.op.as_str())?;
                if b.return_bool {
                    f.write_str(" bool")?;
                }
                if let Some(m) = &b.matching {
                    f.write_str(if m.on { " on" } else { " ignoring" })?;
                    write_list(f, &m.labels)?;
                    match &m.card {
                        Cardinality::OneToOne => {}
                        Cardinality::ManyToOne(l) => {
                            f.write_str(" group_left")?;
                            write_list(f, l)?;
                        }
                        Cardinality::OneToMany(l) => {
                            f.write_str(" group_right")?;
                            write_list(f, l)?;
                        }
                    }
                }
                write!(f, " {}", b.rhs)
            }
            Expr::Call(c) => {
                write!(f, "{}(", c.func.name)?;
                for (i, a) in c.args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
            Expr::Aggregate(a) => {
                f.write_str(a.op.as_str())?;
                if a.without || !a.grouping.is_empty() {
                    f.write_str(if a.without { " without " } else { " by " })?;
                    write_list(f, &a.grouping)?;
                    f.write_str(" ")?;
                }
                f.write_str("(")?;
                if let Some(p) = &a.param {
                    write!(f, "{p}, ")?;
                }
                write!(f, "{})", a.expr)
            }
        }
    }
}
