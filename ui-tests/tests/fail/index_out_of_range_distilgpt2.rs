// distilgpt2 has 6 blocks
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let out = trace!(model as distilgpt2, "Hello" => {
        let x = save!(h[6].output);
    })?;
    let _ = out;
    Ok(())
}
