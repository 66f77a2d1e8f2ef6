"""Qwen2.5-VL test oracle: Hugging Face transformers 4.50 and qwen-vl-utils (tests/qwen/oracle-env
builds the pinned environment). Test tool only; tango-bench never runs Python.

Subcommands (all outputs .npy files in OUT):
  hf-save CFG_DIR OUT --dtype float32|bfloat16 [--shard KB]
      construct Qwen2_5_VLForConditionalGeneration from CFG_DIR/config.json with seeded random
      weights and save_pretrained it (sharded when --shard is given); tokenizer files copied
  check-load CKPT     load strictly (no missing / unexpected / mismatched tensors), print counts
  frames FRAMES.npy MIN MAX OUT
      the paper chain on given uint8 frames [T,H,W,3]: qwen-vl-utils smart_resize with the
      budget, torchvision resize(BICUBIC, antialias=True), the HF processor ->
      pixel_rows.npy [N,1176] float32, grid_thw.npy [1,3] int64, resized.npy uint8 [T,h,w,3]
  video VIDEO NFRAMES MAXPIX OUT
      qwen-vl-utils fetch_video({"nframes", "max_pixels"}) (torchvision reader) + processor ->
      frame_indices.npy, pixel_rows.npy, grid_thw.npy
  model CKPT ROWS.npy GRID.npy IDS.npy NGEN OUT
      float32 eager: merged.npy (the ViT + merger), vit_attn.npy (the global-query saliency of
      the last block computed from its own rotated q, k, spec §6.2), positions.npy [3,n]
      (get_rope_index), logits.npy [1,V] (last row, pixels -> logits end to end), gen.npy (greedy
      generate of NGEN tokens, no stop)
  compare A.npy B.npy TOL [exact]   max |a-b| / max |b| <= TOL (or bit-exact); prints the figures
  compare-list FILE   one comparison per line "NAME|A.npy|B.npy|TOL|exact?"; prints "ok NAME: ..." or
                      "FAIL NAME: ..." per line (one interpreter start for all of them)
"""
import json
import os
import shutil
import sys

os.environ.setdefault("ATEN_CPU_CAPABILITY", "default")  # torch's scalar resize kernel (§2.3)

import numpy as np
import torch


def save(out, name, arr):
    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, name + ".npy"), arr)


def hf_save(cfg_dir, out, dtype, shard_kb):
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
    cfg = Qwen2_5_VLConfig.from_pretrained(cfg_dir)
    torch.manual_seed(7)
    model = Qwen2_5_VLForConditionalGeneration(cfg).eval()
    with torch.no_grad():  # visible weights: the default init leaves norms at 1 and biases at 0
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.copy_((1.0 if "norm" in name or "ln_q" in name else 0.0) + 0.05 * torch.randn_like(p))
    model = model.to(getattr(torch, dtype))
    kw = {"safe_serialization": True}
    if shard_kb:
        kw["max_shard_size"] = f"{shard_kb}KB"
    model.save_pretrained(out, **kw)
    for f in os.listdir(cfg_dir):
        if f.startswith("tokenizer") or f in ("vocab.json", "merges.txt", "added_tokens.json",
                                              "generation_config.json"):
            shutil.copy(os.path.join(cfg_dir, f), os.path.join(out, f))
    print("saved", out, sorted(os.listdir(out)))


def load(ckpt):
    from transformers import Qwen2_5_VLForConditionalGeneration
    model, info = Qwen2_5_VLForConditionalGeneration.from_pretrained(
        ckpt, torch_dtype=torch.float32, attn_implementation="eager", output_loading_info=True)
    bad = {k: v for k, v in info.items() if v}
    return model.eval(), bad


def check_load(ckpt):
    model, bad = load(ckpt)
    n = sum(1 for _ in model.state_dict())
    if bad:
        print("loading problems:", bad)
        sys.exit(1)
    print("loaded", ckpt, n, "tensors, nothing missing or unexpected")


def processor_rows(video_float):
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor
    proc = Qwen2VLImageProcessor(min_pixels=3136, max_pixels=12845056)
    out = proc(images=None, videos=[video_float], return_tensors="np")
    return out["pixel_values_videos"].astype(np.float32), out["video_grid_thw"].astype(np.int64)


def frames(path, mn, mx, out):
    from qwen_vl_utils.vision_process import smart_resize
    from torchvision import transforms
    from torchvision.transforms import InterpolationMode
    f = np.load(path)
    video = torch.from_numpy(f).permute(0, 3, 1, 2).contiguous()  # TCHW uint8
    h, w = smart_resize(f.shape[1], f.shape[2], factor=28, min_pixels=mn, max_pixels=mx)
    resized = transforms.functional.resize(video, [h, w], interpolation=InterpolationMode.BICUBIC,
                                           antialias=True)
    rows, grid = processor_rows(resized.float())
    save(out, "pixel_rows", rows)
    save(out, "grid_thw", grid)
    save(out, "resized", resized.permute(0, 2, 3, 1).numpy())
    print("frames", f.shape, "->", (h, w), "rows", rows.shape, "grid", grid.tolist())


def video(path, nframes, maxpix, out):
    from qwen_vl_utils.vision_process import fetch_video
    os.environ["FORCE_QWENVL_VIDEO_READER"] = "torchvision"
    ele = {"video": path, "nframes": nframes}
    if maxpix > 0:
        ele["max_pixels"] = maxpix
    v, meta = fetch_video(ele, return_video_metadata=True)
    rows, grid = processor_rows(v)
    save(out, "pixel_rows", rows)
    save(out, "grid_thw", grid)
    save(out, "frame_indices", np.asarray(meta["frames_indices"], dtype=np.int64))
    print("video", path, "indices", list(np.asarray(meta["frames_indices"])), "grid", grid.tolist())


def gq_tap(model, rows, grid):
    """Spec §6.2 from the last block's own q, k (captured with a hook), un-permuted."""
    vis = model.visual
    blk = vis.blocks[-1]
    cap = {}

    def hook(mod, args, kwargs):
        cap["h"] = args[0] if args else kwargs["hidden_states"]
        cap["pe"] = kwargs.get("position_embeddings")
        cap["rpe"] = kwargs.get("rotary_pos_emb")

    hd = blk.attn.qkv.weight.shape[1] // blk.attn.num_heads
    hnd = blk.attn.register_forward_pre_hook(hook, with_kwargs=True)
    merged = vis(rows, grid_thw=grid)
    hnd.remove()
    from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import apply_rotary_pos_emb_vision
    h = cap["h"]
    n = h.shape[0]
    q, k, _ = blk.attn.qkv(h).reshape(n, 3, blk.attn.num_heads, -1).permute(1, 0, 2, 3).unbind(0)
    if cap["pe"] is not None:
        cos, sin = cap["pe"]
    else:
        emb = torch.cat((cap["rpe"], cap["rpe"]), dim=-1)
        cos, sin = emb.cos(), emb.sin()
    q, k = apply_rotary_pos_emb_vision(q, k, cos, sin)
    window_index, _ = vis.get_window_index(grid)
    t, gh, gw = [int(x) for x in grid[0]]
    S, L = gh * gw, gh * gw // 4
    A = np.zeros((t, L), np.float32)
    order = window_index.numpy()  # window-ordered unit j -> global unit id
    for s in range(t):
        qs, ks = q[s * S:(s + 1) * S].double(), k[s * S:(s + 1) * S].double()   # [S, H, hd]
        qm = qs.mean(0)                                                         # [H, hd]
        km = ks.reshape(L, 4, ks.shape[1], ks.shape[2]).mean(1)                 # [L, H, hd]
        a = torch.softmax(torch.einsum("hd,lhd->hl", qm, km) / (hd ** 0.5), dim=-1).mean(0)
        for j in range(L):
            A[s, order[s * L + j] - s * L] = a[j].item()
    return merged, A


def run_model(ckpt, rows_path, grid_path, ids_path, ngen, out):
    model, bad = load(ckpt)
    if bad:
        print("loading problems:", bad)
        sys.exit(1)
    rows = torch.from_numpy(np.load(rows_path)).float()
    grid = torch.from_numpy(np.load(grid_path)).long().reshape(-1, 3)
    ids = torch.from_numpy(np.load(ids_path)).long().reshape(1, -1)
    with torch.no_grad():
        merged, A = gq_tap(model, rows, grid)
        save(out, "merged", merged.numpy().astype(np.float32))
        save(out, "vit_attn", A)
        pos, delta = model.get_rope_index(ids, None, grid, None, torch.ones_like(ids))
        save(out, "positions", pos[:, 0, :].numpy().astype(np.int64))
        o = model(input_ids=ids, pixel_values_videos=rows, video_grid_thw=grid)
        save(out, "logits", o.logits[:, -1, :].numpy().astype(np.float32))
        if ngen > 0:
            g = model.generate(input_ids=ids, pixel_values_videos=rows, video_grid_thw=grid,
                               max_new_tokens=ngen, min_new_tokens=ngen, do_sample=False,
                               eos_token_id=None, pad_token_id=0)
            save(out, "gen", g[0, ids.shape[1]:].numpy().astype(np.int64))
    print("model", ckpt, "merged", tuple(merged.shape), "rope_delta", int(delta[0, 0]))


def compare_one(a_path, b_path, tol, exact):
    """(ok, message)"""
    try:
        a, b = np.load(a_path), np.load(b_path)
    except Exception as e:  # a missing output is a failure, not a crash
        return False, f"cannot load: {e}"
    if a.shape != b.shape and a.size == b.size:
        a, b = a.reshape(-1), b.reshape(-1)
    if a.shape != b.shape:
        return False, f"shape {a.shape} vs {b.shape}"
    if exact:
        nd = int(np.sum(a != b))
        return nd == 0, f"{nd} of {a.size} differ (bit-exact)"
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    d = float(np.max(np.abs(a64 - b64))) if a.size else 0.0
    scale = float(np.max(np.abs(b64))) if b.size else 1.0
    rel = d / max(scale, 1e-30)
    return rel <= tol, f"max abs diff {d:.3g}, max |ref| {scale:.3g}, relative {rel:.3g} (tolerance {tol:g})"


def compare_list(path):
    bad = 0
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        name, a, b, tol, ex = (line.split("|") + [""])[:5]
        ok, msg = compare_one(a, b, float(tol), ex == "exact")
        bad += not ok
        print(f"{'ok' if ok else 'FAIL'} {name}: {msg}")
    sys.exit(1 if bad else 0)


def compare(a_path, b_path, tol, exact):
    a, b = np.load(a_path), np.load(b_path)
    if a.shape != b.shape:
        a = a.reshape(-1) if a.size == b.size else a
        b = b.reshape(-1) if a.size == b.size else b
    if a.shape != b.shape:
        print(f"FAIL {a_path}: shape {a.shape} vs {b.shape}")
        sys.exit(1)
    if exact:
        nd = int(np.sum(a != b))
        print(f"{'ok' if nd == 0 else 'FAIL'} {os.path.basename(a_path)}: {nd} of {a.size} differ (bit-exact)")
        sys.exit(0 if nd == 0 else 1)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    d = float(np.max(np.abs(a64 - b64))) if a.size else 0.0
    scale = float(np.max(np.abs(b64))) if b.size else 1.0
    rel = d / max(scale, 1e-30)
    ok = rel <= tol
    print(f"{'ok' if ok else 'FAIL'} {os.path.basename(a_path)}: max abs diff {d:.3g}, max |ref| {scale:.3g}, "
          f"relative {rel:.3g} (tolerance {tol:g})")
    sys.exit(0 if ok else 1)


def main(argv):
    cmd = argv[1]
    if cmd == "hf-save":
        dtype = argv[argv.index("--dtype") + 1] if "--dtype" in argv else "float32"
        shard = int(argv[argv.index("--shard") + 1]) if "--shard" in argv else 0
        hf_save(argv[2], argv[3], dtype, shard)
    elif cmd == "check-load":
        check_load(argv[2])
    elif cmd == "frames":
        frames(argv[2], int(argv[3]), int(argv[4]), argv[5])
    elif cmd == "video":
        video(argv[2], int(argv[3]), int(argv[4]), argv[5])
    elif cmd == "model":
        run_model(argv[2], argv[3], argv[4], argv[5], int(argv[6]), argv[7])
    elif cmd == "compare-list":
        compare_list(argv[2])
    elif cmd == "compare":
        compare(argv[2], argv[3], float(argv[4]), len(argv) > 5 and argv[5] == "exact")
    else:
        print("unknown subcommand", cmd)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
