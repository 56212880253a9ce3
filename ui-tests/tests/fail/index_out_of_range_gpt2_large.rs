// gpt2_large has 36 blocks
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let out = trace!(model as gpt2_large, "Hello" => {
        let x = save!(h[36].output);
    })?;
    let _ = out;
    Ok(())
}
