// gpt2 has 12 blocks
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let out = trace!(model, "Hello" => {
        let x = save!(h[12].output);
    })?;
    let _ = out;
    Ok(())
}
