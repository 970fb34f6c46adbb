#!/usr/bin/env python3
"""ctypes_alloc: a Python client of the emulated runtime, loaded with dlopen.

ttnn loads libtt_metal.so from Python at run time; this does the same through
ctypes and the library's C API (examples/runtime/ttemu.h), so a preload
library must track a runtime it only meets after dlopen.  Standard library
only.

Opens a mesh, allocates buffers of every type and runs a program with
circular buffers, frees some, keeps one across the close, closes.  Follows
the workloads' hold-point protocol (examples/workloads/common.hpp): ground
truth, "expect" lines, "peak 0" / "closed 0" on $TTEMU_READY_FD, then hold
--hold MS or until SIGUSR1.

The library: $TTEMU_LIB if set, else "libtt_metal.so" through the dynamic
linker's search path ($LD_LIBRARY_PATH), else ../gcc/libtt_metal.so next to
this script (its place in the build tree).
"""
import argparse
import ctypes
import os
import signal
import sys

KIB = 1024
DRAM, L1, L1_SMALL, TRACE = 0, 1, 3, 4
NAMES = {DRAM: "DRAM", L1: "L1", L1_SMALL: "L1_SMALL", TRACE: "TRACE"}


def load_library():
    env = os.environ.get("TTEMU_LIB")
    candidates = [env] if env else ["libtt_metal.so",
                                    os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                 "..", "gcc", "libtt_metal.so")]
    errors = []
    for path in candidates:
        try:
            lib = ctypes.CDLL(path)
            break
        except OSError as e:
            errors.append(str(e))
    else:
        sys.exit("ctypes_alloc: cannot load the runtime: " + "; ".join(errors))
    u64, i64 = ctypes.c_uint64, ctypes.c_int64
    sigs = {
        "ttemu_open_mesh": (ctypes.c_int, [ctypes.c_int, u64, u64]),
        "ttemu_close": (ctypes.c_int, [ctypes.c_int]),
        "ttemu_alloc": (i64, [ctypes.c_int, ctypes.c_int, u64, u64]),
        "ttemu_free": (ctypes.c_int, [i64]),
        "ttemu_run_program": (ctypes.c_int, [ctypes.c_int, ctypes.c_int, u64, u64]),
        "ttemu_num_chips": (ctypes.c_int, [ctypes.c_int]),
        "ttemu_write_truth": (ctypes.c_int, []),
        "ttemu_last_error": (ctypes.c_char_p, []),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib


def check(lib, rc, what):
    if rc < 0:
        sys.exit("ctypes_alloc: %s failed: %s" % (what, lib.ttemu_last_error().decode()))
    return rc


class Rng:
    """splitmix64, as the C++ workloads use."""
    M = (1 << 64) - 1

    def __init__(self, seed):
        self.s = seed & self.M

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & self.M
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self.M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.M
        return z ^ (z >> 31)

    def range(self, lo, hi):
        return lo + self.next() % (hi - lo + 1)


def hold_point(lib, what, run, expect, hold_ms):
    check(lib, lib.ttemu_write_truth(), "writing the ground truth")
    for chip in sorted(expect):
        e = expect[chip]
        print("expect %s %d chip %d DRAM=%d L1=%d L1_SMALL=%d TRACE=%d CB=%d buffers=%d" % (
            what, run, chip, e["DRAM"], e["L1"], e["L1_SMALL"], e["TRACE"], e["CB"], e["buffers"]))
    sys.stdout.flush()
    fd = os.environ.get("TTEMU_READY_FD")
    if fd:
        os.write(int(fd), ("%s %d\n" % (what, run)).encode())
    if hold_ms > 0:
        signal.sigtimedwait({signal.SIGUSR1}, hold_ms / 1000.0)


def main():
    # Blocked first, so a SIGUSR1 sent before a hold is kept for it.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    ap = argparse.ArgumentParser(
        description="Allocate through the emulated runtime's C API from Python (ctypes, dlopen). "
                    "Hold points: \"peak 0\", \"closed 0\".")
    ap.add_argument("--seed", type=int, default=1, help="seed of every random choice (default 1)")
    ap.add_argument("--hold", type=int, default=0, metavar="MS",
                    help="at each hold point, wait MS ms or until SIGUSR1 (default 0)")
    ap.add_argument("--chips", type=int, default=2, help="chips in the mesh (default 2)")
    args = ap.parse_args()  # exits 2 with a message on bad flags
    if args.chips < 1 or args.chips > 64 or args.hold < 0 or args.seed < 0:
        ap.error("--chips must be 1..64, --hold and --seed >= 0")

    lib = load_library()
    rng = Rng(args.seed)
    mesh = check(lib, lib.ttemu_open_mesh(args.chips, 64 * KIB, 12 * 1024 * KIB), "opening the mesh")
    expect = {c: dict(DRAM=0, L1=0, L1_SMALL=0, TRACE=0, CB=0, buffers=0) for c in range(args.chips)}

    def alloc(kind, size, page):
        h = check(lib, lib.ttemu_alloc(mesh, kind, size, page), "allocating " + NAMES[kind])
        for e in expect.values():
            e[NAMES[kind]] += size
            e["buffers"] += 1
        return (h, kind, size)

    def free(buf):
        check(lib, lib.ttemu_free(buf[0]), "freeing")
        for e in expect.values():
            e[NAMES[buf[1]]] -= buf[2]
            e["buffers"] -= 1

    bufs = [alloc(DRAM, rng.range(256, 2048) * 2048, 2048) for _ in range(3)]
    bufs += [alloc(L1, rng.range(8, 64) * 2048, 2048) for _ in range(2)]
    bufs.append(alloc(L1_SMALL, rng.range(4, 16) * 1024, 1024))
    bufs.append(alloc(TRACE, rng.range(64, 512) * 2048, 2048))
    cb_size, kernel = rng.range(2, 8) * 2048, rng.range(4, 16) * 2048
    check(lib, lib.ttemu_run_program(mesh, 2, cb_size, kernel), "running a program")
    for e in expect.values():
        e["CB"] += 2 * cb_size
        e["DRAM"] += kernel
        e["buffers"] += 1
    free(bufs.pop(1))
    kept = bufs.pop(0)

    hold_point(lib, "peak", 0, expect, args.hold)
    check(lib, lib.ttemu_close(mesh), "closing the mesh")
    for e in expect.values():
        for k in e:
            e[k] = 0
    hold_point(lib, "closed", 0, expect, args.hold)
    # A tensor outliving its device: freeing it now must report nothing.
    check(lib, lib.ttemu_free(kept[0]), "freeing after close")
    for b in bufs:
        check(lib, lib.ttemu_free(b[0]), "freeing after close")
    return 0


if __name__ == "__main__":
    sys.exit(main())
