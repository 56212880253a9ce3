// two saves past the stop: two warnings: a warning, made an error here by deny(deprecated) to snapshot it
#![deny(deprecated)]
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let v = Tensor::zeros((1, 1, 32), DType::F32, model.device())?;
    let out = trace!(model, "Hello" => {
        let a = save!(lm_head.output);
        let b = save!(h[0].output);
        let c = save!(h[5].attn.c_attn.output);
        stop!(h[0].output);
    })?;
    let _ = (out, v);
    Ok(())
}
