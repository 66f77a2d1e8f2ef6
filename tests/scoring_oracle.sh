#!/usr/bin/env bash
# The scoring conventions against the peers' own functions: tests/peers/compare.py scores the
# corpus of hard raw outputs (tests/peers/corpus.jsonl) with `tango-bench score` under each
# convention and with the matching peer (VLMEvalKit copies of xjtupanda/Tango@cc815b6 and
# open-compass/VLMEvalKit@e8e78f0; lmms-eval 0.7.1 and 0.7.3 from PyPI), per benchmark, and prints
# the agreement table. Needs the pinned environment of tests/peers/oracle-env ($TB_PEERS_VENV,
# default tests/.venv-peers); without it this is an
# oracle skip (a failure under CI=true). Prints "TB-RESULT: N passed, N failed, N skipped".
set -u
bin=${TB_BIN:-build/tango-bench}
venv=${TB_PEERS_VENV:-tests/.venv-peers}
if [ ! -f "$venv/.complete" ] || ! "$venv/bin/python" -c 'import pandas, openpyxl, xlsxwriter, yaml, loguru' 2>/dev/null; then
  echo "TB-SKIP: scoring_oracle: oracle: no peer environment in $venv (build it with tests/peers/oracle-env; it needs PyPI)"
  echo "TB-RESULT: 0 passed, 0 failed, 1 skipped"
  exit 0
fi
"$venv/bin/python" tests/peers/compare.py --bin "$bin" --venv "$venv"
