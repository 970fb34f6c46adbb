#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The real-runtime tier's device part: for each ttnn wheel whose runtime has
# a mock device, build tests/real/mock_workload.cpp against its
# libtt_metal.so and run it under the preload on a 1-chip and an 8-chip
# mock cluster, from one thread and from four, three runs each
# (tests/real/run_mock.py compares ttmem with the runtime's allocators at
# every checkpoint).  Prints one REAL line per version and cluster (its
# one-thread and four-thread runs together).
#
# Environment: BUILD (build), CXX (g++).  Exit 0 when every run was exact,
# 77 when PyPI cannot be reached (nothing was run; said why), 1 otherwise.
set -u
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-build}
CXX=${CXX:-g++}
ttmem=$BUILD/ttmem
preload=$BUILD/libttmem.so

# VERSION:API[:ENV]  API selects the declarations of metal_api.hpp.
# 0.70.1 builds its dispatch kernels when it opens even a mock device (the
# kernel compiler is not in the wheel): it runs in slow-dispatch mode, which
# has none.  0.81.1 skips dispatch on mock devices by itself.  0.65.0 and
# 0.59.0rc58 have no mock device: static checks only (check_static.py).
matrix="0.81.1:81 0.70.1:70:TT_METAL_SLOW_DISPATCH_MODE=1"

fail=0
for entry in $matrix; do
	v=${entry%%:*}
	rest=${entry#*:}
	api=${rest%%:*}
	extra=""
	[ "$rest" = "$api" ] || extra=${rest#*:}
	wl=$(BUILD=$BUILD CXX=$CXX sh "$here/build_workload.sh" "$v" "$api")
	rc=$?
	if [ $rc -eq 77 ]; then
		echo "SKIP real runtime $v: PyPI cannot be reached (see above)"
		exit 77
	fi
	[ $rc -eq 0 ] || { echo "FAIL real runtime $v: no workload (exit $rc)"; fail=1; continue; }
	root=$BUILD/real/$v/ttnn
	for chips in 1 8; do
		log=$BUILD/real/$v/run-${chips}chip.log
		env $extra python3 "$here/run_mock.py" --version "$v" --root "$root" \
			--cluster "$here/clusters/wormhole_${chips}chip.yaml" \
			--workload "$wl" --ttmem "$ttmem" --preload "$preload" \
			--cache "$BUILD/real/$v/cache" --chips $chips --threads 1,4 --runs 3 \
			--seed $chips --report "$BUILD/real/$v/report-${chips}chip.json" \
			>"$log.out" 2>"$log"
		rc=$?
		grep '^REAL ' "$log.out"
		if [ $rc -ne 0 ]; then
			echo "FAIL real runtime $v, $chips chip(s) (exit $rc; $log):"
			grep -v '^20[0-9][0-9]-.* info ' "$log" | tail -20
			fail=1
		fi
	done
	# Once more with the runtime's own tracker on (the newest wheel): ttmem
	# must stay exact beside it, and the report keeps its readings next to
	# ttmem's and the allocator's (README, "On the mock device").
	[ "$v" = 0.81.1 ] || continue
	log=$BUILD/real/$v/run-1chip-tt-tracker.log
	python3 "$here/run_mock.py" --version "$v" --root "$root" \
		--cluster "$here/clusters/wormhole_1chip.yaml" --workload "$wl" \
		--ttmem "$ttmem" --preload "$preload" --cache "$BUILD/real/$v/cache" \
		--chips 1 --threads 1,4 --runs 3 --seed 1 --tt-tracker \
		--report "$BUILD/real/$v/report-1chip-tt-tracker.json" >"$log.out" 2>"$log"
	rc=$?
	sed -n 's/^REAL /REAL-TT-TRACKER-ON /p' "$log.out"
	if [ $rc -ne 0 ]; then
		echo "FAIL real runtime $v with its own tracker on (exit $rc; $log):"
		grep -v '^20[0-9][0-9]-.* info ' "$log" | tail -20
		fail=1
	fi
done
exit $fail
