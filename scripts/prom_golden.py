#!/usr/bin/env python3
"""Regenerates the workload's golden answers with Debian's Prometheus (python3 stdlib only).

For each label style used by testdata/workload/workload.json (legacy: the seed's queries over
`pod_name` data; modern: kubernetes-mixin style queries over `pod` data) this script

1. generates the small cluster as OpenMetrics (`cargo run -p promlite-cluster --example gen`),
2. backfills it with `promtool tsdb create-blocks-from openmetrics` into a temporary directory,
3. starts `prometheus` on 127.0.0.1 (random free port) over those blocks,
4. runs every workload query as instant queries at the manifest's evaluation times and as one
   range query, all off the 15 s scrape grid, and
5. writes testdata/workload/golden/<style>/<name>.json holding the exact API response bodies,

then stops Prometheus by PID (also on error). It checks each answer's error-ness against the
manifest's `expect` (the unfiltered dashboard queries must fail with many-to-many errors) and
exits 1 if one differs.

Usage: python3 scripts/prom_golden.py [--style legacy|modern] [--only NAME] [--keep]
"""

import argparse
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import promharness as h  # noqa: E402

WORKLOAD = os.path.join(h.REPO, "testdata", "workload")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--style", choices=["legacy", "modern"], action="append",
                    help="only this label style (repeatable; default both)")
    ap.add_argument("--only", action="append", help="only the query with this name (repeatable)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directories")
    args = ap.parse_args()

    with open(os.path.join(WORKLOAD, "workload.json")) as f:
        manifest = json.load(f)
    data = manifest["data"]
    styles = args.style or ["legacy", "modern"]
    problems = []
    for style in styles:
        queries = [q for q in manifest["queries"] if q["style"] == style
                   and (not args.only or q["name"] in args.only)]
        if not queries:
            continue
        workdir = h.make_workdir(f"prom-golden-{style}-")
        try:
            om = os.path.join(workdir, f"{data['preset']}-{style}.om")
            h.generate(om, preset=data["preset"], style=style, seed=data["seed"])
            with h.Prometheus(om, workdir) as prom:
                if prom.min_ms != data["start_ms"]:
                    raise RuntimeError(f"data starts at {prom.min_ms}, manifest says {data['start_ms']}")
                want = data["counts"][style]["samples"]
                if prom.samples != want:
                    raise RuntimeError(f"promtool loaded {prom.samples} samples, manifest says {want}: "
                                       "the generator changed; update workload.json and regenerate")
                out_dir = os.path.join(WORKLOAD, "golden", style)
                os.makedirs(out_dir, exist_ok=True)
                for q in queries:
                    problems += run_query(prom, manifest, q, out_dir)
        finally:
            h.remove_workdir(workdir, keep=args.keep)
    for p in problems:
        h.log("MISMATCH " + p)
    return 1 if problems else 0


def run_query(prom, manifest, q, out_dir):
    with open(os.path.join(WORKLOAD, q["file"])) as f:
        expr = f.read()
    start = manifest["data"]["start_ms"]
    rng = manifest["range"]
    instants = []
    problems = []
    for off in manifest["instant_offsets_ms"]:
        t = start + off
        body = prom.instant(expr, t)
        instants.append({"time": h.fmt_seconds(t), "response": body})
    r_start, r_end = start + rng["start_offset_ms"], start + rng["end_offset_ms"]
    range_body = prom.range(expr, r_start, r_end, rng["step_ms"])
    bodies = [i["response"] for i in instants] + [range_body]
    for body in bodies:
        got = "success" if body.get("status") == "success" else "error"
        if got != q["expect"]:
            problems.append(f"{q['style']}/{q['name']}: expected {q['expect']}, got {got}: {body.get('error', '')}")
    n_series = [len(b.get("data", {}).get("result", [])) for b in bodies if b.get("status") == "success"]
    h.log(f"  {q['style']}/{q['name']}: {q['expect']}, series per answer {n_series}")
    golden = {
        "query_file": q["file"],
        "expect": q["expect"],
        "instant": instants,
        "range": {"start": h.fmt_seconds(r_start), "end": h.fmt_seconds(r_end),
                  "step": h.fmt_seconds(rng["step_ms"]), "response": range_body},
    }
    with open(os.path.join(out_dir, q["name"] + ".json"), "w") as f:
        f.write(h.dump_json_lines(golden))
    return problems


if __name__ == "__main__":
    sys.exit(main())
