// Every statement, at every level of the tree, with the `transformer.` prefix and without.
#![deny(warnings)]
use nnsight::prelude::*;

fn main() -> Result<(), nnsight::Error> {
    let model = Gpt2::tiny()?;
    let zeros = Tensor::zeros((1, 3, 32), DType::F32, model.device())?;
    let out = trace!(model, "Hello world!" => {
        let l1 = save!(h[0].output);
        let emb = save!(transformer.wte.output);
        let pos = save!(wpe.output);
        let ids = save!(transformer.input);
        let qkv = save!(transformer.h[11].attn.c_attn.output, |t| t.i((.., .., 0..32)));
        let pattern = save!(h[2].attn.attn_dropout.output);
        set!(h[1].mlp.dropout.output = zeros);
        edit!(h[2].ln_2.output, |t| t * 2.0);
        skip!(h[3].attn, zeros);
        let logits = save!(lm_head.output);
    })?;
    assert_eq!(out.l1.value()?.dims(), &[1, 3, 32]);
    assert_eq!(out.emb.value()?.dims(), &[1, 3, 32]);
    assert_eq!(out.pos.value()?.dims(), &[1, 3, 32]);
    assert_eq!(out.ids.value()?.dims(), &[1, 3]);
    assert_eq!(out.qkv.value()?.dims(), &[1, 3, 32]);
    assert_eq!(out.pattern.value()?.dims(), &[1, 4, 3, 3]);
    assert_eq!(out.logits.value()?.dims(), &[1, 3, 50257]);
    Ok(())
}
