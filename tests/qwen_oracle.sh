#!/usr/bin/env bash
# Qwen2.5-VL against its reference: Hugging Face transformers 4.50 + qwen-vl-utils 0.0.14 from the
# pinned environment of tests/qwen/oracle-env ($QWEN_PYTHON, default tests/.venv-qwen/bin/python).
# For tiny random checkpoints in four storages (tango-bench's writer: F32 in 2 shards with an
# index, BF16 single file; transformers' save_pretrained: F32 sharded, BF16 single file), on three
# frame geometries (windows with a partial column, the 448x448 paper grid, an upscaled small
# frame) and one video:
#   - preprocessing bit for bit: pixel_values_videos rows and video_grid_thw (frames), plus the
#     qwen-vl-utils frame indices (video);
#   - vision output (merged.npy) and the global-query saliency (vit_attn.npy) within 1e-4
#     (max |diff| / max |ref|), on the cpu backend and once on the reference kernels;
#   - position ids (get_rope_index) exactly, last-row logits within 1e-4, 6 greedy tokens exactly.
# Prints "TB-RESULT: N passed, N failed, N skipped".
set -u
bin=${TB_BIN:-build/tango-bench}
py=${QWEN_PYTHON:-tests/.venv-qwen/bin/python}
oracle=tests/qwen/oracle.py
tmp=${TB_BUILD:-build}/tmp/qwen-oracle-$$
rm -rf "$tmp" && mkdir -p "$tmp"
passed=0 failed=0

if ! "$py" -c "import transformers, qwen_vl_utils, torchvision" > "$tmp/probe.log" 2>&1; then
  echo "TB-SKIP: qwen_oracle: oracle: $py cannot import transformers, qwen_vl_utils, torchvision" \
       "($(tail -1 "$tmp/probe.log" 2>/dev/null)); build it with tests/qwen/oracle-env"
  echo "TB-RESULT: 0 passed, 0 failed, 1 skipped"
  exit 0
fi
die() { echo "setup failed: $*"; echo "TB-RESULT: $passed passed, $((failed + 1)) failed, 0 skipped"; exit 1; }
check() { # name, command...
  local name=$1; shift
  if out=$("$@" 2>&1); then passed=$((passed + 1)); echo "ok   $name: $(echo "$out" | tail -1)"
  else failed=$((failed + 1)); echo "FAILED: $name: $(echo "$out" | tail -3)"; fi
}
# comparisons are queued and run by one interpreter at the end: cmp NAME A B TOL [exact]
cmp() { echo "$1|$2|$3|$4|${5:-}" >> "$tmp/compare.list"; }

# inputs: three frame sets and one video
"$py" - "$tmp" <<'EOF' || die "frames"
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(0)
for name, (T, H, W) in {"a": (4, 120, 200), "b": (2, 480, 480), "c": (3, 40, 60)}.items():
    y, x = np.mgrid[0:H, 0:W]
    f = np.stack([128 + 100 * np.sin(x / 7.0 + t) * np.cos(y / 11.0) + 25 * rng.standard_normal((H, W))
                  for t in range(T)])
    f = np.stack([f, np.roll(f, 5, axis=2), 255 - f], -1).clip(0, 255).astype(np.uint8)
    np.save(f"{d}/frames_{name}.npy", f)
EOF
"$bin" synth --videos 2 --frames 40 "$tmp/synth" > /dev/null || die "synth"
vid=$(find "$tmp/synth/videos" -name '*.mp4' | head -1)

# checkpoints
"$bin" make-tiny-model --family qwen2.5-vl --shards 2 "$tmp/c_f32" > /dev/null || die "make-tiny-model f32"
"$bin" make-tiny-model --family qwen2.5-vl --dtype bf16 "$tmp/c_bf16" > /dev/null || die "make-tiny-model bf16"
"$py" "$oracle" hf-save "$tmp/c_f32" "$tmp/h_f32" --dtype float32 --shard 150 > "$tmp/hs1.log" 2>&1 || die "hf-save f32: $(tail -2 "$tmp/hs1.log")"
"$py" "$oracle" hf-save "$tmp/c_f32" "$tmp/h_bf16" --dtype bfloat16 > "$tmp/hs2.log" 2>&1 || die "hf-save bf16: $(tail -2 "$tmp/hs2.log")"
[ -f "$tmp/h_f32/model.safetensors.index.json" ] || die "save_pretrained wrote no index (not sharded)"
[ -f "$tmp/h_bf16/model.safetensors" ] || die "save_pretrained wrote no single file"
check "transformers loads tango-bench's F32 sharded checkpoint" "$py" "$oracle" check-load "$tmp/c_f32"
check "transformers loads tango-bench's BF16 checkpoint" "$py" "$oracle" check-load "$tmp/c_bf16"

# preprocessing, bit for bit
for fs in a b c; do
  "$py" "$oracle" frames "$tmp/frames_$fs.npy" 3136 200704 "$tmp/ref_$fs" > "$tmp/pre_$fs.log" 2>&1 || die "oracle frames $fs"
  "$bin" encode --model "$tmp/c_f32" --frames-npy "$tmp/frames_$fs.npy" --out "$tmp/enc_$fs" --write-rows --quiet ||
    die "encode $fs"
  cmp "pixel rows $fs bit-exact" "$tmp/enc_$fs/pixel_rows.npy" "$tmp/ref_$fs/pixel_rows.npy" 0 exact
  cmp "grid $fs exact" "$tmp/enc_$fs/grid_thw.npy" "$tmp/ref_$fs/grid_thw.npy" 0 exact
done
"$py" "$oracle" video "$vid" 8 200704 "$tmp/ref_v" > "$tmp/pre_v.log" 2>&1 || die "oracle video: $(tail -2 "$tmp/pre_v.log")"
"$bin" encode --model "$tmp/c_f32" --video "$vid" --frames 8 --max-pixels 200704 --out "$tmp/enc_v" --write-rows --quiet ||
  die "encode --video"
cmp "video frame indices exact" "$tmp/enc_v/frame_indices.npy" "$tmp/ref_v/frame_indices.npy" 0 exact
cmp "video pixel rows bit-exact" "$tmp/enc_v/pixel_rows.npy" "$tmp/ref_v/pixel_rows.npy" 0 exact

# model: vision, positions, logits, greedy tokens, per storage
for ck in c_f32 c_bf16 h_f32 h_bf16; do
  for fs in a b; do
    w=$tmp/run_${ck}_$fs
    mkdir -p "$w"
    U=$("$py" -c "import numpy as np; g=np.load('$tmp/ref_$fs/grid_thw.npy')[0]; print(g[0]*g[1]*g[2]//4)")
    "$py" -c "import numpy as np; np.save('$w/ids.npy', np.array([297,50,60,10,299]+[303]*$U+[300,70,80,298,297,90,91], dtype=np.int64))"
    "$py" "$oracle" model "$tmp/$ck" "$tmp/ref_$fs/pixel_rows.npy" "$tmp/ref_$fs/grid_thw.npy" "$w/ids.npy" 6 "$w/ref" \
      > "$w/oracle.log" 2>&1 || die "oracle model $ck $fs: $(tail -2 "$w/oracle.log")"
    "$bin" encode --model "$tmp/$ck" --frames-npy "$tmp/frames_$fs.npy" --out "$w/ours" --quiet || die "encode $ck $fs"
    "$bin" forward --model "$tmp/$ck" --input-ids "$w/ids.npy" --visual "$w/ours/merged.npy" --grid-thw "$w/ours/grid_thw.npy" \
      --out "$w/ours/logits.npy" --generate 6 --gen-out "$w/ours/gen.npy" --positions-out "$w/ours/positions.npy" \
      --no-stop > "$w/fwd.log" 2>&1 || die "forward $ck $fs: $(tail -2 "$w/fwd.log")"
    cmp "$ck/$fs vision output" "$w/ours/merged.npy" "$w/ref/merged.npy" 1e-4
    cmp "$ck/$fs global-query saliency" "$w/ours/vit_attn.npy" "$w/ref/vit_attn.npy" 1e-4
    cmp "$ck/$fs position ids" "$w/ours/positions.npy" "$w/ref/positions.npy" 0 exact
    cmp "$ck/$fs last-row logits" "$w/ours/logits.npy" "$w/ref/logits.npy" 1e-4
    cmp "$ck/$fs greedy tokens" "$w/ours/gen.npy" "$w/ref/gen.npy" 0 exact
  done
done
# the reference kernels on one case
w=$tmp/run_c_f32_a
"$bin" encode --model "$tmp/c_f32" --frames-npy "$tmp/frames_a.npy" --out "$w/ref_be" --backend ref --quiet || die "encode ref"
cmp "reference backend vision output" "$w/ref_be/merged.npy" "$w/ref/merged.npy" 1e-4
"$bin" forward --model "$tmp/c_f32" --backend ref --input-ids "$w/ids.npy" --visual "$w/ref_be/merged.npy" \
  --grid-thw "$w/ref_be/grid_thw.npy" --out "$w/ref_be/logits.npy" > /dev/null 2>&1 || die "forward ref"
cmp "reference backend logits" "$w/ref_be/logits.npy" "$w/ref/logits.npy" 1e-4

"$py" "$oracle" compare-list "$tmp/compare.list" > "$tmp/compare.log" 2>&1
while IFS= read -r line; do
  case "$line" in
    "ok "*) passed=$((passed + 1)); echo "ok   ${line#ok }" ;;
    "FAIL "*) failed=$((failed + 1)); echo "FAILED: ${line#FAIL }" ;;
  esac
done < "$tmp/compare.log"
n_cmp=$(grep -c . "$tmp/compare.list")
n_res=$(grep -c -E '^(ok|FAIL) ' "$tmp/compare.log")
[ "$n_cmp" -eq "$n_res" ] || { failed=$((failed + 1)); echo "FAILED: $n_res comparison results for $n_cmp: $(tail -2 "$tmp/compare.log")"; }
echo "TB-RESULT: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
