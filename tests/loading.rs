//! Loading checkpoints in every key layout seen in the wild, and a clear `Err` for every kind of bad input.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use nnsight::prelude::*;

fn assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("nnsight-runtime/assets")
}

fn tiny_tensors() -> HashMap<String, Tensor> {
    candle_core::safetensors::load(assets().join("tiny-gpt2/model.safetensors"), &Device::Cpu)
        .unwrap()
}

/// A checkpoint directory with the tiny model's config and the given tensors.
fn write_checkpoint(
    name: &str,
    tensors: &HashMap<String, Tensor>,
    config: Option<&str>,
) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nnsight-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = std::fs::read_to_string(assets().join("tiny-gpt2/config.json")).unwrap();
    std::fs::write(dir.join("config.json"), config.unwrap_or(&cfg)).unwrap();
    candle_core::safetensors::save(tensors, dir.join("model.safetensors")).unwrap();
    dir
}

fn logits(model: &Gpt2) -> Tensor {
    model
        .forward(&"Hello world!".into_ids(model).unwrap())
        .unwrap()
}

fn assert_same_logits(a: &Gpt2, b: &Gpt2) {
    let diff = (logits(a) - logits(b))
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap();
    assert_eq!(diff.to_scalar::<f32>().unwrap(), 0.0);
}

fn err_text(r: Result<Gpt2, Error>) -> String {
    match r {
        Ok(_) => panic!("loaded a bad checkpoint"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn hub_layout_with_mask_buffers_loads() {
    let mut t = tiny_tensors();
    let mask = Tensor::tril2(1024, candle_core::DType::F32, &Device::Cpu)
        .unwrap()
        .reshape((1, 1, 1024, 1024))
        .unwrap();
    for i in 0..12 {
        t.insert(format!("h.{i}.attn.bias"), mask.clone());
    }
    let dir = write_checkpoint("hub", &t, None);
    assert_same_logits(&Gpt2::from_dir(&dir).unwrap(), &Gpt2::tiny().unwrap());
    assert_same_logits(
        &Gpt2::from_pretrained(dir.to_str().unwrap()).unwrap(),
        &Gpt2::tiny().unwrap(),
    );
}

#[test]
fn save_pretrained_layout_loads_with_and_without_lm_head() {
    let t = tiny_tensors();
    let mut prefixed: HashMap<String, Tensor> = t
        .iter()
        .map(|(k, v)| (format!("transformer.{k}"), v.clone()))
        .collect();
    let dir = write_checkpoint("prefixed", &prefixed, None);
    assert_same_logits(&Gpt2::from_dir(&dir).unwrap(), &Gpt2::tiny().unwrap());
    prefixed.insert("lm_head.weight".into(), t["wte.weight"].clone());
    let dir = write_checkpoint("prefixed-head", &prefixed, None);
    assert_same_logits(&Gpt2::from_dir(&dir).unwrap(), &Gpt2::tiny().unwrap());
}

#[test]
fn missing_directory_and_files() {
    let e = err_text(Gpt2::from_dir("/nonexistent/gpt2"));
    assert!(
        e.contains("/nonexistent/gpt2") && e.contains("not a directory"),
        "{e}"
    );
    let dir = write_checkpoint("no-weights", &tiny_tensors(), None);
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    let e = err_text(Gpt2::from_dir(&dir));
    assert!(e.contains("model.safetensors"), "{e}");
    let dir = write_checkpoint("no-config", &tiny_tensors(), None);
    std::fs::remove_file(dir.join("config.json")).unwrap();
    let e = err_text(Gpt2::from_dir(&dir));
    assert!(e.contains("config.json"), "{e}");
}

#[test]
fn bad_configs() {
    let cfg = std::fs::read_to_string(assets().join("tiny-gpt2/config.json")).unwrap();
    let cases = [
        (
            "malformed",
            "{ not json".to_string(),
            "malformed config.json",
        ),
        (
            "bert",
            cfg.replace("\"gpt2\"", "\"bert\""),
            "model_type is `bert`",
        ),
        (
            "swish",
            cfg.replace("gelu_new", "swish"),
            "activation_function `swish` is not supported",
        ),
        (
            "missing-field",
            cfg.replace("\"n_layer\"", "\"n_layers\""),
            "n_layer",
        ),
    ];
    for (name, text, expected) in cases {
        let dir = write_checkpoint(name, &HashMap::new(), Some(&text));
        let e = err_text(Gpt2::from_dir(&dir));
        assert!(
            e.contains(expected) && e.contains("config.json"),
            "{name}: {e}"
        );
    }
}

#[test]
fn truncated_and_corrupt_weights() {
    let dir = write_checkpoint("truncated", &tiny_tensors(), None);
    let path = dir.join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let e = err_text(Gpt2::from_dir(&dir));
    assert!(
        e.contains("model.safetensors") && e.contains("not a readable safetensors file"),
        "{e}"
    );
    std::fs::write(&path, b"this is not a safetensors file at all").unwrap();
    let e = err_text(Gpt2::from_dir(&dir));
    assert!(e.contains("not a readable safetensors file"), "{e}");
}

#[test]
fn wrong_shape_and_missing_tensor() {
    let mut t = tiny_tensors();
    t.insert(
        "h.3.attn.c_attn.weight".into(),
        Tensor::zeros((32, 64), candle_core::DType::F32, &Device::Cpu).unwrap(),
    );
    let e = err_text(Gpt2::from_dir(write_checkpoint("shape", &t, None)));
    assert!(
        e.contains("h.3.attn.c_attn.weight") && e.contains("[32, 64]") && e.contains("[32, 96]"),
        "{e}"
    );
    let mut t = tiny_tensors();
    t.remove("h.7.mlp.c_fc.bias");
    let e = err_text(Gpt2::from_dir(write_checkpoint("missing", &t, None)));
    assert!(e.contains("missing tensor `h.7.mlp.c_fc.bias`"), "{e}");
}

#[test]
fn bad_prompts() {
    let model = Gpt2::tiny().unwrap();
    let e = "".into_ids(&model).unwrap_err().to_string();
    assert!(e.contains("empty"), "{e}");
    let long = "hello ".repeat(1100);
    let e = long.as_str().into_ids(&model).unwrap_err().to_string();
    assert!(
        e.contains("1101 tokens") && e.contains("context of 1024"),
        "{e}"
    );
    let e = vec![50257u32]
        .into_ids(&model)
        .map(|ids| model.forward(&ids))
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(e.contains("50257") && e.contains("wte"), "{e}");
}

#[test]
fn special_tokens_encode_as_hf_does() {
    let model = Gpt2::tiny().unwrap();
    assert_eq!(
        model.encode("The Eiffel Tower is in the city of").unwrap(),
        [464, 412, 733, 417, 8765, 318, 287, 262, 1748, 286]
    );
    assert_eq!(model.encode("Hello world!").unwrap(), [15496, 995, 0]);
    assert_eq!(model.encode("a<|endoftext|>b").unwrap(), [64, 50256, 65]);
}
