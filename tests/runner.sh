#!/usr/bin/env bash
# Integration test of `tango-bench run` on a tiny model and the synthetic benchmark:
#   1. a small sweep completes; a corrupt video and a malformed record are stored as failed
#      samples while the run goes on;
#   2. a run killed with SIGKILL at random moments and restarted ends with exactly the rows of
#      the uninterrupted run (no loss, no duplicates);
#   3. two shards merged equal the single run;
#   4. the report holds the expected rows; compare flags an injected regression;
#   5. the run key follows the manifest's content: a copy elsewhere keeps it, an edit changes it.
# Prints "TB-RESULT: N passed, N failed, N skipped".
set -u
bin=${TB_BIN:-build/tango-bench}
tmp=${TB_BUILD:-build}/tmp/runner-$$
rm -rf "$tmp" && mkdir -p "$tmp"
passed=0 failed=0
check() { # name, then a command that must succeed
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name"; fi
}
die() { echo "setup failed: $*"; echo "TB-RESULT: $passed passed, $((failed + 1)) failed, 0 skipped"; exit 1; }

# ---- 0. configs: the shipped ones parse; bad ones are one clear error naming the field
for c in configs/*.json; do
  check "config $c parses" sh -c "'$bin' run --config '$c' --dry-run > /dev/null"
done
bad_config() { # name, json, expected message fragment
  printf '%s' "$2" > "$tmp/bad.json"
  out=$("$bin" run --config "$tmp/bad.json" --dry-run 2>&1); rc=$?
  if [ "$rc" = 1 ] && printf '%s' "$out" | grep -qF -- "$3"; then passed=$((passed + 1));
  else failed=$((failed + 1)); echo "FAILED: $1 (exit $rc: $out)"; fi
}
ok_model='"models":[{"path":"m"}],"benchmarks":[{"name":"mvbench"}]'
bad_config "unknown field" "{$ok_model,\"methods\":[{\"name\":\"full\"}],\"ratio\":[0.1]}" "unknown field 'ratio'"
bad_config "unknown method" "{$ok_model,\"methods\":[{\"name\":\"fastvv\"}],\"ratios\":[0.1]}" "'fastvv' is not a known method"
bad_config "ratio out of range" "{$ok_model,\"methods\":[{\"name\":\"tango\"}],\"ratios\":[1.5]}" "ratios[0] must be a number in (0, 1]"
bad_config "method without ratios" "{$ok_model,\"methods\":[{\"name\":\"tango\"}]}" "needs at least one entry in ratios"
bad_config "malformed json" "{\"models\": [" "malformed JSON"
bad_config "unknown method parameter" "{$ok_model,\"methods\":[{\"name\":\"tango\",\"params\":{\"tau_x\":1}}],\"ratios\":[0.1]}" "'tau_x' is not a parameter of tango"
bad_config "a method twice without labels" "{$ok_model,\"methods\":[{\"name\":\"tango\"},{\"name\":\"tango\",\"params\":{\"alpha\":2}}],\"ratios\":[0.1]}" "appears twice with the same label"
bad_config "model ratios out of range" "{\"models\":[{\"path\":\"m\",\"ratios\":[0]}],\"benchmarks\":[{\"name\":\"mvbench\"}],\"methods\":[{\"name\":\"tango\"}]}" "ratios[0] must be a number in (0, 1]"
# per-model ratios (Figure 6) and labelled variants (Table 3) in the grid the dry run prints
TB_MODELS=/m TB_DATA=/d "$bin" run --config configs/fig6_frame_scaling_llava_ov.json --dry-run > "$tmp/fig6.txt" 2>&1
check "fig6: each frame count at its own ratio" sh -c "grep -q '(fig6-frame-scaling-llava-ov): 28 runs' '$tmp/fig6.txt' && grep -q '128 frames, cpu), its own ratios: 25%' '$tmp/fig6.txt' && grep -q '32 frames, cpu), its own ratios: none' '$tmp/fig6.txt'"
TB_MODELS=/m TB_DATA=/d "$bin" run --config configs/table3_components_llava_ov.json --dry-run > "$tmp/t3.txt" 2>&1
check "table3: labelled variants with their switches" grep -q 'method tango ("+ w/ div.") {"selection":"diversity","st_rope":"off","time":"seconds"}' "$tmp/t3.txt"
bad_config "unset variable" "{\"models\":[{\"path\":\"\${TB_SURELY_UNSET_VAR}/m\"}],\"benchmarks\":[{\"name\":\"mvbench\"}],\"methods\":[{\"name\":\"full\"}]}" "TB_SURELY_UNSET_VAR is not set"

"$bin" run --config configs/demo.json --shard 2/2 --dry-run > /dev/null 2>&1
check "bad --shard is a usage error" test $? = 2
"$bin" infer --model x --video y --question q --options "A. a|B. b" --method nope > "$tmp/infer.log" 2>&1
check "infer with an unknown method is a usage error" sh -c "test $? = 2 && grep -q \"unknown method 'nope'\" '$tmp/infer.log'"

# ---- Qwen2.5-VL at the paper's 32 frames: a 16:9 video is 16 slices of 12x21 units = 4,032
# visual tokens; the session's context once allowed 64 units per slice (3,072 tokens in all)
"$bin" synth --videos 2 --frames 40 --width 640 --height 360 "$tmp/synth169" > /dev/null || die "synth 16:9"
"$bin" make-tiny-model --family qwen2.5-vl "$tmp/tinyq" > /dev/null || die "make-tiny-model qwen"
"$bin" infer --model "$tmp/tinyq" --video "$tmp/synth169/videos/scene_qa/video/synth_01.mp4" --question q \
  --options "A. a|B. b" --frames 32 --max-new-tokens 1 > "$tmp/infer_q.log" 2>&1
check "qwen2.5-vl infer at 32 frames, full tokens (4,032 visual)" grep -q "4032 of 4032 visual tokens" "$tmp/infer_q.log"

# ---- data: tiny model (real depth, so FastV's K=2 exists), synthetic benchmark, two faults
"$bin" make-tiny-model --llm-layers 28 "$tmp/model" > /dev/null || die "make-tiny-model"
"$bin" synth --videos 5 --frames 60 "$tmp/synth" > /dev/null || die "synth"
# corrupt one video (keep its header, cut its data) and add a record that lacks "answer"
victim=$(ls "$tmp"/synth/videos/clevrer/video_validation/*.mp4 | head -1)
head -c 3000 "$victim" > "$tmp/cut.mp4" && mv "$tmp/cut.mp4" "$victim"
/usr/bin/python3 - "$tmp/synth/json/scene_transition.json" <<'EOF' || die "manifest edit"
import json, sys
p = sys.argv[1]
recs = json.load(open(p))
recs.append({"video": "synth_01.mp4", "question": "How many cuts?", "candidates": ["0", "1"]})
json.dump(recs, open(p, "w"))
EOF
cat > "$tmp/cfg.json" <<EOF
{"name": "runner-test",
 "models": [{"name": "tiny", "path": "$tmp/model", "family": "llava-ov", "frames": 6}],
 "benchmarks": [{"name": "mvbench", "manifest": "$tmp/synth/json", "videos": "$tmp/synth/videos",
                 "max_new_tokens": 4}],
 "methods": [{"name": "full"}, {"name": "tango", "params": {"sinks": ""}}, {"name": "fastv"},
             {"name": "random"}],
 "ratios": [0.2]}
EOF
dump() { # the rows that define a study, independent of timing and creation time
  sqlite3 "$1" "SELECT r.run_key, r.method, s.sample_id, s.status, s.correct, s.parse_failed,
                       quote(s.raw_output), quote(s.parsed), quote(s.error), s.n_visual_in, s.equiv_retention,
                       (SELECT group_concat(visual) FROM layer_tokens t
                         WHERE t.run_key = s.run_key AND t.sample_id = s.sample_id)
                FROM samples s JOIN runs r USING (run_key) ORDER BY 1, 3"
}

# ---- 1. the uninterrupted run
"$bin" run --config "$tmp/cfg.json" --db "$tmp/full.db" --quiet > "$tmp/run.log" 2>&1 || die "run: $(cat "$tmp/run.log")"
n_rows=$(sqlite3 "$tmp/full.db" "SELECT count(*) FROM samples")
check "4 runs x 11 samples" test "$n_rows" = 44
check "every run finished" test "$(sqlite3 "$tmp/full.db" "SELECT count(*) FROM runs WHERE status = 'ok'")" = 4
n_bad_video=$(sqlite3 "$tmp/full.db" "SELECT count(*) FROM samples WHERE status = 'failed' AND error LIKE '%$(basename "$victim")%'")
check "corrupt video failed in every run (2 questions x 4 runs)" test "$n_bad_video" = 8
n_bad_rec=$(sqlite3 "$tmp/full.db" "SELECT count(*) FROM samples WHERE status = 'failed' AND error LIKE '%answer%'")
check "malformed record failed in every run" test "$n_bad_rec" = 4
check "other samples answered" test "$(sqlite3 "$tmp/full.db" "SELECT count(*) FROM samples WHERE status = 'ok' AND raw_output IS NOT NULL")" = 32
check "fastv plan visible per layer" test "$(sqlite3 "$tmp/full.db" "SELECT count(DISTINCT t.visual) FROM layer_tokens t JOIN runs r USING (run_key) WHERE r.method = 'fastv'")" -ge 2
check "quirks recorded per run" test "$(sqlite3 "$tmp/full.db" "SELECT quirks FROM runs WHERE method = 'tango'")" != ""
check "method knobs recorded per sample" test "$(sqlite3 "$tmp/full.db" "SELECT count(*) FROM samples s JOIN runs r USING (run_key) WHERE r.method = 'fastv' AND json_valid(s.method_json)")" = 8
check "peak memory measured for every sample" test "$(sqlite3 "$tmp/full.db" "SELECT count(*) FROM samples WHERE peak_bytes > 0")" = 44
check "the run names what peak_bytes is" test "$(sqlite3 "$tmp/full.db" "SELECT count(*) FROM runs WHERE code_version LIKE '% peak_bytes=sample' OR code_version LIKE '% peak_bytes=process'")" = 4
check "decoder wait recorded for every sample" test "$(sqlite3 "$tmp/full.db" "SELECT count(*) FROM samples WHERE decode_wait_ms >= 0")" = 44
"$bin" run --config "$tmp/cfg.json" --db "$tmp/inline.db" --decode-ahead 0 --quiet > "$tmp/inline.log" 2>&1
check "decoding inline (--decode-ahead 0) gives the same rows" diff <(dump "$tmp/full.db") <(dump "$tmp/inline.db")
check "rerun writes nothing" sh -c "'$bin' run --config '$tmp/cfg.json' --db '$tmp/full.db' --quiet | grep -q '0 results written'"
# the LLM is loaded once per model (the tiny model, like the real ones, has more embedding rows
# than its tokenizer has ids: the vocabulary limit is known before the load)
"$bin" run --config "$tmp/cfg.json" --db "$tmp/loads.db" --limit 1 > "$tmp/loads.log" 2>&1
check "the LLM is loaded once" grep -q 'LLM loads in this process: 1)' "$tmp/loads.log"

# ---- 2. SIGKILL at random moments, then resume until done
kills=0
for attempt in $(seq 1 40); do
  "$bin" run --config "$tmp/cfg.json" --db "$tmp/killed.db" --quiet > /dev/null 2>&1 &
  pid=$!
  sleep "0.$((RANDOM % 6 + 2))"
  if kill -0 "$pid" 2> /dev/null; then
    kill -9 "$pid" 2> /dev/null && kills=$((kills + 1))
    wait "$pid" 2> /dev/null
  else
    wait "$pid" && break
  fi
done
"$bin" run --config "$tmp/cfg.json" --db "$tmp/killed.db" --quiet > /dev/null 2>&1
check "killed $kills times, then the same rows" diff <(dump "$tmp/full.db") <(dump "$tmp/killed.db")
check "at least one kill landed mid-run" test "$kills" -ge 1
check "no duplicates after kills" test "$(sqlite3 "$tmp/killed.db" "SELECT count(*) FROM samples")" = "$n_rows"

# ---- 3. shards merged equal the single run
"$bin" run --config "$tmp/cfg.json" --db "$tmp/s0.db" --shard 0/2 --quiet > /dev/null 2>&1
"$bin" run --config "$tmp/cfg.json" --db "$tmp/s1.db" --shard 1/2 --quiet > /dev/null 2>&1
n0=$(sqlite3 "$tmp/s0.db" "SELECT count(*) FROM samples"); n1=$(sqlite3 "$tmp/s1.db" "SELECT count(*) FROM samples")
check "shards split the samples ($n0 + $n1)" test "$n0" -gt 0 -a "$n1" -gt 0 -a $((n0 + n1)) = "$n_rows"
"$bin" merge "$tmp/merged.db" "$tmp/s0.db" "$tmp/s1.db" > /dev/null
check "merged shards equal the single run" diff <(dump "$tmp/full.db") <(dump "$tmp/merged.db")
check "merged expected counts add up" test "$(sqlite3 "$tmp/merged.db" "SELECT sum(n_expected) FROM runs")" = "$n_rows"

# ---- 5. the run key hashes the manifest's content, not its path
key_cfg() { # manifest dir, tag -> writes a one-sample full-token config, prints its path
  cat > "$tmp/key-$2.json" <<EOF
{"name": "key", "models": [{"name": "tiny", "path": "$tmp/model", "family": "llava-ov", "frames": 6}],
 "benchmarks": [{"name": "mvbench", "manifest": "$1", "videos": "$tmp/synth/videos", "limit": 1,
                 "max_new_tokens": 2}],
 "methods": [{"name": "full"}]}
EOF
  echo "$tmp/key-$2.json"
}
run_key() { # config, db -> the run key of its one run
  "$bin" run --config "$1" --db "$2" --quiet > /dev/null 2>&1 && sqlite3 "$2" "SELECT run_key FROM runs"
}
mkdir -p "$tmp/elsewhere" && cp -r "$tmp/synth/json" "$tmp/elsewhere/copied"
k_orig=$(run_key "$(key_cfg "$tmp/synth/json" orig)" "$tmp/key-orig.db")
k_copy=$(run_key "$(key_cfg "$tmp/elsewhere/copied" copy)" "$tmp/key-copy.db")
check "run key: made" test -n "$k_orig"
check "run key: a copied manifest keeps it" test "$k_orig" = "$k_copy"
check "run key: the revision is the content digest, not the path" \
  sh -c "sqlite3 '$tmp/key-copy.db' 'SELECT revision FROM runs' | grep -qx 'sha256:[0-9a-f]\{64\}'"
/usr/bin/python3 - "$tmp/elsewhere/copied/scene_transition.json" <<'EOF' || die "record edit"
import json, sys
p = sys.argv[1]
recs = json.load(open(p))
recs[0]["question"] += " (edited)"
json.dump(recs, open(p, "w"))
EOF
k_edit=$(run_key "$(key_cfg "$tmp/elsewhere/copied" edit)" "$tmp/key-edit.db")
check "run key: an edited record changes it" test -n "$k_edit" -a "$k_edit" != "$k_orig"
# every scored answer carries its term in the convention's accuracy, the options for rescoring,
# and the run its convention and aggregation rule
check "scores and options stored" test "$(sqlite3 "$tmp/full.db" "SELECT count(*) FROM samples WHERE status = 'ok'
  AND (score IS NULL OR score != correct OR options IS NULL)")" = 0
check "run convention stored" test "$(sqlite3 "$tmp/full.db" "SELECT DISTINCT convention || ' ' || aggregate FROM runs")" = \
  "vlmevalkit micro"

# ---- 4. report and compare
"$bin" report --db "$tmp/full.db" --out "$tmp/report" > /dev/null 2>&1
check "report table has every method" sh -c "grep -q '| 100% | full |' '$tmp/report/table.md' && grep -q '| 20% | fastv |' '$tmp/report/table.md' && grep -q '| 20% | random |' '$tmp/report/table.md' && grep -q '| 20% | tango |' '$tmp/report/table.md'"
check "report counts failures" grep -q '| tiny | mvbench | tango | vlmevalkit | 0.200 | .* | 8/11 | 3 |' "$tmp/report/table.md"
check "report html and plots" test -s "$tmp/report/index.html" -a -s "$tmp/report/plots/latency_tiny.png" -a -s "$tmp/report/plots/layers_tiny_r20.svg"
# the HTML page: every image it names exists, and headless Chromium renders it without a
# console message (script errors, bad markup reported by the browser)
missing=0
for src in $(grep -o 'src="[^"]*"' "$tmp/report/index.html" | sed 's/src="//; s/"$//'); do
  [ -f "$tmp/report/$src" ] || { echo "missing $src"; missing=$((missing + 1)); }
done
check "every image of index.html exists" test "$missing" = 0
chrome=$(command -v chromium || command -v chromium-browser || true)
check "chromium is installed (scripts/install-deps)" test -n "$chrome"
if [ -n "$chrome" ]; then
  page="file://$(cd "$tmp/report" && pwd)/index.html"
  timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 \
      --dump-dom "$page" > "$tmp/dom.html" 2> "$tmp/chrome.log"
  check "chromium rendered the report" grep -q '<td>tango</td>' "$tmp/dom.html"
  check "no console messages while rendering" sh -c "! grep -q 'CONSOLE' '$tmp/chrome.log'"
fi
full_key=$(sqlite3 "$tmp/full.db" "SELECT run_key FROM runs WHERE method = 'full'")
tango_key=$(sqlite3 "$tmp/full.db" "SELECT run_key FROM runs WHERE method = 'tango'")
cp "$tmp/full.db" "$tmp/reg.db"
# inject: the full-token run answers everything right, Tango keeps its (tiny-model) answers
sqlite3 "$tmp/reg.db" "UPDATE samples SET correct = 1 WHERE run_key = '$full_key' AND status = 'ok'"
"$bin" compare --db "$tmp/reg.db" "$full_key" "$tango_key" > "$tmp/cmp.log" 2>&1
check "compare flags the injected regression (exit 3)" test $? = 3
check "compare prints the flip counts" grep -q "REGRESSION" "$tmp/cmp.log"
"$bin" compare --db "$tmp/full.db" "$tango_key" "$tango_key" > /dev/null 2>&1
check "a run compared with itself is no regression" test $? = 0

echo "TB-RESULT: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
