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
 "methods": [{"name": "tango", "params": {"sinks": ""}}, {"name": "fastv"}, {"name": "dart"}, {"name": "visionzip"}, {"name": "vidcom2"},
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
expected=33
[ $((passed + failed)) -eq $expected ] || { echo "FAILED: $((passed + failed)) results, expected $expected"; failed=$((failed + 1)); }

# The model's real depth reaches the pruners: on a 4-layer LLM the realised retention is still r,
# and Tango's LLaVA-Video path (asked for with "family": "llava-video" on a one-newline checkpoint,
# so that grid newline rows do not come on top of its budget) moves its stage to layer
# round(18 * 4 / 28) = 3 and its pre-LLM ratio to 4r / 3.5.
"$bin" make-tiny-model --llm-layers 4 --image-size 384 "$tmp/model4" > /dev/null || die "make-tiny-model 4"
for family in llava-ov llava-video; do
  sed -e "s#$tmp/model\"#$tmp/model4\"#" -e "s#\"family\": \"llava-ov\"#\"family\": \"$family\"#" \
      -e 's#"methods": \[.*#"methods": [{"name": "tango", "params": {"sinks": ""}}, {"name": "visionzip"}, {"name": "holitom"}],#' \
      -e '/^             {"name": "holitom"}/d; /^             {"name": "topk"}/d' "$tmp/cfg.json" > "$tmp/cfg4$family.json"
  "$bin" run --config "$tmp/cfg4$family.json" --db "$tmp/r4$family.db" --quiet > "$tmp/run4.log" 2>&1 ||
    die "run 4 layers ($family): $(cat "$tmp/run4.log")"
  n4=0
  while IFS='|' read -r method target realised layers status; do
    n4=$((n4 + 1))
    if [ "$status" = ok ] && [ "$layers" = 4 ] &&
       awk -v a="$realised" -v b="$target" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.005) }'; then
      passed=$((passed + 1))
    else
      echo "FAILED: 4 layers, $family, $method at r=$target: realised $realised over $layers layers ($status)"
      failed=$((failed + 1))
    fi
  done < <(sqlite3 "$tmp/r4$family.db" "SELECT r.method, json_extract(r.params, '$.ratio'), s.equiv_retention,
                                         (SELECT count(*) FROM layer_tokens l WHERE l.run_key = s.run_key
                                          AND l.sample_id = s.sample_id), s.status
                                         FROM samples s JOIN runs r USING (run_key) ORDER BY 1, 2")
  [ $n4 -eq 9 ] || { echo "FAILED: 4 layers, $family: $n4 results, expected 9"; failed=$((failed + 1)); }
done
# Tango's stage as the engine ran it: three layers on the whole block, half of it from layer 3
stage=$(sqlite3 "$tmp/r4llava-video.db" "SELECT group_concat(l.visual, ',') FROM layer_tokens l JOIN runs r USING (run_key)
                                          WHERE r.method = 'tango' AND json_extract(r.params, '$.ratio') = 0.1
                                          GROUP BY l.sample_id")
if awk -F, '{ exit !(NF == 4 && $1 == $2 && $2 == $3 && $4 < $3) }' <<< "$stage"; then passed=$((passed + 1))
else echo "FAILED: Tango on 4 layers should prune before layer 3, got per-layer tokens $stage"; failed=$((failed + 1)); fi
echo "TB-RESULT: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
