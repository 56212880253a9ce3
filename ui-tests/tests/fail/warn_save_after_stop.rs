// a save past the stop (seed cell 2): a warning, made an error here by deny(deprecated) to snapshot it
#![deny(deprecated)]
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let v = Tensor::zeros((1, 1, 32), DType::F32, model.device())?;
    let out = trace!(model, "Hello" => {
        let l2 = save!(h[1].output);
        stop!(h[0].output);
    })?;
    let _ = (out, v);
    Ok(())
}
