#!/bin/sh
# make bench, stale segments: how long a tracked program is held by a
# segment left stale (an empty file, or all zeros, as a creator killed while
# creating it leaves), against the same program creating the segment anew
# and attaching to a healthy one, measured side by side (interleaved runs).
#
# Each figure is the median of TTMEM_BENCH_REPS (default 9) runs of
# mesh_allocation under the preload, wall time in ms (fork + exec + the
# workload + what ttmem adds).  TTMEM_BENCH_COMPARE=/path/to/libttmem.so
# measures another build of the preload in the same runs ("compare_" lines:
# before/after figures).
# Output: "BENCH <name> <value> <unit>" lines on stdout.
set -eu

B=${1:-build}
WL="$B/examples/bin/mesh_allocation"
PRELOAD=$(realpath "$B/libttmem.so")
COMPARE=${TTMEM_BENCH_COMPARE:+$(realpath "$TTMEM_BENCH_COMPARE")}
REPS=${TTMEM_BENCH_REPS:-9}
SEG="/dev/shm/ttmem-bench-stale-$$"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; rm -f "$SEG"' EXIT INT TERM

now_us() { echo $(( $(date +%s%N) / 1000 )); }

# One tracked run of the workload on $SEG prepared as $1; appends the wall
# time (us) to $tmp/$2.
run() {
	case $1 in
	none) rm -f "$SEG" ;;
	empty) rm -f "$SEG"; : > "$SEG" ;;
	zeros) rm -f "$SEG"; head -c 1048576 /dev/zero > "$SEG" ;;
	healthy) [ -s "$SEG" ] || TTMEM_SHM="$SEG" LD_PRELOAD="$3" "$WL" >/dev/null 2>&1 ;;
	esac
	t0=$(now_us)
	TTMEM_SHM="$SEG" LD_PRELOAD="$3" "$WL" >/dev/null 2>"$tmp/err" || {
		echo "bench-stale: $WL failed:" >&2; cat "$tmp/err" >&2; exit 1; }
	echo $(( $(now_us) - t0 )) >> "$tmp/$2"
}

median_ms() {
	sort -n "$tmp/$1" | awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] / 1000 }'
}

for i in $(seq "$REPS"); do
	for lib in "$PRELOAD" ${COMPARE:+"$COMPARE"}; do
		p=; [ "$lib" = "$PRELOAD" ] || p=compare_
		run none "${p}create" "$lib"
		run healthy "${p}attach" "$lib"
		run empty "${p}empty" "$lib"
		run zeros "${p}zeros" "$lib"
	done
done

for p in "" ${COMPARE:+compare_}; do
	c=$(median_ms "${p}create"); a=$(median_ms "${p}attach")
	e=$(median_ms "${p}empty"); z=$(median_ms "${p}zeros")
	echo "BENCH ${p}stale_run_create_ms $c ms"
	echo "BENCH ${p}stale_run_attach_ms $a ms"
	echo "BENCH ${p}stale_run_empty_segment_ms $e ms"
	echo "BENCH ${p}stale_run_zero_segment_ms $z ms"
	echo "BENCH ${p}stale_host_delay_ms $(echo "$e $c" | awk '{ printf "%.1f", $1 - $2 }') ms"
done
