"""Shared helpers for prom_golden.py and promdiff.py (python3 stdlib only).

Generates synthetic cluster data with the promlite-cluster `gen` example, loads an OpenMetrics
file into a throwaway Debian Prometheus (promtool backfill, then a server on 127.0.0.1 that is
stopped by PID), runs instant and range queries over its HTTP API, and compares answers.
"""

import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def generate(out_path, preset="small", style="legacy", seed=1, extra=()):
    """Writes the cluster OpenMetrics file with `cargo run -p promlite-cluster --example gen`."""
    cmd = ["cargo", "run", "-q", "-p", "promlite-cluster", "--example", "gen", "--",
           "--preset", preset, "--style", style, "--seed", str(seed), *extra, "--openmetrics", out_path]
    log("+ " + " ".join(cmd))
    subprocess.run(cmd, cwd=REPO, check=True)


def block_summary(tsdb_dir):
    """(min_ms, max_ms, samples) over the blocks in `tsdb_dir`, from `promtool tsdb list`.

    max_ms is exclusive (promtool prints the last sample's time plus one).
    """
    out = subprocess.run(["promtool", "tsdb", "list", tsdb_dir], check=True, capture_output=True, text=True).stdout
    lo, hi, samples = None, None, 0
    for line in out.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 5 and parts[1].isdigit() and parts[2].isdigit():
            lo = int(parts[1]) if lo is None else min(lo, int(parts[1]))
            hi = int(parts[2]) if hi is None else max(hi, int(parts[2]))
            samples += int(parts[4])
    if lo is None:
        raise RuntimeError("promtool tsdb list found no blocks in " + tsdb_dir)
    return lo, hi, samples


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    """A Prometheus server over a backfilled copy of one OpenMetrics file.

    Use as a context manager: the server is stopped (by its PID) and the work directory removed
    on exit, also when an exception escapes.
    """

    def __init__(self, openmetrics_path, workdir):
        self.openmetrics_path = openmetrics_path
        self.workdir = workdir
        self.proc = None
        self.base = None
        self.min_ms = self.max_ms = self.samples = None

    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def _start(self):
        data = os.path.join(self.workdir, "tsdb")
        os.makedirs(data, exist_ok=True)
        t0 = time.time()
        log(f"+ promtool tsdb create-blocks-from openmetrics {self.openmetrics_path} {data}")
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", self.openmetrics_path, data],
                       check=True, stdout=subprocess.DEVNULL)
        log(f"  backfill took {time.time() - t0:.1f}s")
        self.min_ms, self.max_ms, self.samples = block_summary(data)
        config = os.path.join(self.workdir, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 15s\nscrape_configs: []\n")
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        logfile = open(os.path.join(self.workdir, "prometheus.log"), "w")
        cmd = ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={data}",
               f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=100y",
               "--query.max-samples=200000000", "--query.timeout=10m"]
        log("+ " + " ".join(cmd))
        self.proc = subprocess.Popen(cmd, stdout=logfile, stderr=subprocess.STDOUT, cwd=self.workdir)
        logfile.close()
        deadline = time.time() + 300
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("prometheus exited early; see " + os.path.join(self.workdir, "prometheus.log"))
            try:
                with urllib.request.urlopen(self.base + "/-/ready", timeout=2) as r:
                    if r.status == 200:
                        log(f"  prometheus ready on {self.base} (pid {self.proc.pid})")
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.3)
        raise RuntimeError("prometheus not ready after 300 s")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def _get(self, path, params):
        body = urllib.parse.urlencode(params).encode()
        req = urllib.request.Request(self.base + path, data=body, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(req, timeout=900) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            # 400/422/503 carry the Prometheus error body.
            return json.loads(e.read())

    def instant(self, expr, t_ms):
        return self._get("/api/v1/query", {"query": expr, "time": fmt_seconds(t_ms)})

    def range(self, expr, start_ms, end_ms, step_ms):
        return self._get("/api/v1/query_range", {"query": expr, "start": fmt_seconds(start_ms),
                                                 "end": fmt_seconds(end_ms), "step": fmt_seconds(step_ms)})


def fmt_seconds(ms):
    """Milliseconds as exact decimal seconds (`1700000607.5`)."""
    sign = "-" if ms < 0 else ""
    ms = abs(int(ms))
    secs, frac = divmod(ms, 1000)
    return f"{sign}{secs}" if frac == 0 else f"{sign}{secs}.{frac:03d}".rstrip("0")


def make_workdir(prefix):
    import tempfile
    return tempfile.mkdtemp(prefix=prefix)


def remove_workdir(path, keep=False):
    if keep:
        log(f"  kept {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Comparing answers

REL_TOL = 1e-9


def parse_value(text):
    if text in ("NaN", "nan"):
        return math.nan
    if text in ("+Inf", "Inf", "inf"):
        return math.inf
    if text in ("-Inf", "-inf"):
        return -math.inf
    return float(text)


def values_equal(a, b, rel_tol=REL_TOL):
    x, y = parse_value(a), parse_value(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if x == y:
        return True
    return abs(x - y) <= rel_tol * max(abs(x), abs(y))


def label_key(metric):
    return tuple(sorted(metric.items()))


def compare(expected, actual, rel_tol=REL_TOL):
    """None if the two API bodies agree, else a short reason.

    Agreement: both errors, or both successes with the same result type, the same label sets, the
    same timestamps and values within `rel_tol` (NaN equals NaN). Error messages are not compared.
    """
    e_err = expected.get("status") != "success"
    a_err = actual.get("status") != "success"
    if e_err or a_err:
        if e_err and a_err:
            return None
        which = "prometheus" if e_err else "promlite"
        other = expected if e_err else actual
        return f"only {which} failed: {other.get('error', '')[:200]}"
    ed, ad = expected.get("data", {}), actual.get("data", {})
    if ed.get("resultType") != ad.get("resultType"):
        return f"result type {ed.get('resultType')} vs {ad.get('resultType')}"
    rtype = ed.get("resultType")
    if rtype in ("scalar", "string"):
        (et, ev), (at, av) = ed.get("result"), ad.get("result")
        if float(et) != float(at):
            return f"time {et} vs {at}"
        ok = values_equal(ev, av, rel_tol) if rtype == "scalar" else ev == av
        return None if ok else f"value {ev} vs {av}"
    emap, amap = {}, {}
    for name, data, out in (("prometheus", ed, emap), ("promlite", ad, amap)):
        for item in data.get("result", []):
            key = label_key(item.get("metric", {}))
            if key in out:
                return f"{name} returned duplicate series {dict(key)}"
            out[key] = [item["value"]] if rtype == "vector" else item.get("values", [])
    if emap.keys() != amap.keys():
        missing = [dict(k) for k in emap.keys() - amap.keys()][:2]
        extra = [dict(k) for k in amap.keys() - emap.keys()][:2]
        return f"series differ: {len(emap)} vs {len(amap)}; missing {missing} extra {extra}"
    for key, epoints in emap.items():
        apoints = amap[key]
        if len(epoints) != len(apoints):
            return f"{dict(key)}: {len(epoints)} points vs {len(apoints)}"
        for (et, ev), (at, av) in zip(epoints, apoints):
            if float(et) != float(at):
                return f"{dict(key)}: time {et} vs {at}"
            if not values_equal(ev, av, rel_tol):
                return f"{dict(key)} @{et}: {ev} vs {av}"
    return None


def dump_json_lines(obj):
    """Compact JSON with one line per result series (valid JSON, small and diffable)."""
    text = json.dumps(obj, separators=(",", ":"))
    return text.replace('},{"metric":', '},\n{"metric":').replace('"result":[{', '"result":[\n{') + "\n"
