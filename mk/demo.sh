#!/usr/bin/env bash
# The main job: the seed scenario end to end, as a user would run it.
#
# Clears the segment, runs the emulated 8-chip mesh workload three times under
# the preload, and shows the viewer at the peak of each run and after it:
# usage returns to 0 after every run, and the last view says what the runtime
# freed at close without reporting it (the ~14 MB of system buffers per chip
# that other trackers see as growth).
#
# Synchronisation is by the workload's ready pipe (TTEMU_READY_FD), never by
# sleeping: the workload says when it is at its peak and holds there until we
# signal it.
set -euo pipefail

BUILD=${BUILD:-build}
TTMEM="$BUILD/ttmem"
PRELOAD="$BUILD/libttmem.so"
WORKLOAD="$BUILD/examples/bin/mesh_allocation"
# A segment of its own, so that the demo never clears the table of real
# workloads tracked in the default /ttmem.
export TTMEM_SHM=${TTMEM_SHM:-/ttmem-demo}

for f in "$TTMEM" "$PRELOAD" "$WORKLOAD"; do
	[ -x "$f" ] || [ -f "$f" ] || { echo "demo: $f is missing; run 'make' first" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkfifo "$tmp/ready"

if [ -t 1 ]; then
	banner() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
	banner() { printf '\n== %s\n' "$*"; }
fi

echo "Watch it live from another terminal: $TTMEM top --shm $TTMEM_SHM"
banner "ttmem clear: start from an empty table ($TTMEM_SHM)"
"$TTMEM" clear

for run in 1 2 3; do
	banner "run $run: mesh_allocation on 8 emulated chips, tracked by $PRELOAD"
	LD_PRELOAD="$PRELOAD" TTEMU_READY_FD=3 TTEMU_TRUTH="$tmp/truth.json" \
		"$WORKLOAD" --seed "$run" --hold 60000 3>"$tmp/ready" >"$tmp/run$run.log" &
	pid=$!
	exec 4<"$tmp/ready"
	while read -r -u 4 what n; do
		case "$what" in
		peak)
			banner "run $run at its peak (pid $pid holding its buffers)"
			"$TTMEM" show
			"$TTMEM" show --json >"$tmp/show.json"
			python3 "$(dirname "$0")/compare_truth.py" "$tmp/truth.json" "$tmp/show.json"
			kill -USR1 "$pid" ;;
		closed)
			kill -USR1 "$pid" 2>/dev/null || true ;;
		esac
	done
	exec 4<&-
	wait "$pid"
	banner "after run $run: every chip back to 0 bytes in use"
	"$TTMEM" show --processes=none
	"$TTMEM" show --json >"$tmp/show.json"
	python3 "$(dirname "$0")/compare_truth.py" "$tmp/truth.json" "$tmp/show.json"
done

banner "what the runtime freed at close without reporting it, per process"
"$TTMEM" show --released

# Last: where the buffers sit.  One more run held at its peak: its live L1
# buffers on chip 0, and chip 0's L1 address map (holes, largest free
# block), checked against the free list of the emulator's allocator.
banner "run 4 at its peak: chip 0's live L1 buffers and its L1 address map"
LD_PRELOAD="$PRELOAD" TTEMU_READY_FD=3 TTEMU_TRUTH="$tmp/truth.json" \
	"$WORKLOAD" --seed 4 --hold 60000 3>"$tmp/ready" >"$tmp/run4.log" &
pid=$!
exec 4<"$tmp/ready"
while read -r -u 4 what n; do
	case "$what" in
	peak)
		"$TTMEM" buffers -d 0 -t L1
		echo
		"$TTMEM" map -d 0 L1 --json >"$tmp/map.json"
		python3 "$(dirname "$0")/compare_truth.py" --map "$tmp/truth.json" "$tmp/map.json"
		"$TTMEM" map -d 0 L1 --summary
		kill -USR1 "$pid" ;;
	closed)
		kill -USR1 "$pid" 2>/dev/null || true ;;
	esac
done
exec 4<&-
wait "$pid"
