// set! needs `=`
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let out = trace!(model, "Hello" => {
        let v = Tensor::zeros(1, DType::F32, model.device())?;
        set!(h[0].output, v);
    })?;
    let _ = out;
    Ok(())
}
