#!/usr/bin/env python3
"""Static check of one real tt-metal runtime: `ttmem probe`'s claims held
against what the library really exports, relocates and calls.

usage: check_static.py TTMEM VERSION LIBDIR GENERATION [CALLER...]

LIBDIR is the wheel's ttnn/build/lib.  The runtime is the one object in it
that defines GraphTracker::track_allocate (libtt_metal.so, or _ttnncpp.so
before 0.65).  Every fact the claims are checked against is computed here,
from binutils (readelf -W --dyn-syms, readelf -rW, readelf -d, objdump -d),
never from ttmem's own ELF code:

  exports      a symbol is exported when .dynsym defines it (Ndx not UND)
               with GLOBAL/WEAK binding and DEFAULT/PROTECTED visibility;
  relocations  JUMP_SLOT (PLT), GLOB_DAT (GOT) and 64 (absolute: vtables)
               dynamic relocations naming it; defined but never relocated
               means "not called through the PLT";
  callers      other objects of LIBDIR whose relocations name it while
               their .dynsym leaves it undefined (ttnn's _ttnncpp.so calls
               into libtt_metal.so only through its PLT);
  direct calls `call`/`jmp` to the exact entry of a hook, not to its PLT
               stub: such a call is bound at link time and no preload sees
               it, whatever the relocations say;
  layout       where probe says Buffer is read at the 2025 offsets, the
               exported getters must load those offsets;
  vtables      Device's and MeshDevice's arch() and id() in the slots the
               preload calls them through (2 and 3).

Prints one summary line, "REAL-STATIC <version> ...", and every mismatch;
exits 1 on any mismatch, 2 on bad usage or unreadable input.
"""
import json
import os
import re
import subprocess
import sys

GT = "_ZN2tt8tt_metal12GraphTracker"
BUF = "_ZNK2tt8tt_metal6Buffer"

# The test's own names (not abi/symbols.h), by what a capability rests on.
# Patterns, so that a shape ttmem does not know yet still counts.
NAMES = {
    "track_allocate": re.compile(GT + r"14track_allocateEPKNS0_6BufferE$"),
    "track_deallocate": re.compile(GT + r"16track_deallocateEPNS0_6BufferE$"),
    "track_allocate_cb": re.compile(GT + r"17track_allocate_cbE"),
    "track_program": re.compile(GT + r"13track_programE"),
    "hook_allocate": re.compile(GT + r"13hook_allocateE"),
    "address": re.compile(BUF + r"7addressEv$"),
    "device": re.compile(BUF + r"6deviceEv$"),
    "device_close": re.compile(r"_ZN2tt8tt_metal6Device5closeEv$"),
    "bulk_free": re.compile(r"_ZN2tt8tt_metal(9Allocator|13AllocatorImpl)18deallocate_buffersEv$"),
    "owner_ctor": re.compile(r"_ZN2tt8tt_metal(14HWCommandQueue|19SystemMemoryManager)C[12]E"),
    "open_entry": re.compile(r"_ZN2tt8tt_metal6Device(23init_command_queue_host|"
                             r"25init_command_queue_device|"
                             r"39init_command_queue_device_with_topology)E"),
}

# Every allocation event GraphTracker reports: probe must name each one
# the library exports (hooked or not), so none goes unnoticed.
EVENT = re.compile(GT + r"\d+track_(de)?allocate\w*E")

# The 2025 Buffer layout (abi/GENERATIONS.md, G1): getter -> the offset
# from `this` it must load.  page_size_ 88, address_ 80, buffer_type_ 32.
LAYOUT_2025 = {
    BUF + "9page_sizeEv": 0x58,
    BUF + "7addressEv": 0x50,
    BUF + "7is_dramEv": 0x20,
    BUF + "9allocatorEv": 0x40,
}


def run(argv):
    try:
        return subprocess.run(argv, check=False, capture_output=True, text=True)
    except OSError as e:
        sys.exit(f"check_static: cannot run {argv[0]}: {e}")


def dynsyms(path):
    """name -> (defined, bind, vis, value) for every .dynsym entry."""
    out = run(["readelf", "-W", "--dyn-syms", path])
    if out.returncode != 0:
        sys.exit(f"check_static: readelf --dyn-syms {path}: {out.stderr.strip()}")
    syms = {}
    for line in out.stdout.splitlines():
        f = line.split()
        if len(f) < 8 or not f[0].endswith(":") or not f[0][:-1].isdigit():
            continue
        name = f[7].split("@")[0]
        defined = f[6] != "UND"
        prev = syms.get(name)
        if prev and prev[0] and not defined:
            continue
        syms[name] = (defined, f[4], f[5], int(f[1], 16))
    return syms


def relocations(path):
    """name -> {"plt": n, "got": n, "abs": n} over the dynamic relocations."""
    out = run(["readelf", "-rW", path])
    if out.returncode != 0:
        sys.exit(f"check_static: readelf -r {path}: {out.stderr.strip()}")
    kinds = {"R_X86_64_JUMP_SLOT": "plt", "R_X86_64_GLOB_DAT": "got", "R_X86_64_64": "abs"}
    rel = {}
    for line in out.stdout.splitlines():
        f = line.split()
        if len(f) < 5 or f[2] not in kinds:
            continue
        name = f[4].split("@")[0]
        rel.setdefault(name, {"plt": 0, "got": 0, "abs": 0})[kinds[f[2]]] += 1
    return rel


def symbolic(path):
    out = run(["readelf", "-dW", path]).stdout
    return bool(re.search(r"\(SYMBOLIC\)|\(FLAGS\).*\bSYMBOLIC\b", out))


def direct_calls(path, names):
    """name -> number of call/jmp instructions to its exact entry (not PLT)."""
    out = run(["objdump", "-d", "--no-show-raw-insn", path])
    if out.returncode != 0:
        sys.exit(f"check_static: objdump -d {path}: {out.stderr.strip()}")
    want = set(names)
    pat = re.compile(r"\s(?:call|jmp)\w*\s+[0-9a-f]+ <([^>+@$]+)>$")
    n = {}
    for line in out.stdout.splitlines():
        m = pat.search(line)
        if m and m.group(1) in want:
            n[m.group(1)] = n.get(m.group(1), 0) + 1
    return n


def loaded_offsets(path, sym, value):
    """The displacements off %rdi the first instructions of a getter load."""
    out = run(["objdump", "-d", "--no-show-raw-insn", f"--start-address={value:#x}",
               f"--stop-address={value + 24:#x}", path]).stdout
    return {int(m.group(1), 16) for m in re.finditer(r"0x([0-9a-f]+)\(%rdi\)", out)}


# The IDevice vtable slots the preload calls through (abi/reader.c): after
# the two destructor slots, arch() at 2 and id() at 3, in Device and
# MeshDevice alike.
VTABLES = {
    "N2tt8tt_metal6DeviceE": "_ZNK2tt8tt_metal6Device",
    "N2tt8tt_metal11distributed10MeshDeviceE": "_ZNK2tt8tt_metal11distributed10MeshDevice",
}
SLOTS = {2: "4archEv", 3: "2idEv"}


def vtable_slots(path, syms, cls):
    """slot -> the function the vtable of `cls` holds there (None if unknown);
    slot -1: its RTTI (typeinfo) object, whose name the preload reads."""
    vt = syms.get("_ZTV" + cls)
    if not vt or not vt[0]:
        return None
    # Slots may hold local functions (0.81.1's Device::id() is not
    # exported): names from the full symbol table where the object has one.
    by_addr = {v[3]: n for n, v in syms.items() if v[0]}
    for line in run(["nm", "--defined-only", path]).stdout.splitlines():
        f = line.split()
        if len(f) == 3 and f[1] in "tTwW":
            by_addr.setdefault(int(f[0], 16), f[2])
    first = vt[3] + 16             # past offset-to-top and the RTTI pointer
    slots = {}
    for line in run(["readelf", "-rW", path]).stdout.splitlines():
        f = line.split()
        if len(f) < 4 or not re.fullmatch(r"[0-9a-f]{16}", f[0]):
            continue
        off = int(f[0], 16)
        if off < first - 8 or off >= first + 8 * 8 or (off - first) % 8:
            continue
        k = (off - first) // 8
        if f[2] == "R_X86_64_RELATIVE":
            slots[k] = by_addr.get(int(f[3], 16))
        elif len(f) >= 5:
            slots[k] = f[4].split("@")[0]
    return slots


def exported(syms, name):
    s = syms.get(name)
    return bool(s and s[0] and s[1] in ("GLOBAL", "WEAK") and s[2] in ("DEFAULT", "PROTECTED"))


def main():
    if len(sys.argv) < 5:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    ttmem, version, libdir, want_gen = sys.argv[1:5]
    if not os.path.isdir(libdir):
        print(f"check_static: {libdir}: not a directory (run tests/real/fetch.sh {version})",
              file=sys.stderr)
        return 2
    objs = sorted(os.path.join(libdir, f) for f in os.listdir(libdir)
                  if f.endswith(".so") and not os.path.islink(os.path.join(libdir, f)))
    tables = {o: dynsyms(o) for o in objs}
    ta = GT + "14track_allocateEPKNS0_6BufferE"
    runtimes = [o for o in objs if exported(tables[o], ta)]
    if len(runtimes) != 1:
        print(f"check_static: {version}: {len(runtimes)} objects define "
              f"GraphTracker::track_allocate ({runtimes})", file=sys.stderr)
        return 1
    lib = runtimes[0]
    syms = tables[lib]
    rel = relocations(lib)
    bsym = symbolic(lib)
    # Calls from the other objects of the wheel reach the runtime through
    # their own relocations against an undefined symbol.
    ext = {}
    callers = [o for o in objs if o != lib]
    for o in callers:
        for name, k in relocations(o).items():
            if name in tables[o] and not tables[o][name][0]:
                ext[name] = ext.get(name, 0) + sum(k.values())

    args = [ttmem, "probe", "--json"]
    for o in callers:
        args += ["--caller", o]
    p = run(args + [lib])
    try:
        rep = json.loads(p.stdout)
    except ValueError:
        print(f"check_static: {version}: ttmem probe --json printed no JSON "
              f"(exit {p.returncode}): {p.stderr.strip()}", file=sys.stderr)
        return 1

    bad = []
    hooks = rep["hooks"]
    named = set()
    checked = 0
    for h in hooks:
        reached = False
        for v in h["variants"]:
            name = v["symbol"]
            named.add(name)
            is_exp = exported(syms, name)
            prot = is_exp and syms[name][2] == "PROTECTED"
            # Relocations name a .dynsym entry whether or not it is defined.
            k = rel.get(name, {"plt": 0, "got": 0, "abs": 0})
            facts = {"present": is_exp, "protected": prot, "plt": k["plt"], "got": k["got"],
                     "abs": k["abs"], "callers": ext.get(name, 0)}
            for key, val in facts.items():
                if v.get(key) != val:
                    bad.append(f"{h['name']} [{v['variant'] or '-'}] {key}: probe says "
                               f"{v.get(key)}, the library {val}")
            checked += 1
            if is_exp and not prot and not bsym and (sum(k.values()) or facts["callers"]):
                reached = True
        if h["role"] == "hook" and h["interposable"] != reached:
            bad.append(f"{h['name']}: probe says interposable={h['interposable']}, "
                       f"the relocations say {reached}")

    for name in sorted(n for n in syms if EVENT.match(n) and exported(syms, n)):
        if name not in named:
            bad.append(f"{name}: exported allocation event that probe does not report")

    # A hook reached through its PLT can still have call sites bound at
    # link time; the preload would miss exactly those calls.  An allocation
    # event probe reports but the preload does not hook must not be called
    # at all (else memory is allocated that ttmem never sees).
    hook_syms = [v["symbol"] for h in hooks if h["role"] == "hook"
                 for v in h["variants"] if v["present"]]
    unhooked = [v["symbol"] for h in hooks if h["role"] == "info"
                for v in h["variants"] if v["present"] and EVENT.match(v["symbol"])]
    direct = direct_calls(lib, hook_syms + unhooked)
    for name in hook_syms:
        if direct.get(name):
            bad.append(f"{name}: {direct[name]} direct call(s) bypass the PLT "
                       f"(not interposable there)")
    for name in unhooked:
        n = direct.get(name, 0) + sum(rel.get(name, {}).values()) + ext.get(name, 0)
        if n:
            bad.append(f"{name}: an allocation event ttmem does not hook is called "
                       f"({n} call sites or relocations)")

    # Capabilities, from the facts above.
    def reach(key):
        return any(NAMES[key].match(n) and exported(syms, n) and not bsym and
                   (sum(rel.get(n, {}).values()) or ext.get(n, 0)) for n in syms)

    def has(key):
        return any(NAMES[key].match(n) and exported(syms, n) for n in syms)

    caps = {c: v["status"] for c, v in rep["capabilities"].items()}
    allocs = reach("track_allocate") and has("address")
    expect = {
        "allocations": {"works"} if allocs else {"unavailable"},
        "frees": {"works"} if allocs and reach("track_deallocate") else
                 {"unavailable", "degraded"},
        "circular_buffers": ({"works"} if reach("track_program") else {"degraded"})
                            if allocs and reach("track_allocate_cb") else {"unavailable"},
        "capture_filtering": {"works"} if allocs and reach("hook_allocate") else
                             {"degraded", "unavailable"},
        "release_at_close": {"works", "degraded"} if allocs and
                            (reach("device_close") or reach("bulk_free")) else {"unavailable"},
        "owner_attribution": {"works"} if allocs and reach("owner_ctor") else
                             {"degraded"} if allocs and reach("open_entry") else
                             {"unavailable"},
        "chips": {"works"} if allocs and (rep["generation"] in ("2025", "2025b") or
                                          has("device")) else {"unavailable"},
    }
    for c, allowed in expect.items():
        if caps.get(c) not in allowed:
            bad.append(f"capability {c}: probe says {caps.get(c)}, the library allows "
                       f"{'/'.join(sorted(allowed))}")

    for cls, prefix in VTABLES.items():
        slots = vtable_slots(lib, syms, cls)
        if slots is None:
            bad.append(f"no vtable for {cls} in .dynsym")
            continue
        if slots.get(-1) != "_ZTI" + cls:
            bad.append(f"vtable {cls}: RTTI {slots.get(-1)}, not _ZTI{cls}")
        for k, fn in SLOTS.items():
            if slots.get(k) != prefix + fn:
                bad.append(f"vtable {cls} slot {k}: {slots.get(k)}, the preload calls "
                           f"{prefix + fn} there")

    if rep["generation"] != want_gen:
        bad.append(f"generation: probe says {rep['generation']}, tests/real/wheels.txt "
                   f"pins {want_gen}")
    layout = "-"
    if rep["generation"] in ("2025", "2025b"):
        layout = "2025"
        for name, off in LAYOUT_2025.items():
            if not exported(syms, name):
                continue
            got = loaded_offsets(lib, name, syms[name][3])
            if off not in got:
                layout = "differs"
                bad.append(f"{name}: loads {sorted(hex(g) for g in got)} off `this`, "
                           f"the 2025 layout has {off:#x}")

    print(f"REAL-STATIC {version} {rep['generation']} dso={os.path.basename(lib)} "
          f"variants={checked} unhooked-events={len(unhooked)} layout={layout} "
          + " ".join(f"{c}={caps.get(c, '?')}" for c in expect)
          + f" mismatches={len(bad)}")
    for b in bad:
        print(f"  MISMATCH {version}: {b}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
