//! Writes every module output of GPT-2 for a prompt to a safetensors file, keyed by Hugging Face module
//! name (`transformer.h.0.attn.c_attn`, ..., `lm_head`), plus `input_ids` (i64) and `logits`: the file
//! Python's `safetensors` (numpy, torch) reads.
//!
//! cargo run --release --example dump_activations -- --model <dir|hub id> --prompt "<text>" --out <file>

mod common;

use std::collections::HashMap;

use nnsight::hooks::OutputRecorder;
use nnsight::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "dump_activations [--model DIR|HUB_ID] [--prompt TEXT] --out FILE.safetensors";
    let args = common::Args::parse(&["model", "prompt", "out"], usage);
    let out = args
        .get("out")
        .ok_or(format!("--out is required\nusage: {usage}"))?;
    let model = Gpt2::for_examples(args.get("model"))?;
    let prompt = args
        .get("prompt")
        .unwrap_or("The Eiffel Tower is in the city of");
    let ids = prompt.into_ids(&model)?;
    let mut recorder = OutputRecorder::default();
    let logits = model
        .forward_with(&ids, &mut recorder)?
        .ok_or("the pass stopped early")?;
    let mut tensors: HashMap<String, Tensor> = recorder.outputs.into_iter().collect();
    tensors.insert("input_ids".into(), ids.to_dtype(DType::I64)?);
    tensors.insert("logits".into(), logits);
    candle_core::safetensors::save(&tensors, out)?;
    println!(
        "wrote {} tensors for {} tokens to {out} (model: {})",
        tensors.len(),
        ids.dim(1)?,
        model.source()
    );
    Ok(())
}
