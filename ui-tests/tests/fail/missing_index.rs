// h without an index
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let out = trace!(model, "Hello" => {
        let x = save!(h.output);
    })?;
    let _ = out;
    Ok(())
}
