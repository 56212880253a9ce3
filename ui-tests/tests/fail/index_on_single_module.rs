// an index on a module that is not a list
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let out = trace!(model, "Hello" => {
        let x = save!(ln_f[0].output);
    })?;
    let _ = out;
    Ok(())
}
