// gpt2_xl has 48 blocks
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let out = trace!(model as gpt2_xl, "Hello" => {
        let x = save!(h[48].output);
    })?;
    let _ = out;
    Ok(())
}
