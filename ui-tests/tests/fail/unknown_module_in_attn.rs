// an unknown child of attn
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let out = trace!(model, "Hello" => {
        let x = save!(h[0].attn.c_atn.output);
    })?;
    let _ = out;
    Ok(())
}
