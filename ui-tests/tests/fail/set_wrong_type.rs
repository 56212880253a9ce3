// a value that is not a tensor: rustc's error, on the user's token
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let out = trace!(model, "Hello" => {
        set!(h[0].output = 5);
    })?;
    let _ = out;
    Ok(())
}
