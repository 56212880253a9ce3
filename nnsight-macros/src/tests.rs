//! Unit tests of the expansion, driven with `syn::parse2`-style token streams.

use proc_macro2::TokenStream;

use crate::expand::expand;

fn expand_str(src: &str) -> String {
    let tokens: TokenStream = src.parse().expect("test input tokenizes");
    expand(tokens).to_string()
}

fn errors(out: &str) -> Vec<String> {
    out.split("compile_error !")
        .skip(1)
        .map(|s| s.split(')').next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn seed_cell_expands_to_registrations() {
    let out = expand_str(
        r#"model, "The Eiffel Tower" => { let l1 = save!(h[0].output); stop!(h[0].output); }"#,
    );
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
    assert!(
        out.contains("`h[1].output` comes after the stop at `h[0].output`"),
        "{out}"
    );
}

#[test]
fn no_warning_inside_the_stopped_module_or_for_conditional_stops() {
    let out = expand_str(
        r#"model, "x" => { let a = save!(h[0].attn.output); let b = save!(h[0].output); stop!(h[0].output); }"#,
    );
    assert!(!out.contains("deprecated"), "{out}");
    let out = expand_str(
        r#"model, "x" => { let a = save!(h[3].output); if cond { stop!(h[0].output); } for i in 0..2 { stop!(h[1].output); } }"#,
    );
    assert!(!out.contains("deprecated"), "{out}");
}

#[test]
fn every_mistake_once() {
    let out = expand_str(
        r#"model, "x" => { let a = save!(h[0].atn.output); let b = save!(h[12].output); stop!(h[0].outptu); let c = save!(h[1].output); }"#,
    );
    let errs = errors(&out);
    assert_eq!(errs.len(), 3, "{errs:#?}");
    assert!(
        out.contains("pub a") && out.contains("pub b") && out.contains("pub c"),
        "bindings still declared: {out}"
    );
}

#[test]
fn malformed_input_gives_an_error_not_a_panic() {
    for src in [
        "",
        "model",
        "model,",
        "model, \"x\"",
        "model, \"x\" =>",
        "model \"x\" => {}",
        "model as 3, \"x\" => {}",
        "model as gpt3, \"x\" => {}",
    ] {
        let out = expand_str(src);
        assert!(out.contains("compile_error"), "{src:?} -> {out}");
    }
}

/// Deterministic xorshift, so a failing input can be reproduced from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Flattens tokens to strings, delimiters included, so mutations can break nesting too.
fn flatten(ts: TokenStream, out: &mut Vec<String>) {
    for tt in ts {
        match tt {
            proc_macro2::TokenTree::Group(g) => {
                let (open, close) = match g.delimiter() {
                    proc_macro2::Delimiter::Parenthesis => ("(", ")"),
                    proc_macro2::Delimiter::Brace => ("{", "}"),
                    proc_macro2::Delimiter::Bracket => ("[", "]"),
                    proc_macro2::Delimiter::None => ("", ""),
                };
                out.push(open.into());
                flatten(g.stream(), out);
                out.push(close.into());
            }
            other => out.push(other.to_string()),
        }
    }
}

const SEEDS: &[&str] = &[
    r#"model, "The Eiffel Tower" => { let l1 = save!(h[0].output); stop!(h[0].output); }"#,
    r#"model as gpt2_xl, ids => { for i in 0..48 { edit!(h[i].mlp.output, |t| t * 2.0); } let x = save!(lm_head.output, |t| t.i((.., 0, ..))); }"#,
    r#"m, p => { set!(transformer.h[3].attn.c_attn.output = v); skip!(h[4].mlp, z); let xs: Vec<_> = (0..12).map(|i| save!(h[i].output)).collect(); }"#,
    r#"model, "x" => { let a = save!(h[0].atn.output); let b = save!(h[12].output); stop!(h[0].outptu); println!("{}", save!(ln_f.output)); }"#,
];

const VOCAB: &[&str] = &[
    "save",
    "stop",
    "set",
    "edit",
    "skip",
    "!",
    "h",
    "[",
    "]",
    "(",
    ")",
    "{",
    "}",
    ".",
    ",",
    "=",
    "=>",
    "output",
    "input",
    "0",
    "12",
    "-1",
    "999999999999999999999999",
    "as",
    "gpt2",
    "|",
    "t",
    "let",
    "x",
    ";",
    "transformer",
    "lm_head",
    "attn",
    "mlp",
    "\"s\"",
    "if",
    "for",
    "in",
    "..",
    "_",
    "'a",
    "#",
    "::",
    "1.5",
    "-",
    "*",
];

fn no_panic(src: &str) -> bool {
    let Ok(tokens) = src.parse::<TokenStream>() else {
        return false;
    };
    let result = std::panic::catch_unwind(|| expand(tokens));
    assert!(result.is_ok(), "expand panicked on: {src}");
    true
}

#[test]
fn expansion_never_panics_on_random_or_mutated_tokens() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut tried = 0;
    for round in 0..30_000 {
        let mut tokens = Vec::new();
        if round % 4 == 3 {
            for _ in 0..rng.below(40) {
                tokens.push(VOCAB[rng.below(VOCAB.len())].to_string());
            }
        } else {
            flatten(
                SEEDS[rng.below(SEEDS.len())]
                    .parse()
                    .expect("seed tokenizes"),
                &mut tokens,
            );
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(tokens.len().max(1));
                match rng.below(4) {
                    0 if !tokens.is_empty() => {
                        tokens.remove(at);
                    }
                    1 => tokens.insert(at, VOCAB[rng.below(VOCAB.len())].to_string()),
                    2 if !tokens.is_empty() => {
                        tokens[at] = VOCAB[rng.below(VOCAB.len())].to_string()
                    }
                    _ if tokens.len() > 1 => {
                        let other = rng.below(tokens.len());
                        tokens.swap(at, other);
                    }
                    _ => {}
                }
            }
        }
        tried += usize::from(no_panic(&tokens.join(" ")));
    }
    println!("expand ran on {tried} token streams without a panic");
    assert!(tried > 10_000, "only {tried} inputs tokenized");
}
