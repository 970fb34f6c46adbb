#!/usr/bin/env python3
"""Read tt-metal's own memory tracker from outside the process.

Recent tt-metal runtimes (tenstorrent/tt-metal PR #37218, e.g. the ttnn 0.81.1
wheel) keep per-chip allocation counters in POSIX shared memory,
/dev/shm/tt_device_<id>_memory, written by SharedMemoryStatsProvider from
GraphTracker::track_allocate/track_deallocate (off with
TT_METAL_SHM_TRACKING_DISABLED=1).  This reads that file so its numbers can be
compared with ttmem's and with Allocator::get_statistics.

    python3 tt_shm_stats.py [--json] [ID_OR_PATH...]

With no argument every /dev/shm/tt_device_*_memory is read.  An ID is the
number in the file name: the writer names the file after the chip's UMD
chip_unique_id (asic_id), which is 0 on a mock cluster but a large number on
hardware; if no file has that name, a region whose logical device_id is ID is
looked for instead.  An argument containing '/' is read as a file path.

As a module: read(id) -> {"DRAM": n, "L1": n, "L1_SMALL": n, "TRACE": n,
"CB": n} (bytes), read_region(path) -> everything in the file.

Layout: struct DeviceMemoryRegion, layout versions 3 (ttnn 0.81.1) and 4 (the
latter only appended init_state after the process table).  There is no magic
number, so a file is accepted only if its size is the writer's ftruncate size
and its version is one whose layout is known.

How far to trust the numbers (v3 writer, ttnn 0.81.1, checked on a mock
Wormhole):
  * totals and a process's slot go up and down with its allocations; at
    MeshDevice::close() the process's slot is released and its remaining
    bytes subtracted from the totals, so buffers still held at close do not
    leave the totals high (later frees are then not recorded at all);
  * the per-chip rows are not adjusted at that release: they keep whatever
    was held at close, and grow by it on every such run;
  * a process that dies without unwinding (SIGKILL, abort) keeps its slot and
    its bytes in every counter for good: v3 has no reaping.  Processes are
    marked dead here so those bytes can be told apart;
  * reference_count leaks likewise; num_active_processes counts live and dead
    slots alike.
"""

import glob
import json
import os
import signal
import struct
import sys

SHM_DIR = "/dev/shm"

# Writer's sizeof(DeviceMemoryRegion): 8536 bytes of fields, aligned(64).
REGION_SIZE = 8576
KNOWN_VERSIONS = (3, 4)
INIT_READY = 0x52454459  # v4 init_state 'REDY'; a v3 writer has no such field

# Counter order is the same in the totals, each chip slot and each process
# slot.  Units are the bytes the buffer was created with (Buffer::size()),
# summed over all banks: not the per-bank figure Allocator::get_statistics
# reports, nor rounded up to pages.  SYSTEM_MEMORY buffers are never counted.
TYPES = ("DRAM", "L1", "L1_SMALL", "TRACE", "CB")

# <I version, I num_active_processes, Q last_update_ns, I reference_count, pad,
#  Q board_serial, Q asic_id, I device_id, pad, 5Q totals>
HEADER = struct.Struct("<IIQI4xQQI4x5Q")  # 88 bytes
CHIP = struct.Struct("<II5Q")  # chip_id, is_remote, counters: 48 bytes
CHIP_OFF, MAX_CHIPS = HEADER.size, 16
CHIP_UNUSED = 0xFFFFFFFF  # chip 0 is valid, so empty slots hold UINT32_MAX
PROC = struct.Struct("<i4x5QQ64s")  # pid, counters, last_update_ns, name: 120
PROC_OFF, MAX_PROCS = CHIP_OFF + MAX_CHIPS * CHIP.size, 64
INIT_STATE_OFF = PROC_OFF + MAX_PROCS * PROC.size  # 8536, v4 only
assert (CHIP_OFF, PROC_OFF, INIT_STATE_OFF) == (88, 856, 8536)


class LayoutError(Exception):
    pass


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def parse(buf, name="<buffer>"):
    """Decode one region; raise LayoutError if it is not one we understand."""
    if len(buf) != REGION_SIZE:
        raise LayoutError(f"{name}: {len(buf)} bytes, expected {REGION_SIZE}: "
                          "truncated, or not a tt-metal memory tracker region")
    (version, n_active, ts, refs, serial, asic_id, device_id,
     *totals) = HEADER.unpack_from(buf, 0)
    if version == 0:
        # A zero-filled file: created but never initialised (or a crash mid-init).
        raise LayoutError(f"{name}: version 0, region not initialised")
    if version not in KNOWN_VERSIONS:
        raise LayoutError(f"{name}: layout version {version} is unknown "
                          f"(this reader knows {KNOWN_VERSIONS})")
    if n_active > MAX_PROCS:
        raise LayoutError(f"{name}: num_active_processes={n_active} > "
                          f"{MAX_PROCS}, not this layout")
    if version >= 4:
        # v4 writers publish readiness last; before that the counters are junk.
        (state,) = struct.unpack_from("<I", buf, INIT_STATE_OFF)
        if state != INIT_READY:
            raise LayoutError(f"{name}: v4 region not ready "
                              f"(init_state {state:#x}), being initialised?")
    chips = []
    for i in range(MAX_CHIPS):
        chip_id, remote, *c = CHIP.unpack_from(buf, CHIP_OFF + i * CHIP.size)
        if remote > 1:  # a bool in a u32: anything else is not this layout
            raise LayoutError(f"{name}: chip slot {i} is_remote={remote}, "
                              "not this layout")
        if chip_id != CHIP_UNUSED:
            chips.append({"chip_id": chip_id, "is_remote": bool(remote),
                          **dict(zip(TYPES, c))})
    procs = []
    for i in range(MAX_PROCS):
        pid, *rest = PROC.unpack_from(buf, PROC_OFF + i * PROC.size)
        if pid < 0:
            raise LayoutError(f"{name}: process slot {i} pid={pid}, "
                              "not this layout")
        if pid == 0:
            continue  # free slot (a freed slot may keep its old name)
        c, pts, pname = rest[:5], rest[5], rest[6]
        # v3 never reaps the slot of a process killed without unwinding:
        # its bytes stay in the totals, so say whether the owner still lives.
        procs.append({"slot": i, "pid": pid, "alive": _pid_alive(pid),
                      "name": pname.split(b"\0", 1)[0].decode(errors="replace"),
                      "last_update_ns": pts, **dict(zip(TYPES, c))})
    return {"version": version, "device_id": device_id,
            "asic_id": asic_id, "board_serial": serial,
            "num_active_processes": n_active, "reference_count": refs,
            "last_update_ns": ts, "totals": dict(zip(TYPES, totals)),
            "chips": chips, "processes": procs}


def read_region(path):
    # One read() of the whole file: each 8-byte counter is copied intact, but
    # counters may disagree with each other by an allocation in flight.
    with open(path, "rb") as f:
        buf = f.read(REGION_SIZE + 1)
    r = parse(buf, path)
    r["path"] = path
    return r


def all_paths(shm_dir=SHM_DIR):
    return sorted(glob.glob(os.path.join(shm_dir, "tt_device_*_memory")))


def find(ident, shm_dir=SHM_DIR):
    """Path of the region for ID: by file name, else by logical device_id."""
    if "/" in str(ident):
        return str(ident)
    path = os.path.join(shm_dir, f"tt_device_{int(ident)}_memory")
    if os.path.exists(path):
        return path
    for p in all_paths(shm_dir):
        try:
            if read_region(p)["device_id"] == int(ident):
                return p
        except (OSError, LayoutError):
            pass
    raise FileNotFoundError(f"no tracker region for device {ident} in {shm_dir}")


def read(device_id, shm_dir=SHM_DIR):
    """Device-wide totals in bytes per buffer type, all processes together."""
    return read_region(find(device_id, shm_dir))["totals"]


def _fmt(r):
    out = [f"{r['path']}: layout v{r['version']}, device_id {r['device_id']}, asic_id {r['asic_id']:#x}, "
           f"{r['num_active_processes']} process slot(s) in use, "
           f"reference_count {r['reference_count']}"]
    w = max(len(t) for t in TYPES)
    hdr = "  " + " ".join(f"{t:>{max(w, 12)}}" for t in TYPES)
    row = lambda d: " ".join(f"{d[t]:>{max(w, 12)}}" for t in TYPES)
    out.append(hdr)
    out.append("  " + row(r["totals"]) + "  total (bytes)")
    for c in r["chips"]:
        out.append("  " + row(c) + f"  chip {c['chip_id']}"
                   + (" (remote)" if c["is_remote"] else ""))
    for p in r["processes"]:
        out.append("  " + row(p) + f"  pid {p['pid']} {p['name']}"
                   + ("" if p["alive"] else " (dead)"))
    return "\n".join(out)


def main(argv):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet when piped to head
    as_json = "--json" in argv
    args = [a for a in argv if a != "--json"]
    if any(a.startswith("-") for a in args):
        print(__doc__.split("\n\n")[2], file=sys.stderr)
        return 2
    paths, status, regions = [], 0, []
    if args:
        for a in args:
            try:
                paths.append(find(a))
            except (FileNotFoundError, ValueError) as e:
                print(f"error: {e}", file=sys.stderr)
                status = 1
    else:
        paths = all_paths()
        if not paths:
            print(f"error: no tt_device_*_memory in {SHM_DIR}", file=sys.stderr)
            return 1
    for p in paths:
        try:
            regions.append(read_region(p))
        except (OSError, LayoutError) as e:
            print(f"error: {e}", file=sys.stderr)
            status = 1
    if as_json:
        print(json.dumps(regions, indent=1))
    elif regions:
        print("\n\n".join(_fmt(r) for r in regions))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
