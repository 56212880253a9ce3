//! The runtime of nnsight: GPT-2 on candle with a hook point at every module event, loading of Hugging
//! Face checkpoints, GPT-2's tokenizer, and the traces that `trace!` expands to.
//!
//! Users depend on the facade crate `nnsight`; this crate is what it re-exports.

mod attention;
pub mod config;
pub mod error;
mod gpt2;
pub mod hooks;
mod input;
mod linear;
mod load;
pub mod ops;
pub mod trace;

pub use config::Config;
pub use error::{Error, Result};
pub use gpt2::Gpt2;
pub use input::IntoIds;
pub use load::DEFAULT_HUB_ID;
pub use nnsight_schema as schema;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Gpt2>();
    }
}
