// the trace's input without `=>`
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let out = trace!(model, "Hello" { let x = save!(h[0].output); })?;
    let _ = out;
    Ok(())
}
