#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The process series of a `ttmem export` textfile against what the processes hold.

  check_series.py MODE EXPOSITION EXPECT.json [TRUTH.json]

EXPECT: {"procs": [{"pid": P, "name": N, "bytes": {TYPE: b}}, ...],
         "names_max": 64}; a process whose "bytes" is null takes the ground
truth TRUTH (the emulator's, per chip; summed over chips).  MODE:
  name   one set of series per name: ttmem_process_name_bytes per type equal
         to the sum over the processes of that name, name_processes their
         count; the names beyond names_max summed in ttmem_process_other_*;
         exactly 7 series per name + 7, whatever the pids and chips; no pid.
  pid    exactly 8 series per process (bytes per type, peak, partial), none
         per chip; ttmem_process_bytes equal to each process's truth.
  full   the per-chip set (ttmem_process_device_bytes) is there.
promtool checks the exposition when it is installed.  Exit 0, or 1 with the
mismatches on stderr.
"""
import json
import re
import shutil
import subprocess
import sys

TYPES = ["DRAM", "L1", "SYSTEM_MEMORY", "L1_SMALL", "TRACE", "CB"]
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    out = []
    for ln in text.split("\n"):
        if not ln or ln.startswith("#"):
            continue
        m = SAMPLE.match(ln)
        if not m:
            raise ValueError("not a sample: %r" % ln)
        out.append((m.group(1), dict(LABEL.findall(m.group(2))), float(m.group(3))))
    return out


def main():
    mode, expo = sys.argv[1], open(sys.argv[2], encoding="utf-8").read()
    exp = json.load(open(sys.argv[3]))
    truth = json.load(open(sys.argv[4])) if len(sys.argv) > 4 else None
    bad = []
    procs = exp["procs"]
    for p in procs:
        if p["bytes"] is None:
            p["bytes"] = {ty: sum(d.get(ty, 0) for d in truth["devices"]) for ty in TYPES}
    samples = parse(expo)
    ps = [s for s in samples if s[0].startswith("ttmem_process_") and
          s[0] not in ("ttmem_process_drops_total",)]
    if mode == "name":
        names = {}
        for p in procs:
            n = names.setdefault(p["name"], {"processes": 0, "bytes": dict.fromkeys(TYPES, 0)})
            n["processes"] += 1
            for ty in TYPES:
                n["bytes"][ty] += p["bytes"].get(ty, 0)
        order = sorted(names, key=lambda k: (-sum(names[k]["bytes"].values()), k))
        kept, rest = order[:exp["names_max"]], order[exp["names_max"]:]
        want_n = 7 * len(kept) + 7
        if len(ps) != want_n:
            bad.append("%d process series, want 7 x %d names + 7 = %d" % (len(ps), len(kept), want_n))
        if any("pid" in lb for _, lb, _ in ps):
            bad.append("a pid label in name mode")
        got = {}
        for m, lb, v in ps:
            got[(m, lb.get("name"), lb.get("type"))] = v
        for k in kept:
            for ty in TYPES:
                g = got.get(("ttmem_process_name_bytes", k, ty))
                if g != names[k]["bytes"][ty]:
                    bad.append("name %s %s: %s, want %d" % (k, ty, g, names[k]["bytes"][ty]))
            g = got.get(("ttmem_process_name_processes", k, None))
            if g != names[k]["processes"]:
                bad.append("name %s: %s processes, want %d" % (k, g, names[k]["processes"]))
        for ty in TYPES:
            want = sum(names[k]["bytes"][ty] for k in rest)
            g = got.get(("ttmem_process_other_bytes", None, ty))
            if g != want:
                bad.append("other %s: %s, want %d" % (ty, g, want))
        g = got.get(("ttmem_process_other_processes", None, None))
        want = sum(names[k]["processes"] for k in rest)
        if g != want:
            bad.append("other processes: %s, want %d" % (g, want))
    elif mode == "pid":
        if len(ps) != 8 * len(procs):
            bad.append("%d process series, want 8 x %d processes" % (len(ps), len(procs)))
        for p in procs:
            mine = [s for s in ps if s[1].get("pid") == str(p["pid"])]
            if len(mine) != 8:
                bad.append("pid %d: %d series, want 8" % (p["pid"], len(mine)))
            for ty in TYPES:
                g = [v for m, lb, v in mine if m == "ttmem_process_bytes" and lb.get("type") == ty]
                if g != [p["bytes"].get(ty, 0)]:
                    bad.append("pid %d %s: %s, want %d" % (p["pid"], ty, g, p["bytes"].get(ty, 0)))
        if any("device" in lb for _, lb, _ in ps):
            bad.append("a per-chip process series in pid mode")
    elif mode == "full":
        for p in procs:
            chips = [s for s in ps if s[0] == "ttmem_process_device_bytes" and
                     s[1].get("pid") == str(p["pid"])]
            if not chips:
                bad.append("pid %d: no per-chip series in full mode" % p["pid"])
    if shutil.which("promtool"):
        r = subprocess.run(["promtool", "check", "metrics"], input=expo, text=True,
                           capture_output=True)
        if r.returncode != 0 or (r.stdout + r.stderr).strip():
            bad.append("promtool: " + (r.stdout + r.stderr).strip())
    for b in bad:
        print(b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
