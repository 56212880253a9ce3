//! The seed notebook's two cells: save block 0's output and stop there; then save block 1's output with
//! the same stop, which can never be set (the compiler warns, and reading it gives the reason).
//!
//! cargo run --example early_stop [-- --model <dir|hub id>]
//! Offline, with no `--model` and no cached `openai-community/gpt2`, it runs on the embedded tiny GPT-2.

mod common;

use nnsight::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = common::Args::parse(
        &["model", "prompt"],
        "early_stop [--model DIR|HUB_ID] [--prompt TEXT]",
    );
    let model = Gpt2::for_examples(args.get("model"))?;
    let prompt = args
        .get("prompt")
        .unwrap_or("The Eiffel Tower is in the city of");

    // Cell 1: the pass ends right after block 0.
    let out = trace!(model, prompt => {
        let l1 = save!(h[0].output);
        stop!(h[0].output);
    })?;
    println!("L1 - Output: {}", out.l1.value()?);

    // Cell 2: block 1 comes after the stop, so `l2` is never set. The compiler warns about it ("`h[1].output`
    // comes after the stop at `h[0].output`"); remove the `allow` to see the warning.
    #[allow(deprecated)]
    let out = trace!(model, prompt => {
        let l2 = save!(h[1].output);
        stop!(h[0].output);
    })?;
    match out.l2.value() {
        Ok(t) => println!("L2 - Output: {t}"),
        Err(e) => println!("L2 - Output: {e}"),
    }
    Ok(())
}
