// gpt2_medium has 24 blocks
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let out = trace!(model as gpt2_medium, "Hello" => {
        let x = save!(h[24].output);
    })?;
    let _ = out;
    Ok(())
}
