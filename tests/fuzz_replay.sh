#!/usr/bin/env bash
# fuzz_replay.sh - every libFuzzer harness (tests/fuzz/fuzz_*.c) replays its seed corpus
# (tests/fuzz/corpus/<name>/) and every past crash input (tests/fuzz/crashes/<name>/) through
# its suite build, BUILD/tests/fuzz/replay_<name> (tests/fuzz/replay.c): one test per harness.
# Under `make asan` the replay runs with AddressSanitizer and UBSan, so a memory error, a leak or
# undefined behaviour on any of those inputs fails the suite, as a crash does in every build.
set -u
B=${TB_BUILD:-build}
pass=0; fail=0
for src in tests/fuzz/fuzz_*.c; do
  name=$(basename "$src" .c); short=${name#fuzz_}
  bin=$B/tests/fuzz/replay_$short
  if [ ! -x "$bin" ]; then echo "FAIL $name: $bin not built"; fail=$((fail + 1)); continue; fi
  n_seeds=$(find "tests/fuzz/corpus/$short" -type f 2>/dev/null | wc -l)
  if [ "$n_seeds" -eq 0 ]; then echo "FAIL $name: no seed corpus in tests/fuzz/corpus/$short"; fail=$((fail + 1)); continue; fi
  out=$(timeout 300 "$bin" "tests/fuzz/corpus/$short" "tests/fuzz/crashes/$short" 2>&1); rc=$?
  if [ $rc -eq 0 ]; then
    echo "ok   $name: $(echo "$out" | tail -1)"; pass=$((pass + 1))
  else
    echo "FAIL $name (exit $rc)"; echo "$out" | tail -20 | sed 's/^/    /'; fail=$((fail + 1))
  fi
done
echo "TB-RESULT: $pass passed, $fail failed, 0 skipped"
[ $fail -eq 0 ]
