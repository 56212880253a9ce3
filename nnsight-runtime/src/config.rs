//! `config.json` of a Hugging Face GPT-2 checkpoint, checked before any weight is read.

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};

/// The GPT-2 hyper-parameters nnsight uses, as in Hugging Face's `GPT2Config`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Config {
    /// Must be `gpt2`.
    #[serde(default)]
    pub model_type: Option<String>,
    /// Vocabulary size (50257 for the released models).
    pub vocab_size: usize,
    /// Context length: the longest input.
    pub n_positions: usize,
    /// Hidden size.
    pub n_embd: usize,
    /// Number of blocks.
    pub n_layer: usize,
    /// Attention heads per block.
    pub n_head: usize,
    /// MLP inner size; `4 * n_embd` when absent.
    #[serde(default)]
    pub n_inner: Option<usize>,
    /// The MLP activation.
    #[serde(default = "default_activation")]
    pub activation_function: String,
    /// LayerNorm epsilon.
    #[serde(default = "default_eps")]
    pub layer_norm_epsilon: f64,
    /// Divide attention scores by `sqrt(head_dim)`.
    #[serde(default = "yes")]
    pub scale_attn_weights: bool,
    /// Also divide attention scores by `layer index + 1`.
    #[serde(default)]
    pub scale_attn_by_inverse_layer_idx: bool,
    /// Upcast-and-reorder attention (a float16 trick; refused: not needed in float32).
    #[serde(default)]
    pub reorder_and_upcast_attn: bool,
}

fn default_activation() -> String {
    "gelu_new".into()
}
fn default_eps() -> f64 {
    1e-5
}
fn yes() -> bool {
    true
}

/// The MLP activations of `GPT2MLP` that nnsight implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// `gelu_new` / `gelu_pytorch_tanh`: the tanh approximation GPT-2 was trained with.
    GeluTanh,
    /// `gelu`: the exact erf form.
    GeluErf,
    /// `relu`.
    Relu,
}

impl Config {
    /// Parses and checks a `config.json` (`path` only names the file in errors).
    pub fn from_json(text: &str, path: &Path) -> Result<Self> {
        let bad = |reason: String| Error::Config {
            path: path.to_path_buf(),
            reason,
        };
        let cfg: Config =
            serde_json::from_str(text).map_err(|e| bad(format!("malformed config.json: {e}")))?;
        match cfg.model_type.as_deref() {
            Some("gpt2") | None => {}
            Some(other) => {
                return Err(bad(format!(
                    "model_type is `{other}`, not `gpt2`: only GPT-2 models are supported"
                )))
            }
        }
        cfg.activation().map_err(bad)?;
        if cfg.reorder_and_upcast_attn {
            return Err(bad("reorder_and_upcast_attn = true is not supported".into()));
        }
        let zero = [
            ("vocab_size", cfg.vocab_size),
            ("n_positions", cfg.n_positions),
            ("n_embd", cfg.n_embd),
            ("n_head", cfg.n_head),
        ];
        if let Some((name, _)) = zero.iter().find(|(_, v)| *v == 0) {
            return Err(bad(format!("{name} is 0")));
        }
        if cfg.n_inner.is_some_and(|n| n != 4 * cfg.n_embd) {
            return Err(bad(format!(
                "n_inner {:?} is not 4 * n_embd: GPT-2's MLP is 4x wide",
                cfg.n_inner
            )));
        }
        if !cfg.n_embd.is_multiple_of(cfg.n_head) {
            return Err(bad(format!(
                "n_embd {} is not a multiple of n_head {}",
                cfg.n_embd, cfg.n_head
            )));
        }
        Ok(cfg)
    }

    /// Reads and checks `dir/config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&text, path)
    }

    /// The MLP activation, or why it is not supported.
    pub fn activation(&self) -> std::result::Result<Activation, String> {
        match self.activation_function.as_str() {
            "gelu_new" | "gelu_pytorch_tanh" => Ok(Activation::GeluTanh),
            "gelu" => Ok(Activation::GeluErf),
            "relu" => Ok(Activation::Relu),
            other => Err(format!(
                "activation_function `{other}` is not supported (supported: gelu_new, gelu_pytorch_tanh, gelu, relu)"
            )),
        }
    }

    /// The width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.n_embd / self.n_head
    }
}

impl Config {
    /// A schema shape (`[Batch, Seq, Embd(3)]`) in numbers, for a pass of `batch` x `seq` tokens.
    pub fn shape_of(&self, dims: &[nnsight_schema::Dim], batch: usize, seq: usize) -> Vec<usize> {
        use nnsight_schema::Dim;
        dims.iter()
            .map(|d| match d {
                Dim::Batch => batch,
                Dim::One => 1,
                Dim::Seq => seq,
                Dim::Heads => self.n_head,
                Dim::Embd(k) => k * self.n_embd,
                Dim::Vocab => self.vocab_size,
            })
            .collect()
    }
}
