#!/usr/bin/env python3
"""The peaks of `ttmem show --json` against the emulator's ground truth.

Modes (files are show --json outputs unless named TRUTH):
  vs-truth SHOW TRUTH [open]  every chip's peak per type equals the truth's
                              TYPE_peak (TYPE_open_peak with "open"); each
                              peak has a time and a stack whose first frame
                              is the workload's allocating function
  same A B                    the peaks (bytes, times, stacks) did not change
  raised A B                  every chip's L1 and DRAM peaks are higher in B
  cleared SHOW                no peak at all
  chip1-above SHOW            chip 1's L1 peak is above chip 0's
  prom-vs-truth PROM TRUTH    the ttmem_device_peak_bytes samples equal the truth's
Exit 0, or 1 with the mismatches on stderr.
"""
import json
import re
import sys

TYPES = ["DRAM", "L1", "SYSTEM_MEMORY", "L1_SMALL", "TRACE", "CB"]
ALLOCATORS = re.compile(r"^(\(anonymous namespace\)::)?(allocate_tensor|allocate_on_chip)\(")
errors = []


def load(path):
    with open(path) as f:
        return json.load(f)


def devices(show):
    return {d["device"]: d for d in show["devices"]}


def vs_truth(show_path, truth_path, which="peak"):
    show, truth = load(show_path), load(truth_path)
    sdev = devices(show)
    for t in truth["devices"]:
        d = sdev.get(t["device"])
        if d is None:
            errors.append(f"chip {t['device']}: not in show")
            continue
        for ty in TYPES:
            want = t.get(f"{ty}_{which}", 0)
            got = d["peak_bytes"][ty]
            if got != want:
                errors.append(f"chip {t['device']} {ty}: peak {got}, truth {ty}_{which} {want}")
            if not got:
                if d["peak_ns"][ty] is not None or d["peak_stack"][ty] is not None:
                    errors.append(f"chip {t['device']} {ty}: no peak, yet a time or a stack")
                continue
            ns = d["peak_ns"][ty]
            if not ns or ns < show["segment"]["created_ns"] or ns > show["taken_ns"]:
                errors.append(f"chip {t['device']} {ty}: peak time {ns} outside the segment's life")
            st = d["peak_stack"][ty]
            if ty in ("DRAM", "L1") and t.get(f"{ty}_{which}", 0):
                if not st or st["status"] != "ok" or not st["frames"]:
                    errors.append(f"chip {t['device']} {ty}: peak stack {st}")
                    continue
                f0 = st["frames"][0]
                if not ALLOCATORS.match(f0["function"] or "") or \
                        not (f0["file"] or "").endswith("peaks.cpp"):
                    errors.append(f"chip {t['device']} {ty}: first frame {f0['function']} "
                                  f"at {f0['file']}:{f0['line']}, not the workload's allocating function")


def peaks_of(path):
    return {dev: (d["peak_bytes"], d["peak_ns"], d["peak_stack"]) for dev, d in devices(load(path)).items()}


def same(a, b):
    pa, pb = peaks_of(a), peaks_of(b)
    for dev in pa:
        if pa[dev] != pb.get(dev):
            errors.append(f"chip {dev}: peaks changed from {pa[dev][0]} to {pb.get(dev, [None])[0]}")


def raised(a, b):
    pa, pb = peaks_of(a), peaks_of(b)
    for dev in pa:
        for ty in ("DRAM", "L1"):
            if not pb[dev][0][ty] > pa[dev][0][ty]:
                errors.append(f"chip {dev} {ty}: peak {pb[dev][0][ty]} not above {pa[dev][0][ty]}")


def cleared(path):
    for dev, d in devices(load(path)).items():
        for ty in TYPES:
            if d["peak_bytes"][ty] or d["peak_ns"][ty] is not None or d["peak_stack"][ty] is not None:
                errors.append(f"chip {dev} {ty}: a peak after clear: {d['peak_bytes'][ty]}")


def chip1_above(path):
    d = devices(load(path))
    if not d[1]["peak_bytes"]["L1"] > d[0]["peak_bytes"]["L1"]:
        errors.append(f"chip 1 L1 peak {d[1]['peak_bytes']['L1']} not above chip 0's "
                      f"{d[0]['peak_bytes']['L1']}")


def prom_vs_truth(prom_path, truth_path):
    got = {}
    for line in open(prom_path):
        m = re.match(r'ttmem_device_peak_bytes\{.*device="(\d+)",type="(\w+)"\} (\d+)$', line.strip())
        if m:
            got[(int(m.group(1)), m.group(2))] = int(m.group(3))
    for t in load(truth_path)["devices"]:
        for ty in TYPES:
            want = t.get(f"{ty}_peak", 0)
            if got.get((t["device"], ty)) != want:
                errors.append(f"prometheus chip {t['device']} {ty}: {got.get((t['device'], ty))}, "
                              f"truth {want}")


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "vs-truth":
        vs_truth(args[0], args[1], "open_peak" if len(args) > 2 and args[2] == "open" else "peak")
    elif mode == "same":
        same(*args)
    elif mode == "raised":
        raised(*args)
    elif mode == "prom-vs-truth":
        prom_vs_truth(*args)
    elif mode == "cleared":
        cleared(*args)
    elif mode == "chip1-above":
        chip1_above(*args)
    else:
        errors.append(f"unknown mode {mode}")
    for e in errors:
        print(e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
