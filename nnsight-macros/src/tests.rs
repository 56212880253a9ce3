//! Unit tests of the expansion, driven with `syn::parse2`-style token streams.

use proc_macro2::TokenStream;

use crate::expand::expand;

fn expand_str(src: &str) -> String {
    let tokens: TokenStream = src.parse().expect("test input tokenizes");
    expand(tokens).to_string()
}

fn errors(out: &str) -> Vec<String> {
    out.split("compile_error !").skip(1).map(|s| s.split(')').next().unwrap_or("").to_string()).collect()
}

#[test]
fn seed_cell_expands_to_registrations() {
    let out = expand_str(r#"model, "The Eiffel Tower" => { let l1 = save!(h[0].output); stop!(h[0].output); }"#);
    assert!(out.contains("Module :: Block"), "{out}");
    assert!(out.contains("save ("), "{out}");
    assert!(out.contains("stop ("), "{out}");
    assert!(out.contains("pub l1"), "{out}");
    assert!(errors(&out).is_empty(), "{out}");
    assert!(!out.contains("deprecated"), "{out}");
}

#[test]
fn save_after_stop_warns_once() {
    let out = expand_str(r#"model, "x" => { let l2 = save!(h[1].output); stop!(h[0].output); }"#);
    assert_eq!(out.matches("deprecated").count(), 1, "{out}");
    assert!(out.contains("`h[1].output` comes after the stop at `h[0].output`"), "{out}");
}

#[test]
fn no_warning_inside_the_stopped_module_or_for_conditional_stops() {
    let out = expand_str(r#"model, "x" => { let a = save!(h[0].attn.output); let b = save!(h[0].output); stop!(h[0].output); }"#);
    assert!(!out.contains("deprecated"), "{out}");
    let out = expand_str(r#"model, "x" => { let a = save!(h[3].output); if cond { stop!(h[0].output); } for i in 0..2 { stop!(h[1].output); } }"#);
    assert!(!out.contains("deprecated"), "{out}");
}

#[test]
fn every_mistake_once() {
    let out = expand_str(r#"model, "x" => { let a = save!(h[0].atn.output); let b = save!(h[12].output); stop!(h[0].outptu); let c = save!(h[1].output); }"#);
    let errs = errors(&out);
    assert_eq!(errs.len(), 3, "{errs:#?}");
    assert!(out.contains("pub a") && out.contains("pub b") && out.contains("pub c"), "bindings still declared: {out}");
}

#[test]
fn malformed_input_gives_an_error_not_a_panic() {
    for src in ["", "model", "model,", "model, \"x\"", "model, \"x\" =>", "model \"x\" => {}", "model as 3, \"x\" => {}", "model as gpt3, \"x\" => {}"] {
        let out = expand_str(src);
        assert!(out.contains("compile_error"), "{src:?} -> {out}");
    }
}
