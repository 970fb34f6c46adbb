#!/bin/sh
# Installs the Debian packages ttmem needs to build and test, or, when not
# root, prints the exact command to do it and fails.
set -u

PKGS="make gcc g++ clang libclang-rt-14-dev pkg-config libelf-dev libdw-dev uthash-dev \
libcriterion-dev libncurses-dev tmux python3 python3-dev valgrind binutils procps"
PKGS="$PKGS mandoc"   # tests/viewer lint the man page (mandoc -T lint)

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
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
