"""tinyov.py - the demo model's PyTorch twin of the C engine: LLaVA-OneVision's architecture
(SigLIP-style tower, mlp2x_gelu projector, bilinear 2-D pooling, one image_newline after the
frames, Qwen2 decoder) at small widths, with the checkpoint's real tensor names.

It computes exactly what engine/vision.c and engine/llm.c compute (spec llava-ov-engine.md):
  tower   x = conv14(pixels) + pos; per layer x += attn(LN1 x); x += fc2(gelu_tanh(fc1(LN2 x)))
          (no mask, scale Dh^-1/2, LayerNorm eps 1e-6, no post_layernorm on the features)
  proj    Linear2(gelu_erf(Linear1(x)))                               [T, 729, D]
  pool    bilinear 27x27 -> 14x14, align_corners=False (PyTorch)       [T, 196, D]
  block   frames flattened frame-major, row-major, then image_newline  [T*196 + 1, D]
  LLM     Qwen2: RMSNorm eps 1e-6, q/k/v bias, GQA, rotate-half RoPE (theta from the config),
          SwiGLU MLP, final norm, untied lm_head; causal attention over the spliced sequence
  head    the SigLIP attention-pooling head (post_layernorm + probe attention + MLP), which the
          engine runs for the saliency taps (MAP attention, per-frame global vector); LLaVA never
          feeds it to the LLM, so it is trained by an auxiliary loss (train.py).
Training only: nothing here runs in the harness.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class Config:
    image: int = 384
    patch: int = 14
    v_hidden: int = 32
    v_heads: int = 2
    v_mlp: int = 64
    v_layers: int = 2          # layers run (config num_hidden_layers = v_layers + 1, select -2)
    hidden: int = 64
    llm_layers: int = 4
    llm_heads: int = 4
    llm_kv_heads: int = 1
    llm_mlp: int = 128
    vocab: int = 512           # embedding rows
    rope_theta: float = 1e6
    eps: float = 1e-6

    @property
    def grid(self):
        return self.image // self.patch

    @property
    def pooled(self):
        return (self.grid + 1) // 2


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)))


class VisionLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c.v_hidden
        self.layer_norm1 = nn.LayerNorm(d, eps=c.eps)
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))
        self.layer_norm2 = nn.LayerNorm(d, eps=c.eps)
        self.fc1 = nn.Linear(d, c.v_mlp)
        self.fc2 = nn.Linear(c.v_mlp, d)
        self.heads = c.v_heads

    def forward(self, x):
        B, P, d = x.shape
        h, dh = self.heads, d // self.heads
        y = self.layer_norm1(x)
        q = self.q_proj(y).view(B, P, h, dh).transpose(1, 2).reshape(B * h, P, dh)
        k = self.k_proj(y).view(B, P, h, dh).transpose(1, 2).reshape(B * h, P, dh)
        v = self.v_proj(y).view(B, P, h, dh).transpose(1, 2).reshape(B * h, P, dh)
        a = torch.softmax(torch.bmm(q, k.transpose(1, 2)) * (dh ** -0.5), dim=-1)
        o = torch.bmm(a, v).view(B, h, P, dh).transpose(1, 2).reshape(B, P, d)
        x = x + self.out_proj(o)
        return x + self.fc2(gelu_tanh(self.fc1(self.layer_norm2(x))))


class Head(nn.Module):
    """SigLIP's MAP head: one learned probe attends over post_layernorm(features)."""

    def __init__(self, c):
        super().__init__()
        d = c.v_hidden
        self.post_layernorm = nn.LayerNorm(d, eps=c.eps)
        self.probe = nn.Parameter(torch.zeros(1, 1, d))
        self.in_proj_weight = nn.Parameter(torch.zeros(3 * d, d))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * d))
        self.out_proj = nn.Linear(d, d)
        self.layernorm = nn.LayerNorm(d, eps=c.eps)
        self.fc1 = nn.Linear(d, c.v_mlp)
        self.fc2 = nn.Linear(c.v_mlp, d)
        self.heads = c.v_heads

    def forward(self, x):
        """x [B, P, d] -> (attention averaged over heads [B, P], global vector [B, d])."""
        B, P, d = x.shape
        h, dh = self.heads, d // self.heads
        z = self.post_layernorm(x)
        wq, wk, wv = self.in_proj_weight.split(d)
        bq, bk, bv = self.in_proj_bias.split(d)
        q = F.linear(self.probe.view(1, d), wq, bq).view(h, 1, dh)
        k = F.linear(z, wk, bk).view(B, P, h, dh).transpose(1, 2)        # [B, h, P, dh]
        v = F.linear(z, wv, bv).view(B, P, h, dh).transpose(1, 2)
        a = torch.softmax(torch.matmul(q.unsqueeze(0), k.transpose(2, 3)) * (dh ** -0.5), -1)  # [B,h,1,P]
        o = torch.matmul(a, v).reshape(B, d)
        o = self.out_proj(o)
        g = o + self.fc2(gelu_tanh(self.fc1(self.layernorm(o))))
        return a.mean(1).view(B, P), g


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


class LLMLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, hd = c.hidden, c.hidden // c.llm_heads
        self.input_layernorm = nn.Parameter(torch.ones(d))
        self.q_proj = nn.Linear(d, c.llm_heads * hd)
        self.k_proj = nn.Linear(d, c.llm_kv_heads * hd)
        self.v_proj = nn.Linear(d, c.llm_kv_heads * hd)
        self.o_proj = nn.Linear(c.llm_heads * hd, d, bias=False)
        self.post_attention_layernorm = nn.Parameter(torch.ones(d))
        self.gate_proj = nn.Linear(d, c.llm_mlp, bias=False)
        self.up_proj = nn.Linear(d, c.llm_mlp, bias=False)
        self.down_proj = nn.Linear(c.llm_mlp, d, bias=False)
        self.H, self.G, self.hd, self.eps = c.llm_heads, c.llm_kv_heads, hd, c.eps

    def qkv(self, x, cos, sin):
        """x [B, n, d] -> q [B, H, n, hd], k, v [B, H, n, hd] (KV heads repeated), RoPE applied."""
        B, n, _ = x.shape
        y = rms_norm(x, self.input_layernorm, self.eps)
        q = self.q_proj(y).view(B, n, self.H, self.hd).transpose(1, 2)
        k = self.k_proj(y).view(B, n, self.G, self.hd).transpose(1, 2)
        v = self.v_proj(y).view(B, n, self.G, self.hd).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        r = self.H // self.G
        if r > 1:
            k = k.repeat_interleave(r, dim=1)
            v = v.repeat_interleave(r, dim=1)
        return q, k, v

    def finish(self, x, o):
        B, n, _ = x.shape
        x = x + self.o_proj(o.transpose(1, 2).reshape(B, n, self.H * self.hd))
        y = rms_norm(x, self.post_attention_layernorm, self.eps)
        return x + self.down_proj(F.silu(self.gate_proj(y)) * self.up_proj(y))


def causal_blocks(n, nb=4):
    """Splits n query rows into nb blocks: (start, end, additive mask of the diagonal block)."""
    b = (n + nb - 1) // nb
    out = []
    for s in range(0, n, b):
        e = min(n, s + b)
        m = torch.cat([torch.zeros(e - s, s), torch.full((e - s, e - s), float("-inf")).triu(1)], 1)
        out.append((s, e, m))
    return out


def causal_attention(q, k, v, scale, blocks, kadd=None):
    """Causal attention q, k, v [H, n, hd] -> [H, n, hd], block by block so that the keys after
    a block's last row are never multiplied (the same numbers as one masked softmax). kadd
    (optional, [H, 1, n], 0 or -inf) removes keys from every row (training's token dropout)."""
    outs = []
    for s, e, m in blocks:
        a = torch.baddbmm(m, q[:, s:e], k[:, :e].transpose(1, 2), alpha=scale)
        if kadd is not None:
            a = a + kadd[:, :, :e]
        outs.append(torch.bmm(torch.softmax(a, -1), v[:, :e]))
    return torch.cat(outs, 1)


def rope_tables(pos, hd, theta):
    """pos [n] int -> cos, sin [n, hd] (rotate-half layout: frequency i at i and i + hd/2)."""
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    ang = pos.to(torch.float64)[:, None] * inv[None, :]
    ang = torch.cat([ang, ang], -1)
    return ang.cos().float(), ang.sin().float()


def rope(x, cos, sin):
    h = x.shape[-1] // 2
    rot = torch.cat([-x[..., h:], x[..., :h]], -1)
    return x * cos + rot * sin


class TinyOV(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        dv, d = c.v_hidden, c.hidden
        self.patch_embedding = nn.Conv2d(3, dv, c.patch, c.patch)
        self.position_embedding = nn.Parameter(torch.zeros(c.grid * c.grid, dv))
        self.vlayers = nn.ModuleList(VisionLayer(c) for _ in range(c.v_layers))
        self.head = Head(c)
        self.proj1 = nn.Linear(dv, d)
        self.proj2 = nn.Linear(d, d)
        self.image_newline = nn.Parameter(torch.zeros(d))
        self.embed_tokens = nn.Parameter(torch.zeros(c.vocab, d))
        self.layers = nn.ModuleList(LLMLayer(c) for _ in range(c.llm_layers))
        self.norm = nn.Parameter(torch.ones(d))
        self.lm_head = nn.Linear(d, c.vocab, bias=False)

    # ---- vision side -------------------------------------------------------------------------
    @staticmethod
    def normalise(pix_u8):
        """uint8 RGB [T, 3, S, S] -> SigLIP input exactly as datasets/resize.c writes it:
        float32(x * (1/255) in double), then (v - 0.5) / 0.5 in float32."""
        v = (pix_u8.to(torch.float64) * (1.0 / 255.0)).float()
        return (v - 0.5) / 0.5

    def tower(self, pix):
        x = self.patch_embedding(pix).flatten(2).transpose(1, 2) + self.position_embedding
        for layer in self.vlayers:
            x = layer(x)
        return x

    def visual(self, feats):
        """tower output [T, P, dv] -> visual block [T*Lp + 1, D] (OV one_token layout)."""
        T, c = feats.shape[0], self.c
        p = self.proj2(F.gelu(self.proj1(feats)))
        p = p.view(T, c.grid, c.grid, -1).permute(0, 3, 1, 2)
        p = F.interpolate(p, size=(c.pooled, c.pooled), mode="bilinear", align_corners=False)
        p = p.permute(0, 2, 3, 1).reshape(T * c.pooled * c.pooled, -1)
        return torch.cat([p, self.image_newline.view(1, -1)], 0)

    # ---- LLM ---------------------------------------------------------------------------------
    def prefix_and_suffixes(self, prefix_emb, suf_ids, want, pos_p=None, suf_start=None, attn_layer=-1,
                            key_keep=None):
        """Runs one shared prefix (embeddings [P, D], positions 0..P-1) and Q suffixes that all
        follow it (ids [Q, S], right-padded, positions P..P+S-1), causal throughout. Returns the
        logits [Q, W, V] at suffix positions want [Q, W]. The suffixes attend to the prefix's keys
        and to their own earlier tokens, which is exactly the single-sequence causal forward of
        prefix + suffix_q for every q, computed once for the prefix. pos_p [P] and suf_start give
        position ids with gaps (a pruned visual block keeping its tokens' original positions, as
        the harness does for such methods); the attention order stays the row order. key_keep
        (optional, [B, P] bool, training only) hides the prefix tokens it marks False from every
        later row: the same answers as a pruned prefix that keeps the others' positions."""
        c = self.c
        xp = prefix_emb if prefix_emb.dim() == 3 else prefix_emb.unsqueeze(0)  # [B, P, D]
        B, P = xp.shape[0], xp.shape[1]
        NQ, S = suf_ids.shape
        Q = NQ // B  # suffixes per prefix, prefix b owns suffix rows b*Q .. b*Q+Q-1
        hd = c.hidden // c.llm_heads
        if pos_p is None:  # positions 0..P-1, the suffix right after (no pruning)
            pos_p, suf_start = torch.arange(P), P
        cos_p, sin_p = rope_tables(pos_p, hd, c.rope_theta)
        cos_s, sin_s = rope_tables(torch.arange(suf_start, suf_start + S), hd, c.rope_theta)
        blocks = causal_blocks(P)
        mask_s = torch.cat([torch.zeros(S, P), torch.full((S, S), float("-inf")).triu(1)], 1)
        xs = F.embedding(suf_ids, self.embed_tokens)
        scale = hd ** -0.5
        kadd_p = kadd_s = None
        if key_keep is not None:
            add = torch.zeros(key_keep.shape).masked_fill(~key_keep, float("-inf"))  # [B, P]
            kadd_p = add.repeat_interleave(c.llm_heads, 0).unsqueeze(1)              # [B*H, 1, P]
            kadd_s = F.pad(add, (0, S)).repeat_interleave(Q, 0)[:, None, None, :]    # [B*Q, 1, 1, P+S]
        for li, layer in enumerate(self.layers):
            qp, kp, vp = layer.qkv(xp, cos_p, sin_p)                   # [B, H, P, hd]
            qs, ks, vs = layer.qkv(xs, cos_s, sin_s)                   # [B*Q, H, S, hd]
            H = qp.shape[1]
            if li + 1 < len(self.layers):  # the last layer's prefix rows feed nothing
                op = causal_attention(qp.reshape(B * H, P, hd), kp.reshape(B * H, P, hd),
                                      vp.reshape(B * H, P, hd), scale, blocks, kadd_p).view(B, H, P, hd)
                xp = layer.finish(xp, op)
            kk = torch.cat([kp.repeat_interleave(Q, 0) if B > 1 else kp.expand(Q, H, P, hd), ks], 2)
            vv = torch.cat([vp.repeat_interleave(Q, 0) if B > 1 else vp.expand(Q, H, P, hd), vs], 2)
            as_ = torch.matmul(qs, kk.transpose(2, 3)) * scale + mask_s
            if kadd_s is not None:
                as_ = as_ + kadd_s
            ps = torch.softmax(as_, -1)
            if li == attn_layer:  # the answer row's attention over the prefix [Q, H, P]
                self.last_attn = torch.gather(ps[:, :, :, :P], 2,
                                              want[:, :1].view(NQ, 1, 1, 1).expand(NQ, H, 1, P)).squeeze(2)
            os_ = torch.matmul(ps, vv)
            xs = layer.finish(xs, os_)
        h = torch.gather(xs, 1, want.unsqueeze(-1).expand(-1, -1, c.hidden))
        return self.lm_head(rms_norm(h, self.norm, c.eps))

    def llm_logits(self, feats, prefix_ids, suf_ids, want, keep=None, attn_layer=-1, mid_ids=None):
        """Tower features [T, P, dv] -> logits at want [Q, W] of the Q suffixes (see below).
        The shared prefix is prefix_ids, the visual block, then mid_ids (text every suffix
        starts with, optional). keep (optional, ascending indices into the visual block) drops
        the other visual tokens and keeps the original position ids of those kept."""
        vis = self.visual(feats)
        n0, nv = prefix_ids.shape[0], vis.shape[0]
        mid = mid_ids if mid_ids is not None else prefix_ids[:0]
        parts = [F.embedding(prefix_ids, self.embed_tokens), vis if keep is None else vis[keep],
                 F.embedding(mid, self.embed_tokens)]
        pre = torch.cat(parts, 0)
        idx = torch.arange(nv) if keep is None else keep
        pos = torch.cat([torch.arange(n0), n0 + idx, n0 + nv + torch.arange(mid.shape[0])])
        return self.prefix_and_suffixes(pre, suf_ids, want, pos, n0 + nv + mid.shape[0], attn_layer)

    def batch_logits(self, feats, prefix_ids, mid_ids, suf_ids, want, attn_layer=-1, vis_keep=None):
        """B videos at once, no pruning: feats [B, T, P, dv], suffixes [B*Q, S] (video b owns
        rows b*Q..b*Q+Q-1), want [B*Q, W] -> logits [B*Q, W, V]; the same numbers as llm_logits
        per video, with B times fewer (larger) operations."""
        pre = torch.stack([torch.cat([F.embedding(prefix_ids, self.embed_tokens), self.visual(f),
                                      F.embedding(mid_ids, self.embed_tokens)], 0) for f in feats])
        key_keep = None
        if vis_keep is not None:  # [B, visual tokens] -> the whole prefix (text always kept)
            n0 = prefix_ids.shape[0]
            key_keep = torch.ones(pre.shape[0], pre.shape[1], dtype=torch.bool)
            key_keep[:, n0:n0 + vis_keep.shape[1]] = vis_keep
        return self.prefix_and_suffixes(pre, suf_ids, want, attn_layer=attn_layer, key_keep=key_keep)

    def train_logits(self, pix_u8, prefix_ids, suf_ids, want):
        """pix_u8 [T,3,S,S] uint8, prefix_ids [P0] (the chat prefix before <image>), suffixes
        [Q, S] (the text after <image>, the answer letter included), want [Q, W] -> logits."""
        feats = self.tower(self.normalise(pix_u8))
        vis = self.visual(feats)
        pre = torch.cat([F.embedding(prefix_ids, self.embed_tokens), vis], 0)
        return self.prefix_and_suffixes(pre, suf_ids, want), feats
