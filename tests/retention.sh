#!/usr/bin/env bash
# Matched FLOP-equivalent retention on a real tiny-model run: for every method and every
# r in {0.10, 0.15, 0.20}, the realised equivalent retention that the engine reports (mean over
# the LLM's layers of the visual tokens each layer ran, over the unpruned block, paper Eq. 1) is
# within 0.005 of r. The tiny model has the real geometry where it matters: 384 px input (27x27
# patches, 14x14 pooled tokens per frame) and 28 decoder layers (FastV's K=2, layer 18 stages).
# uniform-frames moves in whole frames and is checked to be the closest reachable instead.
# Prints "TB-RESULT: N passed, N failed, N skipped".
set -u
bin=${TB_BIN:-build/tango-bench}
tmp=${TB_BUILD:-build}/tmp/retention-$$
rm -rf "$tmp" && mkdir -p "$tmp"
die() { echo "setup failed: $*"; echo "TB-RESULT: 0 passed, 1 failed, 0 skipped"; exit 1; }

"$bin" make-tiny-model --llm-layers 28 --image-size 384 "$tmp/model" > /dev/null || die "make-tiny-model"
"$bin" synth --videos 2 --frames 48 "$tmp/synth" > /dev/null || die "synth"
cat > "$tmp/cfg.json" <<EOF
{"name": "retention",
 "models": [{"name": "tiny384", "path": "$tmp/model", "family": "llava-ov", "frames": 8}],
 "benchmarks": [{"name": "mvbench", "manifest": "$tmp/synth/json", "videos": "$tmp/synth/videos",
                 "limit": 1, "max_new_tokens": 1}],
 "methods": [{"name": "tango", "params": {"sinks": ""}}, {"name": "fastv"}, {"name": "visionzip"},
             {"name": "holitom"}, {"name": "fastvid"}, {"name": "uniform"}, {"name": "random"},
             {"name": "topk"}, {"name": "uniform-frames"}],
 "ratios": [0.10, 0.15, 0.20]}
EOF
"$bin" run --config "$tmp/cfg.json" --db "$tmp/r.db" --quiet > "$tmp/run.log" 2>&1 || die "run: $(cat "$tmp/run.log")"

passed=0 failed=0
while IFS='|' read -r method target realised status; do
  if [ "$status" != ok ]; then
    echo "FAILED: $method at $target: sample failed"; failed=$((failed + 1)); continue
  fi
  if [ "$method" = uniform-frames ]; then
    tol=$(awk 'BEGIN { print 1.0 / 8 / 2 + 1e-9 }') # half a frame of 8
  else
    tol=0.005
  fi
  if awk -v a="$realised" -v b="$target" -v t="$tol" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; then
    passed=$((passed + 1))
  else
    echo "FAILED: $method at r=$target realised $realised (tolerance $tol)"; failed=$((failed + 1))
  fi
done < <(sqlite3 "$tmp/r.db" "SELECT r.method, json_extract(r.params, '$.ratio'), s.equiv_retention, s.status
                              FROM samples s JOIN runs r USING (run_key) ORDER BY 1, 2")
expected=27
[ $((passed + failed)) -eq $expected ] || { echo "FAILED: $((passed + failed)) results, expected $expected"; failed=$((failed + 1)); }
echo "TB-RESULT: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
