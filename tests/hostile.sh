#!/usr/bin/env bash
# hostile.sh - issue 14 end to end: what an attacker or a careless user feeds the command line
# (HF_TOKEN echoed back by a server, mistyped database paths, bad method parameters, stuck
# downloads, escaping videos, NaN inputs, ...). Each check names the finding it guards; every
# failure here was a real defect once. Uses the loopback server of tests/fixtures/datasets.
set -u
BIN=${TB_BIN:-build/tango-bench}
PY=${PYTHON:-/usr/bin/python3}
FIX=tests/fixtures/datasets
T=${TB_BUILD:-build}/tmp/hostile.$$
mkdir -p "$T"
pass=0; fail=0; srv=
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
ok() { pass=$((pass + 1)); echo "ok   $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else ko "$name"; fi; }
one_line() { [ "$(wc -l < "$1")" -eq 1 ]; }

"$PY" $FIX/server.py $FIX "$T/port" "$T/requests.log" 120 & srv=$!
for _ in $(seq 200); do [ -s "$T/port" ] && break; sleep 0.05; done
port=$(cat "$T/port" 2>/dev/null)
check "server started" test -n "$port"
URL=http://127.0.0.1:$port

# --- HF_TOKEN is never printed, whatever echoes it ---------------------------------------------
SECRET=hf_SeCrEt0123456789
HF_ENDPOINT=$URL/echo HF_TOKEN=$SECRET TB_RETRY_MAX=0 "$BIN" fetch mvbench --cache "$T/c-echo" > "$T/out" 2> "$T/err"; rc=$?
check "token: echoing error page -> 1, redacted" bash -c "[ $rc -eq 1 ] && grep -q 'HTTP 400' '$T/err' && ! grep -q $SECRET '$T/out' '$T/err'"
HF_DATASETS_SERVER=$URL/echo HF_TOKEN=$SECRET TB_RETRY_MAX=0 "$BIN" fetch videomme --cache "$T/c-echo" > "$T/out" 2> "$T/err"; rc=$?
check "token: echoing viewer error -> 1, redacted" bash -c "[ $rc -eq 1 ] && grep -q 'cannot serve' '$T/err' && ! grep -q $SECRET '$T/out' '$T/err'"
HF_TOKEN=$SECRET "$BIN" samples mvbench --manifest "$T/$SECRET.json" > "$T/out" 2> "$T/err"; rc=$?
check "token: any printed line is redacted (a path)" bash -c "[ $rc -eq 1 ] && grep -q 'cannot open' '$T/err' && ! grep -q $SECRET '$T/err'"

# --- one bad record does not fail a whole benchmark ---------------------------------------------
HF_ENDPOINT=$URL/traversal TB_RETRY_MAX=0 "$BIN" fetch mlvu --cache "$T/c-mlvu" > "$T/out" 2> "$T/err"; rc=$?
check "fetch: one escaping MLVU record -> 0, rejected alone" bash -c "[ $rc -eq 0 ] && grep -q '8 samples' '$T/out' && grep -q '1 record rejected' '$T/out' && grep -q 'outside.mp4' '$T/out'"

# --- videos: '..' and symbolic links leading out of the videos root --------------------------------
mkdir -p "$T/vroot" "$T/outside" "$T/man"
echo x > "$T/outside/a.mp4"
ln -s "$(cd "$T/outside" && pwd)" "$T/vroot/2_needle"
rec='"question": "q", "candidates": ["x", "y"], "answer": "x"'
printf '[{"video": "a.mp4", %s}]' "$rec" > "$T/man/2_needle.json"
"$BIN" samples mlvu --manifest "$T/man/2_needle.json" --videos "$T/vroot" > "$T/out" 2> "$T/err"; rc=$?
check "videos: a link out of the root -> 1 naming file and record" bash -c "[ $rc -eq 1 ] && grep -q \"2_needle.json: record 0: video path '2_needle/a.mp4' resolves to\" '$T/err' && grep -q 'outside the videos root' '$T/err' && [ \$(wc -l < '$T/err') -eq 1 ]"
printf '[{"video": "../a.mp4", %s}]' "$rec" > "$T/man/2_needle.json"
"$BIN" samples mlvu --manifest "$T/man/2_needle.json" --videos "$T/vroot" > "$T/out" 2> "$T/err"; rc=$?
check "videos: '..' -> 1 naming file and record" bash -c "[ $rc -eq 1 ] && grep -q \"2_needle.json: record 0: field 'video'\" '$T/err'"

echo "TB-RESULT: $pass passed, $fail failed, 0 skipped"
[ $fail -eq 0 ]
