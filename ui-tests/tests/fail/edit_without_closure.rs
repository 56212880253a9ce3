// edit! needs a closure
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let out = trace!(model, "Hello" => {
        edit!(h[0].output);
    })?;
    let _ = out;
    Ok(())
}
