//! Expansion: the trace's block with each statement macro replaced by a registration on the tracer,
//! then one forward pass, then the saved values as fields of the result.
//!
//! Mistakes do not stop the expansion: a bad statement becomes a placeholder of the same type, so the
//! user's bindings still exist and each mistake is reported once, with no follow-on errors.

use nnsight_schema::{EventKind, Schema, SCHEMAS};
use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Ident, Macro, Pat, Stmt, Token};

use crate::lint::{self, Statement};
use crate::parse::{parse_statement, Kind, TraceInput};
use crate::resolve::{resolve, Layer, Resolved};

/// Rewrites statement macros anywhere in the block, collecting errors and what the lint needs.
struct Rewriter {
    schema: &'static Schema,
    errors: Vec<syn::Error>,
    statements: Vec<Statement>,
    /// Whether the expression being visited is a direct statement of the block.
    top_level: bool,
}

fn site(r: &Resolved) -> TokenStream {
    let module = Ident::new(&format!("{:?}", r.module), Span::call_site());
    let kind = Ident::new(
        &format!("{:?}", r.kind.unwrap_or(EventKind::Input)),
        Span::call_site(),
    );
    let layer = match &r.layer {
        Layer::None => quote!(::core::option::Option::<usize>::None),
        Layer::Literal(i) => {
            let i = proc_macro2::Literal::usize_suffixed(*i);
            quote!(::core::option::Option::Some(#i))
        }
        Layer::Computed(e) => quote_spanned!(e.span()=> ::core::option::Option::Some(#e)),
    };
    quote!(__nnsight_tracer.event(::nnsight::__private::Module::#module, #layer, ::nnsight::__private::EventKind::#kind))
}

/// The registration call; `site` is `None` for a statement whose path was wrong (a typed placeholder).
fn call(kind: Kind, site: Option<TokenStream>, arg: Option<&Expr>, span: Span) -> TokenStream {
    let site = site.unwrap_or_else(|| quote!(::core::option::Option::None));
    match (kind, arg) {
        (Kind::Save, None) => {
            quote_spanned!(span=> __nnsight_tracer.save(#site, ::core::option::Option::None))
        }
        (Kind::Save, Some(f)) => quote_spanned!(span=> __nnsight_tracer.save_with(#site, #f)),
        (Kind::Stop, _) => quote_spanned!(span=> __nnsight_tracer.stop(#site)),
        (Kind::Set, Some(v)) => quote_spanned!(span=> __nnsight_tracer.set(#site, &(#v))),
        (Kind::Edit, Some(f)) => quote_spanned!(span=> __nnsight_tracer.edit(#site, #f)),
        (Kind::Skip, Some(v)) => quote_spanned!(span=> __nnsight_tracer.skip(#site, &(#v))),
        (_, None) => quote!(()),
    }
}

/// Whether tokens contain a statement macro call (`save!`, ...), at any depth.
fn mentions(tokens: TokenStream, only: Option<Kind>) -> bool {
    let mut prev_ident: Option<String> = None;
    for tt in tokens {
        match tt {
            TokenTree::Group(g) => {
                if mentions(g.stream(), only) {
                    return true;
                }
                prev_ident = None;
            }
            TokenTree::Punct(p) if p.as_char() == '!' => {
                let kind = prev_ident.as_deref().and_then(Kind::from_name);
                if kind.is_some() && (only.is_none() || kind == only) {
                    return true;
                }
                prev_ident = None;
            }
            TokenTree::Ident(i) => prev_ident = Some(i.to_string()),
            _ => prev_ident = None,
        }
    }
    false
}

impl Rewriter {
    fn rewrite(&mut self, mac: &Macro) -> Option<Expr> {
        let kind = Kind::from_name(&mac.path.segments.last()?.ident.to_string())?;
        let span = mac.span();
        let tokens = match parse_statement(kind, mac.tokens.clone(), span) {
            Err(e) => {
                self.errors.push(e);
                call(kind, None, None, span)
            }
            Ok(mut args) => {
                let top_level = std::mem::replace(&mut self.top_level, false);
                if let Some(arg) = &mut args.arg {
                    self.visit_expr_mut(arg);
                }
                match resolve(&args.path, self.schema, kind.wants_event()) {
                    Err(e) => {
                        self.errors.push(e);
                        call(kind, None, args.arg.as_ref(), span)
                    }
                    Ok(resolved) => {
                        let tokens = call(kind, Some(site(&resolved)), args.arg.as_ref(), span);
                        self.statements.push(Statement {
                            kind,
                            resolved,
                            span,
                            top_level,
                        });
                        tokens
                    }
                }
            }
        };
        Some(Expr::Verbatim(tokens))
    }

    /// Other macros (`vec!`, `println!`) whose arguments are expressions get their statement macros rewritten.
    fn rewrite_inside(&mut self, mac: &mut Macro) {
        if !mentions(mac.tokens.clone(), None) {
            return;
        }
        let parser = Punctuated::<Expr, Token![,]>::parse_terminated;
        if let Ok(mut exprs) = syn::parse::Parser::parse2(parser, mac.tokens.clone()) {
            for e in exprs.iter_mut() {
                self.visit_expr_mut(e);
            }
            mac.tokens = exprs.into_token_stream();
        }
    }
}

impl VisitMut for Rewriter {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        if let Expr::Macro(m) = e {
            if let Some(new) = self.rewrite(&m.mac) {
                *e = new;
                return;
            }
            self.rewrite_inside(&mut m.mac);
            return;
        }
        let top_level = std::mem::replace(&mut self.top_level, false);
        visit_mut::visit_expr_mut(self, e);
        self.top_level = top_level;
    }

    fn visit_stmt_mut(&mut self, s: &mut Stmt) {
        if let Stmt::Macro(m) = s {
            if let Some(new) = self.rewrite(&m.mac) {
                *s = Stmt::Expr(new, Some(m.semi_token.unwrap_or_default()));
                return;
            }
            self.rewrite_inside(&mut m.mac);
            return;
        }
        visit_mut::visit_stmt_mut(self, s);
    }
}

/// The binding a top-level `let` introduces, if it is a plain name whose value comes from a `save!`.
fn saved_binding(stmt: &Stmt) -> Option<Ident> {
    let Stmt::Local(local) = stmt else {
        return None;
    };
    let init = local.init.as_ref()?;
    if !mentions(init.expr.to_token_stream(), Some(Kind::Save)) {
        return None;
    }
    let pat = match &local.pat {
        Pat::Type(t) => &*t.pat,
        p => p,
    };
    match pat {
        Pat::Ident(p) if p.subpat.is_none() => Some(p.ident.clone()),
        _ => None,
    }
}

fn is_statement_macro(stmt: &Stmt) -> bool {
    let mac = match stmt {
        Stmt::Macro(m) => &m.mac,
        Stmt::Expr(Expr::Macro(m), _) => &m.mac,
        _ => return false,
    };
    mac.path
        .segments
        .last()
        .is_some_and(|s| Kind::from_name(&s.ident.to_string()).is_some())
}

fn warning(span: Span, msg: &str) -> TokenStream {
    let use_it = quote_spanned!(span=> let () = after_stop;);
    quote! {
        #[allow(clippy::let_unit_value)]
        {
            #[deprecated(note = #msg)]
            #[allow(non_upper_case_globals)]
            const after_stop: () = ();
            #use_it
        }
    }
}

/// `trace!`'s expansion (or its errors, with as much of the expansion as still makes sense).
pub fn expand(input: TokenStream) -> TokenStream {
    let TraceInput {
        model,
        schema,
        input,
        body,
    } = match syn::parse2::<TraceInput>(input) {
        Ok(parsed) => parsed,
        Err(e) => return e.to_compile_error(),
    };
    let mut errors = Vec::new();
    let schema_index = match &schema {
        None => 0,
        Some(name) => SCHEMAS
            .iter()
            .position(|s| name == s.name)
            .unwrap_or_else(|| {
                let known: Vec<String> = SCHEMAS.iter().map(|s| format!("`{}`", s.name)).collect();
                errors.push(syn::Error::new(
                    name.span(),
                    format!(
                        "unknown schema `{name}`; the schemas are {}",
                        known.join(", ")
                    ),
                ));
                0
            }),
    };
    let mut rw = Rewriter {
        schema: &SCHEMAS[schema_index],
        errors,
        statements: Vec::new(),
        top_level: false,
    };
    let mut stmts = body.stmts;
    let mut fields = Vec::new();
    for stmt in &mut stmts {
        fields.extend(saved_binding(stmt));
        rw.top_level = is_statement_macro(stmt);
        rw.visit_stmt_mut(stmt);
    }
    let warnings: Vec<TokenStream> = lint::after_stop(&rw.statements, rw.schema)
        .iter()
        .map(|(span, msg)| warning(*span, msg))
        .collect();
    let errors = rw.errors.into_iter().reduce(|mut a, b| {
        a.combine(b);
        a
    });
    let errors = errors.map(|e| e.to_compile_error());
    let generics: Vec<Ident> = (0..fields.len()).map(|i| format_ident!("__F{i}")).collect();
    quote! {
        {
            #errors
            let __nnsight_model: &::nnsight::Gpt2 = ::nnsight::__private::model(&(#model));
            (|| -> ::core::result::Result<_, ::nnsight::Error> {
                let __nnsight_tracer = ::nnsight::__private::Tracer::new(__nnsight_model, &::nnsight::schema::SCHEMAS[#schema_index]);
                #(#warnings)*
                #(#stmts)*
                #[allow(unused_mut)]
                let mut __nnsight_run = __nnsight_tracer.run(#input)?;
                /// The values a trace saved: one field per `let x = save!(...)`.
                #[derive(Debug)]
                struct TraceOutput<#(#generics),*> { #(pub #fields: #generics),* }
                ::core::result::Result::Ok(TraceOutput {
                    #(#fields: ::nnsight::__private::Resolve::resolve(#fields, &mut __nnsight_run)),*
                })
            })()
        }
    }
}
