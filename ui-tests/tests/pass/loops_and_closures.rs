// Plain Rust around the statements: loops over computed indices, closures capturing the caller's values.
#![deny(warnings)]
use std::sync::Arc;

use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Arc::new(Gpt2::tiny()?);
    let steer = Tensor::ones(32, DType::F32, model.device())?;
    let layers = [1usize, 5, 9];
    let out = trace!(model, String::from("Hello world!") => {
        for &i in &layers {
            edit!(h[i].output, |t| t.broadcast_add(&steer));
        }
        let blocks: Vec<_> = (0..12).map(|i| save!(h[i].output)).collect();
        let maybe = if layers.len() > 2 { Some(save!(ln_f.output)) } else { None };
        let pair = (save!(h[0].ln_1.input), save!(h[0].ln_1.output));
    })?;
    assert_eq!(out.blocks.len(), 12);
    assert!(out.maybe.is_some());
    assert!(out.pair.0.value().is_ok());
    Ok(())
}
