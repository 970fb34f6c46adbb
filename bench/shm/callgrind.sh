#!/bin/sh
# Instructions per insert+remove pair (50% load, 65,536 slots), from
# callgrind: two runs that differ only in the number of pairs, so the setup
# cancels out.  Deterministic: comparable across machines.
#   callgrind.sh BENCH_BINARY
set -eu
bin=$1
command -v valgrind >/dev/null 2>&1 || { echo "# valgrind not installed: skipped"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ir() {
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$1" "$bin" --pairs "$1" >/dev/null 2>&1
	sed -n 's/^summary: //p' "$tmp/cg.$1"
}
a=$(ir 100000)
b=$(ir 300000)
echo "BENCH shm_pair_instructions_callgrind $(( (b - a) / 200000 )) instructions"
