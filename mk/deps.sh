#!/bin/sh
# Installs the Debian packages ttmem needs to build and test, or, when not
# root, prints the exact command to do it and fails.
set -u

PKGS="make gcc g++ clang libclang-rt-14-dev pkg-config libelf-dev libdw-dev uthash-dev unzip \
libcriterion-dev libncurses-dev tmux python3 python3-dev valgrind binutils procps \
mandoc python3-pip"   # mandoc: tests/viewer lint the man page (mandoc -T lint); unzip, python3-pip: tests/real fetches the ttnn wheels
# Only for the test of `ttmem export` against a real Prometheus
# (tests/export): where they cannot be installed, that test says so and
# skips, and nothing else needs them.
TEST_PKGS="prometheus prometheus-node-exporter"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
test_missing=""
for p in $TEST_PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		test_missing="$test_missing $p"
done
if [ -n "$test_missing" ] && [ "$(id -u)" -eq 0 ]; then
	echo "ttmem: installing (tests only):$test_missing" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		$test_missing >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null 2>&1 &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			$test_missing >/dev/null 2>&1; } ||
		echo "ttmem: could not install$test_missing: the real-Prometheus test will skip" >&2
elif [ -n "$test_missing" ]; then
	echo "ttmem: for the real-Prometheus test: sudo apt-get install -y$test_missing" >&2
fi
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "ttmem: missing build dependencies:$missing" >&2
	echo "ttmem: install them with:" >&2
	echo "    sudo apt-get install -y$missing" >&2
	exit 1
fi

echo "ttmem: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q $missing >/dev/null 2>&1; then
	apt-get update -q >/dev/null 2>&1 || true
	apt-get install -y -q $missing >&2 || {
		echo "ttmem: 'apt-get install -y$missing' failed" >&2
		exit 1
	}
fi
