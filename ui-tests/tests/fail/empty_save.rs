// save! with nothing in it
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let out = trace!(model, "Hello" => {
        let x = save!();
    })?;
    let _ = out;
    Ok(())
}
