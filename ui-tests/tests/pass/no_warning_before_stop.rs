// No warning for work before the stop, inside the stopped module, or past a conditional stop.
#![deny(deprecated)]
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let early = std::env::args().count() > 5;
    let out = trace!(model, "Hello" => {
        let attn = save!(h[0].attn.output);
        let act = save!(h[0].mlp.act.output);
        let same_event = save!(h[0].output);
        stop!(h[0].output);
    })?;
    assert!(out.attn.value().is_ok() && out.act.value().is_ok() && out.same_event.value().is_ok());
    let out = trace!(model, "Hello" => {
        if early {
            stop!(h[0].output);
        }
        for i in 0..1 {
            stop!(h[i].output);
        }
        let later = save!(h[3].output);
    })?;
    assert!(out.later.value().is_err());
    Ok(())
}
