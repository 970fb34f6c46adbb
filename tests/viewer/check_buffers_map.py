#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks of `ttmem buffers` and `ttmem map` against `show` and the emulator.

  check_buffers_map.py buffers-vs-show BUFFERS.json SHOW.json
      the sizes buffers lists add up to show's in_use per chip and type, and
      the number of buffers per chip is show's `buffers`
  check_buffers_map.py buffers-vs-truth BUFFERS.json TRUTH.json
      the same against the emulator's ground truth (what its allocators
      hold): bytes per chip and type, and buffers (CBs excluded) per chip
  check_buffers_map.py csv-vs-json BUFFERS.csv BUFFERS.json
      the CSV rows are the JSON buffers, field by field
  check_buffers_map.py map-vs-truth TRUTH.json TYPE MAP.json [MAP.json...]
      each map's largest free block and free bytes per bank are the
      allocator's own (the truth's free list) for its chip

Exit 0 when everything matches, 1 with the mismatches on stderr.
"""
import csv
import json
import sys

TYPES = ["DRAM", "L1", "SYSTEM_MEMORY", "L1_SMALL", "TRACE", "CB"]


def load(path):
    with open(path) as f:
        return json.load(f)


def sums(buffers):
    per = {}
    count = {}
    for b in buffers["buffers"]:
        d = b["device"]
        per.setdefault(d, {t: 0 for t in TYPES})[b["type"]] += b["size"]
        if b["type"] != "CB":
            count[d] = count.get(d, 0) + 1
    return per, count


def buffers_vs_show(bpath, spath):
    b, s = load(bpath), load(spath)
    per, _ = sums(b)
    bad = []
    n_show = 0
    for d in s["devices"]:
        dev = d["device"]
        n_show += d["buffers"]
        for t in TYPES:
            got = per.get(dev, {}).get(t, 0)
            if got != d["in_use"][t]:
                bad.append(f"chip {dev} {t}: buffers {got} != show {d['in_use'][t]}")
    for dev in per:
        if dev not in [d["device"] for d in s["devices"]]:
            bad.append(f"chip {dev} listed by buffers, not by show")
    if b["count"] != len(b["buffers"]) or b["count"] != n_show:
        bad.append(f"count {b['count']}, listed {len(b['buffers'])}, show {n_show}")
    if b["count"] == 0:
        bad.append("no buffers at all: nothing was compared")
    return bad


def buffers_vs_truth(bpath, tpath):
    b, t = load(bpath), load(tpath)
    per, count = sums(b)
    bad = []
    for d in t["devices"]:
        dev = d["device"]
        for ty in ["DRAM", "L1", "L1_SMALL", "TRACE", "CB"]:
            got = per.get(dev, {}).get(ty, 0)
            if got != d[ty]:
                bad.append(f"chip {dev} {ty}: buffers {got} != truth {d[ty]}")
        if count.get(dev, 0) != d["buffers"]:
            bad.append(f"chip {dev}: {count.get(dev, 0)} buffers listed, truth {d['buffers']}")
    return bad


def csv_vs_json(cpath, jpath):
    j = load(jpath)["buffers"]
    with open(cpath, newline="") as f:
        rows = list(csv.DictReader(f))
    bad = []
    if len(rows) != len(j):
        bad.append(f"{len(rows)} CSV rows, {len(j)} JSON buffers")
    for r, b in zip(rows, j):
        want = {"device": str(b["device"]), "type": b["type"], "address": hex(b["address"]),
                "size": str(b["size"]), "page_size": "" if b["page_size"] is None else str(b["page_size"]),
                "owner": b["owner"], "pid": str(b["pid"]), "process": b["process"]}
        for k, v in want.items():
            if r[k] != v:
                bad.append(f"row {r}: {k} {r[k]!r} != {v!r}")
                break
    return bad


def map_vs_truth(tpath, ty, maps):
    t = {d["device"]: d for d in load(tpath)["devices"]}
    bad = []
    for mpath in maps:
        m = load(mpath)
        td = t[m["device"]]
        free = {"largest": td[ty + "_largest_free"], "total": td[ty + "_free"]}
        if m["type"] != ty:
            bad.append(f"{mpath}: type {m['type']} != {ty}")
        if m["geometry"] is None:
            bad.append(f"chip {m['device']} {ty}: no bank geometry published")
            continue
        if m["largest_free_block"] != free["largest"]:
            bad.append(f"chip {m['device']} {ty}: largest free block {m['largest_free_block']}"
                       f" != allocator's {free['largest']}")
        if m["free_per_bank"] != free["total"]:
            bad.append(f"chip {m['device']} {ty}: free {m['free_per_bank']} != allocator's {free['total']}")
        frag = 1 - free["largest"] / free["total"] if free["total"] else 0
        if abs(m["fragmentation"] - frag) > 1e-6:
            bad.append(f"chip {m['device']} {ty}: fragmentation {m['fragmentation']} != {frag}")
        if m["overlaps"] or m["outside"] or m["estimated"]:
            bad.append(f"chip {m['device']} {ty}: overlaps/outside/estimated "
                       f"{m['overlaps']}/{m['outside']}/{m['estimated']}")
        if not m["ranges"]:
            bad.append(f"chip {m['device']} {ty}: no ranges: nothing was compared")
    return bad


def main(argv):
    mode = argv[1]
    if mode == "buffers-vs-show":
        bad = buffers_vs_show(argv[2], argv[3])
    elif mode == "buffers-vs-truth":
        bad = buffers_vs_truth(argv[2], argv[3])
    elif mode == "csv-vs-json":
        bad = csv_vs_json(argv[2], argv[3])
    elif mode == "map-vs-truth":
        bad = map_vs_truth(argv[2], argv[3], argv[4:])
    else:
        print(f"unknown mode {mode}", file=sys.stderr)
        return 2
    for line in bad:
        print(line, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
