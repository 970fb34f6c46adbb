#!/bin/sh
# tests/export/starve.c against a segment of its own: a tracked program
# leaves its leak record in it (so /metrics has something to render), then
# the starvation run; the segment is removed however it ends.
#   starve.sh BUILD [MAX_MS]   (MAX_MS: a check; without: a BENCH line)
set -e
B=$1
SHM=/ttmem-starve-$$
trap '"$B/ttmem" rm --force "$SHM" >/dev/null 2>&1 || true' EXIT
"$B/ttmem" run -q --shm "$SHM" -- "$B/examples/bin/leak" --chip 1 >/dev/null
"$B/tests/export/starve" "$B/ttmem" "$SHM" ${2:+"$2"}
