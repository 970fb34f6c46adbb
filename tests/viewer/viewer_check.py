#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Test helper for tests/viewer: checks the viewer's machine-readable output.

  viewer_check.py subset EXPECTED_JSON  < actual.json
      every key of EXPECTED must be in ACTUAL with an equal value; lists of
      objects are matched by their "device" / "pid" / "name" key (an expected
      item must be present; extra actual items are allowed unless the
      expected list ends with the string "$exact").
  viewer_check.py truth TRUTH_FILE PID [STATE]  < show.json
      ttmem show --json against the emulator's ground truth, field by field:
      every chip and type of the truth equals in_use and the process's bytes
      on that chip; chips absent from the truth hold 0; schema fields typed.
  viewer_check.py zero GROUP[,GROUP...]  < show.json
      every chip's GROUP (in_use, orphaned, exited, ...) is 0 for every type.
  viewer_check.py prom  < metrics.txt
      parses the Prometheus text exposition format strictly (HELP/TYPE before
      samples, one block per family, names, label syntax and escapes, values)
      and prints the samples as JSON: {"family": [[{labels}, value], ...]}.
  viewer_check.py prom-truth TRUTH_FILE PID  < metrics.txt
      the parsed metrics against the ground truth, like `truth`.

  viewer_check.py csv-truth TRUTH_FILE PID  < show.csv
      `ttmem show --query index,dram.used,...` (header and units on) parsed
      with Python's csv module: per chip, every TYPE.used column equals the
      truth; with pid and used_memory columns, the process's bytes per chip.
  viewer_check.py json-names NAMES_JSON  < show.json
      the document is valid UTF-8 JSON, and the process names are exactly
      the strings of NAMES_JSON (a list), in any order.
  viewer_check.py csv-names NAMES_JSON  < show.csv
      the same for a CSV with a process_name column (strict RFC 4180).

Exit 0 when all checks pass; 1 with one line per mismatch on stderr.
"""
import json
import re
import sys

TYPES = ["DRAM", "L1", "L1_SMALL", "TRACE", "CB"]
ALL_TYPES = ["DRAM", "L1", "SYSTEM_MEMORY", "L1_SMALL", "TRACE", "CB"]
errors = []


def err(msg):
    errors.append(msg)


def key_of(item):
    if isinstance(item, dict):
        for k in ("device", "pid", "name", "variant"):
            if k in item:
                return (k, item[k])
    return None


def subset(exp, act, path="$"):
    if isinstance(exp, dict):
        if not isinstance(act, dict):
            err(f"{path}: expected an object, got {act!r}")
            return
        for k, v in exp.items():
            if k not in act:
                err(f"{path}.{k}: missing")
            else:
                subset(v, act[k], f"{path}.{k}")
    elif isinstance(exp, list):
        if not isinstance(act, list):
            err(f"{path}: expected a list, got {act!r}")
            return
        exact = bool(exp) and exp[-1] == "$exact"
        items = exp[:-1] if exact else exp
        if exact and len(items) != len(act):
            err(f"{path}: {len(act)} items, expected {len(items)}")
        for i, e in enumerate(items):
            k = key_of(e)
            if k is None:
                if i >= len(act):
                    err(f"{path}[{i}]: missing")
                else:
                    subset(e, act[i], f"{path}[{i}]")
                continue
            match = [a for a in act if isinstance(a, dict) and a.get(k[0]) == k[1]]
            if len(match) != 1:
                err(f"{path}[{k[0]}={k[1]}]: {len(match)} matches")
            else:
                subset(e, match[0], f"{path}[{k[0]}={k[1]}]")
    else:
        if type(exp) != type(act) and not (isinstance(exp, (int, float)) and
                                           isinstance(act, (int, float)) and
                                           not isinstance(act, bool)):
            err(f"{path}: {act!r} is not {exp!r} (type)")
        elif exp != act:
            err(f"{path}: {act!r}, expected {exp!r}")


def check_schema(doc):
    def need(obj, path, fields):
        for f, t in fields.items():
            if f not in obj:
                err(f"{path}.{f}: missing")
            elif not isinstance(obj[f], t) or isinstance(obj[f], bool) and t is not bool:
                err(f"{path}.{f}: {obj[f]!r} is not {t}")
    need(doc, "$", {"schema": str, "devices": list, "processes": list, "segment": dict})
    if doc.get("schema") != "ttmem/1":
        err(f"$.schema: {doc.get('schema')!r}")
    need(doc.get("segment", {}), "$.segment",
         {"capacity": int, "entries": int, "drops": int, "unmatched": int,
          "reclaimed": int, "events": int})
    for d in doc.get("devices", []):
        need(d, "$.devices[]", {"device": int, "in_use": dict, "system": dict,
                                "application": dict, "orphaned": dict})
        for grp in ("in_use", "system", "application", "orphaned"):
            for t in ALL_TYPES:
                if not isinstance(d.get(grp, {}).get(t), int):
                    err(f"$.devices[{d.get('device')}].{grp}.{t}: not an integer")
            for t in ALL_TYPES:
                if d["system"][t] + d["application"][t] != d["in_use"][t]:
                    err(f"$.devices[{d['device']}]: system+application != in_use for {t}")
    for p in doc.get("processes", []):
        need(p, "$.processes[]", {"pid": int, "name": str, "state": str,
                                  "live_bytes": int, "peak_bytes": int})
        if p.get("state") not in ("running", "exited", "dead", "unknown"):
            err(f"$.processes[{p.get('pid')}].state: {p.get('state')!r}")


def load_truth(path):
    with open(path) as f:
        return json.load(f)


def cmd_truth(truth_path, pid):
    doc = json.load(sys.stdin)
    check_schema(doc)
    truth = load_truth(truth_path)
    tdev = {d["device"]: d for d in truth["devices"]}
    sdev = {d["device"]: d for d in doc["devices"]}
    procs = [p for p in doc["processes"] if p["pid"] == pid]
    want_state = "running"
    if len(sys.argv) > 4:
        want_state = sys.argv[4]
    if len(procs) != 1:
        err(f"process {pid}: {len(procs)} entries in processes[]")
        proc = None
    else:
        proc = procs[0]
        if proc["state"] != want_state:
            err(f"process {pid}: state {proc['state']}, expected {want_state}")
    pdev = {c["device"]: c for c in (proc or {}).get("devices", [])}
    total = 0
    for dev, t in tdev.items():
        s = sdev.get(dev)
        if s is None:
            if any(t[ty] for ty in TYPES):
                err(f"device {dev}: in the truth, not in the viewer")
            continue
        # Capacity: bank size x banks as the chip's open allocator says
        # (DRAM and L1 publish their geometry; 0 in the truth: closed).
        for ty in ("DRAM", "L1"):
            want = t.get(ty + "_capacity", 0)
            if want and (s["capacity"].get(ty) != want or s["capacity_source"].get(ty) != "segment"):
                err(f"device {dev} {ty}: capacity {s['capacity'].get(ty)} "
                    f"({s['capacity_source'].get(ty)}), allocator's {want}")
        for ty in TYPES:
            if s["in_use"][ty] != t[ty]:
                err(f"device {dev} {ty}: viewer {s['in_use'][ty]}, truth {t[ty]}")
            got = pdev.get(dev, {}).get("types", {}).get(ty, 0)
            if proc is not None and got != t[ty]:
                err(f"device {dev} {ty}: process {pid} has {got}, truth {t[ty]}")
            total += t[ty]
    for dev, s in sdev.items():
        if dev not in tdev and any(s["in_use"][ty] for ty in ALL_TYPES):
            err(f"device {dev}: {s['in_use']} in use, not in the truth")
    if proc is not None and proc["live_bytes"] != total:
        err(f"process {pid}: live_bytes {proc['live_bytes']}, truth {total}")
    if proc is not None and proc["peak_bytes"] < total:
        err(f"process {pid}: peak_bytes {proc['peak_bytes']} < live {total}")


NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"\s*(,|$)')


def parse_prom(text):
    fams = {}
    meta = {}
    current = None
    seen_done = set()
    if not text.endswith("\n"):
        err("exposition does not end with a newline")
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.match(name):
                    err(f"line {n}: bad metric name {name!r}")
                if name in seen_done:
                    err(f"line {n}: family {name} appears twice")
                if current and current != name:
                    seen_done.add(current)
                current = name
                m = meta.setdefault(name, {})
                if parts[1] in m:
                    err(f"line {n}: second {parts[1]} for {name}")
                m[parts[1]] = parts[3] if len(parts) > 3 else ""
                if parts[1] == "TYPE" and m["TYPE"] not in ("counter", "gauge", "untyped",
                                                            "histogram", "summary"):
                    err(f"line {n}: bad type {m['TYPE']!r}")
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$", line)
        if not m:
            err(f"line {n}: not a sample: {line!r}")
            continue
        name, labels_s, value_s, ts = m.group(1), m.group(3), m.group(4), m.group(5)
        if ts:
            err(f"line {n}: timestamps are refused by the textfile collector")
        if name != current:
            err(f"line {n}: sample {name} outside its family block ({current})")
        if "TYPE" not in meta.get(name, {}) or "HELP" not in meta.get(name, {}):
            err(f"line {n}: {name} without HELP and TYPE before it")
        if meta.get(name, {}).get("TYPE") == "counter" and not name.endswith("_total"):
            err(f"line {n}: counter {name} does not end in _total")
        labels = {}
        rest = labels_s or ""
        while rest.strip():
            lm = LABEL.match(rest)
            if not lm:
                err(f"line {n}: bad labels {labels_s!r}")
                break
            if lm.group(1) in labels:
                err(f"line {n}: label {lm.group(1)} twice")
            labels[lm.group(1)] = (lm.group(2).replace("\\n", "\n").replace('\\"', '"')
                                   .replace("\\\\", "\\"))
            rest = rest[lm.end():]
        try:
            value = float(value_s)
        except ValueError:
            err(f"line {n}: bad value {value_s!r}")
            continue
        key = json.dumps(labels, sort_keys=True)
        fam = fams.setdefault(name, {})
        if key in fam:
            err(f"line {n}: duplicate series {name}{labels}")
        fam[key] = value
    for name, m in meta.items():
        if "TYPE" not in m:
            err(f"family {name}: no TYPE")
    return {name: [[json.loads(k), v] for k, v in fam.items()] for name, fam in fams.items()}


def cmd_prom_truth(truth_path, pid):
    fams = parse_prom(sys.stdin.read())
    truth = load_truth(truth_path)
    inuse = {}
    for labels, v in fams.get("ttmem_device_in_use_bytes", []):
        k = (labels.get("device"), labels.get("type"))
        inuse[k] = inuse.get(k, 0) + v
    total = 0
    for d in truth["devices"]:
        for ty in TYPES:
            got = inuse.get((str(d["device"]), ty))
            if got is None and d[ty] == 0:
                continue  # a chip that holds nothing need not be listed
            if got != d[ty]:
                err(f"device {d['device']} {ty}: metrics {got}, truth {d[ty]}")
            total += d[ty]
    live = [v for labels, v in fams.get("ttmem_process_live_bytes", [])
            if labels.get("pid") == str(pid)]
    if live != [total]:
        err(f"process {pid}: ttmem_process_live_bytes {live}, truth {total}")
    for fam in ("ttmem_events_total", "ttmem_drops_total", "ttmem_unmatched_frees_total"):
        if len(fams.get(fam, [])) != 1:
            err(f"{fam}: missing")


def cmd_csv_truth(truth_path, pid):
    import csv
    import io
    raw = sys.stdin.buffer.read()
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline=""), strict=True))
    if not rows:
        err("no CSV output")
        return
    head = rows[0]
    truth = load_truth(truth_path)
    tdev = {d["device"]: d for d in truth["devices"]}
    col = {h.split(" [")[0]: i for i, h in enumerate(head)}
    if "index" not in col:
        err(f"no index column in {head}")
        return
    seen = set()
    for r in rows[1:]:
        if len(r) != len(head):
            err(f"row {r}: {len(r)} fields, header has {len(head)}")
            continue
        chip = int(r[col["index"]])
        t = tdev.get(chip, {})
        if "pid" in col and int(r[col["pid"]]) != pid:
            continue
        seen.add(chip)
        for ty in TYPES:
            name = ty.lower() + ".used"
            if name in col:
                v = r[col[name]]
                if not v.endswith(" B"):
                    err(f"chip {chip} {name}: {v!r} has no unit")
                if int(v.split()[0]) != t.get(ty, 0):
                    err(f"chip {chip} {name}: {v}, truth {t.get(ty, 0)}")
        if "used_memory" in col:
            want = sum(t.get(ty, 0) for ty in TYPES)
            got = int(r[col["used_memory"]].split()[0])
            if got != want:
                err(f"pid {pid} chip {chip} used_memory: {got}, truth {want}")
    for chip, t in tdev.items():
        if any(t[ty] for ty in TYPES) and chip not in seen:
            err(f"chip {chip}: in the truth, no row")


def check_names(got, want):
    if sorted(got) != sorted(want):
        err(f"names {got!r}, expected {want!r}")


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = sys.argv[1]
    if cmd == "subset":
        exp = json.loads(sys.argv[2])
        act = json.load(sys.stdin)
        subset(exp, act)
    elif cmd == "zero":
        doc = json.load(sys.stdin)
        for d in doc["devices"]:
            for group in sys.argv[2].split(","):
                for t, v in d[group].items():
                    if v:
                        err(f"device {d['device']} {group}.{t}: {v}, expected 0")
    elif cmd == "schema":
        check_schema(json.load(sys.stdin))
    elif cmd == "truth":
        cmd_truth(sys.argv[2], int(sys.argv[3]))
    elif cmd == "prom":
        fams = parse_prom(sys.stdin.read())
        json.dump(fams, sys.stdout)
        print()
    elif cmd == "csv-truth":
        cmd_csv_truth(sys.argv[2], int(sys.argv[3]))
    elif cmd == "json-names":
        # strict: bytes must be UTF-8, the JSON must parse
        doc = json.loads(sys.stdin.buffer.read().decode("utf-8"))
        check_names([p["name"] for p in doc["processes"]], json.loads(sys.argv[2]))
    elif cmd == "csv-names":
        import csv
        import io
        text = sys.stdin.buffer.read().decode("utf-8")
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
        i = rows[0].index("process_name")
        for r in rows[1:]:
            if len(r) != len(rows[0]):
                err(f"row {r!r}: {len(r)} fields")
        check_names([r[i] for r in rows[1:]], json.loads(sys.argv[2]))
    elif cmd == "prom-truth":
        cmd_prom_truth(sys.argv[2], int(sys.argv[3]))
    else:
        print(f"unknown command {cmd}", file=sys.stderr)
        return 2
    for e in errors:
        print(e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
