#!/bin/sh
# Run Criterion test programs one after the other; fail if any fails.
# TTMEM_TEST_SCALE (normal / asan / tsan) is read by the heavy tests.
status=0
for t in "$@"; do
	start=$(date +%s)
	if ! "$t" --jobs 2 -S --timeout 170 2>&1; then
		echo "FAIL: $t" >&2
		status=1
		continue
	fi
	printf '  %-8s %s (%ss)\n' PASS "$t" $(( $(date +%s) - start ))
done
exit $status
