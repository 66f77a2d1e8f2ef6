"""train.py - trains the demo model (models/demo-tiny-ov/) on the salient synthetic benchmark.

Run through scripts/train-demo-model, which creates the pinned virtual environment first and holds
the recipe (the arguments). Every input comes from the C harness, so the model learns exactly what
the harness feeds it:
  videos    `tango-bench synth --suite salient --split train` (libavcodec, seeded)
  frames    `tango-bench frames VIDEO --n 8 --size S` (FFmpeg decode, linspace, Pillow-exact
            squash resize, SigLIP normalisation); stored as the uint8 values the normalisation is
            exactly inverted to (checked), re-normalised here with the same float arithmetic
  prompts   `tango-bench samples mvbench --json` (VLMEvalKit's MVBench prompt) wrapped in the
            qwen_1_5 template and tokenised by `tango-bench tokenize --chat --image-split` with
            this model's own tokenizer files (a byte-level BPE learned here from the prompt texts)
The target is the option letter followed by <|im_end|> after "<|im_start|>assistant\n", which
is what VLMEvalKit's MVBench scoring reads ("Best option:(" ends the user turn).

Phase 1 trains the vision tower and the SigLIP attention-pooling head (the saliency Tango, FastVID
and the top-k control read; LLaVA never feeds it to the LLM) with auxiliary losses on labels read
off the frame's pixels by colour: from the head's pooled vector, which of six things a frame shows
(the white square, a red / green / blue / yellow circle, the lit lamp); per patch, its colour class
and (--pos-aux) its row and column; (--head-aux) the head's attention towards the objects,
circle first, then the lamp, then the square (saliency_target). The tower is then frozen and its
features of every video computed once. Phase 2 trains the projector, image_newline and the LLM on
the questions, a batch of videos per step, with an auxiliary loss asking layer --attn-layer's
answer-row attention to rest on the tokens that answer the question (--attn-target task,
task_cells) or on every object token (object): without it, the attention did not leave the
uniform start within the budget; and (--drop-prob) token dropout, masking visual tokens from every
later row as a pruner would, so the model answers from what a pruner keeps.

Deterministic: one CPU thread, fixed seeds, deterministic algorithms, a fixed video order. The
same machine type and pinned environment give the same bytes (models/demo-tiny-ov/SHA256SUMS).
"""
import argparse
import csv
import hashlib
import json
import math
import os
import re
import struct
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tinyov  # noqa: E402

TASKS = ["moving_direction", "moving_attribute", "moving_count", "object_shuffle"]
FRAMES = 8
LETTERS = "ABCD"
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
SYSTEM = "You are a helpful assistant."


def log(*a):
    print(*a, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, **kw).stdout


# ---- tokenizer -------------------------------------------------------------------------------

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return bs, [chr(c) for c in cs]  # byte order of the 256 byte tokens, their symbols


# The Qwen2 pre-tokeniser restricted to ASCII text (what our prompts are).
PRETOK = re.compile(r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\nA-Za-z0-9]?[A-Za-z]+|[0-9]| ?[^\sA-Za-z0-9]+[\r\n]*"
                    r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def train_bpe(texts, n_merges):
    """Byte-level BPE merges learned from texts (deterministic: ties broken by the pair's text)."""
    order, sym = bytes_to_unicode()
    bmap = {b: sym[i] for i, b in enumerate(order)}
    words = {}
    for t in texts:
        for w in PRETOK.findall(t):
            k = tuple(bmap[b] for b in w.encode())
            words[k] = words.get(k, 0) + 1
    merges = []
    for _ in range(n_merges):
        counts = {}
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                counts[(a, b)] = counts.get((a, b), 0) + c
        if not counts:
            break
        best = max(counts.items(), key=lambda kv: (kv[1], kv[0][0] + " " + kv[0][1]))
        if best[1] < 2:
            break
        a, b = best[0]
        merges.append((a, b))
        nw = {}
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            nw[tuple(out)] = nw.get(tuple(out), 0) + c
        words = nw
    return [s for s in (sym[i] for i in range(256))], merges


def write_tokenizer(d, texts, n_merges):
    syms, merges = train_bpe(texts, n_merges)
    vocab = {}
    for s in syms:
        vocab[s] = len(vocab)
    for a, b in merges:
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
    first_special = len(vocab)
    added = [{"id": first_special + i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, t in enumerate(SPECIAL)]
    bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    regex = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
             r"\s*[\r\n]+|\s+(?!\S)|\s+")
    tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
          "normalizer": {"type": "NFC"},
          "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
              {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False}, bl]},
          "post_processor": bl, "decoder": bl,
          "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                    "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                    "vocab": vocab, "merges": [a + " " + b for a, b in merges]}}
    dump(os.path.join(d, "tokenizer.json"), tj)
    dump(os.path.join(d, "vocab.json"), vocab)
    with open(os.path.join(d, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(a + " " + b + "\n" for a, b in merges))
    dump(os.path.join(d, "added_tokens.json"), {t: first_special + i for i, t in enumerate(SPECIAL)})
    dump(os.path.join(d, "tokenizer_config.json"), {
        "add_prefix_space": False, "bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
        "unk_token": None, "clean_up_tokenization_spaces": False, "split_special_tokens": False,
        "model_max_length": 4096, "tokenizer_class": "Qwen2Tokenizer", "errors": "replace"})
    return first_special, first_special + len(SPECIAL)


def dump(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write("\n")


# ---- checkpoint ------------------------------------------------------------------------------

def write_safetensors(path, tensors):
    """tensors: name -> float32 tensor. Names sorted, no metadata: identical bytes for identical
    numbers."""
    names = sorted(tensors)
    header, off, blobs = {}, 0, []
    for n in names:
        a = tensors[n].detach().contiguous().to(torch.float32).numpy().astype("<f4")
        b = a.tobytes()
        header[n] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)


def checkpoint_tensors(m):
    c = m.c
    V = "model.vision_tower.vision_tower.vision_model."
    t = {V + "embeddings.patch_embedding.weight": m.patch_embedding.weight,
         V + "embeddings.patch_embedding.bias": m.patch_embedding.bias,
         V + "embeddings.position_embedding.weight": m.position_embedding,
         V + "post_layernorm.weight": m.head.post_layernorm.weight,
         V + "post_layernorm.bias": m.head.post_layernorm.bias}
    for i, ly in enumerate(m.vlayers):
        p = V + "encoder.layers.%d." % i
        for n, mod in [("layer_norm1", ly.layer_norm1), ("layer_norm2", ly.layer_norm2), ("self_attn.q_proj", ly.q_proj),
                       ("self_attn.k_proj", ly.k_proj), ("self_attn.v_proj", ly.v_proj),
                       ("self_attn.out_proj", ly.out_proj), ("mlp.fc1", ly.fc1), ("mlp.fc2", ly.fc2)]:
            t[p + n + ".weight"] = mod.weight
            t[p + n + ".bias"] = mod.bias
    t["model.mm_projector.0.weight"] = m.proj1.weight
    t["model.mm_projector.0.bias"] = m.proj1.bias
    t["model.mm_projector.2.weight"] = m.proj2.weight
    t["model.mm_projector.2.bias"] = m.proj2.bias
    t["model.image_newline"] = m.image_newline
    t["model.embed_tokens.weight"] = m.embed_tokens
    for i, ly in enumerate(m.layers):
        p = "model.layers.%d." % i
        t[p + "input_layernorm.weight"] = ly.input_layernorm
        t[p + "post_attention_layernorm.weight"] = ly.post_attention_layernorm
        for n in ["q_proj", "k_proj", "v_proj"]:
            t[p + "self_attn." + n + ".weight"] = getattr(ly, n).weight
            t[p + "self_attn." + n + ".bias"] = getattr(ly, n).bias
        t[p + "self_attn.o_proj.weight"] = ly.o_proj.weight
        for n in ["gate_proj", "up_proj", "down_proj"]:
            t[p + "mlp." + n + ".weight"] = getattr(ly, n).weight
    t["model.norm.weight"] = m.norm
    t["lm_head.weight"] = m.lm_head.weight
    h = m.head
    s = {"vision_model.post_layernorm.weight": h.post_layernorm.weight,
         "vision_model.post_layernorm.bias": h.post_layernorm.bias,
         "vision_model.head.probe": h.probe,
         "vision_model.head.attention.in_proj_weight": h.in_proj_weight,
         "vision_model.head.attention.in_proj_bias": h.in_proj_bias,
         "vision_model.head.attention.out_proj.weight": h.out_proj.weight,
         "vision_model.head.attention.out_proj.bias": h.out_proj.bias,
         "vision_model.head.layernorm.weight": h.layernorm.weight,
         "vision_model.head.layernorm.bias": h.layernorm.bias,
         "vision_model.head.mlp.fc1.weight": h.fc1.weight, "vision_model.head.mlp.fc1.bias": h.fc1.bias,
         "vision_model.head.mlp.fc2.weight": h.fc2.weight, "vision_model.head.mlp.fc2.bias": h.fc2.bias}
    return t, s


def vision_config(c):
    return {"model_type": "siglip_vision_model", "hidden_size": c.v_hidden, "image_size": c.image,
            "intermediate_size": c.v_mlp, "num_attention_heads": c.v_heads, "num_hidden_layers": c.v_layers + 1,
            "patch_size": c.patch, "num_channels": 3, "layer_norm_eps": c.eps, "hidden_act": "gelu_pytorch_tanh"}


def write_configs(d, c, eos, bos):
    cfg = {"architectures": ["LlavaQwenForCausalLM"], "_name_or_path": "tango-bench/demo-tiny-ov",
           "model_type": "llava", "hidden_size": c.hidden, "intermediate_size": c.llm_mlp,
           "num_hidden_layers": c.llm_layers, "num_attention_heads": c.llm_heads,
           "num_key_value_heads": c.llm_kv_heads, "vocab_size": c.vocab, "max_position_embeddings": 4096,
           "rope_theta": c.rope_theta, "rms_norm_eps": c.eps, "hidden_act": "silu", "tie_word_embeddings": False,
           "use_sliding_window": False, "rope_scaling": None, "attention_dropout": 0.0, "bos_token_id": bos,
           "eos_token_id": eos, "torch_dtype": "float32", "mm_vision_tower": "google/siglip-so400m-patch14-384",
           "mm_hidden_size": c.v_hidden, "mm_projector_type": "mlp2x_gelu", "mm_vision_select_layer": -2,
           "mm_vision_select_feature": "patch", "mm_patch_merge_type": "spatial_unpad",
           "mm_spatial_pool_mode": "bilinear", "mm_spatial_pool_stride": 2, "mm_newline_position": "one_token",
           "mm_use_im_start_end": False, "mm_use_im_patch_token": False, "image_aspect_ratio": "anyres_max_9",
           "tokenizer_model_max_length": 4096, "vision_config": vision_config(c)}
    dump(os.path.join(d, "config.json"), cfg)
    dump(os.path.join(d, "generation_config.json"), {
        "bos_token_id": bos, "pad_token_id": bos, "eos_token_id": [eos, bos], "do_sample": True,
        "repetition_penalty": 1.05, "temperature": 0.7, "top_k": 20, "top_p": 0.8})
    os.makedirs(os.path.join(d, "siglip"), exist_ok=True)
    dump(os.path.join(d, "siglip", "config.json"), {"architectures": ["SiglipModel"], "model_type": "siglip",
                                                    "torch_dtype": "float32", "vision_config": vision_config(c)})


# ---- data ------------------------------------------------------------------------------------

def make_split(tb, work, split, n_videos, seed, size=384):
    """Synth videos + uint8 frames [n, 8, 3, 384, 384] (memmap) + samples grouped by video."""
    d = os.path.join(work, split)
    done = os.path.join(d, "frames.done")
    if not os.path.exists(done):
        run([tb, "synth", "--suite", "salient", "--split", "train" if split != "test" else "test",
             "--videos", str(n_videos), "--seed", str(seed), d])
    samples = [json.loads(l) for l in run([tb, "samples", "mvbench", "--manifest", d + "/json", "--videos",
                                            d + "/videos", "--json"]).splitlines() if l.strip()]
    videos = sorted({os.path.basename(s["video"]) for s in samples})
    by_video = {v: {} for v in videos}
    for s in samples:
        by_video[os.path.basename(s["video"])][s["categories"]["task"]] = s
    path = os.path.join(d, "frames.u8")
    shape = (len(videos), FRAMES, 3, size, size)
    if not os.path.exists(done):
        mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=shape)
        tmp = os.path.join(d, "frames.tmp.npy")
        for i, v in enumerate(videos):
            run([tb, "frames", os.path.join(d, "videos/clevrer/video_validation", v), "--n", str(FRAMES),
                 "--size", str(size), "--threads", "1", "--quiet", "--out", tmp])
            a = np.load(tmp)
            u = np.rint((a.astype(np.float64) * 0.5 + 0.5) * 255.0).astype(np.uint8)
            back = ((u.astype(np.float64) * (1.0 / 255.0)).astype(np.float32) - np.float32(0.5)) / np.float32(0.5)
            assert np.array_equal(back, a), "frames of %s are not an exact uint8 image" % v
            mm[i] = u
        mm.flush()
        del mm
        os.remove(tmp)
        open(done, "w").write("ok\n")
    frames = np.load(path, mmap_mode="r")
    assert frames.shape == shape
    return videos, by_video, frames


PALETTE = np.array([[245, 245, 245], [220, 30, 30], [40, 190, 50], [40, 70, 230], [235, 215, 40],
                    [40, 210, 220]], dtype=np.int16)  # square, 4 circle colours, lit lamp


def frame_labels(u8):
    """[T, 3, S, S] uint8 -> [T, 6] float multi-hot: which palette colours cover > 40 pixels."""
    x = u8.astype(np.int16).transpose(0, 2, 3, 1)[:, ::2, ::2]  # every 2nd pixel is plenty
    out = np.zeros((u8.shape[0], len(PALETTE)), np.float32)
    for k, c in enumerate(PALETTE):
        near = (np.abs(x - c).max(-1) < 45).sum((1, 2))
        out[:, k] = near > 10
    return out


PATCH_PALETTE = np.concatenate([PALETTE, [[100, 100, 100]]]).astype(np.int16)  # + the unlit lamp


def patch_labels(u8, grid, patch):
    """[T, 3, S, S] uint8 -> [T, grid*grid] int64: per patch, 1 + the index of the PATCH_PALETTE
    colour that covers most of it (at least 15 %), else 0 (background)."""
    T = u8.shape[0]
    x = u8.astype(np.int16)[:, :, :grid * patch, :grid * patch].transpose(0, 2, 3, 1)
    cover = np.stack([(np.abs(x - c).max(-1) < 45).reshape(T, grid, patch, grid, patch).mean((2, 4))
                      for c in PATCH_PALETTE], -1)  # [T, grid, grid, 7]
    lab = cover.argmax(-1) + 1
    lab[cover.max(-1) < 0.15] = 0
    return lab.reshape(T, -1).astype(np.int64)


def object_cells(u8, grid=27, pooled=14, patch=14):
    """[T, 3, S, S] uint8 -> [T, pooled*pooled] bool: pooled tokens whose bilinear sources
    (the 2x2 patches of PyTorch's align_corners=False table) contain a pixel that differs from the
    frame's background (its median colour) by more than 40 in some channel."""
    T = u8.shape[0]
    x = u8.astype(np.int16)
    med = np.median(x[:, :, ::8, ::8].reshape(T, 3, -1), axis=2).astype(np.int16)
    obj = (np.abs(x - med[:, :, None, None]).max(1) > 40)[:, :grid * patch, :grid * patch]
    pm = obj.reshape(T, grid, patch, grid, patch).any((2, 4))  # [T, 27, 27]
    src = np.maximum((np.arange(pooled) + 0.5) * grid / pooled - 0.5, 0)
    i0 = np.floor(src).astype(int)
    i1 = np.minimum(i0 + 1, grid - 1)
    rows = pm[:, i0, :] | pm[:, i1, :]
    cells = rows[:, :, i0] | rows[:, :, i1]
    return cells.reshape(T, -1)


SALIENCY_WEIGHT = {"circle": 4.0, "lamp": 2.0, "square": 1.0}


def saliency_target(u8, grid, patch):
    """[T, 3, S, S] uint8 -> [T, grid*grid] float32: the distribution the SigLIP head's attention
    is trained towards (what the saliency-driven pruners keep first): per patch, the largest
    SALIENCY_WEIGHT of the objects with a pixel in it (circle, lamp lit or unlit, square),
    normalised per frame; a frame without an object gets the uniform distribution."""
    T = u8.shape[0]
    x = u8.astype(np.int16)[:, :, :grid * patch, :grid * patch].transpose(0, 2, 3, 1)
    w = np.zeros((T, grid, grid), np.float32)
    corner = u8.shape[-1] // 5
    for name, colours in [("square", PALETTE[:1]), ("lamp", PATCH_PALETTE[5:7]), ("circle", PALETTE[1:5])]:
        near = np.zeros(x.shape[:3], bool)
        for c in colours:
            near |= np.abs(x - np.asarray(c, np.int16)).max(-1) < 45
        if name == "lamp":
            near[:, corner:, :] = False
            near[:, :, corner:] = False
        hit = near.reshape(T, grid, patch, grid, patch).mean((2, 4)) > 0.05
        w = np.where(hit, np.maximum(w, SALIENCY_WEIGHT[name]), w)
    w = w.reshape(T, -1)
    w[w.sum(1) == 0] = 1.0
    return w / w.sum(1, keepdims=True)


def pooled_any(pm, grid, pooled):
    """[T, grid, grid] bool per patch -> [T, pooled*pooled] bool: pooled tokens one of whose
    bilinear source patches (PyTorch's align_corners=False table) is set."""
    T = pm.shape[0]
    src = np.maximum((np.arange(pooled) + 0.5) * grid / pooled - 0.5, 0)
    i0 = np.floor(src).astype(int)
    i1 = np.minimum(i0 + 1, grid - 1)
    rows = pm[:, i0, :] | pm[:, i1, :]
    return (rows[:, :, i0] | rows[:, :, i1]).reshape(T, -1)


def task_cells(u8, n_heads, grid, pooled, patch):
    """[T, 3, S, S] uint8 -> [4 tasks, n_heads, T*pooled*pooled] bool: the visual tokens that
    answer each task (from the pixels), per attention head of the supervised layer:
      moving_direction  the white square; head 0 in the first two frames, head 1 in the last two
      moving_attribute  the circle (any of the four circle colours)
      moving_count      the lamp (lit or unlit)
      object_shuffle    the circle
    A task whose set is empty (a colour blurred by the codec) falls back to every object token."""
    T = u8.shape[0]
    x = u8.astype(np.int16)[:, :, :grid * patch, :grid * patch].transpose(0, 2, 3, 1)

    def has(colours, corner=None):
        near = np.zeros(x.shape[:3], bool)
        for c in colours:
            near |= np.abs(x - np.asarray(c, np.int16)).max(-1) < 45
        if corner is not None:  # only pixels in the top-left corner x corner
            near[:, corner:, :] = False
            near[:, :, corner:] = False
        return pooled_any(near.reshape(T, grid, patch, grid, patch).any((2, 4)), grid, pooled)

    # the lamp lives in the picture's top-left fifth (synth.c keeps everything else out of it)
    square, circle = has(PALETTE[:1]), has(PALETTE[1:5])
    lamp = has(PATCH_PALETTE[5:7], corner=u8.shape[-1] // 5)
    obj = object_cells(u8, grid, pooled, patch)
    early, late = np.zeros_like(square), np.zeros_like(square)
    early[:2], late[-2:] = square[:2], square[-2:]
    out = np.zeros((4, n_heads, T * pooled * pooled), bool)
    for t, per_head in enumerate([[early, late], [circle], [lamp], [circle]]):
        for h in range(n_heads):
            m = per_head[h] if h < len(per_head) else (square if t == 0 else per_head[0])
            out[t, h] = (m if m.any() else obj).reshape(-1)
    return out


def tokenise_prompts(tb, model_dir, sample_of_task, letter_ids, im_end):
    """Per task: (prefix ids before <image>, suffix ids after it ending with the assistant header)."""
    pre, suf = None, {}
    for t, s in sample_of_task.items():
        ids = json.loads(run([tb, "tokenize", "--tokenizer", model_dir, "--chat", "--image-split", "--text",
                              "<image>\n" + s["prompt"]]))
        k = ids.index(-200)
        assert pre is None or pre == ids[:k]
        pre, suf[t] = ids[:k], ids[k + 1:]
    return pre, suf


# ---- training --------------------------------------------------------------------------------

def init_weights(m, seed, zero_residual):
    g = torch.Generator().manual_seed(seed)
    for n, p in m.named_parameters():
        if "norm" in n and p.dim() == 1 and "bias" not in n:
            with torch.no_grad():
                p.fill_(1.0)
        elif n.endswith("bias"):
            with torch.no_grad():
                p.zero_()
        else:
            std = 0.02
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=g) * std)
    if zero_residual:  # every LLM block starts as the identity (deep, narrow nets train faster)
        for ly in m.layers:
            ly.o_proj.weight.data.zero_()
            ly.down_proj.weight.data.zero_()
    for ly in m.vlayers:  # LayerNorm weights are called weight: set them to 1
        for mod in (ly.layer_norm1, ly.layer_norm2):
            mod.weight.data.fill_(1.0)
    for mod in (m.head.post_layernorm, m.head.layernorm):
        mod.weight.data.fill_(1.0)


def batch_for(video, by_video, pre, suf, letter_ids, im_end, tasks):
    """Suffix ids [Q, S] (letter appended, right-padded), want positions [Q, 2], targets [Q, 2]."""
    rows, want, tgt = [], [], []
    for t in tasks:
        s = by_video[video][t]
        li = letter_ids[LETTERS.index(s["gold"])]
        ids = suf[t] + [li]
        rows.append(ids)
        want.append([len(ids) - 2, len(ids) - 1])
        tgt.append([li, im_end])
    S = max(len(r) for r in rows)
    ids = torch.tensor([r + [0] * (S - len(r)) for r in rows])
    return ids, torch.tensor(want), torch.tensor(tgt)


def evaluate(m, videos, by_video, feats, pre_ids, suf, letter_ids, im_end, tasks, mid_ids):
    """Accuracy per task on videos, whose tower features are feats[i]."""
    m.eval()
    hit = {t: 0 for t in tasks}
    loss = 0.0
    with torch.no_grad():
        for i, v in enumerate(videos):
            ids, want, tgt = batch_for(v, by_video, pre_ids, suf, letter_ids, im_end, tasks)
            logits = m.llm_logits(feats[i], pre_ids, ids, want, mid_ids=mid_ids)
            loss += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1)).item()
            pred = logits[:, 0, letter_ids].argmax(-1)
            for q, t in enumerate(tasks):
                hit[t] += int(letter_ids[pred[q]] == tgt[q, 0])
    m.train()
    n = len(videos)
    return loss / n, {t: hit[t] / n for t in tasks}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tango-bench", required=True)
    ap.add_argument("--out", required=True, help="model directory to write")
    ap.add_argument("--work", required=True, help="scratch directory (videos, frames)")
    ap.add_argument("--train-videos", type=int, default=960)
    ap.add_argument("--val-videos", type=int, default=48)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--image", type=int, default=384, help="vision input side (384: 27x27 patches)")
    ap.add_argument("--llm-layers", type=int, default=14)
    ap.add_argument("--llm-heads", type=int, default=1)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--tower-steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=4, help="videos per step")
    ap.add_argument("--zero-residual", type=int, default=0,
                    help="1: zero-initialise o_proj and down_proj (the LLM then stayed at chance)")
    ap.add_argument("--attn-layer", type=int, default=1)
    ap.add_argument("--attn-weight", type=float, default=0.5)
    ap.add_argument("--tower-lr", type=float, default=3e-3)
    ap.add_argument("--head-aux", type=float, default=0.0,
                    help="weight of phase 1's loss that puts the SigLIP head's attention on the objects "
                         "(saliency_target): the saliency Tango, FastVID and top-k prune by")
    ap.add_argument("--drop-prob", type=float, default=0.0,
                    help="phase 2: the share of training videos whose visual tokens are thinned out "
                         "(object tokens kept with p ~ U(0.5, 1), the others with p ~ U(0, 0.3)), so that "
                         "the model answers from what a pruner keeps")
    ap.add_argument("--attn-target", choices=["object", "task"], default="object",
                    help="what --attn-layer's answer-row attention is asked to rest on: every object "
                         "token, or the tokens that answer the question (task_cells)")
    ap.add_argument("--pos-aux", type=float, default=1.0,
                    help="weight of phase 1's per-patch row/column readout (puts the patch's place into "
                         "its features: where the circle is, which corner the lamp is in)")
    a = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(a.seed)
    t_start = time.time()
    tb = os.path.abspath(a.tango_bench)
    os.makedirs(a.out, exist_ok=True)
    os.makedirs(a.work, exist_ok=True)

    # data: the train split (training + validation videos) from one seeded stream
    videos, by_video, frames = make_split(tb, a.work, "train", a.train_videos + a.val_videos, a.seed, a.image)
    log("data: %d videos, %.1f s" % (len(videos), time.time() - t_start))
    videos = videos[:a.train_videos + a.val_videos]
    train_v, val_v = videos[:a.train_videos], videos[a.train_videos:]

    # tokenizer from the prompt texts, then the harness's own tokenisation of every prompt
    s0 = by_video[videos[0]]
    corpus = [SYSTEM, "user", "assistant"] + [s0[t]["prompt"] for t in TASKS] + list(LETTERS)
    eot, n_tok = write_tokenizer(a.out, corpus * 4, 200)
    im_end = eot + 2
    vocab_rows = (n_tok + 63) // 64 * 64
    cfg = tinyov.Config(image=a.image, llm_layers=a.llm_layers, llm_heads=a.llm_heads, llm_kv_heads=1, vocab=vocab_rows)
    write_configs(a.out, cfg, im_end, eot)
    letter_ids = [json.loads(run([tb, "tokenize", "--tokenizer", a.out, "--text", L]))[0] for L in LETTERS]
    pre, suf = tokenise_prompts(tb, a.out, s0, letter_ids, im_end)
    # the text every question starts with after <image> (MVBench's instruction) joins the shared
    # prefix: computed once per video, the same numbers as in each question's own sequence
    n_mid = 0
    while all(len(suf[t]) > n_mid + 2 and suf[t][n_mid] == suf[TASKS[0]][n_mid] for t in TASKS):
        n_mid += 1
    mid_ids = torch.tensor(suf[TASKS[0]][:n_mid])
    suf = {t: suf[t][n_mid:] for t in TASKS}
    pre_ids = torch.tensor(pre)
    log("tokenizer: %d ids (%d embedding rows); prompt %d + visual %d + %s tokens" %
        (n_tok, vocab_rows, len(pre), FRAMES * cfg.pooled ** 2 + 1, "/".join(str(len(suf[t])) for t in TASKS)))

    m = tinyov.TinyOV(cfg)
    init_weights(m, a.seed, a.zero_residual == 1)
    aux = torch.nn.Linear(cfg.v_hidden, len(PALETTE))  # training-only readout of the head's vector
    torch.nn.init.zeros_(aux.bias)
    with torch.no_grad():
        aux.weight.copy_(torch.randn(aux.weight.shape, generator=torch.Generator().manual_seed(a.seed + 1)) * 0.02)
    n_params = sum(p.numel() for p in m.parameters())
    log("model: %d parameters (%.2f MB float32)" % (n_params, n_params * 4 / 1e6))
    rng = np.random.RandomState(a.seed)
    curves = []

    def schedule(lr, steps):
        warm = max(1, steps // 20)

        def at(step):
            if step < warm:
                return lr * (step + 1) / warm
            p = (step - warm) / max(1, steps - warm)
            return lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * p)))
        return at

    # Phase 1: the vision tower and the SigLIP head learn what a frame shows (the auxiliary
    # labels), one training video's 8 frames per step. Then the tower is frozen and its features
    # of every video are computed once: phase 2 never runs the tower again.
    paux = torch.nn.Linear(cfg.v_hidden, len(PATCH_PALETTE) + 1)  # training-only per-patch readout
    torch.nn.init.zeros_(paux.bias)
    with torch.no_grad():
        paux.weight.copy_(torch.randn(paux.weight.shape, generator=torch.Generator().manual_seed(a.seed + 2)) * 0.02)
    # training-only per-patch readouts of the patch's row and column (grid classes each)
    rowaux = torch.nn.Linear(cfg.v_hidden, cfg.grid)
    colaux = torch.nn.Linear(cfg.v_hidden, cfg.grid)
    for k, lin in enumerate((rowaux, colaux)):
        torch.nn.init.zeros_(lin.bias)
        with torch.no_grad():
            lin.weight.copy_(torch.randn(lin.weight.shape, generator=torch.Generator().manual_seed(a.seed + 3 + k)) * 0.02)
    rows_t = torch.arange(cfg.grid).repeat_interleave(cfg.grid)  # patch p = row * grid + col
    cols_t = torch.arange(cfg.grid).repeat(cfg.grid)
    vis_params = list(m.patch_embedding.parameters()) + [m.position_embedding] + list(m.vlayers.parameters()) + \
        list(m.head.parameters()) + list(aux.parameters()) + list(paux.parameters())
    if a.pos_aux > 0:
        vis_params += list(rowaux.parameters()) + list(colaux.parameters())
    opt = torch.optim.AdamW(vis_params, lr=a.tower_lr, betas=(0.9, 0.98), weight_decay=0.01)
    lr_at = schedule(a.tower_lr, a.tower_steps)
    order, run_aux, run_n = [], 0.0, 0
    t_train = time.time()
    for step in range(a.tower_steps):
        if not order:
            order = list(rng.permutation(len(train_v)))
        i = int(order.pop())
        u8 = np.array(frames[i])
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        tf = m.tower(m.normalise(torch.from_numpy(u8)))
        hatt, glob = m.head(tf)
        aux_loss = F.binary_cross_entropy_with_logits(aux(glob), torch.from_numpy(frame_labels(u8))) + \
            F.cross_entropy(paux(tf).reshape(-1, len(PATCH_PALETTE) + 1),
                            torch.from_numpy(patch_labels(u8, cfg.grid, cfg.patch)).reshape(-1))
        if a.head_aux > 0:  # the head's attention as a saliency map: circle, then lamp, then square
            tgt = torch.from_numpy(saliency_target(u8, cfg.grid, cfg.patch))
            aux_loss = aux_loss - a.head_aux * (tgt * torch.log(hatt + 1e-6)).sum(-1).mean()
        if a.pos_aux > 0:
            nT = tf.shape[0]
            aux_loss = aux_loss + a.pos_aux * (
                F.cross_entropy(rowaux(tf).reshape(-1, cfg.grid), rows_t.repeat(nT)) +
                F.cross_entropy(colaux(tf).reshape(-1, cfg.grid), cols_t.repeat(nT)))
        opt.zero_grad()
        aux_loss.backward()
        torch.nn.utils.clip_grad_norm_(vis_params, 1.0)
        opt.step()
        run_aux += aux_loss.item()
        run_n += 1
        if (step + 1) % 50 == 0:
            row = {"phase": 1, "step": step + 1, "seconds": round(time.time() - t_train, 1), "lr": lr_at(step),
                   "aux_loss": run_aux / run_n}
            curves.append(row)
            log(" ".join("%s=%s" % (k, ("%.4g" % v) if isinstance(v, float) else v) for k, v in row.items()))
            run_aux, run_n = 0.0, 0
    for p in vis_params:
        p.requires_grad_(False)
    with torch.no_grad():
        feats = torch.stack([m.tower(m.normalise(torch.from_numpy(np.array(frames[i])))) for i in range(len(videos))])
    cells = [object_cells(np.array(frames[i]), cfg.grid, cfg.pooled, cfg.patch).reshape(-1)
             for i in range(len(train_v))]
    if a.attn_target == "task":
        tcells = [task_cells(np.array(frames[i]), cfg.llm_heads, cfg.grid, cfg.pooled, cfg.patch)
                  for i in range(len(train_v))]
    log("tower features of %d videos cached, %.0f s; object tokens per video %.1f of %d" %
        (len(videos), time.time() - t_train, np.mean([c.sum() for c in cells]), cells[0].shape[0]))

    # Phase 2: projector, image_newline and the LLM answer the questions, a.batch videos per step,
    # with an auxiliary loss asking layer a.attn_layer's answer-row attention to rest on object
    # tokens (from the pixels), which gets the attention off its uniform start.
    params = [p for p in m.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.98), weight_decay=0.01)
    lr_at = schedule(a.lr, a.steps)
    n0 = len(pre)
    order, run_loss, run_attn, run_n = [], 0.0, 0.0, 0
    for step in range(a.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        opt.zero_grad()
        if True:  # the whole batch in one forward (the same numbers as one video at a time)
            idx = []
            for b in range(a.batch):
                if not order:
                    order = list(rng.permutation(len(train_v)))
                idx.append(int(order.pop()))
            parts = [batch_for(train_v[i], by_video, pre, suf, letter_ids, im_end, TASKS) for i in idx]
            S = max(p[0].shape[1] for p in parts)
            ids = torch.cat([F.pad(p[0], (0, S - p[0].shape[1])) for p in parts])
            want = torch.cat([p[1] for p in parts])
            tgt = torch.cat([p[2] for p in parts])
            vis_keep = None
            if a.drop_prob > 0:  # token dropout: [B, visual tokens], the newline always kept
                keep_rows = []
                for i in idx:
                    k = np.ones(cells[i].shape[0] + 1, bool)
                    if rng.rand() < a.drop_prob:
                        p_obj, p_bg = rng.uniform(0.5, 1.0), rng.uniform(0.0, 0.3)
                        u = rng.rand(cells[i].shape[0])
                        k[:-1] = np.where(cells[i], u < p_obj, u < p_bg)
                    keep_rows.append(k)
                vis_keep = torch.from_numpy(np.stack(keep_rows))
            logits = m.batch_logits(feats[idx], pre_ids, mid_ids, ids, want, a.attn_layer, vis_keep)
            qa = F.cross_entropy(logits[:, 0], tgt[:, 0]) + F.cross_entropy(logits[:, 1], tgt[:, 1])
            nv = cells[0].shape[0] + 1
            if a.attn_target == "task":  # [B*Q, H, nv]: the tokens that answer each question
                on_obj = torch.from_numpy(np.concatenate([tcells[i] for i in idx])).to(torch.float32)
                on_obj = F.pad(on_obj, (0, 1))
            else:  # every object token
                on_obj = torch.from_numpy(np.stack([np.concatenate([cells[i], [False]]) for i in idx]))
                on_obj = on_obj.repeat_interleave(len(TASKS), 0).to(torch.float32)[:, None, :]  # [B*Q, 1, nv]
            if vis_keep is not None:  # only the targets still there; rows without one sit out
                on_obj = on_obj * vis_keep.repeat_interleave(len(TASKS), 0)[:, None, :].to(torch.float32)
            mass = (m.last_attn[:, :, n0:n0 + nv] * on_obj).sum(-1)
            has = (on_obj.sum(-1) > 0).to(torch.float32)
            attn_loss = -(torch.log(mass + 1e-4) * has).sum() / has.sum().clamp(min=1.0)
            (qa + a.attn_weight * attn_loss).backward()
            run_loss += qa.item()
            run_attn += attn_loss.item()
            run_n += 1
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        last = step + 1 == a.steps
        if (step + 1) % 25 == 0 or last:
            row = {"phase": 2, "step": step + 1, "seconds": round(time.time() - t_train, 1), "lr": lr_at(step),
                   "train_loss": run_loss / run_n, "attn_loss": run_attn / run_n}
            if (step + 1) % a.eval_every == 0 or last:
                vl, acc = evaluate(m, val_v, by_video, feats[a.train_videos:], pre_ids, suf, letter_ids, im_end, TASKS,
                                   mid_ids)
                row["val_loss"] = vl
                row.update({"val_" + t: acc[t] for t in TASKS})
                row["val_acc"] = sum(acc.values()) / len(acc)
            curves.append(row)
            log(" ".join("%s=%s" % (k, ("%.4g" % v) if isinstance(v, float) else v) for k, v in row.items()))
            run_loss, run_attn, run_n = 0.0, 0.0, 0

    t, s = checkpoint_tensors(m)
    write_safetensors(os.path.join(a.out, "model.safetensors"), t)
    write_safetensors(os.path.join(a.out, "siglip", "model.safetensors"), s)
    keys = ["phase", "step", "seconds", "lr", "aux_loss", "train_loss", "attn_loss", "val_loss", "val_acc"] + ["val_" + t for t in TASKS]
    with open(os.path.join(a.out, "training_curves.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in curves:
            w.writerow({k: (("%.6g" % v) if isinstance(v, float) else v) for k, v in r.items()})
    for name in ["model.safetensors", "siglip/model.safetensors"]:
        h = hashlib.sha256(open(os.path.join(a.out, name), "rb").read()).hexdigest()
        log("sha256 %s  %s" % (h, name))
    log("training %.0f s, total %.0f s" % (time.time() - t_train, time.time() - t_start))


if __name__ == "__main__":
    main()
