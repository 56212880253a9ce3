// an unknown schema
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let out = trace!(model as gpt3, "Hello" => {
        let x = save!(h[0].output);
    })?;
    let _ = out;
    Ok(())
}
