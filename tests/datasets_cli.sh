#!/usr/bin/env bash
# datasets_cli.sh - tango-bench samples / fetch end to end: --json output keys and prompts on the
# spec's verbatim records, bad input exit codes, and fetch + samples through the cache against the
# loopback server (tests/fixtures/datasets/server.py, stopped at the end).
set -u
BIN=${TB_BIN:-build/tango-bench}
PY=${PYTHON:-/usr/bin/python3}
FIX=tests/fixtures/datasets
T=${TB_BUILD:-build}/tmp/datasets_cli.$$
mkdir -p "$T"
pass=0; fail=0; srv=
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
ok() { pass=$((pass + 1)); echo "ok   $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else ko "$name"; fi; }

# --- samples --json on the verbatim records ------------------------------------------------------
"$BIN" samples videomme --manifest $FIX/videomme.jsonl --videos /v --json > "$T/vmme.jsonl" 2> "$T/err"
check "samples videomme exit 0" test $? -eq 0
check "samples videomme json" "$PY" - "$T/vmme.jsonl" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 2, lines
o = json.loads(lines[0])
assert list(o) == ["id", "benchmark", "video", "start", "end", "question", "options", "gold", "categories", "prompt"], list(o)
assert o["id"] == "001-1" and o["benchmark"] == "videomme" and o["gold"] == "C"
assert o["video"] == "/v/fFjv93ACGo8.mp4" and o["start"] is None and o["end"] is None
assert o["options"] == ["Apples.", "Candles.", "Berries.", "The three kinds are of the same number."]
assert o["categories"] == {"duration": "short", "domain": "Knowledge", "sub_category": "Humanity & History",
                           "task_type": "Counting Problem"}, o["categories"]
assert o["prompt"] == ("\nThese are the frames of a video. Select the best answer to the following multiple-choice "
    "question based on the video. Respond with only the letter (A, B, C, or D) of the correct option.\nQuestion: " +
    o["question"] + "\nA. Apples.\nB. Candles.\nC. Berries.\nD. The three kinds are of the same number.\nAnswer: ")
EOF

"$BIN" samples mvbench --manifest $FIX/mvbench --videos /m --json --limit 1 > "$T/mvb.jsonl"
check "samples mvbench json" "$PY" - "$T/mvb.jsonl" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1
o = json.loads(lines[0])
assert o["id"] == "action_sequence_0" and o["gold"] == "A" and o["categories"] == {"task": "action_sequence"}
assert o["video"] == "/m/video/star/Charades_v1_480/ZS9XR.mp4", o["video"]
assert o["prompt"].endswith("(D) Took the box.\nOnly give the best option.Best option:("), o["prompt"]
EOF

"$BIN" samples mvbench --manifest $FIX/mvbench --json --convention lmms-eval > "$T/mvb2.jsonl"
check "samples mvbench lmms-eval" "$PY" -c "
import json,sys; o=json.loads(open('$T/mvb2.jsonl').readline())
assert o['prompt'].startswith('Question:What happened') and o['prompt'].endswith('Only give the best option.\n')"

"$BIN" samples longvideobench --manifest $FIX/lvb_val.json --videos /l --json > "$T/lvb.jsonl"
check "samples longvideobench json" "$PY" -c "
import json; L=[json.loads(l) for l in open('$T/lvb.jsonl')]
assert [o['gold'] for o in L]==['B','E'] and L[1]['options'][4].startswith('Extending')
assert L[0]['video']=='/l/videos/86CxyhFV9MI.mp4' and L[0]['categories']['duration_group']=='600'
assert L[0]['prompt'].endswith(\"\nAnswer with the option's letter from the given choices directly.\")"

"$BIN" samples mlvu --manifest $FIX/mlvu --json --family llava-video > "$T/mlvu.jsonl"
check "samples mlvu llava-video" "$PY" -c "
import json; L=[json.loads(l) for l in open('$T/mlvu.jsonl')]
assert [o['categories']['task'] for o in L]==['plotQA','needle']
p=L[0]['prompt']; assert p.startswith('The video lasts for {DUR} seconds,and {H} frames')
assert 'question.Question: What color' in p and p.endswith('(D) Blue\nOnly give the best option.')"

# --- bad input ---------------------------------------------------------------------------------
"$BIN" samples nobench --manifest $FIX/lvb_val.json > /dev/null 2> "$T/err"; rc=$?
check "samples unknown benchmark -> 2" test $rc -eq 2
"$BIN" samples mlvu --family gpt > /dev/null 2> "$T/err"; rc=$?
check "samples bad family -> 2" test $rc -eq 2
"$BIN" samples mvbench --manifest "$T/none.json" > /dev/null 2> "$T/err"; rc=$?
check "samples missing manifest -> 1 naming it" bash -c "[ $rc -eq 1 ] && grep -q none.json '$T/err' && [ \$(wc -l < '$T/err') -eq 1 ]"
printf '[{"video": "../x.mp4", "question": "q", "candidates": ["a", "b"], "answer": "a"}]' > "$T/bad.json"
"$BIN" samples mvbench --manifest "$T/bad.json" > /dev/null 2> "$T/err"; rc=$?
check "samples traversal -> 1" bash -c "[ $rc -eq 1 ] && grep -q 'escapes the videos root' '$T/err'"
"$BIN" samples mlvu --manifest $FIX/mlvu --convention lmms-eval > /dev/null 2> "$T/err"; rc=$?
check "samples mlvu lmms-eval unsupported" bash -c "[ $rc -ne 0 ] && grep -q 'sy1998/MLVU_dev' '$T/err'"
"$BIN" fetch mvbench --offline --cache "$T/empty" > /dev/null 2> "$T/err"; rc=$?
check "fetch --offline without cache -> 1" bash -c "[ $rc -eq 1 ] && grep -q 'not in the cache' '$T/err'"
"$BIN" fetch > /dev/null 2>&1; rc=$?
check "fetch without BENCH -> 2" test $rc -eq 2

# --- fetch through the loopback server, then samples from the cache ------------------------------
"$PY" $FIX/server.py $FIX "$T/port" "$T/requests.log" 30 & srv=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
port=$(cat "$T/port" 2>/dev/null)
check "server started" test -n "$port"
HF_ENDPOINT=http://127.0.0.1:$port/token HF_TOKEN=secret-token TB_RETRY_BASE_MS=1 \
    "$BIN" fetch longvideobench --cache "$T/cache" > "$T/out" 2> "$T/err"; rc=$?
check "fetch longvideobench via loopback" bash -c "[ $rc -eq 0 ] && grep -q '2 samples' '$T/out'"
check "token never printed" bash -c "! grep -q secret-token '$T/out' '$T/err' && ! grep -rq secret-token '$T/cache'"
HF_ENDPOINT=http://127.0.0.1:$port/auth TB_RETRY_BASE_MS=1 "$BIN" fetch longvideobench --cache "$T/c2" > /dev/null 2> "$T/err"; rc=$?
check "fetch 401 message" bash -c "[ $rc -eq 1 ] && grep -q \"accept the dataset's terms\" '$T/err' && grep -q HF_TOKEN '$T/err'"
"$BIN" samples longvideobench --cache "$T/cache" --videos /l --json > "$T/lvbc.jsonl"
check "samples from the cache" cmp -s "$T/lvbc.jsonl" "$T/lvb.jsonl"
"$BIN" fetch longvideobench --cache "$T/cache" --offline > "$T/out" 2>&1
check "fetch --offline verifies" grep -q 'cache verified' "$T/out"

echo "TB-RESULT: $pass passed, $fail failed, 0 skipped"
[ $fail -eq 0 ]
