#!/usr/bin/env bash
# Style gate: no banned C functions, no exit() outside harness/main.c (scripts/checksrc).
exec scripts/checksrc
