// Each schema accepts its last block. The tiny model has 12 blocks, so only `gpt2` runs; the others are
// refused at set-up with an `Err`.
#![deny(warnings)]
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    trace!(model as gpt2, "a" => { let x = save!(h[11].output); })?;
    assert!(trace!(model as gpt2_medium, "a" => { let x = save!(h[23].output); }).is_err());
    assert!(trace!(model as gpt2_large, "a" => { let x = save!(h[35].output); }).is_err());
    assert!(trace!(model as gpt2_xl, "a" => { let x = save!(h[47].output); }).is_err());
    assert!(trace!(model as distilgpt2, "a" => { let x = save!(h[5].output); }).is_err());
    Ok(())
}
