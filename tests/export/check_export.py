#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`ttmem export` end to end: usage: check_export.py BUILD_DIR

The emulator's mesh_allocation runs under the preload (8 chips, held at its
peak) while:

 1. `ttmem export --listen 127.0.0.1:0` answers over HTTP: 200 with a
    healthy exposition saying the segment is not there
    (ttmem_segment_present 0) while it does not exist, then 200 with the
    exposition; 404, 405 elsewhere; SIGTERM stops it with exit 0
    (SIGINT the textfile exporter of part 2).
 2. Debian's `prometheus` (its own port and temporary storage) scrapes that
    exporter, and `prometheus-node-exporter` (textfile collector only)
    reading the files of `ttmem export --textfile DIR --interval 1`.  Once
    Prometheus holds a sample taken after the peak (and, for the textfile,
    from a file written after it), /api/v1/query gives per chip and buffer
    type exactly the bytes the emulator's allocator holds (TTEMU_TRUTH),
    through both paths, and the workload's own series.  After the workload
    exits, its process series are gone (running processes only) and every
    chip holds 0.  `promtool check metrics` passes on both expositions.

 3. A segment file truncated and restored in a loop while the exporter
    serves it: every scrape is a whole exposition (200) or 503 with the
    reason, and the exporter is still running at the end.

Every process started here is stopped by its pid.  Part 2 is skipped, with
the reason, only where prometheus, promtool or prometheus-node-exporter is
not installed (mk/deps.sh installs them).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

TYPES = ("DRAM", "L1", "L1_SMALL", "TRACE", "CB")
WAIT = 30.0  # seconds, bound of every wait
failures = []
procs = []


def fail(msg):
    failures.append(msg)
    print(f"  FAIL     export: {msg}", file=sys.stderr)


def start(argv, **kw):
    p = subprocess.Popen(argv, **kw)
    procs.append(p)
    return p


def stop(p, sig=signal.SIGTERM):
    """Stop one process we started, by its pid; its exit status."""
    if p.poll() is None:
        os.kill(p.pid, sig)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
    return p.returncode


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(url, method="GET"):
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode("utf-8")
    except (urllib.error.URLError, ConnectionError) as e:
        return 0, "", str(e)


def until(what, fn):
    """fn() until it returns a true value, at most WAIT seconds."""
    end = time.time() + WAIT
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.2)
    raise TimeoutError(f"no {what} within {WAIT:.0f} s")


def exporter(build, shm, *args):
    """Start `ttmem export ARGS`; its first stderr line (the URL or path)."""
    p = start([f"{build}/ttmem", "export", "--shm", shm, *args],
              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    line = p.stderr.readline()
    return p, line


def workload(build, shm, truth):
    r, w = os.pipe()
    env = dict(os.environ, LD_PRELOAD=os.path.realpath(f"{build}/libttmem.so"),
               TTMEM_SHM=shm, TTEMU_TRUTH=truth, TTEMU_READY_FD=str(w))
    p = start([f"{build}/examples/bin/mesh_allocation", "--hold", "60000"], env=env,
              pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    return p, os.fdopen(r)


def expect_line(ready, what):
    line = ready.readline()
    if not line.startswith(what):
        raise RuntimeError(f"workload said {line!r}, expected {what!r}")


def truth_of(path):
    with open(path) as f:
        return {d["device"]: d for d in json.load(f)["devices"]}


def promtool(text, where):
    r = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                       capture_output=True)
    if r.returncode != 0 or r.stdout.strip() or r.stderr.strip():
        fail(f"promtool check metrics on {where}: exit {r.returncode}: {r.stdout}{r.stderr}")


def part_http(build, shm, truth):
    """Part 1; returns (workload, its ready pipe, the exporter's URL, the exporter)."""
    # Per-process series (not export's default, per name) checked by pid.
    p, line = exporter(build, shm, "--listen", "127.0.0.1:0", "--process-series=full")
    if "serving http://" not in line:
        raise RuntimeError(f"ttmem export --listen: {line!r}")
    url = line.split("serving ", 1)[1].split()[0]
    base = url.rsplit("/", 1)[0]
    code, _, body = http(url)
    if code != 200 or f'ttmem_segment_present{{segment="{shm}"}} 0' not in body:
        fail(f"no segment yet: HTTP {code} {body!r}, expected 200, a healthy exposition "
             "saying the segment is not there")
    if p.poll() is not None:
        fail("the exporter exited on a missing segment")
    wl, ready = workload(build, shm, truth)
    expect_line(ready, "peak")
    code, ctype, body = http(url)
    if code != 200 or ctype != "text/plain; version=0.0.4; charset=utf-8":
        fail(f"/metrics: HTTP {code} {ctype!r}")
    if f'ttmem_process_live_bytes{{segment="{shm}",pid="{wl.pid}",' not in body:
        fail(f"/metrics: no series of the workload (pid {wl.pid})")
    code, _, _ = http(base + "/")
    if code != 200:
        fail(f"/: HTTP {code}")
    code, _, _ = http(base + "/nope")
    if code != 404:
        fail(f"/nope: HTTP {code}, expected 404")
    code, _, _ = http(url, "POST")
    if code != 405:
        fail(f"POST /metrics: HTTP {code}, expected 405")
    code, _, _ = http(url, "HEAD")
    if code != 200:
        fail(f"HEAD /metrics: HTTP {code}")
    return wl, ready, url, p


class Prom:
    def __init__(self, port):
        self.api = f"http://127.0.0.1:{port}/api/v1/"

    def query(self, q):
        code, _, body = http(self.api + "query?" + urllib.parse.urlencode({"query": q}))
        if code != 200:
            raise RuntimeError(f"query {q}: HTTP {code} {body}")
        return [(r["metric"], float(r["value"][1])) for r in json.loads(body)["data"]["result"]]

    def scalar(self, q):
        r = self.query(q)
        return r[0][1] if len(r) == 1 else None


def check_chips(prom, job, shm, truth, when):
    got = {}
    for labels, v in prom.query(f'sum by (device, type) '
                                f'(ttmem_device_in_use_bytes{{job="{job}",segment="{shm}"}})'):
        got[(labels.get("device"), labels.get("type"))] = v
    for dev, t in truth.items():
        for ty in TYPES:
            if got.get((str(dev), ty)) != t[ty]:
                fail(f"{when}, job {job}: chip {dev} {ty}: Prometheus "
                     f"{got.get((str(dev), ty))}, truth {t[ty]}")
    extra = [k for k, v in got.items() if v and k[0] not in {str(d) for d in truth}]
    if extra:
        fail(f"{when}, job {job}: bytes on chips the truth does not hold: {extra}")
    if not got:
        fail(f"{when}, job {job}: no ttmem_device_in_use_bytes at all")
    return sum(t[ty] for t in truth.values() for ty in TYPES)


def part_prometheus(build, shm, truth_path, tmp, wl, ready, url, t_peak):
    tdir = os.path.join(tmp, "textfile")
    os.mkdir(tdir)
    tf, line = exporter(build, shm, "--textfile", tdir, "--interval", "1",
                        "--process-series=full")
    if "writing " not in line:
        raise RuntimeError(f"ttmem export --textfile: {line!r}")
    ne_port, prom_port = free_port(), free_port()
    ne = start(["prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{ne_port}",
                "--collector.disable-defaults", "--collector.textfile",
                f"--collector.textfile.directory={tdir}"],
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cfg = os.path.join(tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n"
                f"  - job_name: ttmem\n    static_configs:\n"
                f"      - targets: ['{url.split('/')[2]}']\n"
                f"  - job_name: textfile\n    static_configs:\n"
                f"      - targets: ['127.0.0.1:{ne_port}']\n")
    pr = start(["prometheus", f"--config.file={cfg}",
                f"--storage.tsdb.path={os.path.join(tmp, 'data')}",
                f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"],
               stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "prometheus.log"), "w"))
    prom = Prom(prom_port)

    def ready_or_gone():
        if pr.poll() is not None:
            raise RuntimeError(f"prometheus exited with status {pr.returncode}")
        return http(f"http://127.0.0.1:{prom_port}/-/ready")[0] == 200
    until("ready Prometheus", ready_or_gone)

    # A sample taken after the peak, and a textfile written after it.
    until("ttmem scrape after the peak",
          lambda: (prom.scalar(f'timestamp(ttmem_segment_slots{{job="ttmem"}})') or 0) > t_peak)
    until("textfile written after the peak, scraped",
          lambda: (prom.scalar('node_textfile_mtime_seconds{job="textfile"}') or 0) > t_peak and
          prom.query(f'ttmem_segment_slots{{job="textfile",segment="{shm}"}}'))
    truth = truth_of(truth_path)
    for job in ("ttmem", "textfile"):
        total = check_chips(prom, job, shm, truth, "at the peak")
        sel = f'{{job="{job}",segment="{shm}",pid="{wl.pid}"}}'
        live = prom.query("ttmem_process_live_bytes" + sel)
        if [v for _, v in live] != [total]:
            fail(f"at the peak, job {job}: ttmem_process_live_bytes of {wl.pid}: {live}, "
                 f"truth {total}")
        for labels, _ in live:
            if labels.get("name") != "mesh_allocation" or "state" in labels:
                fail(f"job {job}: process labels {labels}")
        if prom.scalar(f'ttmem_process_state{{job="{job}",pid="{wl.pid}",state="running"}}') != 1:
            fail(f"job {job}: ttmem_process_state running is not 1")
    if prom.scalar('node_textfile_scrape_error{job="textfile"}') != 0:
        fail("node-exporter: node_textfile_scrape_error is not 0")
    up = prom.query("up")
    if sorted(v for _, v in up) != [1.0, 1.0]:
        fail(f"targets not up: {up}")

    # promtool on both expositions.
    promtool(http(url)[2], "/metrics")
    files = [f for f in os.listdir(tdir)]
    if files != [shm.lstrip("/") + ".prom"]:
        fail(f"textfile directory holds {files}")
    else:
        with open(os.path.join(tdir, files[0])) as f:
            promtool(f.read(), "the textfile")

    # After the workload: its series go, every chip holds 0.
    os.kill(wl.pid, signal.SIGUSR1)
    expect_line(ready, "closed")
    os.kill(wl.pid, signal.SIGUSR1)  # past the last hold point
    for _ in ready:
        pass
    if wl.wait(10) != 0:
        fail(f"workload exit status {wl.returncode}")
    t_exit = time.time()
    until("ttmem scrape after the exit",
          lambda: (prom.scalar(f'timestamp(ttmem_segment_slots{{job="ttmem"}})') or 0) > t_exit)
    until("textfile written after the exit, scraped",
          lambda: (prom.scalar('node_textfile_mtime_seconds{job="textfile"}') or 0) > t_exit and
          (prom.scalar(f'timestamp(ttmem_segment_slots{{job="textfile"}})') or 0) > t_exit + 0.0)
    zero = {d: {ty: 0 for ty in TYPES} for d in truth}
    for job in ("ttmem", "textfile"):
        check_chips(prom, job, shm, zero, "after exit")
        left = prom.query(f'ttmem_process_live_bytes{{job="{job}",pid="{wl.pid}"}}')
        if left:
            fail(f"after exit, job {job}: the exited process is still listed: {left}")

    rc = stop(tf, signal.SIGINT)
    if rc != 0:
        fail(f"ttmem export --textfile: exit {rc} on SIGINT")
    stop(ne)
    stop(pr)


def part_shrinking(build, tmp):
    seg = os.path.join(tmp, "shrinking.seg")
    wl = start([f"{build}/examples/bin/mesh_allocation"], stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL,
               env=dict(os.environ, LD_PRELOAD=os.path.realpath(f"{build}/libttmem.so"),
                        TTMEM_SHM=seg))
    if wl.wait(60) != 0:
        raise RuntimeError(f"mesh_allocation on {seg}: exit {wl.returncode}")
    size = os.path.getsize(seg)
    p, line = exporter(build, seg, "--listen", "127.0.0.1:0", "--processes=all")
    if "serving http://" not in line:
        raise RuntimeError(f"ttmem export --listen: {line!r}")
    url = line.split("serving ", 1)[1].split()[0]

    def slots(body):
        for ln in body.split("\n"):
            if ln.startswith("ttmem_segment_slots{"):
                return ln.rsplit(" ", 1)[1]
        return None
    code, _, body = http(url)
    want = slots(body)
    if code != 200 or not want or want == "0":
        raise RuntimeError(f"segment {seg} before shrinking: HTTP {code}, slots {want}")
    shrinker = start(["sh", "-c", f'while :; do truncate -s 4096 "$0"; truncate -s {size} "$0"; '
                      'done', seg])
    codes = {}
    for _ in range(40):
        code, _, body = http(url)
        codes[code] = codes.get(code, 0) + 1
        if code == 200 and not (body.endswith("\n") and "ttmem_module_drops_total{" in body
                                and slots(body) == want):
            fail(f"shrinking segment: a 200 that is not the segment (slots {slots(body)}, "
                 f"not {want})")
        elif code == 503 and not body.startswith("ttmem export: "):
            fail(f"shrinking segment: 503 without a reason: {body!r}")
        elif code not in (200, 503):
            fail(f"shrinking segment: HTTP {code} {body!r}")
            break
    stop(shrinker, signal.SIGKILL)
    if p.poll() is not None:
        fail(f"shrinking segment: the exporter died (status {p.returncode})")
    elif stop(p) != 0:
        fail(f"shrinking segment: exit {p.returncode} on SIGTERM")
    return codes


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    for need in ("ttmem", "libttmem.so", "examples/bin/mesh_allocation"):
        if not os.path.exists(os.path.join(build, need)):
            print(f"  SKIP     export tests: {build}/{need} is not built")
            return 0
    t0 = time.time()
    shm = f"/ttmem-test-export-{os.getpid()}"
    tmp = tempfile.mkdtemp(prefix="ttmem-test-export-")
    truth = os.path.join(tmp, "truth.json")
    try:
        real = False
        wl, ready, url, ex = part_http(build, shm, truth)
        t_peak = time.time()
        missing = [b for b in ("prometheus", "promtool", "prometheus-node-exporter")
                   if not shutil.which(b)]
        if missing:
            print(f"  SKIP     export against a real Prometheus: {', '.join(missing)} not "
                  "installed (apt-get install prometheus prometheus-node-exporter)")
        else:
            part_prometheus(build, shm, truth, tmp, wl, ready, url, t_peak)
            real = True
        rc = stop(ex)
        if rc != 0:
            fail(f"ttmem export --listen: exit {rc} on SIGTERM")
        codes = part_shrinking(build, tmp)
    except (RuntimeError, TimeoutError, OSError) as e:
        fail(str(e))
        log = os.path.join(tmp, "prometheus.log")
        if os.path.exists(log):
            print(open(log).read()[-2000:], file=sys.stderr)
    finally:
        for p in procs:
            stop(p, signal.SIGKILL if p.poll() is None else signal.SIGTERM)
        try:
            os.unlink("/dev/shm" + shm)
        except FileNotFoundError:
            pass
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        return 1
    print(f"  PASS     export: HTTP{' and a real Prometheus (both paths against the truth)' if real else ''}"
          f", a shrinking segment (HTTP {codes}) ({time.time() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
