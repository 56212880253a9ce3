//! **nnsight for Rust**: look inside GPT-2 and change what it computes, with `trace!` blocks whose module
//! paths the compiler checks.
//!
//! ```
//! use nnsight::prelude::*;
//! # fn main() -> Result<(), nnsight::Error> {
//! let model = Gpt2::tiny()?; // or Gpt2::from_pretrained("openai-community/gpt2")?
//! let out = trace!(model, "The Eiffel Tower is in the city of" => {
//!     let l1 = save!(h[0].output);
//!     stop!(h[0].output);
//! })?;
//! assert_eq!(out.l1.value()?.dims(), &[1, 10, 32]); // [1, 10, 768] on the real gpt2
//! # Ok(()) }
//! ```
//!
//! The statements (`save!`, `stop!`, `set!`, `edit!`, `skip!`) only exist inside `trace!`. They are tied
//! to module events, which fire in the order of the forward pass, whatever their order in the block.

pub use nnsight_runtime::trace::{Resolve, Run, SaveId, Saved, Site, Tracer};
pub use nnsight_runtime::{
    config, hooks, schema, Config, Error, Gpt2, IntoIds, Result, DEFAULT_HUB_ID,
};

/// Runs one forward pass of a GPT-2 with statements tied to module events:
/// `trace!(model [as SCHEMA], INPUT => { ... })`, an expression of type `Result<_, nnsight::Error>`.
///
/// - `model`: a [`Gpt2`], `&Gpt2` or `Arc<Gpt2>`. `as gpt2_xl` (or `gpt2_medium`, `gpt2_large`,
///   `distilgpt2`; default `gpt2`) picks the schema paths are checked against; a model whose number of
///   blocks differs is refused before anything runs.
/// - `INPUT`: a prompt (`&str`, `String`) or token ids (`Vec<u32>`, `&[u32]`, a `[batch, seq]` tensor).
/// - Each top-level `let x = <expression with save!>` becomes a field `x` of the `Ok` value: a [`Saved`]
///   for `save!`, a `Vec<Saved>` for a `Vec` of saves, and so on.
/// - Any other Rust runs while the trace is set up, before the forward pass: loops may register
///   statements on many blocks; a computed index out of range is an `Err` before anything runs.
///
/// ```
/// use nnsight::prelude::*;
/// # fn main() -> Result<(), nnsight::Error> {
/// let model = Gpt2::tiny()?;
/// let out = trace!(model, "Hello world!" => {
///     let blocks: Vec<_> = (0..12).map(|i| save!(h[i].output)).collect();
///     let last = save!(lm_head.output, |t| t.i((.., 2, ..)));
///     edit!(h[5].mlp.output, |t| t.zeros_like());
/// })?;
/// assert_eq!(out.blocks.len(), 12);
/// assert_eq!(out.last.value()?.dims(), &[1, 50257]);
/// # Ok(()) }
/// ```
///
/// Mistakes are compile errors on the offending token:
///
/// ```compile_fail
/// use nnsight::prelude::*;
/// let model = Gpt2::tiny().unwrap();
/// let out = trace!(model, "x" => { let a = save!(h[0].atn.output); }); // no module `atn`; did you mean `attn`?
/// ```
pub use nnsight_macros::trace;

/// `let x = save!(PATH);` keeps the value at a module event; `save!(PATH, |t| expr)` keeps a value computed
/// from it (the closure returns `candle_core::Result<Tensor>`). After the trace, `out.x.value()` is the
/// tensor, or an `Err` naming the path and why it was never set. Only inside [`trace!`].
///
/// ```
/// use nnsight::prelude::*;
/// # fn main() -> Result<(), nnsight::Error> {
/// let model = Gpt2::tiny()?;
/// let out = trace!(model, "The Eiffel Tower is in the city of" => {
///     let pattern = save!(h[0].attn.attn_dropout.output); // [batch, heads, seq, seq]
///     let last_token = save!(h[11].output, |t| t.i((.., 9, ..)));
/// })?;
/// assert_eq!(out.pattern.value()?.dims(), &[1, 4, 10, 10]);
/// assert_eq!(out.last_token.value()?.dims(), &[1, 32]);
/// # Ok(()) }
/// ```
pub use nnsight_macros::save;

/// `stop!(PATH);` ends the forward pass once that event's own statements have run: no later module runs.
/// The earliest stop wins. Saves after it are compiler warnings, and `Err`s when read.
///
/// ```
/// use nnsight::prelude::*;
/// # fn main() -> Result<(), nnsight::Error> {
/// let model = Gpt2::tiny()?;
/// let out = trace!(model, "Hello world!" => {
///     let l1 = save!(h[0].output);
///     stop!(h[0].output);
/// })?;
/// assert!(out.l1.value().is_ok());
/// # Ok(()) }
/// ```
pub use nnsight_macros::stop;

/// `set!(PATH = value);` replaces the value at an event for the rest of the pass (same shape and dtype,
/// else an `Err` naming the path and both shapes).
///
/// ```
/// use nnsight::prelude::*;
/// # fn main() -> Result<(), nnsight::Error> {
/// let model = Gpt2::tiny()?;
/// let zeros = Tensor::zeros((1, 3, 32), DType::F32, model.device())?;
/// let out = trace!(model, "Hello world!" => {
///     set!(h[0].mlp.output = zeros);
///     let logits = save!(lm_head.output);
/// })?;
/// assert_eq!(out.logits.value()?.dims(), &[1, 3, 50257]);
/// # Ok(()) }
/// ```
pub use nnsight_macros::set;

/// `edit!(PATH, |t| expr);` replaces the value at an event with a function of it: zero it, add a steering
/// vector, patch one position. The closure may capture the caller's variables.
///
/// ```
/// use nnsight::prelude::*;
/// # fn main() -> Result<(), nnsight::Error> {
/// let model = Gpt2::tiny()?;
/// let steer = Tensor::ones(32, DType::F32, model.device())?;
/// let out = trace!(model, "Hello world!" => {
///     edit!(h[3].output, |t| t.broadcast_add(&steer));
///     let logits = save!(lm_head.output);
/// })?;
/// assert!(out.logits.value().is_ok());
/// # Ok(()) }
/// ```
pub use nnsight_macros::edit;

/// `skip!(MODULE, value);` does not run the module (nor its children: their events never fire) and uses
/// `value` as its output.
///
/// ```
/// use nnsight::prelude::*;
/// # fn main() -> Result<(), nnsight::Error> {
/// let model = Gpt2::tiny()?;
/// let zeros = Tensor::zeros((1, 3, 32), DType::F32, model.device())?;
/// let out = trace!(model, "Hello world!" => {
///     skip!(h[4].mlp, zeros);
///     let act = save!(h[4].mlp.act.output);
/// })?;
/// assert!(out.act.value().is_err()); // the MLP never ran
/// # Ok(()) }
/// ```
pub use nnsight_macros::skip;

/// Everything a trace needs: `use nnsight::prelude::*;`.
pub mod prelude {
    pub use crate::{edit, save, set, skip, stop, trace};
    pub use crate::{Error, Gpt2, IntoIds, Saved};
    pub use candle_core::{DType, IndexOp, Tensor, D};
}

/// What `trace!` expands to. Not a public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use nnsight_runtime::schema::{EventKind, Module};
    pub use nnsight_runtime::trace::{Resolve, Tracer};

    /// The model behind `Gpt2`, `&Gpt2`, `Arc<Gpt2>` or `Box<Gpt2>`.
    pub fn model<M: AsRef<crate::Gpt2> + ?Sized>(m: &M) -> &crate::Gpt2 {
        m.as_ref()
    }
}
