//! Parsing: `trace!(MODEL [as SCHEMA], INPUT => { BODY })` and the arguments of the statement macros.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{bracketed, Block, Expr, Ident, Token};

/// The whole `trace!` invocation.
pub struct TraceInput {
    /// The model expression (`model`, `&model`, an `Arc<Gpt2>`).
    pub model: Expr,
    /// `as gpt2_xl`, if given.
    pub schema: Option<Ident>,
    /// The prompt or token ids.
    pub input: Expr,
    /// The statements.
    pub body: Block,
}

impl syn::parse::Parse for TraceInput {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        // `model as gpt2_xl` parses as a cast expression: take it apart.
        let (model, schema) = match input.parse::<Expr>()? {
            Expr::Cast(cast) => match &*cast.ty {
                syn::Type::Path(p) if p.qself.is_none() && p.path.get_ident().is_some() => {
                    (*cast.expr, p.path.get_ident().cloned())
                }
                other => {
                    return Err(syn::Error::new(
                        other.span(),
                        "expected a schema name after `as`, like `gpt2_xl`",
                    ))
                }
            },
            model => (model, None),
        };
        input.parse::<Token![,]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected `,` after the model: `trace!(model, \"prompt\" => { ... })`",
            )
        })?;
        let prompt: Expr = input.parse()?;
        input.parse::<Token![=>]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected `=>` after the input: `trace!(model, \"prompt\" => { ... })`",
            )
        })?;
        let body: Block = input.parse()?;
        input.parse::<Option<Token![,]>>()?;
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the trace's block"));
        }
        Ok(TraceInput {
            model,
            schema,
            input: prompt,
            body,
        })
    }
}

/// One `name` or `name[index]` of a module path.
pub struct Segment {
    /// The module (or event) name.
    pub ident: Ident,
    /// The index, with the brackets' span.
    pub index: Option<(Span, Expr)>,
}

/// A module path as written: `transformer.h[3].attn.c_attn.output`.
pub struct PathExpr {
    /// The segments, the event (`output`/`input`) included when there is one.
    pub segments: Vec<Segment>,
}

impl PathExpr {
    /// The span of the whole path.
    pub fn span(&self) -> Span {
        let first = self.segments.first().map(|s| s.ident.span());
        let last = self
            .segments
            .last()
            .map(|s| s.index.as_ref().map_or(s.ident.span(), |(sp, _)| *sp));
        match (first, last) {
            (Some(a), Some(b)) => a.join(b).unwrap_or(a),
            _ => Span::call_site(),
        }
    }
}

fn parse_segment(input: ParseStream) -> syn::Result<Segment> {
    let ident = input
        .call(Ident::parse_any)
        .map_err(|e| syn::Error::new(e.span(), "expected a module path, like `h[0].output`"))?;
    let index = if input.peek(syn::token::Bracket) {
        let content;
        let bracket = bracketed!(content in input);
        let expr: Expr = content.parse()?;
        if !content.is_empty() {
            return Err(content.error("expected `]` after the index"));
        }
        Some((bracket.span.join(), expr))
    } else {
        None
    };
    Ok(Segment { ident, index })
}

fn parse_path(input: ParseStream) -> syn::Result<PathExpr> {
    let mut segments = vec![parse_segment(input)?];
    while input.peek(Token![.]) {
        input.parse::<Token![.]>()?;
        segments.push(parse_segment(input)?);
    }
    Ok(PathExpr { segments })
}

/// Which statement macro.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `save!(p)` / `save!(p, f)`.
    Save,
    /// `stop!(p)`.
    Stop,
    /// `set!(p = e)`.
    Set,
    /// `edit!(p, f)`.
    Edit,
    /// `skip!(module, e)`.
    Skip,
}

impl Kind {
    /// The statement macro a macro name is, if any.
    pub fn from_name(name: &str) -> Option<Kind> {
        Some(match name {
            "save" => Kind::Save,
            "stop" => Kind::Stop,
            "set" => Kind::Set,
            "edit" => Kind::Edit,
            "skip" => Kind::Skip,
            _ => return None,
        })
    }

    /// The macro's name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Save => "save",
            Kind::Stop => "stop",
            Kind::Set => "set",
            Kind::Edit => "edit",
            Kind::Skip => "skip",
        }
    }

    /// How the statement is written, for error messages.
    pub fn usage(self) -> &'static str {
        match self {
            Kind::Save => "`save!(h[0].output)` or `save!(h[0].output, |t| t.i((.., 0, ..)))`",
            Kind::Stop => "`stop!(h[0].output)`",
            Kind::Set => "`set!(h[0].output = value)`",
            Kind::Edit => "`edit!(h[0].output, |t| t * 2.0)`",
            Kind::Skip => "`skip!(h[0].mlp, value)`",
        }
    }

    /// Whether the path ends in an event (all but `skip!`, which names a module).
    pub fn wants_event(self) -> bool {
        self != Kind::Skip
    }
}

/// A statement macro's arguments.
pub struct StatementArgs {
    /// The module path.
    pub path: PathExpr,
    /// The value or closure, for the statements that take one.
    pub arg: Option<Expr>,
}

/// Parses the tokens inside `save!(...)` etc.
pub fn parse_statement(kind: Kind, tokens: TokenStream, span: Span) -> syn::Result<StatementArgs> {
    let usage =
        |e: syn::Error| syn::Error::new(e.span(), format!("{}; expected {}", e, kind.usage()));
    let parser = |input: ParseStream| -> syn::Result<StatementArgs> {
        if input.is_empty() {
            return Err(syn::Error::new(
                span,
                format!("`{}!` needs a module path", kind.name()),
            ));
        }
        let path = parse_path(input)?;
        // At the end of the tokens syn can only point at the whole `trace!`; the statement is the better place.
        let more = |what: &str| match input.is_empty() {
            true => Err(syn::Error::new(
                span,
                format!("`{}!` needs {what}", kind.name()),
            )),
            false => Ok(()),
        };
        let arg = match kind {
            Kind::Stop => None,
            Kind::Set => {
                more("`= value` after the path")?;
                input.parse::<Token![=]>()?;
                more("a value after `=`")?;
                Some(input.parse::<Expr>()?)
            }
            Kind::Save if input.is_empty() => None,
            Kind::Save | Kind::Edit | Kind::Skip => {
                more(if kind == Kind::Skip {
                    "`, value` after the module"
                } else {
                    "`, |t| ...` after the path"
                })?;
                input.parse::<Token![,]>()?;
                more("an expression after `,`")?;
                Some(input.parse::<Expr>()?)
            }
        };
        input.parse::<Option<Token![,]>>()?;
        if !input.is_empty() {
            return Err(input.error("unexpected tokens"));
        }
        Ok(StatementArgs { path, arg })
    };
    parser.parse2(tokens).map_err(usage)
}
