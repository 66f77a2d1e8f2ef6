#!/usr/bin/env python3
"""llava_ov_hf.py - the Python side of scripts/gpu-check: a LLaVA-OneVision checkpoint with
random weights in the llava-hf layout, one synthetic 32-frame input, Hugging Face transformers'
LlavaOnevisionForConditionalGeneration run on both, and the comparison of last-position logits.
A test oracle only (torch, numpy, safetensors, transformers), never a runtime dependency.

Subcommands:
  checkpoint --out DIR [--preset 7b|tiny] [--seed S] [--device cuda|cpu]
      config.json (the llava-hf/llava-onevision-qwen2-7b-ov-hf config for 7b), bf16 safetensors
      shards of at most 4 GiB with their index, generation_config.json, and DIR/siglip: the
      SigLIP post_layernorm and attention-pooling head that Tango's saliency reads (the llava-hf
      checkpoints do not carry the head). Tensor names are the hub's (transformers 4.45 layout),
      which transformers 5 renames on load and the engine reads as they are.
      Weights: normal, std 0.02 (Linear, embeddings, lm_head; the real 7B's are about that),
      biases std 0.02, norm weights 1 + N(0, 0.02^2), image_newline std 1/sqrt(D), so the
      residual stream and the logits stay in the range a trained model has.
  input --model DIR --out DIR [--frames 32] [--seed S] [--before 14] [--after 40]
      pixels.npy [T, 3, S, S] float32 in [-1, 1] (four scenes of smooth random fields, panning,
      with noise: structure for Tango's segmentation and clustering), ids.npy (the prompt with ONE
      -200 placeholder: the engine's input), ids_hf.npy (the placeholder expanded to the video
      token id, once per visual token: T * ceil(G/2)^2 + 1 for the newline).
  reference --model DIR --input DIR --out LOGITS.npy [--dtype bf16|fp32] [--device cuda|cpu]
            [--reps N] [--json TIMES.json]
      transformers with attn_implementation="sdpa": last-position logits (float32 [V]) of
      model(input_ids=ids_hf, pixel_values_videos=pixels), and with --json the load time, the
      vision time (get_video_features: tower, projector, pooling) and the whole forward (vision +
      prefill + last logits), each the mean of N timed runs after one warm-up, CUDA-synchronised.
  compare --ours A.npy --ref B.npy [--anchor C.npy] [--json OUT.json]
      max |diff|, relative L2, cosine, top-1 and top-5 agreement of two logits vectors. The
      tolerance ("within bf16 tolerance"): with an fp32 anchor (transformers in float32 on the
      same input), ours may be at most 3x as far from it as transformers' own bf16 run is (plus
      1e-3 relative L2); without one, relative L2 <= 0.05 and cosine >= 0.998 against the bf16
      reference. Prints "TB-COMPARE: pass|fail ..." and exits 0 / 1.
  gemm-rate [--n 8192] [--reps 20]
      torch's bf16 matrix product rate on the GPU (a cross-check of bench_gpu --gemm-rate).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np

PRESETS = {
    # the real shapes of llava-hf/llava-onevision-qwen2-7b-ov-hf
    "7b": dict(v_hidden=1152, v_heads=16, v_mlp=4304, v_layers=26, hidden=3584, heads=28, kv_heads=4,
               mlp=18944, layers=28, vocab=152128),
    # the same structure, narrow: the CPU dry run of scripts/gpu-check (real frame and token counts)
    "tiny": dict(v_hidden=144, v_heads=2, v_mlp=288, v_layers=2, hidden=256, heads=2, kv_heads=1,
                 mlp=512, layers=4, vocab=152128),
}
IMAGE, PATCH = 384, 14
IMAGE_TOKEN, VIDEO_TOKEN = 151646, 151647
PLACEHOLDER = -200
SHARD_BYTES = 4 << 30


def die(msg):
    print("llava_ov_hf.py: " + msg, file=sys.stderr)
    sys.exit(1)


def vision_config(p, layers):
    return {"model_type": "siglip_vision_model", "hidden_size": p["v_hidden"], "image_size": IMAGE,
            "intermediate_size": p["v_mlp"], "num_attention_heads": p["v_heads"], "num_hidden_layers": layers,
            "patch_size": PATCH, "num_channels": 3, "layer_norm_eps": 1e-6, "hidden_act": "gelu_pytorch_tanh",
            "vision_use_head": False}


def llava_config(p):
    text = {"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "hidden_size": p["hidden"],
            "intermediate_size": p["mlp"], "num_hidden_layers": p["layers"], "num_attention_heads": p["heads"],
            "num_key_value_heads": p["kv_heads"], "vocab_size": p["vocab"], "max_position_embeddings": 32768,
            "max_window_layers": p["layers"], "rope_theta": 1000000.0, "rms_norm_eps": 1e-6, "hidden_act": "silu",
            "tie_word_embeddings": False, "use_sliding_window": False, "sliding_window": 131072,
            "rope_scaling": None, "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151645,
            "torch_dtype": "bfloat16"}
    return {"architectures": ["LlavaOnevisionForConditionalGeneration"], "model_type": "llava_onevision",
            "image_token_index": IMAGE_TOKEN, "video_token_index": VIDEO_TOKEN, "projector_hidden_act": "gelu",
            "vision_feature_layer": -1, "vision_feature_select_strategy": "full",
            "vision_aspect_ratio": "anyres_max_9", "use_image_newline_parameter": True,
            "multimodal_projector_bias": True, "tie_word_embeddings": False, "torch_dtype": "bfloat16",
            "text_config": text, "vision_config": vision_config(p, p["v_layers"])}


def tensor_specs(p):
    """(name, shape, kind) of every tensor of the llava-hf checkpoint, in a stable order."""
    dv, mv, d, m = p["v_hidden"], p["v_mlp"], p["hidden"], p["mlp"]
    dh = d // p["heads"]
    g = (IMAGE // PATCH) ** 2
    out = []
    vm = "vision_tower.vision_model."
    out += [(vm + "embeddings.patch_embedding.weight", (dv, 3, PATCH, PATCH), "w"),
            (vm + "embeddings.patch_embedding.bias", (dv,), "b"),
            (vm + "embeddings.position_embedding.weight", (g, dv), "w")]
    for l in range(p["v_layers"]):
        pre = vm + "encoder.layers.%d." % l
        out += [(pre + "layer_norm1.weight", (dv,), "n"), (pre + "layer_norm1.bias", (dv,), "b")]
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            out += [(pre + "self_attn.%s.weight" % proj, (dv, dv), "w"), (pre + "self_attn.%s.bias" % proj, (dv,), "b")]
        out += [(pre + "layer_norm2.weight", (dv,), "n"), (pre + "layer_norm2.bias", (dv,), "b"),
                (pre + "mlp.fc1.weight", (mv, dv), "w"), (pre + "mlp.fc1.bias", (mv,), "b"),
                (pre + "mlp.fc2.weight", (dv, mv), "w"), (pre + "mlp.fc2.bias", (dv,), "b")]
    out += [(vm + "post_layernorm.weight", (dv,), "n"), (vm + "post_layernorm.bias", (dv,), "b")]
    out += [("multi_modal_projector.linear_1.weight", (d, dv), "w"), ("multi_modal_projector.linear_1.bias", (d,), "b"),
            ("multi_modal_projector.linear_2.weight", (d, d), "w"), ("multi_modal_projector.linear_2.bias", (d,), "b"),
            ("image_newline", (d,), "nl")]
    lm = "language_model.model."
    out += [(lm + "embed_tokens.weight", (p["vocab"], d), "w")]
    for l in range(p["layers"]):
        pre = lm + "layers.%d." % l
        out += [(pre + "input_layernorm.weight", (d,), "n"),
                (pre + "self_attn.q_proj.weight", (p["heads"] * dh, d), "w"), (pre + "self_attn.q_proj.bias", (p["heads"] * dh,), "b"),
                (pre + "self_attn.k_proj.weight", (p["kv_heads"] * dh, d), "w"), (pre + "self_attn.k_proj.bias", (p["kv_heads"] * dh,), "b"),
                (pre + "self_attn.v_proj.weight", (p["kv_heads"] * dh, d), "w"), (pre + "self_attn.v_proj.bias", (p["kv_heads"] * dh,), "b"),
                (pre + "self_attn.o_proj.weight", (d, p["heads"] * dh), "w"),
                (pre + "post_attention_layernorm.weight", (d,), "n"),
                (pre + "mlp.gate_proj.weight", (m, d), "w"), (pre + "mlp.up_proj.weight", (m, d), "w"),
                (pre + "mlp.down_proj.weight", (d, m), "w")]
    out += [(lm + "norm.weight", (d,), "n"), ("language_model.lm_head.weight", (p["vocab"], d), "w")]
    return out


def siglip_specs(p):
    dv, mv = p["v_hidden"], p["v_mlp"]
    h = "vision_model.head."
    return [("vision_model.post_layernorm.weight", (dv,), "n"), ("vision_model.post_layernorm.bias", (dv,), "b"),
            (h + "probe", (1, 1, dv), "nl"), (h + "attention.in_proj_weight", (3 * dv, dv), "w"),
            (h + "attention.in_proj_bias", (3 * dv,), "b"), (h + "attention.out_proj.weight", (dv, dv), "w"),
            (h + "attention.out_proj.bias", (dv,), "b"), (h + "layernorm.weight", (dv,), "n"),
            (h + "layernorm.bias", (dv,), "b"), (h + "mlp.fc1.weight", (mv, dv), "w"), (h + "mlp.fc1.bias", (mv,), "b"),
            (h + "mlp.fc2.weight", (dv, mv), "w"), (h + "mlp.fc2.bias", (dv,), "b")]


def make_tensor(torch, gen, shape, kind, device):
    x = torch.randn(shape, generator=gen, device=device, dtype=torch.float32)
    if kind == "n":
        x = 1.0 + 0.02 * x
    elif kind == "nl":
        x = x / math.sqrt(shape[-1])
    else:
        x = 0.02 * x
    return x.to(torch.bfloat16).cpu()


def write_shards(torch, save_file, specs, out_dir, gen, device, prefix="model"):
    """Writes specs as bf16 shards of at most SHARD_BYTES, with an index when there are several."""
    shards, cur, size = [], [], 0
    for s in specs:
        nb = 2 * int(np.prod(s[1]))
        if cur and size + nb > SHARD_BYTES:
            shards.append(cur)
            cur, size = [], 0
        cur.append(s)
        size += nb
    if cur:
        shards.append(cur)
    weight_map, total = {}, 0
    for i, group in enumerate(shards):
        fname = "%s.safetensors" % prefix if len(shards) == 1 else "%s-%05d-of-%05d.safetensors" % (prefix, i + 1, len(shards))
        tensors = {}
        for name, shape, kind in group:
            tensors[name] = make_tensor(torch, gen, shape, kind, device)
            weight_map[name] = fname
            total += 2 * int(np.prod(shape))
        save_file(tensors, os.path.join(out_dir, fname), metadata={"format": "pt"})
        del tensors
    if len(shards) > 1:
        with open(os.path.join(out_dir, "%s.safetensors.index.json" % prefix), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    return total


def cmd_checkpoint(a):
    import torch
    from safetensors.torch import save_file
    p = PRESETS[a.preset]
    os.makedirs(os.path.join(a.out, "siglip"), exist_ok=True)
    for stale in os.listdir(a.out):
        if stale.endswith(".safetensors") or stale.endswith(".safetensors.index.json"):
            os.unlink(os.path.join(a.out, stale))
    device = a.device if a.device != "cuda" or torch.cuda.is_available() else "cpu"
    gen = torch.Generator(device=device)
    gen.manual_seed(a.seed)
    t0 = time.time()
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(llava_config(p), f, indent=2)
    with open(os.path.join(a.out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 151643, "eos_token_id": [151645, 151643], "pad_token_id": 151643}, f, indent=2)
    total = write_shards(torch, save_file, tensor_specs(p), a.out, gen, device)
    sig = {"architectures": ["SiglipModel"], "model_type": "siglip", "torch_dtype": "bfloat16",
           "vision_config": vision_config(p, p["v_layers"] + 1)}
    with open(os.path.join(a.out, "siglip", "config.json"), "w") as f:
        json.dump(sig, f, indent=2)
    write_shards(torch, save_file, siglip_specs(p), os.path.join(a.out, "siglip"), gen, device)
    print("checkpoint: %s preset %s, %.2f GB of bf16 weights, %.1f s" % (a.out, a.preset, total / 1e9, time.time() - t0))


def read_config(model):
    with open(os.path.join(model, "config.json")) as f:
        return json.load(f)


def cmd_input(a):
    cfg = read_config(a.model)
    vc = cfg["vision_config"]
    size, patch = vc["image_size"], vc["patch_size"]
    grid = size // patch
    pooled = (grid + 1) // 2
    n_vis = a.frames * pooled * pooled + 1  # one image_newline after all frames (one_token)
    rng = np.random.default_rng(a.seed)
    frames = []
    n_scenes = 4
    for s in range(n_scenes):
        # a smooth field: 12x12 random values, bilinear-upsampled, panning a few pixels per frame
        low = rng.uniform(-1, 1, size=(3, 12, 12)).astype(np.float32)
        big = np.kron(low, np.ones((1, 48, 48), np.float32))  # 576 px: room to pan
        k = np.ones(17, np.float32) / 17.0
        for axis in (1, 2):
            big = np.apply_along_axis(lambda r: np.convolve(r, k, mode="same"), axis, big)
        for f in range(a.frames // n_scenes + (1 if s < a.frames % n_scenes else 0)):
            dy, dx = 3 * f, 5 * f
            crop = big[:, dy:dy + size, dx:dx + size]
            crop = crop + 0.05 * rng.standard_normal(crop.shape).astype(np.float32)
            frames.append(np.clip(crop, -1, 1))
    pixels = np.stack(frames).astype(np.float32)
    assert pixels.shape == (a.frames, 3, size, size), pixels.shape
    text_hi = 151643  # ordinary text ids only (below the special tokens)
    before = rng.integers(0, text_hi, size=a.before).astype(np.int64)
    after = rng.integers(0, text_hi, size=a.after).astype(np.int64)
    ids = np.concatenate([before, [PLACEHOLDER], after]).astype(np.int64)
    ids_hf = np.concatenate([before, np.full(n_vis, cfg.get("video_token_index", VIDEO_TOKEN)), after]).astype(np.int64)
    os.makedirs(a.out, exist_ok=True)
    np.save(os.path.join(a.out, "pixels.npy"), pixels)
    np.save(os.path.join(a.out, "ids.npy"), ids)
    np.save(os.path.join(a.out, "ids_hf.npy"), ids_hf)
    print("input: %s: %d frames %dx%d, %d text ids + %d visual tokens = %d" %
          (a.out, a.frames, size, size, len(ids) - 1, n_vis, len(ids_hf)))


def sync(torch, device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def cmd_reference(a):
    import torch
    from transformers import LlavaOnevisionForConditionalGeneration
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32 (the anchor)
    torch.backends.cudnn.allow_tf32 = False
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[a.dtype]
    device = a.device
    if device == "cuda" and not torch.cuda.is_available():
        die("--device cuda: torch sees no CUDA device")
    t0 = time.time()
    # no device_map: it needs accelerate, which the GPU machine may not have
    model = LlavaOnevisionForConditionalGeneration.from_pretrained(a.model, dtype=dtype, attn_implementation="sdpa")
    model.to(device).eval()
    sync(torch, device)
    load_s = time.time() - t0
    pixels = torch.from_numpy(np.load(os.path.join(a.input, "pixels.npy"))).to(device=device, dtype=dtype)[None]
    ids = torch.from_numpy(np.load(os.path.join(a.input, "ids_hf.npy"))).to(device)[None]
    times = {"vision": [], "forward": []}
    logits = None
    with torch.inference_mode():
        for it in range(1 + a.reps):  # the first run is the warm-up
            sync(torch, device)
            t = time.perf_counter()
            model.model.get_video_features(pixel_values=pixels)
            sync(torch, device)
            tv = time.perf_counter() - t
            t = time.perf_counter()
            out = model(input_ids=ids, pixel_values_videos=pixels, logits_to_keep=1)
            sync(torch, device)
            tf = time.perf_counter() - t
            if it > 0 or a.reps == 0:
                times["vision"].append(tv)
                times["forward"].append(tf)
            logits = out.logits[0, -1].float().cpu().numpy()
    np.save(a.out, logits.astype(np.float32))
    res = {"dtype": a.dtype, "device": device, "attn": "sdpa", "load_s": load_s, "n_tokens": int(ids.shape[1]),
           "vision_ms": 1e3 * float(np.mean(times["vision"])), "forward_ms": 1e3 * float(np.mean(times["forward"])),
           "vision_ms_sd": 1e3 * float(np.std(times["vision"])), "forward_ms_sd": 1e3 * float(np.std(times["forward"])),
           "reps": max(a.reps, 1), "top1": int(np.argmax(logits)),
           "torch": torch.__version__, "transformers": __import__("transformers").__version__}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)
    print("reference: transformers %s %s sdpa on %s: load %.1f s, vision %.1f ms, forward %.1f ms (%d tokens), top-1 %d"
          % (res["transformers"], a.dtype, device, load_s, res["vision_ms"], res["forward_ms"], res["n_tokens"], res["top1"]))


def metrics(x, y):
    d = x.astype(np.float64) - y.astype(np.float64)
    ny = np.linalg.norm(y.astype(np.float64))
    cos = float(np.dot(x.astype(np.float64), y.astype(np.float64)) / (np.linalg.norm(x.astype(np.float64)) * ny + 1e-300))
    t5x, t5y = set(np.argsort(-x)[:5].tolist()), set(np.argsort(-y)[:5].tolist())
    return {"max_abs": float(np.max(np.abs(d))), "rel_l2": float(np.linalg.norm(d) / (ny + 1e-300)), "cosine": cos,
            "top1_same": bool(int(np.argmax(x)) == int(np.argmax(y))), "top5_overlap": len(t5x & t5y),
            "ref_std": float(np.std(y))}


def cmd_compare(a):
    ours, ref = np.load(a.ours), np.load(a.ref)
    if ours.shape != ref.shape:
        die("compare: shapes differ: %s %s" % (ours.shape, ref.shape))
    if not np.all(np.isfinite(ours)):
        print("TB-COMPARE: fail: our logits have %d non-finite values" % int(np.sum(~np.isfinite(ours))))
        sys.exit(1)
    res = {"ours_vs_ref": metrics(ours, ref)}
    m = res["ours_vs_ref"]
    if a.anchor:
        anc = np.load(a.anchor)
        res["ours_vs_fp32"] = metrics(ours, anc)
        res["ref_vs_fp32"] = metrics(ref, anc)
        bound = 3.0 * res["ref_vs_fp32"]["rel_l2"] + 1e-3
        ok = res["ours_vs_fp32"]["rel_l2"] <= bound
        rule = "rel-L2 to fp32 %.4g <= 3 x transformers-bf16's %.4g + 1e-3 = %.4g" % (
            res["ours_vs_fp32"]["rel_l2"], res["ref_vs_fp32"]["rel_l2"], bound)
    else:
        ok = m["rel_l2"] <= 0.05 and m["cosine"] >= 0.998
        rule = "rel-L2 %.4g <= 0.05 and cosine %.6f >= 0.998" % (m["rel_l2"], m["cosine"])
    res["pass"] = bool(ok)
    res["rule"] = rule
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)
    print("TB-COMPARE: %s: %s; vs transformers-bf16: max|d| %.4g (logit sd %.3g), rel-L2 %.4g, cosine %.6f, top-1 %s, top-5 overlap %d/5"
          % ("pass" if ok else "fail", rule, m["max_abs"], m["ref_std"], m["rel_l2"], m["cosine"],
             "same" if m["top1_same"] else "differs", m["top5_overlap"]))
    sys.exit(0 if ok else 1)


def cmd_gemm_rate(a):
    import torch
    if not torch.cuda.is_available():
        die("gemm-rate: torch sees no CUDA device")
    n = a.n
    x = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    y = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        x @ y
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(a.reps):
        x @ y
    torch.cuda.synchronize()
    dt = (time.perf_counter() - t) / a.reps
    print("torch bf16 matmul %dx%dx%d: %.1f TFLOP/s (%s)" % (n, n, n, 2.0 * n ** 3 / dt * 1e-12, torch.cuda.get_device_name()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("checkpoint")
    c.add_argument("--out", required=True)
    c.add_argument("--preset", choices=sorted(PRESETS), default="7b")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--device", default="cuda")
    c = sub.add_parser("input")
    c.add_argument("--model", required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--frames", type=int, default=32)
    c.add_argument("--seed", type=int, default=1)
    c.add_argument("--before", type=int, default=14)
    c.add_argument("--after", type=int, default=40)
    c = sub.add_parser("reference")
    c.add_argument("--model", required=True)
    c.add_argument("--input", required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--dtype", choices=["bf16", "fp16", "fp32"], default="bf16")
    c.add_argument("--device", default="cuda")
    c.add_argument("--reps", type=int, default=3)
    c.add_argument("--json")
    c = sub.add_parser("compare")
    c.add_argument("--ours", required=True)
    c.add_argument("--ref", required=True)
    c.add_argument("--anchor")
    c.add_argument("--json")
    c = sub.add_parser("gemm-rate")
    c.add_argument("--n", type=int, default=8192)
    c.add_argument("--reps", type=int, default=20)
    a = ap.parse_args()
    {"checkpoint": cmd_checkpoint, "input": cmd_input, "reference": cmd_reference, "compare": cmd_compare,
     "gemm-rate": cmd_gemm_rate}[a.cmd](a)


if __name__ == "__main__":
    main()
