#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A process's figures per buffer type against the emulator's ground truth.

  check_per_type.py PID TRUTH.json SHOW.json USED.csv LIVE.csv SHOW.txt

TRUTH is what the workload's allocators hold per chip and type (TTEMU_TRUTH),
at a hold point where the workload is the only process on its chips.
SHOW.json is `show --json`; USED.csv is `--query pid,index,used_memory.TYPE
..., used_memory.all_types,used_memory` (no header, no units): a row per
chip; LIVE.csv `--query pid,live_memory.TYPE...,live_memory.all_types,
live_memory` (a row per chip, the same figures); SHOW.txt `show` into a pipe.  Checks every
per-type figure equals the truth, and every all-types figure equals the sum
of the per-type ones.  Exit 0, or 1 with the mismatches on stderr.
"""
import csv
import json
import sys

TYPES = ["DRAM", "L1", "L1_SMALL", "TRACE", "CB"]  # what the truth knows
ALL = ["DRAM", "L1", "SYSTEM_MEMORY", "L1_SMALL", "TRACE", "CB"]


def human(n):
    if n < 1024:
        return "%d B" % n
    units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    v, u = n / 1024.0, 0
    while v >= 1024.0 and u < len(units) - 1:
        v /= 1024.0
        u += 1
    return "%.*f %s" % (0 if v >= 100 else 1 if v >= 10 else 2, v, units[u])


def main():
    pid = int(sys.argv[1])
    truth = {d["device"]: d for d in json.load(open(sys.argv[2]))["devices"]}
    show = json.load(open(sys.argv[3]))
    bad = []
    total = {ty: sum(d[ty] for d in truth.values()) for ty in TYPES}
    procs = [p for p in show["processes"] if p["pid"] == pid]
    if len(procs) != 1:
        print("pid %d: %d processes in show --json" % (pid, len(procs)), file=sys.stderr)
        return 1
    p = procs[0]
    for ty in TYPES:
        if p["live_by_type"][ty] != total[ty]:
            bad.append("live_by_type %s: %d, truth %d" % (ty, p["live_by_type"][ty], total[ty]))
        if p["table_by_type"][ty] != total[ty]:
            bad.append("table_by_type %s: %d, truth %d" % (ty, p["table_by_type"][ty], total[ty]))
    s = sum(p["live_by_type"].values())
    for k in ("live_bytes_all_types", "table_bytes_all_types", "live_bytes", "table_bytes"):
        if p[k] != s:
            bad.append("%s %d != sum of live_by_type %d" % (k, p[k], s))
    if p["peak_bytes_all_types"] < s or p["peak_bytes"] != p["peak_bytes_all_types"]:
        bad.append("peak_bytes_all_types %d below live %d" % (p["peak_bytes_all_types"], s))
    seen = set()
    for c in p["devices"]:
        d = truth.get(c["device"])
        if d is None:
            bad.append("chip %s not in the truth" % c["device"])
            continue
        seen.add(c["device"])
        for ty in TYPES:
            if c["types"][ty] != d[ty]:
                bad.append("chip %d %s: %d, truth %d" % (c["device"], ty, c["types"][ty], d[ty]))
        if c["bytes_all_types"] != sum(c["types"].values()) or c["bytes"] != c["bytes_all_types"]:
            bad.append("chip %d: bytes_all_types %d != sum %d"
                       % (c["device"], c["bytes_all_types"], sum(c["types"].values())))
    for dev, d in truth.items():
        if dev not in seen and any(d[ty] for ty in TYPES):
            bad.append("chip %d holds memory in the truth, not in show" % dev)
    # CSV: a row per chip, per type, then all types twice (new and old name).
    rows = [r for r in csv.reader(open(sys.argv[4])) if r and int(r[0]) == pid]
    if len(rows) != len(seen):
        bad.append("%d CSV rows for %d chips" % (len(rows), len(seen)))
    for r in rows:
        dev, vals = int(r[1]), [int(x) for x in r[2:]]
        for ty, v in zip(ALL, vals):
            want = truth[dev][ty] if ty in truth[dev] else 0
            if v != want:
                bad.append("CSV chip %d used_memory.%s: %d, truth %d" % (dev, ty.lower(), v, want))
        if vals[6] != sum(vals[:6]) or vals[7] != vals[6]:
            bad.append("CSV chip %d: all_types %d, used_memory %d, sum %d"
                       % (dev, vals[6], vals[7], sum(vals[:6])))
    # A row per chip, each with the process's figures over all chips.
    live = [r for r in csv.reader(open(sys.argv[5])) if r and int(r[0]) == pid]
    if not live or any(r != live[0] for r in live):
        bad.append("live CSV rows differ or are missing: %r" % live)
    else:
        vals = [int(x) for x in live[0][1:]]
        for ty, v in zip(ALL, vals):
            if v != total.get(ty, 0):
                bad.append("CSV live_memory.%s: %d, truth %d" % (ty.lower(), v, total.get(ty, 0)))
        if vals[6] != sum(vals[:6]) or vals[7] != vals[6]:
            bad.append("CSV live_memory.all_types %d, live_memory %d, sum %d"
                       % (vals[6], vals[7], sum(vals[:6])))
    # Text: the process's row has its live bytes per type.
    text = open(sys.argv[6]).read().split("\n")
    head = [i for i, ln in enumerate(text) if ln.startswith("PID ") and "NAME" in ln]
    row = [ln for ln in text[head[0]:] if ln.split()[:1] == [str(pid)]] if head else []
    if not row:
        bad.append("no process row in the text")
    else:
        cols = text[head[0]].split()
        for ty in TYPES:
            if ty not in cols:
                bad.append("no %s column in %r" % (ty, text[head[0]]))
            elif human(total[ty]) not in row[0]:
                bad.append("text: %s %s not in %r" % (ty, human(total[ty]), row[0]))
        if "LIVE(ALL)" not in cols or "PEAK(ALL)" not in cols:
            bad.append("the all-types sums are not headed (ALL): %r" % text[head[0]])
    for b in bad:
        print(b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
