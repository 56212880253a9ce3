//! Resolving a written path against the schema: which module, which block, which event. Mistakes
//! become errors spanned on the offending token, with the valid choices and a "did you mean".

use nnsight_schema::{EventKind, Module, Node, Schema, LM_HEAD, TRANSFORMER};
use syn::spanned::Spanned;
use syn::{Expr, Lit};

use crate::parse::{PathExpr, Segment};

/// A block index: none (not inside `h[i]`), a literal checked now, or an expression checked at set-up.
pub enum Layer {
    /// The module is not inside a block.
    None,
    /// `h[3]`.
    Literal(usize),
    /// `h[i]`: checked when the trace is set up.
    Computed(Expr),
}

/// A path resolved against the schema.
pub struct Resolved {
    /// The module.
    pub module: Module,
    /// Its block index.
    pub layer: Layer,
    /// The event; `None` for `skip!`'s module paths.
    pub kind: Option<EventKind>,
}

impl Resolved {
    /// The path as messages show it (`h[1].output`; `h[i].output` for a computed index).
    pub fn display(&self) -> String {
        let layer = match self.layer {
            Layer::Literal(i) => Some(i),
            _ => None,
        };
        let mut path = nnsight_schema::module_path(self.module, layer);
        if matches!(self.layer, Layer::Computed(_)) {
            path = path.replacen("h[0]", "h[i]", 1);
        }
        match self.kind {
            Some(kind) => format!("{path}.{}", kind.name()),
            None => path,
        }
    }
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The closest of `names` to `name`, if close enough to be a likely typo.
fn closest<'a>(name: &str, names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    names
        .into_iter()
        .map(|n| (distance(name, n), n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 3) && *d < n.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The modules a path may start with: the roots, and `transformer`'s children (the prefix is optional).
fn top_level() -> Vec<&'static Node> {
    let mut nodes = vec![&TRANSFORMER, &LM_HEAD];
    nodes.extend(TRANSFORMER.children.iter());
    nodes
}

/// The module path so far, for messages (`h[0].attn`).
fn shown(segments: &[Segment]) -> String {
    let parts: Vec<String> = segments
        .iter()
        .map(|s| match &s.index {
            Some((_, Expr::Lit(l))) => {
                format!("{}[{}]", s.ident, quote::ToTokens::to_token_stream(&l.lit))
            }
            Some(_) => format!("{}[i]", s.ident),
            None => s.ident.to_string(),
        })
        .collect();
    parts.join(".")
}

fn unknown(
    seg: &Segment,
    names: &[&str],
    parent: Option<(&str, &Node)>,
    schema: &Schema,
) -> syn::Error {
    let name = seg.ident.to_string();
    let place = match parent {
        Some((path, node)) => format!("`{path}` ({})", node.class),
        None => format!(
            "{} (paths start at `transformer`, `lm_head`, or a child of `transformer`)",
            schema.name
        ),
    };
    let mut msg = format!("no module `{name}` in {place}; it has {}", list(names));
    if let Some(best) = closest(&name, names.iter().copied()) {
        msg.push_str(&format!("\nhelp: did you mean `{best}`?"));
    }
    syn::Error::new(seg.ident.span(), msg)
}

fn index_of(seg: &Segment, node: &Node, schema: &Schema) -> syn::Result<Layer> {
    let n = schema.n_layer;
    let range = format!(
        "{} has {n} blocks, h[0] to h[{}]",
        schema.name,
        n.saturating_sub(1)
    );
    match (&seg.index, node.indexed) {
        (None, false) => Ok(Layer::None),
        (None, true) => Err(syn::Error::new(
            seg.ident.span(),
            format!(
                "`{}` is a list of blocks: write `{}[i]` ({range})",
                node.name, node.name
            ),
        )),
        (Some((span, _)), false) => Err(syn::Error::new(
            *span,
            format!("`{}` is a single module and takes no index", node.name),
        )),
        (Some((_, expr)), true) => match expr {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Int(int), ..
            }) => {
                let i: usize = int.base10_parse().map_err(|_| {
                    syn::Error::new(int.span(), format!("not a block index: {range}"))
                })?;
                if i >= n {
                    return Err(syn::Error::new(
                        int.span(),
                        format!("index {i} is out of range: {range}"),
                    ));
                }
                Ok(Layer::Literal(i))
            }
            Expr::Unary(syn::ExprUnary {
                op: syn::UnOp::Neg(_),
                ..
            })
            | Expr::Lit(_) => Err(syn::Error::new(
                expr.span(),
                format!("not a block index: {range}"),
            )),
            other => Ok(Layer::Computed(other.clone())),
        },
    }
}

/// Resolves the module part of a path: every segment must be a module.
fn resolve_module(segments: &[Segment], schema: &Schema) -> syn::Result<(&'static Node, Layer)> {
    let mut layer = Layer::None;
    let mut node: Option<&'static Node> = None;
    for (i, seg) in segments.iter().enumerate() {
        let name = seg.ident.to_string();
        let next = match node {
            None => {
                let choices = top_level();
                choices
                    .iter()
                    .copied()
                    .find(|n| n.name == name)
                    .ok_or_else(|| {
                        let names: Vec<&str> = choices.iter().map(|n| n.name).collect();
                        unknown(seg, &names, None, schema)
                    })?
            }
            Some(parent) => parent.child(&name).ok_or_else(|| {
                let names: Vec<&str> = parent.children.iter().map(|n| n.name).collect();
                if names.is_empty() {
                    let msg = format!(
                        "`{}` ({}) has no child modules; a path ends in `.output` or `.input`",
                        shown(&segments[..i]),
                        parent.class
                    );
                    return syn::Error::new(seg.ident.span(), msg);
                }
                unknown(seg, &names, Some((&shown(&segments[..i]), parent)), schema)
            })?,
        };
        let this = index_of(seg, next, schema)?;
        if !matches!(this, Layer::None) {
            layer = this;
        }
        node = Some(next);
    }
    node.map(|n| (n, layer))
        .ok_or_else(|| syn::Error::new(proc_macro2::Span::call_site(), "empty module path"))
}

/// Resolves a statement's path. `wants_event`: the path ends in `.output` or `.input`.
pub fn resolve(path: &PathExpr, schema: &Schema, wants_event: bool) -> syn::Result<Resolved> {
    let segs = &path.segments;
    let Some((last, modules)) = segs.split_last() else {
        return Err(syn::Error::new(path.span(), "empty module path"));
    };
    if !wants_event {
        if matches!(last.ident.to_string().as_str(), "output" | "input") && !modules.is_empty() {
            let p = shown(modules);
            let msg = format!("`skip!` names a module, not an event: write `skip!({p}, value)`");
            return Err(syn::Error::new(last.ident.span(), msg));
        }
        let (node, layer) = resolve_module(segs, schema)?;
        return Ok(Resolved {
            module: node.module,
            layer,
            kind: None,
        });
    }
    let event_name = last.ident.to_string();
    let kind = match event_name.as_str() {
        "output" => Some(EventKind::Output),
        "input" => Some(EventKind::Input),
        _ => None,
    };
    if modules.is_empty() || kind.is_none() {
        // Either a module with its event left out (`h[0].attn`), or a misspelt event (`h[0].outptu`).
        if resolve_module(segs, schema).is_ok() {
            let p = shown(segs);
            return Err(syn::Error::new(
                path.span(),
                format!("`{p}` is a module: add the event, `{p}.output` or `{p}.input`"),
            ));
        }
        if !modules.is_empty() {
            let (node, _) = resolve_module(modules, schema)?;
            let children: Vec<&str> = node.children.iter().map(|n| n.name).collect();
            let event_like = closest(&event_name, ["output", "input"]);
            if let (None, Some(_)) = (event_like, closest(&event_name, children.iter().copied())) {
                return Err(unknown(
                    last,
                    &children,
                    Some((&shown(modules), node)),
                    schema,
                ));
            }
            let mut msg = format!(
                "expected `output` or `input` after `{}`, found `{event_name}`",
                shown(modules)
            );
            if let Some(best) = event_like {
                msg.push_str(&format!("\nhelp: did you mean `{best}`?"));
            }
            return Err(syn::Error::new(last.ident.span(), msg));
        }
        resolve_module(segs, schema)?;
    }
    if let Some((span, _)) = &last.index {
        return Err(syn::Error::new(
            *span,
            format!("the event `{event_name}` takes no index"),
        ));
    }
    let (node, layer) = resolve_module(modules, schema)?;
    Ok(Resolved {
        module: node.module,
        layer,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_statement, Kind};
    use proc_macro2::Span;

    fn try_resolve(src: &str, kind: Kind) -> Result<String, String> {
        let gpt2 = nnsight_schema::schema("gpt2").ok_or("no gpt2")?;
        let tokens: proc_macro2::TokenStream = src.parse().map_err(|e| format!("{e:?}"))?;
        let args = parse_statement(kind, tokens, Span::call_site()).map_err(|e| e.to_string())?;
        resolve(&args.path, gpt2, kind.wants_event())
            .map(|r| r.display())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn valid_paths() {
        assert_eq!(
            try_resolve("transformer.h[3].attn.c_attn.output", Kind::Save).as_deref(),
            Ok("h[3].attn.c_attn.output")
        );
        assert_eq!(
            try_resolve("h[0].output", Kind::Save).as_deref(),
            Ok("h[0].output")
        );
        assert_eq!(
            try_resolve("lm_head.output", Kind::Stop).as_deref(),
            Ok("lm_head.output")
        );
        assert_eq!(
            try_resolve("transformer.input", Kind::Save).as_deref(),
            Ok("transformer.input")
        );
        assert_eq!(
            try_resolve("h[i].mlp.output", Kind::Save).as_deref(),
            Ok("h[i].mlp.output")
        );
        assert_eq!(
            try_resolve("h[4].mlp, x", Kind::Skip).as_deref(),
            Ok("h[4].mlp")
        );
    }

    #[test]
    fn mistakes() {
        let e = try_resolve("h[0].atn.output", Kind::Save).unwrap_err();
        assert!(
            e.contains("no module `atn`")
                && e.contains("did you mean `attn`?")
                && e.contains("`ln_1`, `attn`, `ln_2`, `mlp`"),
            "{e}"
        );
        let e = try_resolve("h[0].outptu", Kind::Save).unwrap_err();
        assert!(
            e.contains("expected `output` or `input`") && e.contains("did you mean `output`?"),
            "{e}"
        );
        let e = try_resolve("h[12].output", Kind::Save).unwrap_err();
        assert!(e.contains("gpt2 has 12 blocks, h[0] to h[11]"), "{e}");
        let e = try_resolve("h.output", Kind::Save).unwrap_err();
        assert!(e.contains("list of blocks"), "{e}");
        let e = try_resolve("ln_f[0].output", Kind::Save).unwrap_err();
        assert!(e.contains("takes no index"), "{e}");
        let e = try_resolve("h[0].attn", Kind::Save).unwrap_err();
        assert!(e.contains("is a module: add the event"), "{e}");
        let e = try_resolve("h[0].mlp.act.foo.output", Kind::Save).unwrap_err();
        assert!(e.contains("has no child modules"), "{e}");
        let e = try_resolve("wtf.output", Kind::Save).unwrap_err();
        assert!(e.contains("no module `wtf`"), "{e}");
    }
}
