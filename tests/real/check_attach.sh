#!/bin/sh
# tests/real/check_attach.sh PRELOAD ATTACH VERSION LIBDIR GENERATION
# The preload on a real runtime, without a device: tests/real/attach loads
# LIBDIR/_ttnncpp.so under LD_PRELOAD=PRELOAD and makes one hooked call;
# the preload must attach to the object that defines
# GraphTracker::track_allocate (found here with readelf, not by ttmem) and
# choose GENERATION.  Prints "REAL-ATTACH <version> <generation> dso=<name>".
set -u
[ $# -eq 5 ] || { echo "usage: check_attach.sh PRELOAD ATTACH VERSION LIBDIR GENERATION" >&2; exit 2; }
preload=$1 attach=$2 version=$3 libdir=$4 want=$5
ta=_ZN2tt8tt_metal12GraphTracker14track_allocateEPKNS0_6BufferE
dso=
for f in "$libdir"/*.so; do
	[ -L "$f" ] && continue
	readelf -W --dyn-syms "$f" | awk -v s=$ta '$8 == s && $7 != "UND" { f = 1 } END { exit !f }' &&
		dso=$(basename "$f")
done
[ -n "$dso" ] || { echo "check_attach: no object in $libdir defines GraphTracker::track_allocate" >&2; exit 1; }
log=$(TTMEM_LOG=debug TTMEM_SHM=/ttmem-real-attach-$$ LD_PRELOAD=$preload \
	"$attach" "$libdir/_ttnncpp.so" 2>&1)
rc=$?
gen=$(echo "$log" | sed -n 's/^ttmem: tt-metal runtime generation \([^ ]*\) .*/\1/p' | head -n 1)
att=$(echo "$log" | sed -n 's/^ttmem: attached to the tt-metal runtime \([^ ]*\) .*/\1/p' | head -n 1)
echo "REAL-ATTACH $version ${gen:-none} dso=${att:+$(basename "$att")}"
fail=0
[ $rc -eq 0 ] || { echo "  MISMATCH $version: attach exited $rc"; fail=1; }
[ "$gen" = "$want" ] || { echo "  MISMATCH $version: the preload chose generation '${gen:-none}', the pin is $want"; fail=1; }
[ "$(basename "${att:-none}")" = "$dso" ] || { echo "  MISMATCH $version: the preload attached to '${att:-nothing}', the runtime is $dso"; fail=1; }
[ $fail -eq 0 ] || echo "$log" | sed 's/^/    /'
exit $fail
