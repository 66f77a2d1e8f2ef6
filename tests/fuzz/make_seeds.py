#!/usr/bin/env python3
"""make_seeds.py - writes the seed corpora of the libFuzzer harnesses, tests/fuzz/corpus/<name>/
(committed; run again only when a format changes). Seeds are small valid inputs in each parser's
real format, plus a few near misses, so the fuzzer starts deep in the parsers.

Usage (from the repository root, after `make`): /usr/bin/python3 tests/fuzz/make_seeds.py [BUILD]
Needs numpy (the .npy seeds are numpy's own files), the built tango-bench (make-tiny-model for the
config seeds, the store seed through tests/fuzz/seed_store.c) and cc.
"""
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile

import numpy as np

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
ROOT = "tests/fuzz/corpus"
SEP = b"\n#####\n"
FIX = "tests/fixtures/datasets"


def put(name, fname, data):
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def read(path):
    with open(path, "rb") as f:
        return f.read()


def npy_seeds(tmp):
    arrays = {"f4_2x3": np.arange(6, dtype=np.float32).reshape(2, 3),
              "f8_vec": np.linspace(0, 1, 5), "i4_2x2": np.array([[1, -2], [3, 4]], dtype=np.int32),
              "i8_idx": np.array([0, 5, 9], dtype=np.int64), "f4_0d": np.float32(2.5),
              "f4_empty": np.zeros((0, 4), dtype=np.float32), "f4_nan": np.array([np.nan, np.inf], dtype=np.float32)}
    for k, a in arrays.items():
        p = os.path.join(tmp, k + ".npy")
        np.save(p, a)
        put("npy", k + ".npy", read(p))
    put("npy", "descr_at_end.npy", b"\x93NUMPY\x01\x00\x09\x00{'descr':")
    put("npy", "v2.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", 70) +
        b"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }".ljust(69) + b"\n" + struct.pack("<f", 1.0))


def safetensors(tensors, meta=None):
    """tensors: list of (name, dtype, shape, raw bytes)."""
    hdr, off, data = {}, 0, b""
    if meta is not None:
        hdr["__metadata__"] = meta
    for name, dt, shape, raw in tensors:
        hdr[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        data += raw
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data


def st_seeds():
    f32 = np.arange(6, dtype=np.float32).tobytes()
    bf16 = (np.arange(4, dtype=np.float32).view(np.uint32) >> 16).astype(np.uint16).tobytes()
    f16 = np.arange(4, dtype=np.float16).tobytes()
    put("safetensors", "f32.safetensors", safetensors([("a.weight", "F32", [2, 3], f32)]))
    put("safetensors", "mixed.safetensors", safetensors([("b", "BF16", [4], bf16), ("h", "F16", [2, 2], f16),
                                                         ("z", "F32", [0], b"")], {"format": "pt"}))
    put("safetensors", "nan.safetensors", safetensors([("n", "F32", [2], np.array([np.nan, 1], np.float32).tobytes())]))
    put("safetensors", "overlap.safetensors",
        struct.pack("<Q", 96) + json.dumps({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                                            "b": {"dtype": "F32", "shape": [1], "data_offsets": [2, 6]}}).encode().ljust(96)
        + b"\0" * 8)
    idx = {"metadata": {"total_size": 28},
           "weight_map": {"a.w": "model-00001-of-00002.safetensors", "b.w": "model-00001-of-00002.safetensors",
                          "c.w": "model-00002-of-00002.safetensors"}}
    put("st_index", "index.json", json.dumps(idx, indent=2))
    put("st_index", "missing_shard.json", json.dumps({"weight_map": {"a.w": "model-00003-of-00003.safetensors"}}))
    put("st_index", "traversal.json", json.dumps({"weight_map": {"a.w": "../etc/passwd"}}))


def config_seeds(tmp):
    binp = os.path.join(BUILD, "tango-bench")
    for layout in ("lmms", "hf"):
        d = os.path.join(tmp, "tiny-" + layout)
        subprocess.run([binp, "make-tiny-model", "--layout", layout, d], check=True, stdout=subprocess.DEVNULL)
        cfg = read(os.path.join(d, "config.json"))
        gen = os.path.join(d, "generation_config.json")
        parts = [cfg] + ([read(gen)] if os.path.exists(gen) else [])
        put("config", layout + ".json", SEP.join(parts))
        if len(parts) == 2:  # google/siglip-so400m-patch14-384's config.json layout
            sig = {"architectures": ["SiglipModel"], "model_type": "siglip",
                   "vision_config": {"hidden_size": 1152, "image_size": 384, "intermediate_size": 4304,
                                     "model_type": "siglip_vision_model", "num_attention_heads": 16,
                                     "num_hidden_layers": 27, "patch_size": 14}}
            put("config", layout + "_siglip.json", SEP.join(parts + [json.dumps(sig).encode()]))
    d = os.path.join(tmp, "tiny-video")
    subprocess.run([binp, "make-tiny-model", "--video", d], check=True, stdout=subprocess.DEVNULL)
    put("config", "llava_video.json", read(os.path.join(d, "config.json")))
    put("config", "pool_max.json", read(os.path.join(tmp, "tiny-lmms", "config.json")).replace(
        b'"bilinear"', b'"max"'))


def tokenizer_seeds():
    tiny = read("tests/fixtures/tokenizer/tiny_tokenizer.json")
    put("tokenizer_files", "tiny_json", tiny + SEP + b"<image>\nthe cat sat on the mat<|im_end|>")
    d = json.loads(tiny)
    vocab = d["model"]["vocab"]
    merges = d["model"]["merges"]
    merges_txt = "#version: 0.2\n" + "\n".join(m if isinstance(m, str) else " ".join(m) for m in merges) + "\n"
    added = {t["content"]: t["id"] for t in d["added_tokens"]}
    put("tokenizer_files", "vocab_merges", json.dumps(vocab).encode() + SEP + merges_txt.encode() + SEP +
        "the dog ate the cat's food".encode())
    put("tokenizer_files", "vocab_merges_added", json.dumps(vocab).encode() + SEP + merges_txt.encode() + SEP +
        json.dumps(added).encode() + SEP + "<|im_start|>user\nhéllo 123<|im_end|>".encode())
    put("tokenizer_files", "empty_key", b'{"": 4, "a": 0}' + SEP + b"#version: 0.2\n" + SEP + b"a")
    for i, t in enumerate(["<image>\nThese are the frames of a video. Select the best answer.\nA. Apples.\nAnswer: ",
                           "héllo wörld 123 ½ ﬁ e\u0301 \U0001F600 中文 \r\n\t  x",
                           "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<image>",
                           "it's I'LL we've 12345678 ...!!! \u00a0\u3000", "\xff\xfe bad utf8"]):
        put("tokenizer_text", "text%d" % i, t.encode("utf-8", "surrogateescape") if i < 4 else b"\xff\xfe bad utf8")
    put("tokenizer_text", "ids", struct.pack("<6i", 151644, 872, 198, 151645, -200, 999999999))


def adapter_seeds():
    put("videomme", "rows.jsonl", read(FIX + "/videomme.jsonl") + SEP + b"The answer is C. Berries.")
    put("videomme", "array.json", b"[" + b",".join(l for l in read(FIX + "/videomme.jsonl").splitlines() if l.strip())
        + b"]" + SEP + b"(B)")
    put("mvbench", "action_sequence.json", read(FIX + "/mvbench/action_sequence.json") + SEP + b"(A) Took the box.")
    put("mvbench", "tvqa.json", json.dumps([{"video": "s01e01_seg02_clip_00", "question": "Who?", "candidates":
                                             ["a", "b", "c"], "answer": "b", "start": 1.5, "end": 4.0}]).encode()
        + SEP + b"Best option: (B")
    put("lvb", "lvb_val.json", read(FIX + "/lvb_val.json") + SEP + b"E")
    for f in sorted(os.listdir(FIX + "/mlvu")):
        put("mlvu", f, read(FIX + "/mlvu/" + f) + SEP + b"(A) Delivers a product")
    put("mlvu", "escape.json", json.dumps([{"video": "../../outside.mp4", "question": "q", "candidates": ["x", "y"],
                                            "answer": "x"}]).encode())


def rows_seeds():
    rows = [json.loads(l) for l in read(FIX + "/videomme.jsonl").splitlines() if l.strip()]
    feats = [{"feature_idx": k, "name": n, "type": {"dtype": "string", "_type": "Value"}}
             for k, n in enumerate(["video_id", "duration", "domain", "sub_category", "url", "videoID", "question_id",
                                    "task_type", "question", "options", "answer"])]
    page = lambda lo, hi, total: json.dumps({"features": feats, "rows": [{"row_idx": i, "row": rows[i],
                                                                          "truncated_cells": []}
                                                                         for i in range(lo, hi)][::-1],
                                             "num_rows_total": total, "num_rows_per_page": 100, "partial": False})
    put("rows_page", "one_page", page(0, 2, 2))
    put("rows_page", "two_pages", page(0, 1, 2).encode() + SEP + page(1, 2, 2).encode())
    put("rows_page", "error", json.dumps({"error": "The dataset does not exist."}))


def run_config_seeds():
    for f in sorted(os.listdir("configs")):
        if f.endswith(".json"):
            put("run_config", f, read("configs/" + f))
    put("run_config", "nested_default.json", json.dumps({
        "name": "t", "models": [{"name": "m", "path": "${TB_UNSET:-${TB_MODELS}}/tiny"}],
        "benchmarks": [{"name": "mvbench", "manifest": "${TB_DATA}/mvbench"}],
        "methods": [{"name": "fastv", "params": {"K": 2}}, "full"], "ratios": [0.1]}))


def store_seeds(tmp):
    src = "tests/fuzz/seed_store.c"
    exe = os.path.join(tmp, "seed_store")
    libs = subprocess.run(["pkg-config", "--libs", "sqlite3", "libcurl", "libcjson", "libavformat", "libavcodec",
                           "libswscale", "libavutil", "libcrypto", "libpcre2-8", "openblas"],
                          check=True, capture_output=True, text=True).stdout.split()
    cflags = subprocess.run(["pkg-config", "--cflags", "libcjson", "openblas"], check=True, capture_output=True,
                            text=True).stdout.split()
    subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-I.", *cflags, src, os.path.join(BUILD, "libtango.a"),
                    "-o", exe, *libs, "-fopenmp", "-lm", "-lpthread"], check=True)
    db = os.path.join(tmp, "seed.db")
    subprocess.run([exe, db], check=True)
    c = sqlite3.connect(db)
    c.execute("PRAGMA journal_mode=DELETE")
    c.execute("PRAGMA page_size=512")
    c.execute("VACUUM")
    c.close()
    put("store_merge", "two_runs.db", read(db))
    empty = os.path.join(tmp, "empty.db")
    sqlite3.connect(empty).close()
    put("store_merge", "empty.db", read(empty))


def import_seeds():
    for f in sorted(os.listdir("tests/fixtures/peers")):
        if f.endswith(".expected.json"):
            continue
        put("import_lmms" if "_samples_" in f else "import_vlmeval", f, read("tests/fixtures/peers/" + f))


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    tmp = tempfile.mkdtemp(prefix="tb-seeds-")
    try:
        npy_seeds(tmp)
        st_seeds()
        config_seeds(tmp)
        tokenizer_seeds()
        adapter_seeds()
        rows_seeds()
        run_config_seeds()
        store_seeds(tmp)
        import_seeds()
    finally:
        shutil.rmtree(tmp)
    n = sum(len(fs) for _, _, fs in os.walk(ROOT))
    print("make_seeds: %d seed files in %s" % (n, ROOT))


if __name__ == "__main__":
    main()
