#!/usr/bin/env python3
"""Compare `ttmem show --json` with the emulator's ground truth (TTEMU_TRUTH).

Prints one line per verdict; exits 1 when a chip or type differs.  Used by the
demo so that what it shows is checked, not just printed.
"""
import json
import sys

TYPES = ("DRAM", "L1", "L1_SMALL", "TRACE", "CB")


def main(truth_path, show_path):
    with open(truth_path) as f:
        truth = {d["device"]: d for d in json.load(f)["devices"]}
    with open(show_path) as f:
        devices = json.load(f)["devices"]
    shown = {d["device"]: d["in_use"] for d in devices}
    per_bank = {d["device"]: d.get("per_bank", {}) for d in devices}
    bad = []
    for dev, want in sorted(truth.items()):
        got = shown.get(dev, {})
        for t in TYPES:
            if got.get(t, 0) != want[t]:
                bad.append(f"chip {dev} {t}: tracked {got.get(t, 0)}, emulator holds {want[t]}")
        # What each bank holds, as the allocator's statistics count it.
        for t in TYPES:
            held = want.get(t + "_per_bank")
            if held is None:
                continue
            seen = per_bank.get(dev, {}).get(t, 0)
            if seen != held:
                bad.append(f"chip {dev} {t} per bank: tracked {seen}, emulator's banks hold {held}")
    for line in bad:
        print(f"MISMATCH {line}")
    total = sum(want[t] for want in truth.values() for t in TYPES)
    if not bad:
        print(f"ok: tracked usage equals the emulator's ground truth on {len(truth)} chips "
              f"({total} bytes in all)")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: compare_truth.py TRUTH.json SHOW.json")
    sys.exit(main(sys.argv[1], sys.argv[2]))
