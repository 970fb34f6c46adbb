#!/bin/sh
# tests/real/fetch.sh VERSION...  (or "all"): the pinned ttnn wheels of
# tests/real/wheels.txt, downloaded with pip into the wheel cache
# (${XDG_CACHE_HOME:-$HOME/.cache}/ttmem/wheels), checked against their
# sha256, and the tt-metal runtime unpacked into $TTMEM_REAL_DIR/<version>/
# (default $BUILD/real/<version>/, BUILD defaulting to build) in the wheel's
# own layout:
#   ttnn/build/lib   the runtime libraries (libtt_metal.so, _ttnncpp.so, ...)
#   ttnn.libs        the libraries auditwheel vendored (their RPATH finds them)
#   ttnn/tt_metal    the runtime root it reads at device open (SoC and core
#                    descriptors, firmware sources; TT_METAL_RUNTIME_ROOT=ttnn)
#   ttnn/runtime     the hw toolchain files and the sfpi directory
# Python sources and the ttnn op kernels are left out: nothing here runs them.
#
# Idempotent: a version whose stamp names the pinned sha256 is not unpacked
# again; a cached wheel is reused when its sha256 matches the pin.
# Exit status: 0 done; 77 PyPI could not be reached (the reason is printed;
# callers skip); 2 usage; 1 anything else (a hash mismatch above all).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
pins=$here/wheels.txt
out=${TTMEM_REAL_DIR:-${BUILD:-build}/real}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/ttmem/wheels
platform=manylinux_2_34_x86_64

die() { echo "fetch.sh: $*" >&2; exit 1; }

[ $# -ge 1 ] || { echo "usage: tests/real/fetch.sh VERSION... | all" >&2; exit 2; }
[ -r "$pins" ] || die "cannot read $pins"
if [ "$*" = all ]; then
	set -- $(awk '!/^#/ && NF { print $1 }' "$pins")
fi

# pip itself: the interpreter's module, else a pip on PATH.
if python3 -m pip --version >/dev/null 2>&1; then
	pip() { python3 -m pip "$@"; }
elif ! command -v pip >/dev/null 2>&1; then
	die "pip is not installed (python3 -m pip fails): install python3-pip"
fi
for t in sha256sum unzip; do
	command -v $t >/dev/null 2>&1 || die "$t is not installed"
done

# One fetch at a time per output tree: `make -j check` runs the static and
# the mock-device checks side by side, and both fetch.
mkdir -p "$out" || die "cannot create $out"
if command -v flock >/dev/null 2>&1; then
	exec 9>"$out/.fetch.lock"
	flock 9 || die "cannot lock $out/.fetch.lock"
fi

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# A connection failure, as pip words it: the only failure that means
# "PyPI cannot be reached" (anything else is a real error).
unreachable() {
	grep -Eq 'NewConnectionError|ConnectTimeout|ConnectionError|Network is unreachable|Temporary failure in name resolution|Name or service not known|ProxyError|Max retries exceeded|timed out' "$1"
}

# fetch_wheel WHEEL SHA VERSION: the verified wheel in the cache.
fetch_wheel() {
	wheel=$1 sha=$2 version=$3
	if [ -e "$cache/$wheel" ]; then
		got=$(sha_of "$cache/$wheel")
		[ "$got" = "$sha" ] && return 0
		die "cached $cache/$wheel has sha256 $got, the pin is $sha: not used" \
		    "(delete it to download again)"
	fi
	# The Python tag of the wheel (cp310, cp312) is what pip must ask for.
	tag=$(echo "$wheel" | sed -n 's/.*-cp3\([0-9][0-9]*\)-.*/\1/p')
	[ -n "$tag" ] || die "$wheel: no cp3NN tag in the file name"
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/.download.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	echo "ttnn==$version --hash=sha256:$sha" >"$tmp/req.txt"
	echo "  FETCH    ttnn $version (pip download $wheel)"
	if ! pip download --no-deps --only-binary=:all: --python-version "3.$tag" \
		--platform "$platform" --require-hashes -r "$tmp/req.txt" \
		--disable-pip-version-check --retries 1 --timeout 30 \
		-d "$tmp" >"$tmp/log" 2>&1; then
		if unreachable "$tmp/log"; then
			echo "fetch.sh: PyPI cannot be reached (pip download ttnn==$version):" >&2
			grep -E 'Error|error|WARNING' "$tmp/log" | tail -n 3 >&2
			exit 77
		fi
		cat "$tmp/log" >&2
		die "pip download ttnn==$version failed"
	fi
	[ -f "$tmp/$wheel" ] || die "pip did not produce $wheel (see above): is the pin's file name right?"
	got=$(sha_of "$tmp/$wheel")
	[ "$got" = "$sha" ] || die "downloaded $wheel has sha256 $got, the pin is $sha"
	mv -f "$tmp/$wheel" "$cache/$wheel"
	rm -rf "$tmp"
	trap - EXIT
}

# stamped VERSION WHEEL SHA: $out/VERSION was unpacked from that wheel.
stamped() {
	[ -f "$out/$1/.fetched" ] && [ "$(cat "$out/$1/.fetched")" = "$3 $2" ]
}

# unpack VERSION WHEEL SHA: the runtime into $out/VERSION.
unpack() {
	version=$1 wheel=$2 sha=$3
	dest=$out/$version
	rm -rf "$dest.tmp"
	# unzip exits 11 when a pattern matches nothing (ttnn.libs may be
	# absent); what must be there is checked below.
	rc=0
	unzip -q -o "$cache/$wheel" 'ttnn/build/lib/*' 'ttnn.libs/*' 'ttnn/tt_metal/*' \
		'ttnn/runtime/*' -d "$dest.tmp" || rc=$?
	[ $rc -eq 0 ] || [ $rc -eq 11 ] || die "unzip $wheel failed (exit $rc)"
	[ -d "$dest.tmp/ttnn/build/lib" ] || die "$wheel has no ttnn/build/lib"
	rm -rf "$dest"
	mv "$dest.tmp" "$dest"
	echo "$sha $wheel" >"$dest/.fetched"
	echo "  UNPACK   ttnn $version -> $dest"
}

for version in "$@"; do
	line=$(awk -v v="$version" '!/^#/ && $1 == v { print $2, $3; exit }' "$pins")
	[ -n "$line" ] || die "ttnn $version is not pinned in $pins"
	wheel=${line% *}
	sha=${line#* }
	echo "$sha" | grep -Eq '^[0-9a-f]{64}$' || die "$pins: bad sha256 for $version"
	# Unpacked already from the pinned wheel: nothing to fetch.
	stamped "$version" "$wheel" "$sha" && continue
	fetch_wheel "$wheel" "$sha" "$version"
	unpack "$version" "$wheel" "$sha"
done
