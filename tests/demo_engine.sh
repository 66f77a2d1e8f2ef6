#!/usr/bin/env bash
# The PyTorch twin of the engine that trains the demo model (scripts/demo-model/tinyov.py) computes
# what the C engine computes: on a tiny LLaVA-OneVision checkpoint (make-tiny-model at 112 px,
# 4 decoder layers) and two videos of the salient synthetic benchmark, the harness's frames,
# pooled features, SigLIP head attention and global vectors, and the logits of every row after
# <image> for the real MVBench prompts agree within 1e-3 (float64 twin), with no argmax difference.
# A change to the engine that the twin does not follow (or the reverse) fails here, so a model
# trained with the twin runs in the harness as it was trained.
# Needs python3 with torch and numpy (scripts/install-deps); prints TB-SKIP without them.
set -u
bin=${TB_BIN:-build/tango-bench}
py=${PYTHON:-/usr/bin/python3}
tmp=${TB_BUILD:-build}/tmp/demo-engine-$$
if ! "$py" -c "import torch, numpy" 2> /dev/null; then
  echo "TB-SKIP: $py has no torch/numpy (scripts/install-deps installs python3-torch)"
  exit 0
fi
rm -rf "$tmp" && mkdir -p "$tmp"
"$bin" make-tiny-model --image-size 112 --llm-layers 4 "$tmp/model" > /dev/null || { echo "make-tiny-model failed"; exit 1; }
"$bin" synth --suite salient --videos 2 --seed 1 "$tmp/synth" > /dev/null || { echo "synth failed"; exit 1; }
"$py" scripts/demo-model/check_engine.py --tango-bench "$bin" --model "$tmp/model" --bench "$tmp/synth" --videos 2
rc=$?
rm -rf "$tmp"
exit $rc
