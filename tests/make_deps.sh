#!/usr/bin/env bash
# make_deps.sh - `make -j` on a fresh machine: no compile may start before scripts/install-deps
# has finished (issue 14: make -j2 started compiling while apt was still installing, and failed
# with "curl/curl.h: No such file or directory"). A slow stand-in for install-deps
# (INSTALL_DEPS=) marks when it is done; a stand-in compiler (CC=) records any call made before.
set -u
T=${TB_BUILD:-build}/tmp/make_deps.$$
mkdir -p "$T"
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; }
cat > "$T/deps" <<EOS
#!/bin/sh
sleep 2
touch "$T/deps-done"
EOS
cat > "$T/cc" <<EOS
#!/bin/sh
[ -f "$T/deps-done" ] || echo "\$*" >> "$T/early"
out=
while [ \$# -gt 0 ]; do [ "\$1" = -o ] && out=\$2; shift; done
[ -n "\$out" ] && mkdir -p "\$(dirname "\$out")" && : > "\$out"
exit 0
EOS
chmod +x "$T/deps" "$T/cc"
make -j4 --no-print-directory BUILD="$T/b" INSTALL_DEPS="$T/deps" CC="$T/cc" all > "$T/log" 2>&1; rc=$?
if [ $rc -eq 0 ] && [ -f "$T/deps-done" ] && [ ! -s "$T/early" ]; then ok "make -j4 all: no compile before install-deps"
else ko "make -j4 all: rc=$rc, compiles before install-deps: $(wc -l < "$T/early" 2>/dev/null || echo 0)"; tail -5 "$T/log"; fi
rm -f "$T/deps-done" "$T/early"; rm -rf "$T/b"
make -j4 --no-print-directory BUILD="$T/b" INSTALL_DEPS="$T/deps" CC="$T/cc" "$T/b/tests/test_npy" > "$T/log" 2>&1; rc=$?
if [ $rc -eq 0 ] && [ -f "$T/deps-done" ] && [ ! -s "$T/early" ]; then ok "make -j4 one test program: install-deps first"
else ko "make -j4 one test program: rc=$rc, install-deps ran: $([ -f "$T/deps-done" ] && echo yes || echo no)"; fi
echo "TB-RESULT: $pass passed, $fail failed, 0 skipped"
[ $fail -eq 0 ]
