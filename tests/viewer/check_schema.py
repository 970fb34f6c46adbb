#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Validate ttmem JSON output against viewer/ttmem.schema.json.

  check_schema.py SCHEMA KIND < output

KIND is the $defs entry the document must match (show, leaks, buffers, map,
segments, probe, sample, diff); the input is one JSON document, or JSON lines (each
validated).  The bytes must be valid UTF-8 (SCHEMA.md).  The validator below
implements the keywords the schema uses, so the test needs nothing beyond
Python; where the jsonschema package is installed the document is also
checked by it (Draft 2020-12), which also checks the schema itself.
Exit 0, or 1 with the violations on stderr.
"""
import json
import re
import sys

TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def is_type(v, t):
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    return isinstance(v, TYPES[t])


def resolve(root, ref):
    assert ref.startswith("#/"), ref
    node = root
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def check(root, sch, v, path, errs):
    if "$ref" in sch:
        check(root, resolve(root, sch["$ref"]), v, path, errs)
    if "type" in sch:
        ts = sch["type"] if isinstance(sch["type"], list) else [sch["type"]]
        if not any(is_type(v, t) for t in ts):
            errs.append(f"{path}: {v!r:.60} is not {ts}")
            return
    if "const" in sch and v != sch["const"]:
        errs.append(f"{path}: {v!r} != {sch['const']!r}")
    if "enum" in sch and v not in sch["enum"]:
        errs.append(f"{path}: {v!r} not in {sch['enum']}")
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if "minimum" in sch and v < sch["minimum"]:
            errs.append(f"{path}: {v} < {sch['minimum']}")
        if "maximum" in sch and v > sch["maximum"]:
            errs.append(f"{path}: {v} > {sch['maximum']}")
    if isinstance(v, str) and "pattern" in sch and not re.search(sch["pattern"], v):
        errs.append(f"{path}: {v!r} does not match {sch['pattern']}")
    if isinstance(v, dict):
        for k in sch.get("required", []):
            if k not in v:
                errs.append(f"{path}: no {k!r}")
        props = sch.get("properties", {})
        for k, x in v.items():
            if k in props:
                check(root, props[k], x, f"{path}.{k}", errs)
            elif sch.get("additionalProperties") is False:
                errs.append(f"{path}: unexpected {k!r}")
            elif isinstance(sch.get("additionalProperties"), dict):
                check(root, sch["additionalProperties"], x, f"{path}.{k}", errs)
    if isinstance(v, list) and "items" in sch:
        for n, x in enumerate(v):
            check(root, sch["items"], x, f"{path}[{n}]", errs)
    for sub in sch.get("allOf", []):
        check(root, sub, v, path, errs)
    if "oneOf" in sch:
        ok = 0
        for sub in sch["oneOf"]:
            e = []
            check(root, sub, v, path, e)
            ok += not e
        if ok != 1:
            errs.append(f"{path}: matches {ok} of oneOf, not 1")
    if "not" in sch:
        e = []
        check(root, sch["not"], v, path, e)
        if not e:
            errs.append(f"{path}: matches 'not'")


def main():
    root = json.load(open(sys.argv[1]))
    kind = sys.argv[2]
    raw = sys.stdin.buffer.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        print(f"not UTF-8: {e}", file=sys.stderr)
        return 1
    docs = [json.loads(line) for line in text.splitlines() if line.strip()] \
        if kind == "sample" else [json.loads(text)]
    errs = []
    for d in docs:
        check(root, root["$defs"][kind], d, "$", errs)
        check(root, root, d, "$", errs)
    try:
        import jsonschema
        v = jsonschema.Draft202012Validator(root)
        jsonschema.Draft202012Validator.check_schema(root)
        for d in docs:
            errs += [f"jsonschema: {e.message}" for e in v.iter_errors(d)]
    except ImportError:
        pass
    for e in errs[:40]:
        print(e, file=sys.stderr)
    if not docs:
        print("no document", file=sys.stderr)
        return 1
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
