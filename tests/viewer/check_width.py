#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Text output of `ttmem show` / `ttmem leaks` against a width and its JSON.

  check_width.py show WIDTH SHOW.json SHOW.txt [full]
  check_width.py leaks WIDTH LEAKS.json LEAKS.txt [full]
  check_width.py buffers WIDTH BUFFERS.json BUFFERS.txt [full]

WIDTH 0: no limit.  Checks that no line is wider than WIDTH (terminal
columns), that the key figures are there and equal the JSON's (show: every
chip's in-use bytes per type in the chip table; leaks: each process's bytes
and each group's bytes per type; buffers: a row per buffer, each with its
size, and the bytes per type of the last line), and with `full` that nothing was elided
or left out.  Sizes are written as ttmem(1) says ("24.3 MiB"), by this
script's own rendering.  Exit 0, or 1 with the mismatches on stderr.
"""
import json
import re
import sys
import unicodedata

TYPES = ["DRAM", "L1", "SYSTEM_MEMORY", "L1_SMALL", "TRACE", "CB"]


def human(n):
    """Bytes as ttmem(1) writes them: 3 significant digits, binary units."""
    if n < 1024:
        return "%d B" % n
    units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    v, u = n / 1024.0, 0
    while v >= 1024.0 and u < len(units) - 1:
        v /= 1024.0
        u += 1
    digits = 0 if v >= 100 else 1 if v >= 10 else 2
    return "%.*f %s" % (digits, v, units[u])


def cols(s):
    return sum(0 if unicodedata.combining(c) else
               2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def check_widths(text, width, errs):
    for i, line in enumerate(text.split("\n")):
        if width and cols(line) > width:
            errs.append("line %d is %d columns wide (> %d): %r" % (i + 1, cols(line), width, line))


def check_show(doc, text, full, errs):
    lines = text.split("\n")
    while lines and not lines[0].startswith("CHIP"):
        lines.pop(0)
    if not lines:
        errs.append("no chip table")
        return
    if "IN USE" not in lines[0]:
        errs.append("chip table without IN USE: %r" % lines[0])
    seen = {}
    chip = None
    for line in lines[1:]:
        if not line.strip() or line.startswith("("):
            break
        tok = line.split()
        if not line.startswith(" "):
            chip, tok = tok[0], tok[1:]
        ty, val = tok[0], " ".join(tok[1:3])
        seen[(chip, ty)] = val
    for d in doc["devices"]:
        chip = "unknown" if d["device"] is None else str(d["device"])
        for ty in TYPES:
            want = d["in_use"][ty]
            got = seen.get((chip, ty))
            if got is None and (want or ty == "DRAM"):
                errs.append("chip %s %s: no row (in use %d)" % (chip, ty, want))
            elif got is not None and got != human(want):
                errs.append("chip %s %s: IN USE %r, JSON says %d (%s)"
                            % (chip, ty, got, want, human(want)))
    if full:
        if "..." in text or "(not shown" in text:
            errs.append("elided or left out with no width limit")
        for head in ("SYSTEM", "APPLICATION", "CAPACITY", "ORPHANED", "AT-EXIT"):
            if head not in lines[0]:
                errs.append("column %s missing with no width limit" % head)
        # Every process row has its live bytes per type, whole.
        for p in doc["processes"]:
            row = [ln for ln in text.split("\n") if ln.split()[:1] == [str(p["pid"])]]
            if not row:
                errs.append("pid %d: no row" % p["pid"])
                continue
            for ty in TYPES:
                if human(p["live_by_type"][ty]) not in row[0]:
                    errs.append("pid %d: %s live %s not in %r"
                                % (p["pid"], ty, human(p["live_by_type"][ty]), row[0]))


def check_leaks(doc, text, full, errs):
    for p in doc["processes"]:
        head = [ln for ln in text.split("\n") if ln.startswith("pid %d " % p["pid"])]
        if not head or human(p["bytes"]) not in head[0]:
            errs.append("pid %d: no headline with %s" % (p["pid"], human(p["bytes"])))
        for g in p["groups"]:
            figs = ["%s %s" % (ty, human(v)) for ty, v in g["types"].items() if v]
            if not any(human(g["bytes"]) in ln and all(f in ln for f in figs)
                       for ln in text.split("\n")):
                errs.append("pid %d: no line with %s and %s" % (p["pid"], human(g["bytes"]), figs))
    if full and "..." in text:
        errs.append("elided with no width limit")


def check_buffers(doc, text, full, errs):
    lines = text.split("\n")
    if not lines or not lines[0].startswith("CHIP"):
        errs.append("no header")
        return
    rows = []
    for ln in lines[1:]:
        if ln.startswith("(not shown") or re.match(r"^\d+ buffers?\b", ln) or not ln:
            break
        rows.append(ln)
    if len(rows) != doc["count"]:
        errs.append("%d rows for %d buffers" % (len(rows), doc["count"]))
    for ln, b in zip(rows, doc["buffers"]):
        if human(b["size"]) not in ln:
            errs.append("row %r lacks its size %s" % (ln, human(b["size"])))
    flat = text.replace("\n  ", " ")
    for ty, v in doc["bytes"].items():
        if v and "%s %s" % (ty, human(v)) not in flat:
            errs.append("no %s %s in the summary" % (ty, human(v)))
    if full:
        if "..." in text or "(not shown" in text:
            errs.append("elided or left out with no width limit")
        for head in ("ADDRESS", "PAGE", "OWNER", "PID", "PROCESS", "CALLSITE"):
            if head not in lines[0]:
                errs.append("column %s missing with no width limit" % head)


def main():
    if len(sys.argv) < 5 or sys.argv[1] not in ("show", "leaks", "buffers"):
        sys.stderr.write(__doc__)
        return 2
    width = int(sys.argv[2])
    with open(sys.argv[3]) as f:
        doc = json.load(f)
    with open(sys.argv[4], encoding="utf-8") as f:
        text = f.read()
    full = len(sys.argv) > 5 and sys.argv[5] == "full"
    errs = []
    check_widths(text, width, errs)
    {"show": check_show, "leaks": check_leaks,
     "buffers": check_buffers}[sys.argv[1]](doc, text, full, errs)
    for e in errs:
        sys.stderr.write(e + "\n")
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
