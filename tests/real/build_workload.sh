#!/bin/sh
# SPDX-License-Identifier: MIT
#
# tests/real/build_workload.sh VERSION API: fetch the pinned wheel of
# VERSION (tests/real/fetch.sh), give its runtime the sfpi stand-in, and
# build tests/real/mock_workload.cpp against its libtt_metal.so with the
# declarations of API (metal_api.hpp).  Prints the workload's path.
# Exit: 0, 77 PyPI cannot be reached (fetch.sh said why), 1 otherwise.
set -u
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-build}
CXX=${CXX:-g++}
[ $# -eq 2 ] || { echo "usage: build_workload.sh VERSION API" >&2; exit 2; }
v=$1
api=$2
sh "$here/fetch.sh" "$v" >&2
rc=$?
[ $rc -eq 0 ] || exit $rc
root=$BUILD/real/$v/ttnn
lib=$root/build/lib
mkdir -p "$root/runtime/sfpi/compiler/bin" "$BUILD/real/$v/cache" || exit 1
cp "$here/sfpi-standin.sh" "$root/runtime/sfpi/compiler/bin/riscv-tt-elf-g++" || exit 1
wl=$BUILD/real/$v/mock_workload
$CXX -std=c++20 -O1 -g -Wall -Wextra -Werror -DTTNN_API="$api" -I"$here" \
	"$here/mock_workload.cpp" -o "$wl" -L"$lib" -l:libtt_metal.so \
	-Wl,-rpath,"$(cd "$lib" && pwd)" -pthread >&2 || {
	echo "build_workload.sh: the workload does not build against $lib/libtt_metal.so" >&2
	exit 1
}
echo "$wl"
