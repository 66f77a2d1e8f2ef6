"""check_engine.py - the C engine runs the trained checkpoint exactly as PyTorch does.

For each video given: the harness samples and preprocesses the frames (`tango-bench frames`),
encodes them (`tango-bench encode`: tower, projector, pooling, SigLIP head) and runs the LLM on
the real MVBench prompt of each of the video's questions (`tango-bench forward`); the same
inputs go through tinyov.py in float64. Prints the largest differences and fails (exit 1) when a
logit differs by more than --tol (default 1e-3) or an argmax differs.

Usage: python check_engine.py --tango-bench BIN --model DIR --bench DIR [--videos N] [--tol T]
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tinyov  # noqa: E402
import train  # noqa: E402


def read_safetensors(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    out = {}
    for k, v in h.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        assert v["dtype"] == "F32"
        out[k] = torch.from_numpy(np.frombuffer(b[8 + n + s:8 + n + e], dtype="<f4").reshape(v["shape"]).copy())
    return out


def load(model_dir):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    vc = cfg["vision_config"]
    c = tinyov.Config(image=vc["image_size"], patch=vc["patch_size"], v_hidden=vc["hidden_size"],
                      v_heads=vc["num_attention_heads"], v_mlp=vc["intermediate_size"],
                      v_layers=vc["num_hidden_layers"] - 1, hidden=cfg["hidden_size"],
                      llm_layers=cfg["num_hidden_layers"], llm_heads=cfg["num_attention_heads"],
                      llm_kv_heads=cfg["num_key_value_heads"], llm_mlp=cfg["intermediate_size"],
                      vocab=cfg["vocab_size"], rope_theta=cfg["rope_theta"], eps=cfg["rms_norm_eps"])
    m = tinyov.TinyOV(c)
    t, s = train.checkpoint_tensors(m)
    st = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    st.update(read_safetensors(os.path.join(model_dir, "siglip", "model.safetensors")))
    with torch.no_grad():
        for name, p in list(t.items()) + list(s.items()):
            p.copy_(st[name].view(p.shape))
    return m.double()


def full_logits(m, pix, ids):
    """Single-sequence forward (no prefix sharing): logits of every row after <image>."""
    with torch.no_grad():
        feats = m.tower(pix)
        vis = m.visual(feats)
        k = ids.index(-200)
        pre = torch.cat([F.embedding(torch.tensor(ids[:k]), m.embed_tokens), vis], 0)
        suf = torch.tensor([ids[k + 1:]])
        want = torch.arange(len(ids) - k - 1).view(1, -1)
        return m.prefix_and_suffixes(pre, suf, want)[0], feats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tango-bench", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--bench", required=True, help="a salient synth directory (json/, videos/)")
    ap.add_argument("--videos", type=int, default=2)
    ap.add_argument("--tol", type=float, default=1e-3)
    a = ap.parse_args()
    torch.set_num_threads(1)
    tb = a.tango_bench
    m = load(a.model)
    samples = [json.loads(l) for l in train.run([tb, "samples", "mvbench", "--manifest", a.bench + "/json", "--videos",
                                                  a.bench + "/videos", "--json"]).splitlines() if l.strip()]
    videos = sorted({s["video"] for s in samples if s["categories"]["task"] != "object_shuffle"})[:a.videos]
    worst, bad = 0.0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for v in videos:
            px = os.path.join(tmp, "px.npy")
            train.run([tb, "frames", v, "--n", "8", "--size", str(m.c.image), "--quiet", "--threads", "1", "--out", px])
            enc = os.path.join(tmp, "enc")
            train.run([tb, "encode", "--model", a.model, "--pixels", px, "--out", enc, "--quiet"])
            pix = torch.from_numpy(np.load(px)).double()
            pooled_c = np.load(os.path.join(enc, "pooled.npy"))
            for s in [s for s in samples if os.path.basename(s["video"]) == os.path.basename(v)]:
                ids = json.loads(train.run([tb, "tokenize", "--tokenizer", a.model, "--chat", "--image-split",
                                            "--text", "<image>\n" + s["prompt"]]))
                np.save(os.path.join(tmp, "ids.npy"), np.array(ids, dtype=np.int64))
                out = os.path.join(tmp, "logits.npy")
                train.run([tb, "forward", "--model", a.model, "--input-ids", os.path.join(tmp, "ids.npy"),
                           "--visual", os.path.join(enc, "pooled.npy"), "--out", out])
                lc = np.load(out)
                lt, feats = full_logits(m, pix, ids)
                n = lt.shape[0]
                lc_text = lc[-n:]
                d = np.abs(lc_text - lt.numpy()).max()
                am = int((lc_text.argmax(-1) != lt.numpy().argmax(-1)).sum())
                worst = max(worst, d)
                bad += int(d > a.tol) + am
                print("%-28s logits max |C - torch| = %.2e over %d rows x %d, argmax mismatches %d, answer %s (gold %s)"
                      % (s["id"], d, n, lc.shape[1], am, "ABCD"[int(lt[-1, train_letters(tb, a.model)].argmax())],
                         s["gold"]))
            with torch.no_grad():
                vis = m.visual(feats)[:-1].view(pooled_c.shape).numpy()
                attn, glob = m.head(feats)
            dp = np.abs(vis - pooled_c).max()
            dg = np.abs(glob.numpy() - np.load(os.path.join(enc, "frame_global.npy"))).max()
            da = np.abs(attn.numpy() - np.load(os.path.join(enc, "map_attn.npy")).reshape(attn.shape)).max()
            print("%s: pooled features max diff %.2e, SigLIP head attention %.2e, global vector %.2e"
                  % (os.path.basename(v), dp, da, dg))
            worst = max(worst, dp)
            bad += int(dp > a.tol) + int(da > a.tol) + int(dg > a.tol)
    print("worst logit/feature difference %.2e (tolerance %.0e): %s" % (worst, a.tol, "ok" if not bad else "FAIL"))
    sys.exit(1 if bad else 0)


_letters = {}


def train_letters(tb, model):
    if model not in _letters:
        _letters[model] = [json.loads(train.run([tb, "tokenize", "--tokenizer", model, "--text", L]))[0]
                           for L in "ABCD"]
    return _letters[model]


if __name__ == "__main__":
    main()
