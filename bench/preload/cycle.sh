#!/bin/sh
# make bench, cost part: what tracking adds to whole programs, side by side
# in one run (each figure the best of TTMEM_BENCH_REPS interleaved runs).
#   - mesh open/allocate/close cycles (mesh_allocation --runs 20) on 32 and
#     8 chips, tracked vs untracked: the releases at close;
#   - the same 32-chip cycle at 4,096 and 4,194,304 slots: whether anything
#     still grows with the table's capacity;
#   - process start and exit of a program that only loads the runtime,
#     tracked (attaching an existing segment; creating it) vs untracked.
# TTMEM_BENCH_COMPARE=/path/to/other/libttmem.so measures another build in
# the same interleaved runs ("compare_*" lines: before/after figures).
#
# Usage: cycle.sh [BUILD]   Environment: TTMEM_BENCH_REPS (default 7),
# TTMEM_BENCH_RUNS (mesh cycles per process, default 20),
# TTMEM_BENCH_STARTS (process starts per timing, default 40).
# Output: "BENCH <name> <value> <unit>" lines on stdout, notes on stderr.
set -eu

B=${1:-build}
PRELOAD=$(realpath "$B/libttmem.so")
COMPARE=${TTMEM_BENCH_COMPARE:+$(realpath "$TTMEM_BENCH_COMPARE")}
MESH="$B/examples/bin/mesh_allocation"
IDLE="$B/bench/preload/idle"
TIMEIT="$B/bench/preload/timeit"
REPS=${TTMEM_BENCH_REPS:-7}
RUNS=${TTMEM_BENCH_RUNS:-20}
STARTS=${TTMEM_BENCH_STARTS:-40}
SMALL=4096
LARGE=4194304

tmp=$(mktemp -d)
SEG="/ttmem-bench-cycle-$$"
cleanup() {
	rm -rf "$tmp"
	rm -f "/dev/shm$SEG" "/dev/shm$SEG-small" "/dev/shm$SEG-large" "/dev/shm$SEG-new" \
		"/dev/shm$SEG-cmp"
}
trap cleanup EXIT INT TERM

# ns of one run of a command: "timeit N [VAR=VALUE]... CMD..." / N (timeit
# itself never preloaded).
ns() {
	env -u LD_PRELOAD "$TIMEIT" "$@" | awk '$1 == "ns_per_run" { print $2 }'
}

# The segments, created once (creation is measured on its own below).
for s in "$SEG" "$SEG-small" "$SEG-large" "$SEG-cmp"; do
	case $s in
	*-small) cap=$SMALL ;; *-large) cap=$LARGE ;; *) cap= ;;
	esac
	env TTMEM_SHM="$s" ${cap:+TTMEM_CAPACITY=$cap} LD_PRELOAD="$PRELOAD" "$IDLE"
done

# rec NAME CMD...: one timing of CMD appended to $tmp/NAME.
rec() {
	name=$1; shift
	ns "$@" >>"$tmp/$name"
}

i=0
while [ "$i" -lt "$REPS" ]; do
	for chips in 32 8; do
		rec "mesh$chips.base" 1 -u LD_PRELOAD "$MESH" --chips "$chips" --runs "$RUNS"
		rec "mesh$chips.ttmem" 1 TTMEM_SHM="$SEG" LD_PRELOAD="$PRELOAD" \
			"$MESH" --chips "$chips" --runs "$RUNS"
		[ -z "$COMPARE" ] || rec "mesh$chips.cmp" 1 TTMEM_SHM="$SEG-cmp" \
			LD_PRELOAD="$COMPARE" "$MESH" --chips "$chips" --runs "$RUNS"
	done
	rec small 1 TTMEM_SHM="$SEG-small" LD_PRELOAD="$PRELOAD" "$MESH" --chips 32 --runs "$RUNS"
	rec large 1 TTMEM_SHM="$SEG-large" LD_PRELOAD="$PRELOAD" "$MESH" --chips 32 --runs "$RUNS"
	if [ -n "$COMPARE" ]; then
		rec small.cmp 1 TTMEM_SHM="$SEG-small" LD_PRELOAD="$COMPARE" \
			"$MESH" --chips 32 --runs "$RUNS"
		rec large.cmp 1 TTMEM_SHM="$SEG-large" LD_PRELOAD="$COMPARE" \
			"$MESH" --chips 32 --runs "$RUNS"
	fi
	rec start.base "$STARTS" -u LD_PRELOAD "$IDLE"
	rec start.ttmem "$STARTS" TTMEM_SHM="$SEG" LD_PRELOAD="$PRELOAD" "$IDLE"
	rec start.off "$STARTS" TTMEM_SHM="$SEG" TTMEM_DISABLE=1 LD_PRELOAD="$PRELOAD" "$IDLE"
	[ -z "$COMPARE" ] || rec start.cmp "$STARTS" TTMEM_SHM="$SEG-cmp" \
		LD_PRELOAD="$COMPARE" "$IDLE"
	# The first tracked program creates the (default, 64 MiB) segment.
	rm -f "/dev/shm$SEG-new"
	rec start.create 1 TTMEM_SHM="$SEG-new" LD_PRELOAD="$PRELOAD" "$IDLE"
	i=$((i + 1))
done

best() {
	[ -s "$tmp/$1" ] && sort -n "$tmp/$1" | head -n 1 || echo 0
}

awk -v runs="$RUNS" -v starts="$STARTS" -v reps="$REPS" \
    -v b32="$(best mesh32.base)" -v t32="$(best mesh32.ttmem)" -v c32="$(best mesh32.cmp)" \
    -v b8="$(best mesh8.base)" -v t8="$(best mesh8.ttmem)" -v c8="$(best mesh8.cmp)" \
    -v sm="$(best small)" -v lg="$(best large)" -v smc="$(best small.cmp)" -v lgc="$(best large.cmp)" \
    -v sb="$(best start.base)" -v st="$(best start.ttmem)" -v so="$(best start.off)" \
    -v sc="$(best start.cmp)" -v cr="$(best start.create)" -v cmp="$COMPARE" \
    -v small="$SMALL" -v large="$LARGE" 'BEGIN {
	ms = 1e6; us = 1e3
	printf "BENCH cycle_repetitions %d runs\n", reps
	printf "BENCH mesh_cycles_per_process %d cycles\n", runs
	printf "BENCH mesh32_untracked_ms %.1f ms\n", b32 / ms
	printf "BENCH mesh32_ttmem_ms %.1f ms\n", t32 / ms
	printf "BENCH mesh32_tracked_vs_untracked %.2f x\n", t32 / b32
	printf "BENCH mesh32_added_ms_per_cycle %.2f ms\n", (t32 - b32) / runs / ms
	printf "BENCH mesh8_untracked_ms %.1f ms\n", b8 / ms
	printf "BENCH mesh8_ttmem_ms %.1f ms\n", t8 / ms
	printf "BENCH mesh8_tracked_vs_untracked %.2f x\n", t8 / b8
	printf "BENCH mesh8_added_ms_per_cycle %.2f ms\n", (t8 - b8) / runs / ms
	printf "BENCH mesh32_ttmem_ms_at_%d_slots %.1f ms\n", small, sm / ms
	printf "BENCH mesh32_ttmem_ms_at_%d_slots %.1f ms\n", large, lg / ms
	printf "BENCH mesh32_slots_%d_vs_%d %.2f x\n", large, small, lg / sm
	printf "BENCH process_start_exit_untracked_us %.0f us\n", sb / us
	printf "BENCH process_start_exit_ttmem_us %.0f us\n", st / us
	printf "BENCH process_start_exit_added_us %.0f us\n", (st - sb) / us
	printf "BENCH process_start_exit_disabled_added_us %.0f us\n", (so - sb) / us
	printf "BENCH process_start_creating_segment_us %.0f us\n", cr / us
	if (cmp != "") {
		printf "BENCH compare_mesh32_tracked_vs_untracked %.2f x\n", c32 / b32
		printf "BENCH compare_mesh8_tracked_vs_untracked %.2f x\n", c8 / b8
		printf "BENCH compare_mesh32_ttmem_ms_at_%d_slots %.1f ms\n", small, smc / ms
		printf "BENCH compare_mesh32_ttmem_ms_at_%d_slots %.1f ms\n", large, lgc / ms
		printf "BENCH compare_mesh32_slots_%d_vs_%d %.2f x\n", large, small, lgc / smc
		printf "BENCH compare_process_start_exit_added_us %.0f us\n", (sc - sb) / us
	}
}'
echo "bench: targets: mesh32_tracked_vs_untracked <= 1.5, mesh32_slots_${LARGE}_vs_${SMALL} <= 1.2" >&2
