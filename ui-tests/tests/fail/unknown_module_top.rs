// an unknown top-level module
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let out = trace!(model, "Hello" => {
        let x = save!(transfomer.h[0].output);
    })?;
    let _ = out;
    Ok(())
}
