#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run tests/real/mock_workload under the preload on the real runtime's mock
device and hold ttmem's view against the runtime's own allocators.

At every checkpoint of the workload (which then stands still) this reads
`ttmem show --json` and compares, per chip and type:
  per_bank  with Allocator::get_statistics(type).total_allocated_bytes
  in_use    with the sum of the sizes of the buffers the workload holds
  peak_bytes with the most the workload held at once per chip and type (one
            thread: the order of its events is the runtime's)
and for DRAM and L1 `ttmem map --json`'s largest free block and free bytes
with the statistics' largest_free_block_bytes and total_free_bytes; after
every close, that every chip reads 0.  It prints one line:

  REAL <version> <generation> chips=<n> checkpoints=<n> mismatches=<n> closes_at_zero=<k>/<n>
       peaks=<n> (chip and type peaks compared)

and exits 0 only when nothing differed.  With --tt-tracker the runtime's
own shared-memory tracker stays on and its DRAM and L1 readings are printed
beside ttmem's and the allocator's (--report FILE keeps them as JSON).
"""
import argparse
import json
import os
import subprocess
import sys

TYPES = ("DRAM", "L1", "L1_SMALL", "TRACE")


def probe_generation(ttmem, lib):
    out = subprocess.run([ttmem, "probe", lib], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.strip().startswith("generation:"):
            return line.split(":", 1)[1].split()[0]
    return "unknown"


def ttmem_view(ttmem, shm):
    r = subprocess.run([ttmem, "show", "--json", "--shm", shm], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("ttmem show failed (%d): %s" % (r.returncode, r.stderr.strip()))
    doc = json.loads(r.stdout)
    return {d["device"]: d for d in doc["devices"] if d["device"] is not None}


def ttmem_map(ttmem, shm, chip, ty):
    r = subprocess.run([ttmem, "map", "--json", "-d", str(chip), "--shm", shm, ty],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("ttmem map failed (%d): %s" % (r.returncode, r.stderr.strip()))
    return json.loads(r.stdout)


def tt_tracker_view(chips):
    """The runtime's own tracker, where its reader is at hand (None otherwise)."""
    try:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import tt_shm_stats  # noqa: E402
    except ImportError:
        return None
    view = {}
    for c in chips:
        try:
            view[c] = tt_shm_stats.read(c)
        except Exception as e:  # a missing or foreign file: say so, compare nothing
            view[c] = {"error": str(e)}
    return view


def run_once(a, env, shm, threads, report):
    """One workload run of `threads` threads: what it counted, and whether it was exact."""
    argv = [a.workload, "--chips", str(a.chips), "--runs", str(a.runs), "--threads",
            str(threads), "--phases", str(a.phases), "--steps", str(a.steps),
            "--seed", str(a.seed + threads)]
    shm_before = set(os.listdir("/dev/shm"))
    # The runtime writes generated/ (fabric mappings) into its working
    # directory: keep it beside the firmware cache, out of the source tree.
    p = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True, bufsize=1, cwd=os.path.dirname(os.path.abspath(a.cache)))
    checkpoints = mismatches = closes = closes_zero = peaks_checked = 0
    label, stats, peaks = None, [], []
    try:
        for line in p.stdout:
            w = line.split()
            if not w:
                continue
            if w[0] == "CHECKPOINT":
                label, stats, peaks = w[1], [], []
            elif w[0] == "PEAK" and len(w) == 4:
                peaks.append((int(w[1]), w[2], int(w[3])))
            elif w[0] == "STAT" and len(w) == 7:
                stats.append((int(w[1]), w[2], int(w[3]), int(w[4]), int(w[5]), int(w[6])))
            elif w[0] == "END":
                view = ttmem_view(a.ttmem, shm)
                tracker = tt_tracker_view(range(a.chips)) if a.tt_tracker else None
                checkpoints += 1
                for chip, ty, alloc, requested, largest, free in stats:
                    # The address map: DRAM and L1, whose bank bounds the
                    # preload publishes from the allocator (a chip it has
                    # seen nothing on yet is not in the segment).
                    if ty in ("DRAM", "L1") and chip in view:
                        m = ttmem_map(a.ttmem, shm, chip, ty)
                        if (m["largest_free_block"], m["free_per_bank"]) != (largest, free):
                            mismatches += 1
                            print("map mismatch at %s chip %d %s: allocator largest free %d, "
                                  "free %d; ttmem map %s, %s" % (
                                      label, chip, ty, largest, free,
                                      m["largest_free_block"], m["free_per_bank"]),
                                  file=sys.stderr)
                    d = view.get(chip)
                    got_bank = d["per_bank"][ty] if d else 0
                    got_req = d["in_use"][ty] if d else 0
                    if got_bank != alloc or got_req != requested:
                        mismatches += 1
                        print("mismatch at %s chip %d %s: allocator %d per bank, ttmem %s; "
                              "requested %d, ttmem %d" % (label, chip, ty, alloc, got_bank,
                                                          requested, got_req), file=sys.stderr)
                    report.append({"threads": threads, "checkpoint": label, "chip": chip, "type": ty,
                                   "allocator_per_bank": alloc, "requested": requested,
                                   "ttmem_per_bank": got_bank, "ttmem_in_use": got_req,
                                   "tt_tracker": (tracker or {}).get(chip, {}).get(ty)})
                for chip, ty, want in peaks:
                    peaks_checked += 1
                    d = view.get(chip)
                    got = d["peak_bytes"][ty] if d else 0
                    if got != want:
                        mismatches += 1
                        print("peak mismatch at %s chip %d %s: the workload held at most %d, "
                              "ttmem's peak %d" % (label, chip, ty, want, got), file=sys.stderr)
                p.stdin.write("\n")
                p.stdin.flush()
            elif w[0] == "CLOSED":
                view = ttmem_view(a.ttmem, shm)
                closes += 1
                left = {c: sum(d["in_use"].values()) for c, d in view.items()
                        if sum(d["in_use"].values())}
                if left:
                    print("after %s close, chips still hold bytes in ttmem: %s" % (w[1], left),
                          file=sys.stderr)
                else:
                    closes_zero += 1
                if a.tt_tracker:
                    report.append({"threads": threads, "checkpoint": w[1] + "-closed",
                                   "tt_tracker": tt_tracker_view(range(a.chips))})
                p.stdin.write("\n")
                p.stdin.flush()
        rc = p.wait(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
        subprocess.run([a.ttmem, "rm", shm], capture_output=True)
        # The runtime's MPI layer leaves its shared-memory segments behind,
        # and its own tracker its per-chip files: what this run created goes.
        for name in set(os.listdir("/dev/shm")) - shm_before:
            if name.startswith("sm_segment.") or name.startswith("tt_device_"):
                try:
                    os.unlink(os.path.join("/dev/shm", name))
                except OSError:
                    pass
    expected = a.runs * (a.phases + 1)
    if rc != 0:
        print("the workload exited with %d" % rc, file=sys.stderr)
    if checkpoints != expected:
        print("expected %d checkpoints, saw %d" % (expected, checkpoints), file=sys.stderr)
    ok = rc == 0 and mismatches == 0 and checkpoints == expected and closes_zero == closes == a.runs
    return {"checkpoints": checkpoints, "mismatches": mismatches, "closes": closes,
            "peaks": peaks_checked,
            "closes_zero": closes_zero, "ok": ok}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--version", required=True, help="ttnn wheel version (for the summary)")
    ap.add_argument("--root", required=True, help="the unpacked wheel's ttnn/ directory")
    ap.add_argument("--cluster", required=True, help="mock cluster descriptor YAML")
    ap.add_argument("--workload", required=True, type=os.path.abspath)
    ap.add_argument("--ttmem", required=True)
    ap.add_argument("--preload", required=True)
    ap.add_argument("--cache", required=True, help="the runtime's firmware cache directory")
    ap.add_argument("--chips", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=lambda v: [int(x) for x in v.split(",")], default=[1],
                    help="thread counts, comma-separated: one workload run each")
    ap.add_argument("--phases", type=int, default=4)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tt-tracker", action="store_true",
                    help="leave the runtime's own shared-memory tracker on and report it")
    ap.add_argument("--report", help="write every checkpoint's readings to this JSON file")
    a = ap.parse_args()

    lib = os.path.join(a.root, "build", "lib", "libtt_metal.so")
    generation = probe_generation(a.ttmem, lib)
    shm = "/ttmem-real-%d" % os.getpid()
    env = dict(os.environ)
    env.update({
        "LD_PRELOAD": os.path.abspath(a.preload),
        "TTMEM_SHM": shm,
        "TT_METAL_RUNTIME_ROOT": os.path.abspath(a.root),
        "TT_METAL_MOCK_CLUSTER_DESC_PATH": os.path.abspath(a.cluster),
        "TT_METAL_CACHE": os.path.abspath(a.cache) + "/",
        "TT_METAL_LOGGER_LEVEL": "Error",
    })
    if a.tt_tracker:
        env.pop("TT_METAL_SHM_TRACKING_DISABLED", None)
    else:
        env["TT_METAL_SHM_TRACKING_DISABLED"] = "1"
    total = {"checkpoints": 0, "mismatches": 0, "closes": 0, "closes_zero": 0, "peaks": 0,
             "ok": True}
    report = []
    for threads in a.threads:
        r = run_once(a, env, shm, threads, report)
        for k in ("checkpoints", "mismatches", "closes", "closes_zero", "peaks"):
            total[k] += r[k]
        total["ok"] = total["ok"] and r["ok"]
    if a.report:
        with open(a.report, "w") as f:
            json.dump(report, f, indent=1)
    print("REAL %s %s chips=%d checkpoints=%d mismatches=%d closes_at_zero=%d/%d peaks=%d" %
          (a.version, generation, a.chips, total["checkpoints"], total["mismatches"],
           total["closes_zero"], total["closes"], total["peaks"]))
    return 0 if total["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
