// a misspelt event on lm_head
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let out = trace!(model, "Hello" => {
        stop!(lm_head.outputs);
    })?;
    let _ = out;
    Ok(())
}
