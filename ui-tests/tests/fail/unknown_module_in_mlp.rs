// an unknown child of mlp
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let out = trace!(model, "Hello" => {
        let x = save!(h[3].mlp.fc.output);
    })?;
    let _ = out;
    Ok(())
}
