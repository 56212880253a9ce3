// an edit! past the stop: a warning, made an error here by deny(deprecated) to snapshot it
#![deny(deprecated)]
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let v = Tensor::zeros((1, 1, 32), DType::F32, model.device())?;
    let out = trace!(model, "Hello" => {
        edit!(h[2].mlp.output, |t| t * 2.0);
        stop!(h[0].output);
    })?;
    let _ = (out, v);
    Ok(())
}
