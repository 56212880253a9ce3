"""`logits` is the same tensor as `lm_head` in hf_reference.py's output: keep one copy (halves the file).
The parity test reads `lm_head` for the logits."""
import sys, torch
from safetensors.torch import load_file, save_file
path = sys.argv[1]
t = load_file(path)
assert torch.equal(t["logits"], t["lm_head"]), "logits and lm_head differ"
del t["logits"]
save_file(t, path)
print(path, len(t), "tensors")
