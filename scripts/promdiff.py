#!/usr/bin/env python3
"""Differential check: promlite against Debian's Prometheus 2.42 on the same data (stdlib only).

Loads one OpenMetrics file into Prometheus (promtool backfill, server on 127.0.0.1 stopped by
PID) and into promlite (`promlite replay --data-dir DIR FILE`), runs a corpus of PromQL
expressions on both as instant queries at several evaluation times and as one range query, all
off the scrape grid, and compares the answers: same error-ness, same series (label sets), same
timestamps, values within relative tolerance 1e-9 (NaN equals NaN). Prints a table and exits 1
on any mismatch. See docs/differential.md.

Usage:
  python3 scripts/promdiff.py [--openmetrics FILE] [--queries FILE ...] [--no-workload]
                              [--promlite PATH] [--prometheus-only] [--save DIR] [--keep]
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import promharness as h  # noqa: E402

DEFAULT_CORPUS = os.path.join(h.REPO, "testdata", "promdiff", "queries.txt")
WORKLOAD = os.path.join(h.REPO, "testdata", "workload", "workload.json")


def read_corpus(path):
    """Expressions of a corpus file: one per line, '#' comments and blank lines skipped."""
    out = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            text = line.strip()
            if text and not text.startswith("#"):
                out.append((f"{os.path.basename(path)}:{lineno}", text))
    return out


def workload_queries(style):
    with open(WORKLOAD) as f:
        manifest = json.load(f)
    out = []
    for q in manifest["queries"]:
        if q["style"] == style:
            with open(os.path.join(os.path.dirname(WORKLOAD), q["file"])) as f:
                out.append((f"workload:{q['style']}/{q['name']}", f.read().strip()))
    return out


def detect_interval_ms(path, limit=100000):
    """Scrape interval: the gap between the first two samples of the file's first series."""
    first_series, first_ts = None, None
    with open(path) as f:
        for i, line in enumerate(f):
            if i > limit:
                break
            if line.startswith("#") or not line.strip():
                continue
            series, _, rest = line.rpartition("}")
            parts = rest.split()
            if len(parts) < 2:
                continue
            ts = round(float(parts[1]) * 1000)
            if first_series is None:
                first_series, first_ts = series, ts
            elif series == first_series:
                return ts - first_ts
            else:
                break
    raise SystemExit("cannot detect the scrape interval (give --interval-ms)")


class Promlite:
    """Runs the promlite CLI; every answer is an API body like Prometheus's."""

    def __init__(self, binary, data_dir):
        self.cmd = binary
        self.data_dir = data_dir

    @staticmethod
    def resolve(binary):
        if binary:
            return shlex.split(binary)
        release = os.path.join(h.REPO, "target", "release", "promlite")
        if os.path.exists(release):
            return [release]
        return ["cargo", "run", "-q", "--release", "-p", "promlite-cli", "--"]

    def run(self, args):
        proc = subprocess.run(self.cmd + args, cwd=h.REPO, capture_output=True, text=True)
        try:
            body = json.loads(proc.stdout)
            if isinstance(body, dict) and "status" in body:
                return body
        except json.JSONDecodeError:
            pass
        if proc.returncode != 0:
            return {"status": "error", "errorType": "cli", "error": (proc.stderr or proc.stdout).strip()[:500]}
        return {"status": "error", "errorType": "cli", "error": "unparsable output: " + proc.stdout[:200]}

    def replay(self, openmetrics):
        args = ["replay", "--data-dir", self.data_dir, openmetrics]
        h.log("+ " + " ".join(self.cmd + args))
        t0 = time.time()
        subprocess.run(self.cmd + args, cwd=h.REPO, check=True)
        h.log(f"  replay took {time.time() - t0:.1f}s")

    def instant(self, expr, t_ms):
        return self.run(["query", "--data-dir", self.data_dir, "--time", h.fmt_seconds(t_ms),
                         "--format", "json", "--", expr])

    def range(self, expr, start_ms, end_ms, step_ms):
        return self.run(["query-range", "--data-dir", self.data_dir, "--start", h.fmt_seconds(start_ms),
                         "--end", h.fmt_seconds(end_ms), "--step", h.fmt_seconds(step_ms),
                         "--format", "json", "--", expr])


def evaluation_plan(min_ms, max_ms, interval_ms, n_instants, step_ms):
    """Instant times and one range, all half an interval off the scrape grid."""
    last = max_ms - 1  # promtool's block max time is exclusive
    n_scrapes = (last - min_ms) // interval_ms + 1
    half = interval_ms // 2 if interval_ms % 2 == 0 else interval_ms / 2
    instants = []
    for i in range(1, n_instants + 1):
        k = max(1, (n_scrapes * i) // (n_instants + 1))
        instants.append(min_ms + k * interval_ms + half)
    r_start = min_ms + (n_scrapes // 4) * interval_ms + half
    r_end = min_ms + (3 * n_scrapes // 4) * interval_ms + half
    if step_ms % interval_ms == 0 and (r_end - r_start) > 0:
        r_end = r_start + ((r_end - r_start) // step_ms) * step_ms
    return instants, (r_start, r_end, step_ms)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--openmetrics", help="data file (default: generate the small legacy cluster)")
    ap.add_argument("--style", default="legacy", choices=["legacy", "modern"],
                    help="label style of generated data and of the workload queries included")
    ap.add_argument("--queries", action="append", help=f"corpus file(s) (default {DEFAULT_CORPUS})")
    ap.add_argument("--no-workload", action="store_true", help="leave out testdata/workload queries")
    ap.add_argument("--only", help="only expressions containing this text")
    ap.add_argument("--promlite", help="promlite command (default target/release/promlite, else "
                    "`cargo run --release -p promlite-cli --`)")
    ap.add_argument("--data-dir", help="promlite data directory (default: a temporary one)")
    ap.add_argument("--prometheus-only", action="store_true", help="only run Prometheus and save its answers")
    ap.add_argument("--save", help="directory for the answers (prometheus.jsonl, promlite.jsonl)")
    ap.add_argument("--interval-ms", type=int, help="scrape interval of the data (default: detected)")
    ap.add_argument("--instants", type=int, default=3, help="instant evaluation times (default 3)")
    ap.add_argument("--step-ms", type=int, default=60000, help="range query step (default 60000)")
    ap.add_argument("--keep", action="store_true", help="keep temporary directories")
    args = ap.parse_args()

    corpus = []
    for path in args.queries or [DEFAULT_CORPUS]:
        corpus += read_corpus(path)
    if not args.no_workload:
        corpus += workload_queries(args.style)
    if args.only:
        corpus = [(name, q) for name, q in corpus if args.only in q]

    workdir = h.make_workdir("promdiff-")
    try:
        om = args.openmetrics
        if om is None:
            om = os.path.join(workdir, f"small-{args.style}.om")
            h.generate(om, preset="small", style=args.style, seed=1)
        om = os.path.abspath(om)
        interval = args.interval_ms or detect_interval_ms(om)
        promlite = None
        if not args.prometheus_only:
            promlite = Promlite(Promlite.resolve(args.promlite), args.data_dir or os.path.join(workdir, "promlite"))
            promlite.replay(om)
        with h.Prometheus(om, workdir) as prom:
            instants, (r_start, r_end, step) = evaluation_plan(prom.min_ms, prom.max_ms, interval,
                                                               args.instants, args.step_ms)
            h.log(f"  interval {interval} ms; instants {[h.fmt_seconds(t) for t in instants]}; "
                  f"range {h.fmt_seconds(r_start)}..{h.fmt_seconds(r_end)} step {h.fmt_seconds(step)}")
            rows = run_corpus(corpus, prom, promlite, instants, (r_start, r_end, step), args.save)
    finally:
        h.remove_workdir(workdir, keep=args.keep)
    return report(rows, args.prometheus_only)


def run_corpus(corpus, prom, promlite, instants, rng, save):
    files = {}
    if save:
        os.makedirs(save, exist_ok=True)
        files["prometheus"] = open(os.path.join(save, "prometheus.jsonl"), "w")
        if promlite:
            files["promlite"] = open(os.path.join(save, "promlite.jsonl"), "w")
    rows = []
    try:
        for name, expr in corpus:
            cases = [("instant", t, lambda e, t=t: prom.instant(e, t),
                      (lambda e, t=t: promlite.instant(e, t)) if promlite else None) for t in instants]
            cases.append(("range", rng[0], lambda e: prom.range(e, *rng),
                          (lambda e: promlite.range(e, *rng)) if promlite else None))
            row = {"name": name, "expr": expr, "ok": 0, "total": 0, "errors": 0, "mismatch": []}
            for kind, t, run_prom, run_lite in cases:
                expected = prom_body = run_prom(expr)
                row["total"] += 1
                row["errors"] += expected.get("status") != "success"
                record = {"query": name, "expr": expr, "kind": kind, "time": h.fmt_seconds(t)}
                if "prometheus" in files:
                    files["prometheus"].write(json.dumps({**record, "response": prom_body}) + "\n")
                if run_lite is None:
                    continue
                actual = run_lite(expr)
                if "promlite" in files:
                    files["promlite"].write(json.dumps({**record, "response": actual}) + "\n")
                reason = h.compare(expected, actual)
                if reason is None:
                    row["ok"] += 1
                else:
                    row["mismatch"].append(f"{kind}@{h.fmt_seconds(t)}: {reason}")
            rows.append(row)
    finally:
        for f in files.values():
            f.close()
    return rows


def report(rows, prometheus_only):
    width = min(70, max((len(r["expr"]) for r in rows), default=10))
    print(f"{'query':<28} {'expression':<{width}} {'prom err':>8} {'result':>8}")
    bad = 0
    for r in rows:
        expr = " ".join(r["expr"].split())
        expr = expr if len(expr) <= width else expr[: width - 1] + "…"
        if prometheus_only:
            result = "-"
        elif r["mismatch"]:
            result = "FAIL"
            bad += 1
        else:
            result = f"{r['ok']}/{r['total']}"
        print(f"{r['name'][:28]:<28} {expr:<{width}} {r['errors']:>4}/{r['total']:<3} {result:>8}")
        for m in r["mismatch"]:
            print(f"    {m if len(m) <= 400 else m[:399] + '…'}")
    n_cases = sum(r["total"] for r in rows)
    n_err = sum(r["errors"] for r in rows)
    if prometheus_only:
        print(f"\n{len(rows)} expressions, {n_cases} evaluations on Prometheus ({n_err} errors); promlite not run")
        return 0
    print(f"\n{len(rows)} expressions, {n_cases} evaluations: {len(rows) - bad} expressions agree, {bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
