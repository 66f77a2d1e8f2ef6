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
[ -n "${TB_KEEP:-}" ] && trap - EXIT
ok() { pass=$((pass + 1)); echo "ok   $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else ko "$name"; fi; }
one_line() { [ "$(wc -l < "$1")" -eq 1 ]; }
export -f one_line

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

# --- NaN in weights and inputs: refused with the file and the element --------------------------
npy() {  # npy FILE DTYPE(f4|i8) SHAPE(comma list) VALUES(comma list, nan allowed)
  "$PY" - "$@" <<'EOS'
import struct, sys
path, dt, shape, vals = sys.argv[1:5]
shape = tuple(int(x) for x in shape.split(",") if x)
vals = [float(v) for v in vals.split(",")]
n = 1
for d in shape: n *= d
vals = (vals * n)[:n]
hdr = "{'descr': '<%s', 'fortran_order': False, 'shape': (%s), }" % (dt, "".join("%d, " % d for d in shape))
hdr += " " * ((64 - (10 + len(hdr) + 1) % 64) % 64) + "\n"
data = struct.pack("<%d%s" % (n, "f" if dt == "f4" else "q"), *([v for v in vals] if dt == "f4" else [int(v) for v in vals]))
open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + data)
EOS
}
"$BIN" make-tiny-model "$T/tiny" > /dev/null
npy "$T/ids.npy" i8 3 1,-200,2
npy "$T/vis.npy" f4 2,64 0.5,nan
"$BIN" forward --model "$T/tiny" --input-ids "$T/ids.npy" --visual "$T/vis.npy" --assembled --out "$T/lg.npy" > "$T/out" 2> "$T/err"; rc=$?
check "NaN: visual tokens -> 1 naming file and element" bash -c "[ $rc -eq 1 ] && grep -q 'vis.npy: element 1 is NaN' '$T/err' && one_line '$T/err'"
npy "$T/px.npy" f4 1,3,100,100 0.25,0.5,nan
"$BIN" encode --model "$T/tiny" --pixels "$T/px.npy" --out "$T/enc" > "$T/out" 2> "$T/err"; rc=$?
check "NaN: pixels -> 1 naming file and element" bash -c "[ $rc -eq 1 ] && grep -q 'px.npy: element 2 is NaN' '$T/err' && one_line '$T/err'"
"$PY" - "$T/tiny/model.safetensors" <<'EOS'
import json, struct, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
t = h["model.layers.0.self_attn.q_proj.weight"]
o = 8 + n + t["data_offsets"][0] + 4 * 7
b[o:o + 4] = struct.pack("<f", float("inf"))
open(p, "wb").write(bytes(b))
EOS
npy "$T/vis.npy" f4 2,64 0.5
"$BIN" forward --model "$T/tiny" --input-ids "$T/ids.npy" --visual "$T/vis.npy" --assembled --out "$T/lg.npy" > "$T/out" 2> "$T/err"; rc=$?
check "NaN: an Inf weight -> 1 naming tensor and element" bash -c "[ $rc -eq 1 ] && grep -q 'tensor model.layers.0.self_attn.q_proj.weight: element 7 is +Inf' '$T/err' && one_line '$T/err'"

# --- databases: reading commands never create one; merge names its inputs; read-only files ------
for c in "runs --db" "report --out $T/rep --db" "export --run abcdef --format csv --db" "compare abcdef 123456 --db"; do
  "$BIN" $c "$T/mistyped.db" > "$T/out" 2> "$T/err"; rc=$?
  check "db: ${c%% *} on a mistyped path -> 1, nothing created" bash -c "[ $rc -eq 1 ] && grep -q 'mistyped.db: no such database' '$T/err' && [ ! -e '$T/mistyped.db' ]"
done
cp tests/fuzz/corpus/store_merge/two_runs.db "$T/shard0.db"
"$BIN" merge "$T/merged.db" "$T/shard0.db" "$T/shrad1.db" > "$T/out" 2> "$T/err"; rc=$?
check "db: merge with a mistyped shard -> 1, no output, no new shard" bash -c "[ $rc -eq 1 ] && grep -q 'shrad1.db: no such database' '$T/err' && [ ! -e '$T/merged.db' ] && [ ! -e '$T/shrad1.db' ]"
mkdir -p "$T/ro" && cp tests/fuzz/corpus/store_merge/two_runs.db "$T/ro/study.db"
"$BIN" runs --db "$T/ro/study.db" > /dev/null 2>&1   # WAL mode from here on, cleanly closed
chmod 0444 "$T/ro/study.db"; chmod 0555 "$T/ro"
as_reader() { if [ "$(id -u)" -eq 0 ]; then setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; else "$@"; fi; }
as_reader "$BIN" runs --db "$T/ro/study.db" > "$T/out" 2> "$T/err"; rc=$?
check "db: a WAL database in a read-only place is read" bash -c "[ $rc -eq 0 ] && grep -q fastv '$T/out'"
mkdir -p "$T/w" && chmod 0777 "$T/w"
as_reader "$BIN" merge "$T/w/merged.db" "$T/ro/study.db" > "$T/out" 2> "$T/err"; rc=$?
chmod 0755 "$T/ro"; chmod 0644 "$T/ro/study.db"
check "db: a read-only WAL shard merges" bash -c "[ $rc -eq 0 ] && grep -q '2 new runs' '$T/out'" 

# --- run --dry-run checks what the real run would refuse on every sample --------------------------
cfg() {  # cfg FILE METHOD_JSON [CONVENTION] [BENCH] [FAMILY]
  printf '{"models": [{"name": "t", "path": "%s", "family": "%s"}], "benchmarks": [{"name": "%s", "manifest": "%s", "convention": "%s"}], "methods": [%s], "ratios": [0.5]}' \
    "$T/tiny" "${5:-llava-ov}" "${4:-mvbench}" "$FIX/mvbench" "${3:-vlmevalkit}" "$2" > "$1"
}
cfg "$T/c-ok.json" '{"name": "fastv", "params": {"k": 2}}'
"$BIN" run --config "$T/c-ok.json" --dry-run > "$T/out" 2> "$T/err"; rc=$?
check "dry-run: a good config -> 0" bash -c "[ $rc -eq 0 ] && grep -q 'method fastv' '$T/out'"
cfg "$T/c-k.json" '{"name": "fastv", "params": {"k": 99}}'
"$BIN" run --config "$T/c-k.json" --dry-run > "$T/out" 2> "$T/err"; rc=$?
check "dry-run: an out-of-range parameter -> 1 naming it" bash -c "[ $rc -eq 1 ] && grep -q 'method fastv {\"k\":99} at ratio 0.5' '$T/err' && one_line '$T/err'"
cfg "$T/c-u.json" '{"name": "tango", "params": {"bogus": 1}}'
"$BIN" run --config "$T/c-u.json" --dry-run > "$T/out" 2> "$T/err"; rc=$?
check "dry-run: an unknown parameter -> 1 naming it" bash -c "[ $rc -eq 1 ] && grep -q 'bogus' '$T/err' && one_line '$T/err'"
"$BIN" run --config "$T/c-u.json" --db "$T/c-u.db" > "$T/out" 2> "$T/err"; rc=$?
check "run: an unknown parameter -> 1 before anything is stored" bash -c "[ $rc -eq 1 ] && grep -q 'bogus' '$T/err' && [ ! -e '$T/c-u.db' ]"
cfg "$T/c-mlvu.json" '{"name": "full"}' lmms-eval mlvu
sed -i "s|$FIX/mvbench|$FIX/mlvu|" "$T/c-mlvu.json"
"$BIN" run --config "$T/c-mlvu.json" --dry-run > "$T/out" 2> "$T/err"; rc=$?
check "dry-run: lmms-eval prompts for MLVU -> 1" bash -c "[ $rc -eq 1 ] && grep -q 'convention lmms-eval' '$T/err' && one_line '$T/err'"
cfg "$T/c-vid.json" '{"name": "full"}' lmms-eval mvbench llava-video
"$BIN" run --config "$T/c-vid.json" --dry-run > "$T/out" 2> "$T/err"; rc=$?
check "dry-run: lmms-eval prompts for LLaVA-Video -> 1" bash -c "[ $rc -eq 1 ] && grep -q 'llava-video' '$T/err' && one_line '$T/err'"

# --- the feature cache serves only what the request would compute --------------------------------
"$BIN" synth "$T/syn" > /dev/null
"$BIN" make-tiny-model "$T/tiny-fc" > /dev/null
V=$(find "$T/syn" -name '*.mp4' | sort | head -1)
"$BIN" encode --model "$T/tiny-fc" --video "$V" --frames 2 --cache "$T/fc" --out "$T/e2" > /dev/null 2>&1
e2=$(ls "$T/fc")
"$BIN" encode --model "$T/tiny-fc" --video "$V" --frames 6 --cache "$T/fc" --out "$T/e6" > /dev/null 2>&1
e6=$(ls "$T/fc" | grep -v "$e2")
for f in "$T/fc/$e2"/*.npy; do cp "$f" "$T/fc/$e6/"; done   # a self-consistent 2-frame entry under the 6-frame key
"$BIN" encode --model "$T/tiny-fc" --video "$V" --frames 6 --cache "$T/fc" --out "$T/e6b" > "$T/out" 2> "$T/err"; rc=$?
check "feature cache: a tampered self-consistent entry is refused" bash -c "[ $rc -eq 1 ] && grep -q 'info.npy: 2 frames of' '$T/err' && grep -q '(6 frames' '$T/err'"

# --- a full disk mid-run: the run stops with an error, nothing is lost, a rerun completes ---------
printf '{"models": [{"name": "t", "path": "%s", "frames": 2}], "benchmarks": [{"name": "mvbench", "manifest": "%s", "videos": "%s", "max_new_tokens": 2}], "methods": [{"name": "full"}]}' \
  "$T/tiny-fc" "$T/syn/json" "$T/syn/videos" > "$T/c-full.json"
"$BIN" run --config "$T/c-full.json" --db "$T/ref.db" --quiet > /dev/null 2>&1
(trap '' XFSZ; ulimit -f 200; exec "$BIN" run --config "$T/c-full.json" --db "$T/full.db" --quiet) > "$T/out" 2> "$T/err"; rc=$?
rows=$(sqlite3 "$T/full.db" "SELECT count(*) FROM samples")
check "disk full: the run stops with an error naming the database" bash -c "[ $rc -eq 1 ] && grep -q 'full.db: committing a sample' '$T/err' && [ $rows -gt 0 ] && [ $rows -lt 16 ]"
check "disk full: the database is intact" test "$(sqlite3 "$T/full.db" 'PRAGMA integrity_check')" = ok
"$BIN" run --config "$T/c-full.json" --db "$T/full.db" --quiet > /dev/null 2>&1
rowdump() { sqlite3 "$1" "SELECT s.sample_id, s.status, s.correct, quote(s.raw_output), (SELECT count(*) FROM timings t WHERE t.run_key = s.run_key AND t.sample_id = s.sample_id), (SELECT count(*) FROM layer_tokens t WHERE t.run_key = s.run_key AND t.sample_id = s.sample_id) FROM samples s ORDER BY 1"; }
check "disk full: after a rerun, exactly the rows of an uninterrupted run" diff <(rowdump "$T/ref.db") <(rowdump "$T/full.db")

# --- unclear messages ----------------------------------------------------------------------------
"$BIN" report --db "$T/shard0.db" --format "" --out "$T/rep" > "$T/out" 2> "$T/err"; rc=$?
check "message: report --format '' -> 2, no (null)" bash -c "[ $rc -eq 2 ] && grep -q \"format '' names no format\" '$T/err' && ! grep -q null '$T/err'"
"$BIN" flops --method nosuch --ratio 0.1 > "$T/out" 2> "$T/err"; rc=$?
check "message: flops --method nosuch -> 2 listing the methods" bash -c "[ $rc -eq 2 ] && grep -q \"'nosuch' is not a known method (tango, fastv\" '$T/err'"
"$BIN" make-tiny-model "$T/tiny-max" > /dev/null
sed -i 's/"mm_spatial_pool_mode":[^,]*/"mm_spatial_pool_mode": "max"/' "$T/tiny-max/config.json"
npy "$T/px1.npy" f4 1,3,100,100 0.25
"$BIN" encode --model "$T/tiny-max" --pixels "$T/px1.npy" --out "$T/enc2" > "$T/out" 2> "$T/err"; rc=$?
check "message: mm_spatial_pool_mode max -> 1 naming config.json" bash -c "[ $rc -eq 1 ] && grep -q 'tiny-max/config.json: field mm_spatial_pool_mode: unsupported value \"max\"' '$T/err' && one_line '$T/err'"
printf '{"models": [{"name": "t", "path": "${TB_UNSET_X:-${TB_NESTED}}/m"}], "benchmarks": [{"name": "mvbench", "manifest": "m"}], "methods": [{"name": "full"}]}' > "$T/c-env.json"
TB_NESTED=/nested "$BIN" run --config "$T/c-env.json" --dry-run > "$T/out" 2> "$T/err"; rc=$?
check "message: \${A:-\${B}} expands without a stray brace" bash -c "[ $rc -eq 0 ] && grep -q 'model t: /nested/m (' '$T/out'"
mkdir -p "$T/badtok" && echo '{"a": 0, "b": 1}' > "$T/badtok/vocab.json" && printf '\x01\x1b[31mX\xff a\n' > "$T/badtok/merges.txt"
"$BIN" tokenize --tokenizer "$T/badtok" --text hi > "$T/out" 2> "$T/err"; rc=$?
check "message: a binary merges.txt is quoted, not echoed raw" bash -c "[ $rc -eq 1 ] && grep -q 'unknown token \"\\\\x01\\\\x1b\[31mX\\\\xff\"' '$T/err' && ! grep -q \$'\\x1b' '$T/err'"

echo "TB-RESULT: $pass passed, $fail failed, 0 skipped"
[ $fail -eq 0 ]
