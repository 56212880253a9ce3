// an unknown child of transformer
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let out = trace!(model, "Hello" => {
        let x = save!(transformer.lnf.output);
    })?;
    let _ = out;
    Ok(())
}
