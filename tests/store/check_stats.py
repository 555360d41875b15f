#!/usr/bin/env python3
"""Independent check of `rig results stats --json` against an export
(`rig results export`, one JSON line per run): first-pass yield, retest
rate, final yield, and per judged measurand mean, overall sd, the
moving-range sigma and Cp/Cpk/Pp/Ppk, computed here with Python's
`statistics` module from the documented definitions (docs/store.md).
Usage: check_stats.py EXPORT.jsonl STATS.json"""
import json
import math
import statistics
import sys

JUDGED = {"PASS", "FAIL", "INDETERMINATE"}


def close(a, b, rel=1e-9):
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


def main():
    runs = [json.loads(line)["record"] for line in open(sys.argv[1])]
    stats = json.load(open(sys.argv[2]))
    bad = []
    runs.sort(key=lambda r: (r["started"], r["run_id"]))

    by_unit = {}
    for r in runs:
        by_unit.setdefault(r["unit"]["serial"], []).append(r["outcome"])
    judged = {s: [o for o in os if o in JUDGED] for s, os in by_unit.items()}
    units_judged = [s for s in judged if judged[s]]
    fpy = sum(judged[s][0] == "PASS" for s in units_judged) / len(units_judged)
    final = sum(judged[s][-1] == "PASS" for s in units_judged) / len(units_judged)
    retest = sum(len(os) >= 2 for os in by_unit.values()) / len(by_unit)
    y = stats["yield"]
    for name, mine in (("fpy", fpy), ("final_yield", final), ("retest_rate", retest)):
        if not close(y[name], mine):
            bad.append(f"{name}: rig {y[name]} python {mine}")
    if y["runs"] != len(runs) or y["units"] != len(by_unit):
        bad.append(f"runs/units: rig {y['runs']}/{y['units']} python {len(runs)}/{len(by_unit)}")

    series = {}
    for r in runs:
        for st in r["steps"]:
            for m in st["measurements"]:
                if m["judged"] and m["value"] is not None:
                    key = (st["name"], m["name"])
                    series.setdefault(key, []).append(m["value"])
                    series[key + ("limits",)] = (m["limit"]["low"], m["limit"]["high"])
    checked = 0
    for ms in stats["measurands"]:
        key = (ms["step"], ms["name"])
        x = series.get(key)
        if x is None:
            bad.append(f"{key}: not in the export")
            continue
        low, high = series[key + ("limits",)]
        mean = statistics.fmean(x)
        sd = statistics.stdev(x)
        sigma_w = statistics.fmean(abs(b - a) for a, b in zip(x, x[1:])) / 1.128
        mine = {
            "n": len(x), "mean": mean, "sd": sd, "sigma_within": sigma_w,
            "cp": (high - low) / (6 * sigma_w),
            "cpk": min(high - mean, mean - low) / (3 * sigma_w),
            "pp": (high - low) / (6 * sd),
            "ppk": min(high - mean, mean - low) / (3 * sd),
        }
        cap = ms["capability"]
        theirs = {"n": cap["n"], "mean": cap["mean"]["value"], "sd": cap["sd"]["value"],
                  "sigma_within": cap["sigma_within"], "cp": cap["cp"],
                  "cpk": cap["cpk"]["value"], "pp": cap["pp"], "ppk": cap["ppk"]["value"]}
        for k in mine:
            if not close(theirs[k], mine[k], 1e-9):
                bad.append(f"{key} {k}: rig {theirs[k]} python {mine[k]}")
        checked += 1
    if checked == 0:
        bad.append("no measurand checked")
    for b in bad[:20]:
        print("check_stats:", b)
    print(f"check_stats: {len(runs)} runs, {len(by_unit)} units, FPY {fpy:.6f}, "
          f"{checked} measurands checked, {len(bad)} disagreement(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
