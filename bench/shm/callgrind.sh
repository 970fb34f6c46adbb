#!/bin/sh
# Instructions per insert+remove pair (50% load, 65,536 slots; by key, and
# at the slot the insert returned), from
# callgrind: two runs that differ only in the number of pairs, so the setup
# cancels out.  Deterministic: comparable across machines.
#   callgrind.sh BENCH_BINARY
set -eu
bin=$1
command -v valgrind >/dev/null 2>&1 || { echo "# valgrind not installed: skipped"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ir() {
	valgrind --tool=callgrind --error-exitcode=1 --callgrind-out-file="$tmp/cg.$1$2" \
		"$bin" "$2" "$1" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
	sed -n 's/^summary: //p' "$tmp/cg.$1$2"
}
a=$(ir 100000 --pairs)
b=$(ir 300000 --pairs)
echo "BENCH shm_pair_instructions_callgrind $(( (b - a) / 200000 )) instructions"
# The pair as the preload makes it for a one-chip buffer: the remove at the
# slot the insert returned (no lookup).
a=$(ir 100000 --pairs-at)
b=$(ir 300000 --pairs-at)
echo "BENCH shm_pair_at_slot_instructions_callgrind $(( (b - a) / 200000 )) instructions"
