// stray tokens after a path
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let out = trace!(model, "Hello" => {
        stop!(h[0].output h[1].output);
    })?;
    let _ = out;
    Ok(())
}
