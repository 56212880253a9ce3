"""Goldens for interventions: HF transformers on the embedded tiny GPT-2, with the same change made by a
torch hook that the Rust tests make with set!/edit!/skip!. Also the attention patterns of a plain pass
(HF's eager attention does not call `attn_dropout` as a module, so hf_reference.py cannot hook them).
Usage: python tests/golden/make_interventions.py MODEL_DIR OUT.safetensors
(MODEL_DIR: the tiny model's config.json + model.safetensors + tokenizer.json; make_parity.sh shows how.)"""
import sys, torch
from safetensors.torch import save_file
from transformers import GPT2LMHeadModel
from tokenizers import Tokenizer

mdir, out = sys.argv[1], sys.argv[2]
model = GPT2LMHeadModel.from_pretrained(mdir, attn_implementation="eager").eval()
ids = torch.tensor([Tokenizer.from_file(f"{mdir}/tokenizer.json").encode("The Eiffel Tower is in the city of").ids])
D = model.config.n_embd
steer = torch.linspace(-1.0, 1.0, D)          # added to h[3].output
patch = torch.full((D,), 0.5)                   # h[7].attn.output at position 4
skip_value = torch.full((1, ids.shape[1], D), 0.1)  # h[4].mlp's output, the MLP not run

def first(o):
    return o[0] if isinstance(o, tuple) else o

def with_first(o, x):
    return (x,) + tuple(o[1:]) if isinstance(o, tuple) else x

def run(name, install):
    handles = install() or []
    blocks = {}
    for i, blk in enumerate(model.transformer.h):
        handles.append(blk.register_forward_hook(lambda m, a, o, i=i: blocks.__setitem__(i, first(o).detach().clone())))
    with torch.no_grad():
        res = model(ids, output_attentions=(name == "plain"))
    for h in handles:
        h.remove()
    t = {f"{name}.logits_last": res.logits[0, -1].contiguous(), f"{name}.argmax": res.logits[0].argmax(-1)}
    t.update({f"{name}.h.{i}": v.contiguous() for i, v in blocks.items()})
    if name == "plain":
        t.update({f"plain.attn_pattern.{i}": a.contiguous() for i, a in enumerate(res.attentions)})
    return t

def zero_mlp5():
    return [model.transformer.h[5].mlp.register_forward_hook(lambda m, a, o: torch.zeros_like(o))]

def steer_h3():
    return [model.transformer.h[3].register_forward_hook(lambda m, a, o: with_first(o, first(o) + steer))]

def patch_attn7():
    def hook(m, a, o):
        x = first(o).clone()
        x[:, 4, :] = patch
        return with_first(o, x)
    return [model.transformer.h[7].attn.register_forward_hook(hook)]

class Skipped(torch.nn.Module):
    def forward(self, x):
        return skip_value

def skip_mlp4():
    original = model.transformer.h[4].mlp
    model.transformer.h[4].mlp = Skipped()
    class Restore:
        def remove(self):
            model.transformer.h[4].mlp = original
    return [Restore()]

tensors = {"input_ids": ids}
for name, install in [("plain", lambda: []), ("zero_mlp5", zero_mlp5), ("steer_h3", steer_h3),
                      ("patch_attn7", patch_attn7), ("skip_mlp4", skip_mlp4)]:
    tensors.update(run(name, install))
save_file(tensors, out)
print("saved", len(tensors), "tensors to", out)
