// an unknown child of a block, with did-you-mean
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let out = trace!(model, "Hello" => {
        let x = save!(h[0].atn.output);
    })?;
    let _ = out;
    Ok(())
}
