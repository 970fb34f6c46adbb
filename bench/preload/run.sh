#!/bin/sh
# make bench, preload part (issue 4, part 9): the cost libttmem.so adds to
# each tracked event of the churn workload, against the uninstrumented
# emulator and against the seed's design (each event sent over an AF_UNIX
# socket to a minimal server), plus instructions per event from callgrind.
#
# Each figure is the best of TTMEM_BENCH_REPS interleaved runs (the machine
# may be shared: the minimum is the least disturbed run).
#
# Usage: run.sh [BUILD]   Environment: TTMEM_BENCH_EVENTS (default 2000000),
# TTMEM_BENCH_REPS (default 7), TTMEM_BENCH_CALLGRIND=0 to skip callgrind,
# TTMEM_BENCH_COMPARE=/path/to/other/libttmem.so to measure another build of
# the preload in the same interleaved runs (before/after figures: the
# "compare_*" lines).
# TTMEM_BENCH_LAUNCHES (default 2000) program launches per launch run.
# The churn figures are measured on the 2025 runtime (G1: Buffer fields read
# at cross-checked offsets) and, in the same interleaved runs, on the 2026
# one (G3: every field through an exported getter): the "g3_" lines.
# Output: "BENCH <name> <value> <unit>" lines on stdout, notes on stderr.
set -eu

B=${1:-build}
CHURN="$B/examples/bin/churn"
PRELOAD=$(realpath "$B/libttmem.so")
SOCKLIB=$(realpath "$B/bench/preload/libsockclient.so")
SERVER="$B/bench/preload/sockserver"
COMPARE=${TTMEM_BENCH_COMPARE:+$(realpath "$TTMEM_BENCH_COMPARE")}
EVENTS=${TTMEM_BENCH_EVENTS:-2000000}
REPS=${TTMEM_BENCH_REPS:-7}
ARGS="--threads 1 --chips 1 --window 64 --seed 1"
G3_LIB=$(realpath "$B/examples/2026/gcc")

tmp=$(mktemp -d)
export TTMEM_SHM="/ttmem-bench-$$"
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	rm -rf "$tmp"
	rm -f "/dev/shm${TTMEM_SHM}" "/dev/shm${TTMEM_SHM}-cmp"
}
trap cleanup EXIT INT TERM

# The socket server, started once, ready when it says so (no sleeping).
mkfifo "$tmp/server.out"
"$SERVER" "$tmp/sock" >"$tmp/server.out" 2>"$tmp/server.err" &
server_pid=$!
read -r ready <"$tmp/server.out"
[ "$ready" = ready ] || { echo "bench: socket server did not start" >&2; exit 1; }

# ns per event of one churn run: "events E elapsed_ns NS ns_per_event X".
churn_ns() {
	"$@" $ARGS --events "$EVENTS" | awk '$1 == "events" { print $6 }'
}

best() {
	sort -n | head -n 1
}

: >"$tmp/base"; : >"$tmp/ttmem"; : >"$tmp/socket_ns"; : >"$tmp/compare"; : >"$tmp/depth0"
: >"$tmp/g3base"; : >"$tmp/g3ttmem"
i=0
while [ "$i" -lt "$REPS" ]; do
	# Interleaved, so that noise from the machine hits all three alike.
	churn_ns env -u LD_PRELOAD "$CHURN" >>"$tmp/base"
	churn_ns env LD_PRELOAD="$PRELOAD" "$CHURN" >>"$tmp/ttmem"
	churn_ns env LD_PRELOAD="$SOCKLIB" TTMEM_BENCH_SOCK="$tmp/sock" "$CHURN" >>"$tmp/socket_ns"
	# Another build may use another segment layout: its own segment.
	[ -z "$COMPARE" ] || churn_ns env LD_PRELOAD="$COMPARE" TTMEM_SHM="${TTMEM_SHM}-cmp" \
		"$CHURN" >>"$tmp/compare"
	# Stacks off: only the first frame outside the runtime is recorded.
	churn_ns env LD_PRELOAD="$PRELOAD" TTMEM_STACK_DEPTH=0 "$CHURN" >>"$tmp/depth0"
	churn_ns env -u LD_PRELOAD LD_LIBRARY_PATH="$G3_LIB" "$CHURN" >>"$tmp/g3base"
	churn_ns env LD_PRELOAD="$PRELOAD" LD_LIBRARY_PATH="$G3_LIB" "$CHURN" >>"$tmp/g3ttmem"
	i=$((i + 1))
done
base=$(best <"$tmp/base")
ttmem=$(best <"$tmp/ttmem")
sock=$(best <"$tmp/socket_ns")
cmp=$(best <"$tmp/compare")
depth0=$(best <"$tmp/depth0")

awk -v b="$base" -v t="$ttmem" -v s="$sock" -v c="$cmp" -v d0="$depth0" -v e="$EVENTS" -v r="$REPS" 'BEGIN {
	added = t - b; sadded = s - b
	printf "BENCH churn_events %d events\n", e
	printf "BENCH churn_repetitions %d runs\n", r
	printf "BENCH churn_uninstrumented_ns_per_event %.1f ns\n", b
	printf "BENCH churn_ttmem_ns_per_event %.1f ns\n", t
	printf "BENCH churn_socket_ns_per_event %.1f ns\n", s
	printf "BENCH ttmem_added_ns_per_event %.1f ns\n", added
	printf "BENCH ttmem_added_ratio %.3f x\n", (b > 0 ? t / b : 0)
	printf "BENCH socket_added_ns_per_event %.1f ns\n", sadded
	printf "BENCH socket_vs_ttmem_added %.1f x\n", (added > 0 ? sadded / added : 0)
	# ttmem_added_ns_per_event is with stacks on (8 frames, the default).
	printf "BENCH ttmem_added_ns_per_event_first_frame_only %.1f ns\n", d0 - b
	if (c != "")
		printf "BENCH compare_added_ns_per_event %.1f ns\n", c - b
}'
awk -v b="$base" -v t="$ttmem" -v gb="$(best <"$tmp/g3base")" -v gt="$(best <"$tmp/g3ttmem")" 'BEGIN {
	printf "BENCH churn_g3_uninstrumented_ns_per_event %.1f ns\n", gb
	printf "BENCH churn_g3_ttmem_ns_per_event %.1f ns\n", gt
	printf "BENCH ttmem_g1_added_ns_per_event %.1f ns\n", t - b
	printf "BENCH ttmem_g3_added_ns_per_event %.1f ns\n", gt - gb
	printf "BENCH ttmem_g3_vs_g1_added %.2f x\n", (t - b > 0 ? (gt - gb) / (t - b) : 0)
}'

# Program launches: each new program reports 8 circular buffers, which
# replace the previous program's on every chip (8 evicted, 8 inserted per
# chip); a resident program (the same cached one again) changes nothing; two
# cached programs taking turns change what every chip holds, unreported.
LAUNCH="$B/bench/preload/launch"
LAUNCHES=${TTMEM_BENCH_LAUNCHES:-2000}
launch_us() {
	"$@" "$LAUNCH" "$LAUNCHES" 8 8 new | awk '$1 == "us_per_launch" { print $2 }'
}
: >"$tmp/lbase"; : >"$tmp/lttmem"
i=0
while [ "$i" -lt "$REPS" ]; do
	launch_us env -u LD_PRELOAD >>"$tmp/lbase"
	launch_us env LD_PRELOAD="$PRELOAD" >>"$tmp/lttmem"
	i=$((i + 1))
done
awk -v b="$(best <"$tmp/lbase")" -v t="$(best <"$tmp/lttmem")" -v n="$LAUNCHES" 'BEGIN {
	printf "BENCH launch_8chip_launches %d launches\n", n
	printf "BENCH launch_8chip_uninstrumented_us %.2f us\n", b
	printf "BENCH launch_8chip_ttmem_us %.2f us\n", t
}'

# Instructions added per launch (callgrind): two launch counts, tracked and
# untracked, so that start-up, the first launches and the close cancel out.
if [ "${TTMEM_BENCH_CALLGRIND:-1}" != 0 ] && command -v valgrind >/dev/null 2>&1; then
	# lir N CHIPS MODE ENV-ARGS: instructions of one launch run.
	lir() {
		ln=$1 lc=$2 lm=$3; shift 3
		rm -f "/dev/shm${TTMEM_SHM}"
		env "$@" valgrind --tool=callgrind --callgrind-out-file=/dev/null \
			"$LAUNCH" "$ln" 8 "$lc" "$lm" 2>&1 >/dev/null |
			sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
	}
	# ladded NAME CHIPS MODE: BENCH line of instructions added per launch.
	ladded() {
		a1=$(lir 100 "$2" "$3" -u LD_PRELOAD); a2=$(lir 300 "$2" "$3" -u LD_PRELOAD)
		t1=$(lir 100 "$2" "$3" LD_PRELOAD="$PRELOAD"); t2=$(lir 300 "$2" "$3" LD_PRELOAD="$PRELOAD")
		awk -v a1="$a1" -v a2="$a2" -v t1="$t1" -v t2="$t2" -v name="$1" 'BEGIN {
			printf "BENCH %s %.0f instructions\n", name, ((t2 - t1) - (a2 - a1)) / 200
		}'
	}
	ladded launch_8chip_new_added_instructions 8 new
	ladded launch_8chip_resident_added_instructions 8 resident
	ladded launch_32chip_resident_added_instructions 32 resident
	ladded launch_8chip_alternating_added_instructions 8 alternating
fi

# Instructions per event: two sizes, so that fixed costs (start-up, the
# sweeps at close) cancel out.  The instructions added are split into the
# table core's (shm/: functions ttmem_*, and lines of shm/ and include/
# inlined elsewhere) and the preload's own (everything else: hooks, reading
# the runtime's objects, callsites, the getters and libc calls it makes).
if [ "${TTMEM_BENCH_CALLGRIND:-1}" != 0 ] && command -v valgrind >/dev/null 2>&1; then
	# ir NAME ENV-ARGS: instructions of one churn run of $n events under
	# callgrind (the environment is valgrind's, which passes LD_PRELOAD to
	# its client); the profile is kept as $tmp/NAME.cg.
	ir() {
		name=$1; shift
		rm -f "/dev/shm${TTMEM_SHM}"
		env "$@" valgrind --tool=callgrind --callgrind-out-file="$tmp/$name.cg" \
			"$CHURN" $ARGS --events "$n" >/dev/null 2>"$tmp/cg.err"
		sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp/cg.err"
	}
	# core NAME: instructions of that profile spent in the table core.
	core() {
		if command -v callgrind_annotate >/dev/null 2>&1; then
			callgrind_annotate --threshold=100 "$tmp/$1.cg" 2>/dev/null | awk '
				/%\)  (shm|include)\// || /%\)  [^ ]*:ttmem_/ { gsub(",", "", $1); s += $1 }
				END { print s + 0 }'
		else
			echo 0
		fi
	}
	n1=50000; n2=150000
	n=$n1; b1=$(ir b1 -u LD_PRELOAD); t1=$(ir t1 LD_PRELOAD="$PRELOAD")
	[ -z "$COMPARE" ] || c1=$(ir c1 LD_PRELOAD="$COMPARE" TTMEM_SHM="${TTMEM_SHM}-cmp")
	g3b1=$(ir g3b1 -u LD_PRELOAD LD_LIBRARY_PATH="$G3_LIB")
	g3t1=$(ir g3t1 LD_PRELOAD="$PRELOAD" LD_LIBRARY_PATH="$G3_LIB")
	n=$n2; b2=$(ir b2 -u LD_PRELOAD); t2=$(ir t2 LD_PRELOAD="$PRELOAD")
	[ -z "$COMPARE" ] || c2=$(ir c2 LD_PRELOAD="$COMPARE" TTMEM_SHM="${TTMEM_SHM}-cmp")
	g3b2=$(ir g3b2 -u LD_PRELOAD LD_LIBRARY_PATH="$G3_LIB")
	g3t2=$(ir g3t2 LD_PRELOAD="$PRELOAD" LD_LIBRARY_PATH="$G3_LIB")
	awk -v b1="$g3b1" -v b2="$g3b2" -v t1="$g3t1" -v t2="$g3t2" -v d=$((n2 - n1)) 'BEGIN {
		printf "BENCH ttmem_g3_added_instructions_per_event %.0f instructions\n",
			((t2 - t1) - (b2 - b1)) / d
	}'
	s1=$(core t1); s2=$(core t2)
	awk -v b1="$b1" -v b2="$b2" -v t1="$t1" -v t2="$t2" -v s1="$s1" -v s2="$s2" \
	    -v d=$((n2 - n1)) 'BEGIN {
		added = ((t2 - t1) - (b2 - b1)) / d; shm = (s2 - s1) / d
		printf "BENCH churn_uninstrumented_instructions_per_event %.0f instructions\n", (b2 - b1) / d
		printf "BENCH ttmem_added_instructions_per_event %.0f instructions\n", added
		printf "BENCH ttmem_table_core_instructions_per_event %.0f instructions\n", shm
		printf "BENCH ttmem_preload_own_instructions_per_event %.0f instructions\n", added - shm
	}'
	if [ -n "$COMPARE" ]; then
		s1=$(core c1); s2=$(core c2)
		awk -v b1="$b1" -v b2="$b2" -v t1="$c1" -v t2="$c2" -v s1="$s1" -v s2="$s2" \
		    -v d=$((n2 - n1)) 'BEGIN {
			added = ((t2 - t1) - (b2 - b1)) / d; shm = (s2 - s1) / d
			printf "BENCH compare_added_instructions_per_event %.0f instructions\n", added
			printf "BENCH compare_table_core_instructions_per_event %.0f instructions\n", shm
			printf "BENCH compare_preload_own_instructions_per_event %.0f instructions\n", added - shm
		}'
	fi
fi
echo "bench: targets: ttmem_added_instructions_per_event <= 300," \
	"ttmem_g3_added_instructions_per_event <= 350," \
	"launch_8chip_resident_added_instructions <= 500, socket_vs_ttmem_added >= 40" >&2
