//! The proc macros of nnsight: `trace!` and its statements `save!`, `stop!`, `set!`, `edit!`, `skip!`.
//! Use them through the `nnsight` crate, whose documentation has the examples.
//!
//! `trace!` is parse (`parse.rs`) -> resolve against the GPT-2 schema (`resolve.rs`) -> lint (`lint.rs`) ->
//! expand (`expand.rs`); the entry points below are thin shims so that the logic is a plain library that
//! unit tests drive with `syn::parse2`.

use proc_macro::TokenStream;

mod expand;
mod lint;
mod parse;
mod resolve;

#[cfg(test)]
mod tests;

/// Runs a forward pass with statements tied to module events; see the `nnsight` crate.
#[proc_macro]
pub fn trace(input: TokenStream) -> TokenStream {
    expand::expand(input.into()).into()
}

fn outside(name: &str) -> TokenStream {
    let msg = format!("`{name}!` can only be used inside a `trace!` block: trace!(model, \"prompt\" => {{ ... }})");
    syn::Error::new(proc_macro2::Span::call_site(), msg)
        .to_compile_error()
        .into()
}

/// Inside `trace!`: keeps the value at a module event.
#[proc_macro]
pub fn save(_: TokenStream) -> TokenStream {
    outside("save")
}

/// Inside `trace!`: ends the forward pass at a module event.
#[proc_macro]
pub fn stop(_: TokenStream) -> TokenStream {
    outside("stop")
}

/// Inside `trace!`: replaces the value at a module event.
#[proc_macro]
pub fn set(_: TokenStream) -> TokenStream {
    outside("set")
}

/// Inside `trace!`: replaces the value at a module event with a function of it.
#[proc_macro]
pub fn edit(_: TokenStream) -> TokenStream {
    outside("edit")
}

/// Inside `trace!`: does not run a module, and uses a given value as its output.
#[proc_macro]
pub fn skip(_: TokenStream) -> TokenStream {
    outside("skip")
}
