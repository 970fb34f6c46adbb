#!/bin/sh
# run_clean.sh: the seed's "run with a clean state" script, done right.
#
# Clears the tracker's table, runs a workload tracked, and shows what the
# viewer sees.  No daemon to kill or restart, no sleeps: `ttmem clear` is
# O(1) and safe while other tracked programs run, `ttmem run` returns when
# the workload has exited, and `ttmem show` reads the table as it is then.
#
# Usage: run_clean.sh [CMD [ARGS...]]
#   CMD defaults to the mesh_allocation workload next to this script.
# Environment: TTMEM (the viewer, default build/ttmem), TTMEM_SHM (segment).
# Exit status: the workload's, or 1 when the viewer or preload is missing.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$here/../.." && pwd)
ttmem=${TTMEM:-$build/ttmem}
preload="$(dirname "$ttmem")/libttmem.so"

missing=""
[ -x "$ttmem" ] || missing="$missing $ttmem (the viewer)"
[ -f "$preload" ] || missing="$missing $preload (the preload library)"
if [ -n "$missing" ]; then
	echo "run_clean.sh: missing:$missing" >&2
	echo "run_clean.sh: build them with 'make' first; nothing was run" >&2
	exit 1
fi

[ $# -gt 0 ] || set -- "$here/mesh_allocation"

echo "== clearing the table"
"$ttmem" clear
echo "== running: $*"
status=0
"$ttmem" run -- "$@" || status=$?
echo "== what the viewer sees now"
"$ttmem" show
exit "$status"
