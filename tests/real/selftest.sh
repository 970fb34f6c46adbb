#!/bin/sh
# tests/real/selftest.sh TTMEM VERSION LIBDIR: check_static.py must fail on
# a probe whose claims are falsified (tampered_probe.sh) and on a wrong
# pinned generation, naming each mismatch; else the real checks prove
# nothing.
set -u
[ $# -eq 3 ] || { echo "usage: selftest.sh TTMEM VERSION LIBDIR" >&2; exit 2; }
here=$(dirname "$0")
fake=$(mktemp)
trap 'rm -f "$fake"' EXIT
printf '#!/bin/sh\nexec sh %s/tampered_probe.sh %s "$@"\n' "$here" "$1" >"$fake"
chmod +x "$fake"
out=$(python3 "$here/check_static.py" "$fake" "$2" "$3" no-such-generation 2>&1)
rc=$?
fail=0
[ $rc -eq 1 ] || { echo "  MISMATCH selftest: check_static.py exited $rc on a tampered probe, not 1"; fail=1; }
for want in 'plt: probe says 0, the library 1' \
	'capability allocations: probe says degraded' 'pins no-such-generation'; do
	echo "$out" | grep -q "$want" ||
		{ echo "  MISMATCH selftest: a tampered claim went unnoticed (no \"$want\")"; fail=1; }
done
[ $fail -eq 0 ] && echo "REAL-SELFTEST $2 tampered claims caught" || echo "$out" | sed 's/^/    /'
exit $fail
