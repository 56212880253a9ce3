//! What a pass can run on: a prompt (tokenized with the model's tokenizer) or token ids.

use candle_core::Tensor;

use crate::error::{Error, Result};
use crate::gpt2::Gpt2;

impl Gpt2 {
    /// Tokenizes `text` as Hugging Face does (special tokens such as `<|endoftext|>` included).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        if text.is_empty() {
            return Err(Error::Input("the prompt is empty: no tokens to run".into()));
        }
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Turns token ids back into text.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.tokenizer
            .decode(ids, false)
            .map_err(|e| Error::Tokenizer(e.to_string()))
    }

    /// The tokenizer (GPT-2's byte-level BPE).
    pub fn tokenizer(&self) -> &tokenizers::Tokenizer {
        &self.tokenizer
    }
}

/// An input a model can run: `&str`/`String` prompts, token ids (`Vec<u32>`, `&[u32]`), or a `[batch, seq]`
/// `u32` tensor.
pub trait IntoIds {
    /// The `[batch, seq]` token-id tensor, checked against the model (non-empty, within the context).
    fn into_ids(self, model: &Gpt2) -> Result<Tensor>;
}

fn ids_tensor(ids: &[u32], model: &Gpt2) -> Result<Tensor> {
    let t = Tensor::new(ids, model.device())
        .and_then(|t| t.unsqueeze(0))
        .map_err(|e| Error::tensor("input ids", e))?;
    model.check_ids(&t)?;
    Ok(t)
}

impl IntoIds for &str {
    fn into_ids(self, model: &Gpt2) -> Result<Tensor> {
        ids_tensor(&model.encode(self)?, model)
    }
}

impl IntoIds for &String {
    fn into_ids(self, model: &Gpt2) -> Result<Tensor> {
        self.as_str().into_ids(model)
    }
}

impl IntoIds for String {
    fn into_ids(self, model: &Gpt2) -> Result<Tensor> {
        self.as_str().into_ids(model)
    }
}

impl IntoIds for &[u32] {
    fn into_ids(self, model: &Gpt2) -> Result<Tensor> {
        ids_tensor(self, model)
    }
}

impl IntoIds for &Vec<u32> {
    fn into_ids(self, model: &Gpt2) -> Result<Tensor> {
        ids_tensor(self, model)
    }
}

impl IntoIds for Vec<u32> {
    fn into_ids(self, model: &Gpt2) -> Result<Tensor> {
        ids_tensor(&self, model)
    }
}

impl<const N: usize> IntoIds for &[u32; N] {
    fn into_ids(self, model: &Gpt2) -> Result<Tensor> {
        ids_tensor(self, model)
    }
}

impl IntoIds for &Tensor {
    fn into_ids(self, model: &Gpt2) -> Result<Tensor> {
        model.check_ids(self)?;
        Ok(self.clone())
    }
}

impl IntoIds for Tensor {
    fn into_ids(self, model: &Gpt2) -> Result<Tensor> {
        (&self).into_ids(model)
    }
}
