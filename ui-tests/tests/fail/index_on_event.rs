// an index on the event
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let out = trace!(model, "Hello" => {
        let x = save!(h[0].output[0]);
    })?;
    let _ = out;
    Ok(())
}
