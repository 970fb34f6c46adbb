#!/bin/sh
# SPDX-License-Identifier: MIT
# `make install` into a DESTDIR, then the installed tree on its own: the
# installed `ttmem run` must preload the installed libttmem.so (found from its
# own path, so a staged or moved tree works before it reaches PREFIX), the
# headers must compile, and exactly the expected files are installed.
#
# Usage: check-install.sh MAKE
# Builds in a scratch BUILD of its own (PREFIX and LIBDIR are compiled into
# the viewer, and the main build must keep its own), with ALL_TARGETS= so
# `install` builds only what it installs.
set -eu
make=${1:-make}
tmp=$(mktemp -d /tmp/ttmem-install-test.XXXXXX)
shm=/ttmem-install-test-$$
trap 'rm -rf "$tmp"; rm -f "/dev/shm$shm"' EXIT
fail() { echo "FAIL: install: $*" >&2; exit 1; }

# $1 PREFIX, $2 LIBDIR, relative to the DESTDIR root
check() {
	root=$tmp/root$(echo "$2" | tr / _)
	$make -s --no-print-directory BUILD="$tmp/build" PREFIX="$1" LIBDIR="$2" \
		DESTDIR="$root" ALL_TARGETS= install >"$tmp/make.log" 2>&1 ||
		{ cat "$tmp/make.log" >&2; fail "make install PREFIX=$1 LIBDIR=$2"; }

	(cd "$root" && find . -type f | sort) >"$tmp/files"
	printf '%s\n' ".$1/bin/ttmem" ".$1/include/ttmem/segment.h" ".$1/include/ttmem/table.h" \
		".$2/libttmem.so" ".$2/libttmem_shm.a" ".$2/pkgconfig/ttmem.pc" \
		".$1/share/man/man1/ttmem.1" |
		sort >"$tmp/want"
	diff -u "$tmp/want" "$tmp/files" >&2 || fail "PREFIX=$1 LIBDIR=$2: installed files differ"

	# No help from the environment: the installed ttmem finds its library.
	rm -f "/dev/shm$shm"
	env -u TTMEM_PRELOAD -u LD_PRELOAD -u TTMEM_SHM \
		"$root$1/bin/ttmem" run --shm "$shm" -- true 2>"$tmp/run.err" ||
		{ cat "$tmp/run.err" >&2; fail "PREFIX=$1 LIBDIR=$2: ttmem run -- true"; }
	rel=$(realpath -m --relative-to="$1/bin" "$2")
	grep -qF "(LD_PRELOAD=$root$1/bin/$rel/libttmem.so)" "$tmp/run.err" ||
		{ cat "$tmp/run.err" >&2; fail "PREFIX=$1 LIBDIR=$2: not the installed libttmem.so"; }
	# The dynamic loader did map it into the command.
	env -u TTMEM_PRELOAD -u LD_PRELOAD -u TTMEM_SHM \
		"$root$1/bin/ttmem" run -q --shm "$shm" -- grep -F libttmem.so /proc/self/maps \
		>"$tmp/maps" 2>&1 || { cat "$tmp/maps" >&2; fail "PREFIX=$1 LIBDIR=$2: run grep"; }
	grep -qF " $(realpath "$root$2/libttmem.so")" "$tmp/maps" ||
		{ cat "$tmp/maps" >&2; fail "PREFIX=$1 LIBDIR=$2: the installed libttmem.so is not mapped"; }

	# The public headers stand alone.
	printf '#include <ttmem/table.h>\nint main(void) { return TTMEM_MAX_DEVICES == 256u ? 0 : 1; }\n' \
		>"$tmp/h.c"
	${CC:-cc} -std=c11 -Wall -Wextra -Werror -fsyntax-only -I"$root$1/include" "$tmp/h.c" ||
		fail "PREFIX=$1: the installed headers do not compile"
	# pkg-config finds the core library: a program built with its flags
	# (pointed at the staged tree) links and runs.
	printf '#include <ttmem/table.h>\nint main(void) { return ttmem_strerror(TTMEM_EMAGIC)[0] ? 0 : 1; }\n' \
		>"$tmp/pc.c"
	flags=$(PKG_CONFIG_PATH="$root$2/pkgconfig" pkg-config \
		--define-variable=libdir="$root$2" --define-variable=includedir="$root$1/include" \
		--cflags --libs ttmem) || fail "PREFIX=$1 LIBDIR=$2: pkg-config ttmem"
	${CC:-cc} -std=c11 -o "$tmp/pc" "$tmp/pc.c" $flags && "$tmp/pc" ||
		fail "PREFIX=$1 LIBDIR=$2: a program built with pkg-config's flags"
	grep -qx "libdir=$2" "$root$2/pkgconfig/ttmem.pc" ||
		fail "PREFIX=$1 LIBDIR=$2: ttmem.pc does not name the install libdir"
	printf '  %-8s %s\n' PASS "install PREFIX=$1 LIBDIR=$2"
}

check /usr /usr/lib
check /usr /usr/lib/x86_64-linux-gnu
check /opt/ttmem /opt/ttmem/lib64
