#!/usr/bin/env bash
# Regenerates the goldens: HF transformers' activations for the embedded tiny GPT-2 (parity), and its
# outputs under interventions made with torch hooks (make_interventions.py).
# Needs the reference environment (../shared/reference/setup.sh) and ../shared beside the checkout.
# The tiny model itself was made with:
#   python ../shared/reference/make_gpt2.py DIR --layers 12 --embd 32 --heads 4 --no-mask-buffers
# (seed 1234, the script's default), keeping config.json and model.safetensors.
set -euo pipefail
cd "$(dirname "$0")/../.."
py=${PYTHON:-$HOME/.cache/nnsight-reference-venv/bin/python}
dir=$(mktemp -d)
cp nnsight-runtime/assets/tiny-gpt2/config.json nnsight-runtime/assets/tiny-gpt2/model.safetensors "$dir/"
cp nnsight-runtime/assets/gpt2-tokenizer.json "$dir/tokenizer.json"
run() { "$py" ../shared/reference/hf_reference.py "$dir" "$2" "tests/golden/$1.safetensors"; "$py" tests/golden/dedupe_logits.py "tests/golden/$1.safetensors"; }
run eiffel "The Eiffel Tower is in the city of"
run hello "Hello world!"
run unicode "Café naïve 東京 🚀<|endoftext|>Über straße"
"$py" tests/golden/make_interventions.py "$dir" tests/golden/interventions.safetensors
rm -r "$dir"
