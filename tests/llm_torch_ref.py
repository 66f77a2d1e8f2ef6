#!/usr/bin/env python3
"""llm_torch_ref.py - an independent PyTorch (float64) implementation of the Qwen2 decoder of a
LLaVA checkpoint, used as the oracle of tests/test_llm.c. It reads config.json and the
safetensors file(s) with a hand-written parser (the `safetensors` package is not required) and
implements, from the spec (llava-ov-engine.md §7, tango.md §10, holitom-fastvid.md §1.10,
visionzip-fastv-dart-vidcom2.md §4), without sharing any code with the C engine:

  * the spliced prefill (text embeddings + visual rows at the -200 placeholder), eager attention
    with an explicit causal mask, GQA by repeat_interleave, RoPE "rotate half";
  * the last-query-row head-averaged attention at a chosen layer;
  * greedy generation by FULL RECOMPUTATION (no KV cache) with HF's repetition penalty on the
    generated ids and the checkpoint's stop ids (with a plan: the prefill's selection frozen,
    position policy "keep", causal layer K-1 only);
  * an in-LLM plan at layer K: top-k by the layer K-1 row, merge none / pairwise (HoliTom) /
    weighted (Tango), positions kept or renumbered, optional bidirectional layer K-1;
  * DART's selection at layer K (visionzip-fastv-dart-vidcom2.md §5, §10): pivots by the L1 norm
    of layer K-1's post-RoPE keys (KV heads concatenated), layer K-1 outputs through the final
    norm, torch cosine_similarity (eps 1e-8), the pivots iterated as a real Python set (or the
    list order), T least-similar picks each.

Outputs (numpy .npy, float64 / int64) named PREFIX_logits.npy (every final-layer row),
PREFIX_attn.npy, PREFIX_gen.npy, PREFIX_kept.npy, PREFIX_counts.npy (tokens per layer).
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch

torch.set_grad_enabled(False)


def read_safetensors(path):
    out = {}
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        raw = f.read()
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        buf = raw[b:e]
        dt = info["dtype"]
        if dt == "F32":
            a = np.frombuffer(buf, dtype="<f4").astype(np.float64)
        elif dt == "F16":
            a = np.frombuffer(buf, dtype="<f2").astype(np.float64)
        elif dt == "BF16":
            u = np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16
            a = u.view(np.float32).astype(np.float64)
        else:
            raise SystemExit("unsupported dtype %s" % dt)
        out[name] = torch.from_numpy(a.reshape(info["shape"]).copy())
    del base
    return out


def load(dir_):
    cfg = json.load(open(os.path.join(dir_, "config.json")))
    gen = {}
    gp = os.path.join(dir_, "generation_config.json")
    if os.path.exists(gp):
        gen = json.load(open(gp))
    idx = os.path.join(dir_, "model.safetensors.index.json")
    w = {}
    if os.path.exists(idx):
        for fn in sorted(set(json.load(open(idx))["weight_map"].values())):
            w.update(read_safetensors(os.path.join(dir_, fn)))
    else:
        w = read_safetensors(os.path.join(dir_, "model.safetensors"))
    tc = cfg.get("text_config", cfg)
    if "text_config" in cfg:  # llava-hf names
        pre = "language_model.model."
        head = "language_model.lm_head.weight"
    else:
        pre = "model."
        head = "lm_head.weight"
    return cfg, tc, gen, w, pre, head


def rms(x, wt, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * wt


def rope(x, pos, theta):
    # x: (n, heads, Dh); pairs (i, i + Dh/2)
    dh = x.shape[-1]
    inv = 1.0 / (theta ** (torch.arange(0, dh, 2, dtype=torch.float64) / dh))
    ang = pos.to(torch.float64)[:, None] * inv[None, :]
    cos = torch.cat([ang.cos(), ang.cos()], -1)[:, None, :]
    sin = torch.cat([ang.sin(), ang.sin()], -1)[:, None, :]
    x1, x2 = x[..., : dh // 2], x[..., dh // 2:]
    rot = torch.cat([-x2, x1], -1)
    return x * cos + rot * sin


class Model:
    def __init__(self, dir_):
        self.cfg, tc, self.gen, self.w, self.pre, head = load(dir_)
        self.D = tc["hidden_size"]
        self.L = tc["num_hidden_layers"]
        self.H = tc["num_attention_heads"]
        self.G = tc.get("num_key_value_heads", self.H)
        self.Dh = self.D // self.H
        self.theta = float(tc.get("rope_theta", 10000.0))
        self.eps = float(tc.get("rms_norm_eps", 1e-6))
        self.embed = self.w[self.pre + "embed_tokens.weight"]
        self.lm_head = self.w[head] if head in self.w else self.embed

    def layer(self, l, h, pos, causal=True):
        """Runs layer l on h (n, D); returns new h and the full probs (H, n, n)."""
        p = self.pre + "layers.%d." % l
        W = self.w
        n = h.shape[0]
        x = rms(h, W[p + "input_layernorm.weight"], self.eps)
        q = (x @ W[p + "self_attn.q_proj.weight"].T + W[p + "self_attn.q_proj.bias"]).view(n, self.H, self.Dh)
        k = (x @ W[p + "self_attn.k_proj.weight"].T + W[p + "self_attn.k_proj.bias"]).view(n, self.G, self.Dh)
        v = (x @ W[p + "self_attn.v_proj.weight"].T + W[p + "self_attn.v_proj.bias"]).view(n, self.G, self.Dh)
        q = rope(q, pos, self.theta)
        k = rope(k, pos, self.theta)
        self.last_keys = k.reshape(n, self.G * self.Dh)  # post-RoPE keys, KV heads concatenated
        rep = self.H // self.G
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        s = torch.einsum("ihd,jhd->hij", q, k) / (self.Dh ** 0.5)
        if causal:
            mask = torch.triu(torch.ones(n, n, dtype=torch.bool), 1)
            s = s.masked_fill(mask[None], float("-inf"))
        pr = torch.softmax(s, -1)
        o = torch.einsum("hij,jhd->ihd", pr, v).reshape(n, self.H * self.Dh)
        h = h + o @ W[p + "self_attn.o_proj.weight"].T
        x = rms(h, W[p + "post_attention_layernorm.weight"], self.eps)
        g = x @ W[p + "mlp.gate_proj.weight"].T
        u = x @ W[p + "mlp.up_proj.weight"].T
        h = h + (torch.nn.functional.silu(g) * u) @ W[p + "mlp.down_proj.weight"].T
        return h, pr

    def logits(self, h):
        return rms(h, self.w[self.pre + "norm.weight"], self.eps) @ self.lm_head.T

    def run(self, emb, pos, vs, vl, plan=None, tap_layer=-1):
        """Full prefill over emb (N, D). Returns (logits of every final row, tap row, kept, counts)."""
        h = emb.clone()
        pos = pos.clone()
        tap = None
        kept = None
        counts = []
        row_prev = None
        for l in range(self.L):
            if plan and l == plan["layer"]:
                if plan.get("select") == "dart" and plan.get("indices") is None:
                    normed = rms(h, self.w[self.pre + "norm.weight"], self.eps)
                    plan["dart_sel"] = dart_select(normed, keys_prev, vs, vl, plan)
                h, pos, vl, kept = apply_plan(h, pos, vs, vl, row_prev, plan)
            causal = not (plan and plan.get("bidir") and l == plan["layer"] - 1)
            h, pr = self.layer(l, h, pos, causal)
            row = pr[:, -1, :].mean(0)
            if l == tap_layer:
                tap = row.clone()
            # FastV compat=paper score: attention received, mean over heads and all query rows
            row_prev = pr.mean(dim=(0, 1)) if plan and plan.get("select") == "attn-mean" else row
            keys_prev = self.last_keys
            counts.append(h.shape[0])
        return self.logits(h), tap, kept, counts


def dart_select(normed, keys, vs, vl, plan):
    """DART's retained span rows (span-relative, in retention order): pivots and greedy picks."""
    l1 = keys.abs().sum(-1)
    n = normed.shape[0]
    protect = set(plan.get("protect") or [])
    cand = [i for i in range(vl) if i not in protect]
    img = sorted(cand, key=lambda i: (-float(l1[vs + i]), i))[: plan["pv"]]
    txt = sorted(range(vs + vl, n), key=lambda j: (-float(l1[j]), j))[: plan["pt"]]
    image_idx = [vs + i for i in img]
    pivots = image_idx + txt
    order = list(set(pivots)) if plan.get("order", "set") == "set" else pivots
    valid = set(vs + i for i in cand) - set(image_idx)
    picks = []
    for p in order:
        vlist = sorted(valid)
        if not vlist:
            break
        cs = torch.nn.functional.cosine_similarity(normed[p][None, :], normed[vlist], dim=-1, eps=1e-8)
        k = min(plan["topk"], len(vlist))
        # least similar first, ties to the lower index
        got = sorted(range(len(vlist)), key=lambda i: (float(cs[i]), i))[:k]
        for i in got:
            picks.append(vlist[i])
            valid.discard(vlist[i])
    return [i - vs for i in image_idx + picks]


def apply_plan(h, pos, vs, vl, row, plan):
    a = row[vs: vs + vl]
    protect = set(plan.get("protect") or [])
    cand = [i for i in range(vl) if i not in protect]
    if plan.get("indices") is not None:
        top = torch.tensor(plan["indices"], dtype=torch.long)
        plan["selected"] = list(plan["indices"])
    elif plan.get("select") == "dart":
        top = torch.tensor(plan["dart_sel"], dtype=torch.long)
        plan["selected"] = list(plan["dart_sel"])
    else:
        nc = len(cand)
        nk = plan["keep"] if plan["keep"] > 0 else int(round(nc * plan["ratio"]))
        nk = max(0, min(nk, nc))
        # descending score, ties to the lower index (stable sort of the negated scores)
        order = sorted(cand, key=lambda i: (-float(a[i]), i))
        top = torch.tensor(order[:nk], dtype=torch.long)
        plan["selected"] = order[:nk]  # frozen selection, in keep order, for generation
    nk = top.numel()
    span = h[vs: vs + vl].clone()
    keepmask = torch.zeros(vl, dtype=torch.bool)
    keepmask[top] = True
    prot = torch.zeros(vl, dtype=torch.bool)
    for i in plan.get("protect") or []:
        prot[i] = True
    drop = torch.nonzero(~keepmask & ~prot).flatten()
    merge = plan.get("merge", "none")
    if merge != "none" and nk > 0 and drop.numel() > 0:
        nrm = torch.nn.functional.normalize(span, dim=-1)
        sim = nrm[drop] @ nrm[top].T  # (nd, nk), columns in keep order
        tgt = sim.argmax(-1)
        if merge == "pairwise":
            for i in range(drop.numel()):
                t = top[tgt[i]]
                span[t] = (span[t] + span[drop[i]]) / 2
        else:
            w = plan.get("weight", 0.6)
            wp = plan.get("pool_weight", -1.0)
            wp = 1 - w if wp < 0 else wp
            acc = torch.zeros(nk, span.shape[1], dtype=span.dtype)
            cnt = torch.zeros(nk, dtype=span.dtype)
            acc.index_add_(0, tgt, span[drop])
            cnt.index_add_(0, tgt, torch.ones(drop.numel(), dtype=span.dtype))
            kept_h = span[top]
            pooled = (kept_h + acc) / (1 + cnt)[:, None]
            span[top] = w * kept_h + wp * pooled
    kept = torch.sort(torch.cat([top, torch.nonzero(prot).flatten()])).values
    idx = torch.cat([torch.arange(0, vs), vs + kept, torch.arange(vs + vl, h.shape[0])])
    hs = h.clone()
    hs[vs: vs + vl] = span
    h2 = hs[idx]
    pos2 = pos[idx]
    if plan.get("pos", "keep") == "renumber":
        pos2 = torch.arange(h2.shape[0])
    return h2, pos2, kept.numel(), kept


def main(argv=None, model_cache={}):
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--ids", required=True)
    ap.add_argument("--visual")
    ap.add_argument("--attn-layer", type=int, default=-1)
    ap.add_argument("--generate", type=int, default=0)
    ap.add_argument("--rep-pen", type=float, default=-1.0)
    ap.add_argument("--plan-layer", type=int, default=0)
    ap.add_argument("--plan-keep", type=int, default=0)
    ap.add_argument("--plan-ratio", type=float, default=0.0)
    ap.add_argument("--plan-merge", default="none")
    ap.add_argument("--plan-weight", type=float, default=0.6)
    ap.add_argument("--plan-pos", default="keep")
    ap.add_argument("--plan-bidir", action="store_true")
    ap.add_argument("--plan-pool-weight", type=float, default=-1.0)
    ap.add_argument("--plan-protect", help="comma list of span-relative indices always kept")
    ap.add_argument("--plan-select", default="attn", help="attn (last row) | attn-mean (all rows) | dart")
    ap.add_argument("--dart-pivots", default="4,4", help="DART image,text pivots")
    ap.add_argument("--dart-topk", type=int, default=0, help="DART picks per pivot")
    ap.add_argument("--dart-order", default="set", help="set (CPython set order) | list")
    ap.add_argument("--plan-indices", help="comma list of span-relative indices to keep (in keep order)")
    ap.add_argument("--out", required=True, help="output prefix")
    ap.add_argument("--batch", help="file of lines 'TAG ARGS...': run each (prefix DIR/TAG, DIR = --out)")
    a = ap.parse_args(argv)
    if a.batch:
        # one process for many scenarios (torch's import dominates a tiny run)
        base = [x for x in (argv if argv is not None else sys.argv[1:])]
        i = base.index("--batch")
        base = base[:i] + base[i + 2:]
        j = base.index("--out")
        outdir = base[j + 1]
        base = base[:j] + base[j + 2:]
        for line in open(a.batch):
            parts = line.split()
            if not parts:
                continue
            main(base + parts[1:] + ["--out", os.path.join(outdir, parts[0])])
        return 0

    if a.model not in model_cache:
        model_cache[a.model] = Model(a.model)
    m = model_cache[a.model]
    ids = np.load(a.ids).astype(np.int64).tolist()
    vis = torch.from_numpy(np.load(a.visual).astype(np.float64)) if a.visual else torch.zeros(0, m.D, dtype=torch.float64)
    ph = [i for i, t in enumerate(ids) if t == -200]
    rows = []
    vs, vl = 0, 0
    for i, t in enumerate(ids):
        if t == -200:
            vs = sum(r.shape[0] for r in rows)
            vl = vis.shape[0]
            rows.append(vis)
        else:
            rows.append(m.embed[t][None])
    emb = torch.cat(rows, 0)
    N = emb.shape[0]
    del ph
    plan = None
    if a.plan_layer > 0:
        plan = dict(layer=a.plan_layer, keep=a.plan_keep, ratio=a.plan_ratio, merge=a.plan_merge,
                    weight=a.plan_weight, pos=a.plan_pos, bidir=a.plan_bidir, select=a.plan_select)
        plan["pool_weight"] = a.plan_pool_weight
        plan["pv"], plan["pt"] = (int(x) for x in a.dart_pivots.split(","))
        plan["topk"] = a.dart_topk
        plan["order"] = a.dart_order
        if a.plan_protect:
            plan["protect"] = [int(x) for x in a.plan_protect.split(",") if x != ""]
        if a.plan_indices is not None:
            plan["indices"] = [int(x) for x in a.plan_indices.split(",") if x != ""]
    lg, tap, kept, counts = m.run(emb, torch.arange(N), vs, vl, plan, a.attn_layer)
    np.save(a.out + "_logits.npy", lg.numpy())
    np.save(a.out + "_counts.npy", np.array(counts, dtype=np.int64))
    if tap is not None:
        np.save(a.out + "_attn.npy", tap.numpy())
    if kept is not None:
        np.save(a.out + "_kept.npy", kept.numpy().astype(np.int64))
    if a.generate > 0:
        # greedy by full recomputation; HF repetition penalty on generated ids only
        pen = a.rep_pen if a.rep_pen >= 0 else float(m.gen.get("repetition_penalty", 1.0))
        stops = m.gen.get("eos_token_id", m.cfg.get("eos_token_id"))
        stops = stops if isinstance(stops, list) else [stops]
        out = []
        last = lg[-1].clone()
        seq = emb
        for step in range(a.generate):
            s = last.clone()
            if pen != 1.0 and out:
                ids_t = torch.tensor(sorted(set(out)))
                sc = s[ids_t]
                s[ids_t] = torch.where(sc > 0, sc / pen, sc * pen)
            t = int(torch.argmax(s))
            out.append(t)
            if t in stops or step == a.generate - 1:
                break
            seq = torch.cat([seq, m.embed[t][None]], 0)
            # With a plan the selection made in the prefill is frozen (the engine never
            # re-prunes); prompt states are unchanged by appended tokens (causal), so recomputing
            # with the frozen selection equals the engine's KV-cache decode. Positions keep N + k.
            gplan = dict(plan, indices=plan["selected"]) if plan else None
            lg2, _, _, _ = m.run(seq, torch.arange(seq.shape[0]), vs, vl, gplan, -1)
            last = lg2[-1]
        np.save(a.out + "_gen.npy", np.array(out, dtype=np.int64))
    return 0


if __name__ == "__main__":
    sys.exit(main())
