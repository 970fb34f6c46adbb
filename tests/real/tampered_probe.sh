#!/bin/sh
# tests/real/tampered_probe.sh TTMEM ARGS...: `TTMEM ARGS...` with two of
# probe's claims falsified, for the self-test of check_static.py (it must
# catch each): the first PLT relocation count of 1 becomes 0, and
# "allocations" works becomes degraded.
ttmem=$1
shift
"$ttmem" "$@" | sed -e '0,/"plt":1,/s//"plt":0,/' \
	-e 's/"allocations":{"status":"works"/"allocations":{"status":"degraded"/'
