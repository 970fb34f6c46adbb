#!/bin/sh
# SPDX-License-Identifier: MIT
#
# bench/real/run.sh: what one allocate/free pair of a 128 KiB DRAM buffer
# costs on the real runtime, untracked, under ttmem, and under the
# runtime's own tracker (TT_METAL_SHM_TRACKING_DISABLED unset), measured
# side by side:
#  - instructions (callgrind, deterministic): the difference between runs of
#    3,000 and 1,000 pairs (x5 rounds) over 10,000 pairs, so start-up and
#    device open cancel out;
#  - ns per pair: best of five rounds of 100,000 pairs, the three modes
#    interleaved three times, the least of each (noisy on a shared machine).
# Output: "BENCH <name> <value> <unit>" lines.  Skips (saying why) where
# PyPI cannot be reached or valgrind is missing.
set -u
BUILD=${BUILD:-build}
v=0.81.1
wl=$(BUILD=$BUILD sh tests/real/build_workload.sh $v 81)
rc=$?
if [ $rc -eq 77 ]; then echo "bench-real: skipped: PyPI cannot be reached" >&2; exit 0; fi
[ $rc -eq 0 ] || exit 1
root=$BUILD/real/$v/ttnn
shm=/ttmem-bench-real-$$
export TT_METAL_RUNTIME_ROOT=$(cd "$root" && pwd)
export TT_METAL_MOCK_CLUSTER_DESC_PATH=$(pwd)/tests/real/clusters/wormhole_1chip.yaml
export TT_METAL_CACHE=$(cd "$BUILD/real/$v/cache" && pwd)/
export TT_METAL_LOGGER_LEVEL=Error
preload=$(pwd)/$BUILD/libttmem.so
ttmem=$(pwd)/$BUILD/ttmem
shm_before=$(ls /dev/shm)

# run MODE ARGS...: the workload in one of the three modes.
run() {
	mode=$1; shift
	case $mode in
	none)  env TT_METAL_SHM_TRACKING_DISABLED=1 "$@" ;;
	ttmem) env TT_METAL_SHM_TRACKING_DISABLED=1 TTMEM_SHM=$shm LD_PRELOAD="$preload" "$@" ;;
	tt)    env -u TT_METAL_SHM_TRACKING_DISABLED "$@" ;;
	esac
}

wl=$(cd "$(dirname "$wl")" && pwd)/$(basename "$wl")
# The runtime writes generated/ (fabric mappings) into its working directory.
cd "$BUILD/real/$v" || exit 1

instr() {  # instr MODE PAIRS: instructions of the whole run
	run "$1" valgrind --tool=callgrind --callgrind-out-file=/dev/null "$wl" --bench "$2" 2>&1 |
		awk '/refs:/ { gsub(",", "", $4); print $4 }'
}

if command -v valgrind >/dev/null 2>&1; then
	for m in none ttmem tt; do
		lo=$(instr $m 1000); hi=$(instr $m 3000)
		eval "i_$m=\$(( (hi - lo) / 10000 ))"
	done
	echo "BENCH real_${v}_pair_instructions_untracked $i_none instructions"
	echo "BENCH real_${v}_pair_added_instructions_ttmem $((i_ttmem - i_none)) instructions"
	echo "BENCH real_${v}_pair_added_instructions_tt_tracker $((i_tt - i_none)) instructions"
else
	echo "bench-real: valgrind is missing: no instruction counts" >&2
fi

best_none=""; best_ttmem=""; best_tt=""
for rep in 1 2 3; do
	for m in none ttmem tt; do
		ns=$(run $m "$wl" --bench 100000 | awk '/^PAIR_NS/ { print $2 }')
		eval "cur=\$best_$m"
		if [ -z "$cur" ] || awk "BEGIN { exit !($ns < $cur) }"; then
			eval "best_$m=$ns"
		fi
	done
done
echo "BENCH real_${v}_pair_ns_untracked $best_none ns"
echo "BENCH real_${v}_pair_ns_ttmem $best_ttmem ns"
echo "BENCH real_${v}_pair_ns_tt_tracker $best_tt ns"
"$ttmem" rm "$shm" >/dev/null 2>&1
# What tt-metal itself left there in this run (its mock device's segments,
# its own tracker's tt_device_N_memory).
for f in $(ls /dev/shm); do
	case " $(echo $shm_before) " in *" $f "*) ;; *) case $f in sm_segment.*|tt_device_*) rm -f "/dev/shm/$f" ;; esac ;; esac
done
