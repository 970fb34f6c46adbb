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
# Ratios come twice: of wall times, and ("_cpu") of the CPU time the
# processes themselves used (wait4), which other load on a shared machine
# disturbs less.
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
		"/dev/shm$SEG-cmp" "/dev/shm$SEG-cmp-small" "/dev/shm$SEG-cmp-large"
}
trap cleanup EXIT INT TERM

# "WALL CPU" ns of one run of a command: timeit N [VAR=VALUE]... CMD...
# (timeit itself never preloaded).
ns() {
	env -u LD_PRELOAD "$TIMEIT" "$@" | awk '$1 == "ns_per_run" { print $2, $4 }'
}

# The segments, created once (creation is measured on its own below) and
# used once, untimed: a segment in service has had its pages touched (the
# first touch of a tmpfs page anywhere zeroes it, a cost of the segment's
# first user, not of each program).
# The compared build has segments of its own (made by it: its layout may be
# another ABI).
for s in "$SEG" "$SEG-small" "$SEG-large" ${COMPARE:+"$SEG-cmp" "$SEG-cmp-small" "$SEG-cmp-large"}; do
	case $s in
	*-small) cap=$SMALL ;; *-large) cap=$LARGE ;; *) cap= ;;
	esac
	case $s in *-cmp*) lib=$COMPARE ;; *) lib=$PRELOAD ;; esac
	env TTMEM_SHM="$s" ${cap:+TTMEM_CAPACITY=$cap} LD_PRELOAD="$lib" "$IDLE"
	env TTMEM_SHM="$s" LD_PRELOAD="$lib" "$MESH" --chips 32 --runs "$RUNS" >/dev/null
done

# rec NAME N CMD...: one timing of CMD appended to $tmp/NAME.{wall,cpu}.
rec() {
	name=$1; shift
	set -- $(ns "$@")
	echo "$1" >>"$tmp/$name.wall"
	echo "$2" >>"$tmp/$name.cpu"
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
		rec small.cmp 1 TTMEM_SHM="$SEG-cmp-small" LD_PRELOAD="$COMPARE" \
			"$MESH" --chips 32 --runs "$RUNS"
		rec large.cmp 1 TTMEM_SHM="$SEG-cmp-large" LD_PRELOAD="$COMPARE" \
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

# best NAME: the least disturbed run, wall and CPU.
best() {
	for k in wall cpu; do
		if [ -s "$tmp/$1.$k" ]; then sort -n "$tmp/$1.$k" | head -n 1; else echo 0; fi
	done | paste -sd' '
}

{
	for n in mesh32.base mesh32.ttmem mesh32.cmp mesh8.base mesh8.ttmem mesh8.cmp small large \
		 small.cmp large.cmp start.base start.ttmem start.off start.cmp start.create; do
		echo "$n $(best "$n")"
	done
} | awk -v runs="$RUNS" -v reps="$REPS" -v cmp="$COMPARE" -v small="$SMALL" -v large="$LARGE" '
{ wall[$1] = $2; cpu[$1] = $3 }
function ratio(a, b) { return b > 0 ? a / b : 0 }
# line NAME A B: both ratios (wall, CPU) of runs A and B
function pair(name, a, b) {
	printf "BENCH %s %.2f x\n", name, ratio(wall[a], wall[b])
	printf "BENCH %s_cpu %.2f x\n", name, ratio(cpu[a], cpu[b])
}
END {
	ms = 1e6; us = 1e3
	printf "BENCH cycle_repetitions %d runs\n", reps
	printf "BENCH mesh_cycles_per_process %d cycles\n", runs
	for (c = 32; c >= 8; c -= 24) {
		b = "mesh" c ".base"; t = "mesh" c ".ttmem"
		printf "BENCH mesh%d_untracked_ms %.1f ms\n", c, wall[b] / ms
		printf "BENCH mesh%d_ttmem_ms %.1f ms\n", c, wall[t] / ms
		printf "BENCH mesh%d_untracked_cpu_ms %.1f ms\n", c, cpu[b] / ms
		printf "BENCH mesh%d_ttmem_cpu_ms %.1f ms\n", c, cpu[t] / ms
		pair("mesh" c "_tracked_vs_untracked", t, b)
		printf "BENCH mesh%d_added_cpu_ms_per_cycle %.2f ms\n", c, (cpu[t] - cpu[b]) / runs / ms
		if (cmp != "")
			pair("compare_mesh" c "_tracked_vs_untracked", "mesh" c ".cmp", b)
	}
	printf "BENCH mesh32_ttmem_ms_at_%d_slots %.1f ms\n", small, wall["small"] / ms
	printf "BENCH mesh32_ttmem_ms_at_%d_slots %.1f ms\n", large, wall["large"] / ms
	printf "BENCH mesh32_ttmem_cpu_ms_at_%d_slots %.1f ms\n", small, cpu["small"] / ms
	printf "BENCH mesh32_ttmem_cpu_ms_at_%d_slots %.1f ms\n", large, cpu["large"] / ms
	pair("mesh32_slots_" large "_vs_" small, "large", "small")
	if (cmp != "")
		pair("compare_mesh32_slots_" large "_vs_" small, "large.cmp", "small.cmp")
	printf "BENCH process_start_exit_untracked_us %.0f us\n", wall["start.base"] / us
	printf "BENCH process_start_exit_ttmem_us %.0f us\n", wall["start.ttmem"] / us
	printf "BENCH process_start_exit_added_us %.0f us\n", (wall["start.ttmem"] - wall["start.base"]) / us
	printf "BENCH process_start_exit_added_cpu_us %.0f us\n", (cpu["start.ttmem"] - cpu["start.base"]) / us
	printf "BENCH process_start_exit_disabled_added_us %.0f us\n", (wall["start.off"] - wall["start.base"]) / us
	if (cmp != "")
		printf "BENCH compare_process_start_exit_added_us %.0f us\n", (wall["start.cmp"] - wall["start.base"]) / us
	printf "BENCH process_start_creating_segment_us %.0f us\n", wall["start.create"] / us
}'
echo "bench: targets: mesh32_tracked_vs_untracked <= 1.5, mesh32_slots_${LARGE}_vs_${SMALL} <= 1.2" >&2
