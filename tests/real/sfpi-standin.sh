#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Stands in for the sfpi RISC-V compiler, which the ttnn wheels do not ship:
# installed as <runtime root>/runtime/sfpi/compiler/bin/riscv-tt-elf-g++.
# Opening even a mock device builds the chip firmware (brisc, ncrisc,
# trisc0-2, erisc, idle_erisc), which nothing runs there.  This answers the
# runtime's version probe, writes an empty object (and its dependency file)
# for each compile, and for each firmware link copies the wheel's own
# pre-compiled Wormhole firmware of that name: a real ELF, so the runtime's
# loader reads what it would read on a chip.  Anything else (a kernel)
# fails with a message.
set -u
if [ "${1:-}" = "--version" ]; then
	echo "riscv-tt-elf-g++ (ttmem mock stand-in) 0"
	exit 0
fi
out=""; dep=""; prev=""
for a in "$@"; do
	case "$prev" in
	-o) out="$a" ;;
	-MF) dep="$a" ;;
	esac
	prev="$a"
done
case "$out" in
*.o|*.gch)
	: > "$out" || exit 1
	[ -z "$dep" ] || echo "$out:" > "$dep"
	exit 0 ;;
*.elf)
	base=$(basename "$out")
	name=${base%%.*}
	root=$(cd "$(dirname "$0")/../../../../tt_metal/pre-compiled" 2>/dev/null && pwd) || {
		echo "sfpi stand-in: no pre-compiled firmware beside this runtime" >&2; exit 1; }
	# Wormhole firmware directories have erisc/; Blackhole ones have drisc/.
	for k in $(ls "$root"); do
		if [ -f "$root/$k/erisc/erisc.elf" ] && [ -f "$root/$k/$name/$name.elf" ]; then
			cp "$root/$k/$name/$name.elf" "$out"
			exit $?
		fi
	done
	echo "sfpi stand-in: no pre-compiled Wormhole firmware named $name" >&2
	exit 1 ;;
esac
echo "sfpi stand-in: compiles no kernels (asked for $out)" >&2
exit 1
