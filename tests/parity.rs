//! Parity with HF transformers: every module output and the logits of the embedded tiny GPT-2 against
//! golden activations written by HF transformers (`tests/golden/make_parity.sh`).

use std::collections::HashMap;

use candle_core::{DType, Tensor};
use nnsight::hooks::OutputRecorder;
use nnsight::prelude::*;

mod common;
use common::{golden, relative_error, TOLERANCE};

fn check_prompt(model: &Gpt2, name: &str, prompt: &str) -> f32 {
    let hf = golden(name);
    let ids = model.encode(prompt).unwrap();
    let hf_ids: Vec<i64> = hf["input_ids"].flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(
        ids.iter().map(|&i| i as i64).collect::<Vec<_>>(),
        hf_ids,
        "token ids of {prompt:?}"
    );

    let mut rec = OutputRecorder::default();
    let logits = model
        .forward_with(&ids.into_ids(model).unwrap(), &mut rec)
        .unwrap()
        .unwrap();
    let ours: HashMap<String, Tensor> = rec.outputs.into_iter().collect();
    let mut worst = 0f32;
    let mut compared = 0;
    for (key, hf_tensor) in &hf {
        if key == "input_ids" {
            continue;
        }
        let mine = ours
            .get(key)
            .unwrap_or_else(|| panic!("{name}: we never produced `{key}`"));
        let err = relative_error(mine, hf_tensor);
        assert!(
            err <= TOLERANCE,
            "{name}: `{key}` differs from HF by {err:e}"
        );
        worst = worst.max(err);
        compared += 1;
    }
    assert!(compared >= 150, "{name}: only {compared} tensors compared");
    let ours_argmax: Vec<u32> = logits
        .argmax(candle_core::D::Minus1)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let hf_argmax: Vec<u32> = hf["lm_head"]
        .argmax(candle_core::D::Minus1)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_dtype(DType::U32)
        .unwrap()
        .to_vec1()
        .unwrap();
    assert_eq!(ours_argmax, hf_argmax, "{name}: argmax per position");
    println!("{name}: {compared} tensors, worst relative error {worst:e}");
    worst
}

#[test]
fn every_module_output_matches_hf_transformers() {
    let model = Gpt2::tiny().unwrap();
    let worst = [
        ("eiffel", "The Eiffel Tower is in the city of"),
        ("hello", "Hello world!"),
        ("unicode", "Café naïve 東京 🚀<|endoftext|>Über straße"),
    ]
    .iter()
    .map(|(name, prompt)| check_prompt(&model, name, prompt))
    .fold(0f32, f32::max);
    println!("worst relative error over all prompts: {worst:e}");
}
