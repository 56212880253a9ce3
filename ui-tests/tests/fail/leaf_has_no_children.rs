// a path below a leaf module
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let out = trace!(model, "Hello" => {
        let x = save!(h[0].ln_1.weight.output);
    })?;
    let _ = out;
    Ok(())
}
