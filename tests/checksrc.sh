#!/usr/bin/env bash
# Style and layering gate (scripts/checksrc): the tree is clean, and the checker does catch what it
# claims to (a banned call, an include that points up, one that points sideways, a private header),
# shown on a scratch copy of the script next to planted files.
set -u
passed=0 failed=0
check() { local name=$1; shift; if "$@"; then passed=$((passed + 1)); else echo "FAILED: $name"; failed=$((failed + 1)); fi; }
out=$(scripts/checksrc 2>&1); rc=$?
check "the tree is clean ($out)" test $rc = 0

tmp=$(mktemp -d) # outside any git work tree: checksrc then scans the folders themselves
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/scripts" "$tmp/tango" "$tmp/engine" "$tmp/baselines" "$tmp/harness"
cp scripts/checksrc "$tmp/scripts/"
planted() { # name, file, content, expected text in the output
  printf '%s\n' "$3" > "$tmp/$2"
  local o; o=$(cd "$tmp" && scripts/checksrc 2>&1); local r=$?
  check "$1 is caught" test $r = 1
  check "$1 is named" grep -q "$4" <<< "$o"
  rm -f "$tmp/$2"
}
planted "an upward include" tango/up.c '#include "harness/flops.h"' "tango/ may not include harness/"
planted "a sideways include" engine/side.c '#include "datasets/datasets.h"' "engine/ may not include datasets/"
planted "a private header" baselines/priv.c '#include "tango/tg_internal.h"' "private to tango/"
planted "a banned call" harness/bad.c 'void f(char *d) { strcpy(d, "x"); }' "strcpy"
printf '#include "tango/pruner.h"\n#include "common/rng.h"\n' > "$tmp/baselines/ok.c"
check "a downward include of a public header passes" sh -c "cd '$tmp' && scripts/checksrc > /dev/null"
echo "TB-RESULT: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
