//! **nnsight for Rust**: look inside GPT-2 and change what it computes, with `trace!` blocks whose module
//! paths the compiler checks.
//!
//! ```
//! use nnsight::prelude::*;
//! # fn main() -> Result<(), nnsight::Error> {
//! let model = Gpt2::tiny()?; // or Gpt2::from_pretrained("openai-community/gpt2")?
//! let ids = model.encode("The Eiffel Tower is in the city of")?;
//! let logits = model.forward(&ids.into_ids(&model)?)?;
//! assert_eq!(logits.dims(), &[1, 10, 50257]);
//! # Ok(()) }
//! ```

pub use nnsight_runtime::{config, hooks, schema, Config, Error, Gpt2, IntoIds, Result, DEFAULT_HUB_ID};

/// Everything a trace needs: `use nnsight::prelude::*;`.
pub mod prelude {
    pub use crate::{Error, Gpt2, IntoIds};
    pub use candle_core::{DType, IndexOp, Tensor, D};
}
