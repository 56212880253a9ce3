"""Side by side, in one run: our bench example and nnsight_peer.py (PyTorch + nnsight, 2 threads) on the
same checkpoint and prompt, then the ratios. Nothing else should run meanwhile (no compile!).

Usage: python bench/compare.py MODEL_DIR [--prompt TEXT] [--runs N] [--peer ../shared/reference/nnsight_peer.py]
Needs the reference environment (../shared/reference/setup.sh) for the peer, and a release build:
cargo build --release --example bench
"""
import argparse, json, os, subprocess, sys, tempfile

p = argparse.ArgumentParser()
p.add_argument("mdir"); p.add_argument("--prompt", default="The Eiffel Tower is in the city of")
p.add_argument("--runs", type=int, default=20); p.add_argument("--rounds", type=int, default=2)
p.add_argument("--peer", default=os.path.join(os.path.dirname(__file__), "../../shared/reference/nnsight_peer.py"))
p.add_argument("--python", default=os.path.expanduser("~/.cache/nnsight-reference-venv/bin/python"))
a = p.parse_args()
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
tmp = tempfile.mkdtemp()


def run_ours(i):
    out = os.path.join(tmp, f"ours{i}.json")
    subprocess.run([os.path.join(root, "target/release/examples/bench"), "--model", a.mdir, "--prompt", a.prompt,
                    "--runs", str(a.runs), "--json", out], check=True, stdout=subprocess.DEVNULL)
    return json.load(open(out))


def run_peer(i):
    out = os.path.join(tmp, f"peer{i}.json")
    subprocess.run([a.python, a.peer, a.mdir, "--prompt", a.prompt, "--runs", str(a.runs), "--json", out],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return json.load(open(out))


# Alternate A, B, A, B and keep each case's best median, so slow spells of the machine hit both sides.
results = [(run_ours(i), run_peer(i)) for i in range(a.rounds)]
ours = {k: min(r[0]["ms"][k] for r in results) for k in results[0][0]["ms"]}
peer = {k: min(r[1]["ms"][k] for r in results) for k in results[0][1]["ms"]}
tokens = results[0][1]["tokens"]
plain = ours["plain_forward"]
print(f"tokens: {tokens}, runs: {a.runs} x {a.rounds} rounds (best median of each side)")
print(f"{'case':28} {'ours ms':>9} {'peer ms':>9} {'ours/peer':>9} {'ours/our plain':>15}")
peer_names = {"plain_forward": "plain_hf_forward"}
for case, ms in ours.items():
    theirs = peer.get(peer_names.get(case, case))
    ratio = f"{ms / theirs:9.3f}" if theirs else f"{'-':>9}"
    print(f"{case:28} {ms:9.2f} {theirs or float('nan'):9.2f} {ratio} {ms / plain:15.3f}")
