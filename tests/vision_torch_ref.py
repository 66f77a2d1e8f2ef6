#!/usr/bin/env python3
"""vision_torch_ref.py - independent PyTorch reference of the engine's vision side (test oracle).

Builds the SigLIP tower + mlp2x_gelu projector + 2-D pooling + SigLIP attention-pooling head of a
LLaVA-OneVision checkpoint directory (lmms-lab or llava-hf layout) straight from its safetensors
files (parsed by hand: 8-byte little-endian header length, JSON header, raw data; the
`safetensors` package is not used), computes everything in float64 with torch.nn.functional ops
(conv2d, layer_norm, linear, gelu, interpolate, avg_pool2d, multi_head_attention_forward) and
writes the taps of `tango-bench encode` as .npy files (float32):

  vision_hidden (T,P,Dv)  projected (T,P,D)  pooled (T,L,D)  map_attn (T,P)  pooled_attn (T,L)
  layer_attn_mean (T,P)   pooled_layer_attn (T,L)  frame_global (T,Dv)  pooled_keys (T,L,Dh)

Usage: vision_torch_ref.py --model DIR [--siglip DIR] --pixels P.npy [--pool config|bilinear|average] --out DIR

Only used by tests/test_vision.c; never a runtime dependency. Shares no code with the engine:
layer counts come from config.json by the reference's select-layer rule, tensor names are found by
suffix.
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

DT = torch.float64


def read_safetensors(path):
    out = {}
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    base = 8 + n
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        b, e = meta["data_offsets"]
        buf = raw[base + b:base + e]
        dt = meta["dtype"]
        if dt == "F32":
            a = np.frombuffer(buf, dtype="<f4")
        elif dt == "F16":
            a = np.frombuffer(buf, dtype="<f2").astype(np.float32)
        elif dt == "BF16":
            a = (np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise SystemExit(f"{path}: {name}: unsupported dtype {dt}")
        out[name] = torch.from_numpy(a.copy().reshape(meta["shape"])).to(DT)
    return out


def read_checkpoint(path):
    if os.path.isfile(path):
        return read_safetensors(path)
    idx = os.path.join(path, "model.safetensors.index.json")
    if os.path.exists(idx):
        with open(idx) as f:
            shards = sorted(set(json.load(f)["weight_map"].values()))
        out = {}
        for s in shards:
            out.update(read_safetensors(os.path.join(path, s)))
        return out
    files = [x for x in os.listdir(path) if x.endswith(".safetensors")]
    if len(files) != 1:
        raise SystemExit(f"{path}: expected one .safetensors file, found {files}")
    return read_safetensors(os.path.join(path, files[0]))


def find_prefix(w, suffix):
    hits = [k[: -len(suffix)] for k in w if k.endswith(suffix)]
    if len(hits) != 1:
        raise SystemExit(f"tensor *{suffix}: found {len(hits)}")
    return hits[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--siglip", default=None)
    ap.add_argument("--pixels", required=True)
    ap.add_argument("--pool", default="config", choices=["config", "bilinear", "average"])
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    with open(os.path.join(a.model, "config.json")) as f:
        cfg = json.load(f)
    vc = cfg.get("vision_config", {})
    n_cfg = vc.get("num_hidden_layers", 27)
    if "text_config" in cfg:  # llava-hf
        sel = cfg.get("vision_feature_layer", -1)
        d_model = cfg["text_config"]["hidden_size"]
        pool = "bilinear"
    else:  # lmms-lab
        sel = cfg.get("mm_vision_select_layer", -2)
        d_model = cfg["hidden_size"]
        pool = cfg.get("mm_spatial_pool_mode", "bilinear")
    # hidden_states has n_cfg + 1 entries; index sel -> that many layers run
    n_run = n_cfg + 1 + sel if sel < 0 else sel
    if a.pool != "config":
        pool = a.pool
    dv = vc.get("hidden_size", 1152)
    heads = vc.get("num_attention_heads", 16)
    ps = vc.get("patch_size", 14)
    eps = vc.get("layer_norm_eps", 1e-6)
    dh = dv // heads

    w = read_checkpoint(a.model)
    vp = find_prefix(w, "embeddings.patch_embedding.weight")
    if any(k.endswith("mm_projector.0.weight") for k in w):
        pp = find_prefix(w, "mm_projector.0.weight") + "mm_projector."
        p1, p2 = pp + "0", pp + "2"
    else:
        p1 = find_prefix(w, "linear_1.weight") + "linear_1"
        p2 = p1[: -len("linear_1")] + "linear_2"

    px = torch.from_numpy(np.load(a.pixels).astype(np.float64))
    T = px.shape[0]
    x = F.conv2d(px, w[vp + "embeddings.patch_embedding.weight"], w[vp + "embeddings.patch_embedding.bias"], stride=ps)
    G = x.shape[-1]
    x = x.flatten(2).transpose(1, 2)  # (T, P, Dv), row-major patches
    x = x + w[vp + "embeddings.position_embedding.weight"][None]
    recv = keys = None
    for l in range(n_run):
        lp = f"{vp}encoder.layers.{l}."
        h = F.layer_norm(x, (dv,), w[lp + "layer_norm1.weight"], w[lp + "layer_norm1.bias"], eps)
        q = F.linear(h, w[lp + "self_attn.q_proj.weight"], w[lp + "self_attn.q_proj.bias"])
        k = F.linear(h, w[lp + "self_attn.k_proj.weight"], w[lp + "self_attn.k_proj.bias"])
        v = F.linear(h, w[lp + "self_attn.v_proj.weight"], w[lp + "self_attn.v_proj.bias"])
        qh = q.view(T, -1, heads, dh).transpose(1, 2)
        kh = k.view(T, -1, heads, dh).transpose(1, 2)
        vh = v.view(T, -1, heads, dh).transpose(1, 2)
        att = torch.softmax(qh @ kh.transpose(-1, -2) * dh ** -0.5, dim=-1)  # (T, H, P, P)
        o = (att @ vh).transpose(1, 2).reshape(T, -1, dv)
        x = x + F.linear(o, w[lp + "self_attn.out_proj.weight"], w[lp + "self_attn.out_proj.bias"])
        h = F.layer_norm(x, (dv,), w[lp + "layer_norm2.weight"], w[lp + "layer_norm2.bias"], eps)
        h = F.gelu(F.linear(h, w[lp + "mlp.fc1.weight"], w[lp + "mlp.fc1.bias"]), approximate="tanh")
        x = x + F.linear(h, w[lp + "mlp.fc2.weight"], w[lp + "mlp.fc2.bias"])
        if l == n_run - 1:
            recv = att.mean(dim=1).mean(dim=1)  # (T, P): over heads, then all queries
            keys = k.view(T, -1, heads, dh).mean(dim=2)  # (T, P, Dh)
    if (vp + f"encoder.layers.{n_run}.layer_norm1.weight") in w:
        raise SystemExit(f"checkpoint holds more than the {n_run} layers that run")
    hidden = x
    proj = F.linear(F.gelu(F.linear(x, w[p1 + ".weight"], w[p1 + ".bias"])), w[p2 + ".weight"], w[p2 + ".bias"])

    def pool2d(t):  # (T, P, C) -> (T, L, C), like LLaVA's get_2dPool with stride 2
        C = t.shape[-1]
        m = t.view(T, G, G, C).permute(0, 3, 1, 2)
        if pool == "bilinear":
            m = F.interpolate(m, size=(math.ceil(G / 2), math.ceil(G / 2)), mode="bilinear", align_corners=False)
        else:
            m = F.avg_pool2d(m, 2, 2)
        return m.permute(0, 2, 3, 1).reshape(T, -1, C)

    res = {
        "vision_hidden": hidden,
        "projected": proj,
        "pooled": pool2d(proj),
        "layer_attn_mean": recv,
        "pooled_layer_attn": pool2d(recv[..., None])[..., 0],
        "pooled_keys": pool2d(keys),
    }
    if a.siglip:
        s = read_checkpoint(a.siglip)
        hp = "vision_model.head."
        z = F.layer_norm(hidden, (dv,), s["vision_model.post_layernorm.weight"], s["vision_model.post_layernorm.bias"], eps)
        probe = s[hp + "probe"].repeat(T, 1, 1)  # (T, 1, Dv)
        # nn.MultiheadAttention(batch_first=True): the functional form wants (seq, batch, dim)
        ao, aw = F.multi_head_attention_forward(
            probe.transpose(0, 1), z.transpose(0, 1), z.transpose(0, 1), dv, heads,
            s[hp + "attention.in_proj_weight"], s[hp + "attention.in_proj_bias"], None, None, False, 0.0,
            s[hp + "attention.out_proj.weight"], s[hp + "attention.out_proj.bias"], training=False,
            need_weights=True, average_attn_weights=True)
        ao = ao.transpose(0, 1)  # (T, 1, Dv)
        hn = F.layer_norm(ao, (dv,), s[hp + "layernorm.weight"], s[hp + "layernorm.bias"], eps)
        hm = F.linear(F.gelu(F.linear(hn, s[hp + "mlp.fc1.weight"], s[hp + "mlp.fc1.bias"]), approximate="tanh"),
                      s[hp + "mlp.fc2.weight"], s[hp + "mlp.fc2.bias"])
        res["frame_global"] = (ao + hm)[:, 0]
        res["map_attn"] = aw[:, 0]  # (T, P)
        res["pooled_attn"] = pool2d(aw[:, 0][..., None])[..., 0]
    os.makedirs(a.out, exist_ok=True)
    for name, t in res.items():
        np.save(os.path.join(a.out, name + ".npy"), t.detach().numpy().astype(np.float32))
    print(f"vision_torch_ref: T={T} G={G} layers={n_run} pool={pool} wrote {len(res)} arrays to {a.out}")


if __name__ == "__main__":
    sys.exit(main())
