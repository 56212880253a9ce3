// every mistake in a block, each once, no cascade
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let out = trace!(model, "Hello" => {
        let a = save!(h[0].atn.output);
        let b = save!(h[12].output);
        stop!(h[0].outptu);
        let c = save!(h[1].output);
    })?;
    let _ = out;
    Ok(())
}
