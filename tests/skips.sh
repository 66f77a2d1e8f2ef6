#!/usr/bin/env bash
# skips.sh - the test verdict is honest about skips (scripts/run-tests):
#   1. run-tests' counting on small fake tests: a cmocka-style program and a script that skip are
#      counted as skipped with their TB-SKIP reasons printed; a skip without a reason fails; with
#      CI=true an oracle skip ("oracle: ...") is a failure;
#   2. end to end on real test binaries with torch, numpy and Pillow hidden from $PYTHON (stub
#      modules that raise ImportError, first on PYTHONPATH): test_primitives counts its torch
#      oracle as one named skip and passes, test_npy's numpy oracle skip fails under CI=true.
# Prints "TB-RESULT: N passed, N failed, N skipped".
set -u
build=${TB_BUILD:-build}
tmp=$build/tmp/skips-$$
rm -rf "$tmp" && mkdir -p "$tmp"
passed=0 failed=0
check() { # name, then a command that must succeed
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name"; fi
}
has() { grep -qF -- "$2" "$1"; } # file, fixed string

# ---- 1. counting, on fake tests (TB_SCRIPTS and the build folder point at them) ----------------
fake=$tmp/fake
mkdir -p "$fake/build/tests" "$fake/scripts"
cat > "$fake/build/tests/test_fake_oracle" <<'EOF'
#!/bin/sh
echo "[  PASSED  ] 2 test(s)."
echo "TB-SKIP: test_vs_torch: oracle: /x/python cannot import torch (No module named 'torch')"
echo "[  SKIPPED ] 1 test(s), listed below:"
echo "[  SKIPPED ] test_vs_torch"
EOF
cat > "$fake/build/tests/test_fake_plain" <<'EOF'
#!/bin/sh
echo "[  PASSED  ] 3 test(s)."
echo "TB-SKIP: test_cuda: no CUDA backend: not built with CUDA"
echo "[  SKIPPED ] 1 test(s), listed below:"
EOF
cat > "$fake/scripts/fake_script.sh" <<'EOF'
echo "TB-SKIP: fake_script: encoder libfoo missing"
echo "TB-RESULT: 4 passed, 0 failed, 1 skipped"
EOF
chmod +x "$fake/build/tests/"test_fake_*
fake_run() { # out-file, extra env..., runs run-tests on the fakes
  local out=$1; shift
  env -u CI "$@" TB_SCRIPTS="$fake/scripts" TB_LOGDIR="$fake/logs" scripts/run-tests "$fake/build" > "$out" 2>&1
}
fake_run "$tmp/f1.out"
check "fake: exit 0 without CI" test $? = 0
check "fake: verdict counts the skips" has "$tmp/f1.out" "9 passed, 0 failed, 3 skipped"
check "fake: the oracle skip is named" has "$tmp/f1.out" "SKIP test_vs_torch: oracle: /x/python cannot import torch"
check "fake: the script skip is named" has "$tmp/f1.out" "SKIP fake_script: encoder libfoo missing"
fake_run "$tmp/f2.out" CI=true
check "fake: CI=true fails on an oracle skip" test $? != 0
check "fake: CI=true counts it as failed" has "$tmp/f2.out" "9 passed, 1 failed, 2 skipped"
check "fake: CI=true says why" has "$tmp/f2.out" "FAIL test_vs_torch: oracle:"
# a skip that does not say why fails
cat > "$fake/build/tests/test_fake_mute" <<'EOF'
#!/bin/sh
echo "[  PASSED  ] 1 test(s)."
echo "[  SKIPPED ] 1 test(s), listed below:"
EOF
chmod +x "$fake/build/tests/test_fake_mute"
fake_run "$tmp/f3.out"
check "fake: a skip without a reason fails" test $? != 0
check "fake: ... and is reported" has "$tmp/f3.out" "skip(s) without a TB-SKIP line"

# ---- 2. real binaries, oracles hidden ------------------------------------------------------------
real_py=${PYTHON:-/usr/bin/python3}
hide=$tmp/hide
mkdir -p "$hide/PIL"
for m in torch numpy; do echo "raise ImportError('$m hidden by tests/skips.sh')" > "$hide/$m.py"; done
echo "raise ImportError('PIL hidden by tests/skips.sh')" > "$hide/PIL/__init__.py"
cat > "$tmp/python" <<EOF
#!/bin/sh
PYTHONPATH='$hide' exec '$real_py' "\$@"
EOF
chmod +x "$tmp/python"
check "the stub hides torch" sh -c "! '$tmp/python' -c 'import torch' 2>/dev/null"
check "the stub keeps the standard library" "$tmp/python" -c 'import json, struct'
if [ -x "$build/tests/test_primitives" ] && [ -x "$build/tests/test_npy" ]; then
  env -u CI PYTHON="$tmp/python" TB_LOGDIR="$tmp/logs" scripts/run-tests "$build" test_primitives > "$tmp/r1.out" 2>&1
  check "no torch: test_primitives still passes" test $? = 0
  check "no torch: the torch oracle is one counted skip" grep -qE '^[0-9]+ passed, 0 failed, 1 skipped$' "$tmp/r1.out"
  check "no torch: the skip names the test and the reason" has "$tmp/r1.out" "SKIP test_torch_oracle: oracle: $tmp/python cannot import torch"
  env -u CI PYTHON="$tmp/python" TB_LOGDIR="$tmp/logs" scripts/run-tests "$build" test_npy > "$tmp/r2.out" 2>&1
  check "no numpy: test_npy passes with one skip" sh -c "test $? = 0 && grep -qE '^[0-9]+ passed, 0 failed, 1 skipped$' '$tmp/r2.out'"
  CI=true PYTHON="$tmp/python" TB_LOGDIR="$tmp/logs" scripts/run-tests "$build" test_npy > "$tmp/r3.out" 2>&1
  check "no numpy, CI=true: make test would fail" test $? != 0
  check "no numpy, CI=true: counted as failed" grep -qE '^[0-9]+ passed, 1 failed, 0 skipped$' "$tmp/r3.out"
else
  failed=$((failed + 1)); echo "FAILED: $build/tests/test_primitives and test_npy must be built first"
fi
for f in "$tmp"/*.out; do echo "== $f"; cat "$f"; done

rm -rf "$tmp"
echo "TB-RESULT: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
