#!/usr/bin/env python3
"""Every measured verdict line of a repeat series (deploy/chaos/repeat.sh --out DIR), run by run: the figures behind
its held/not-held table. Usage: deploy/chaos/series-figures.py DIR [EXPERIMENT ...] > figures.md"""
import glob, json, os, sys

if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
    print(__doc__); sys.exit(0 if len(sys.argv) > 1 else 2)
out = sys.argv[1]
runs = sorted(glob.glob(os.path.join(out, "run-*")), key=lambda p: int(p.rsplit("-", 1)[1]))
names = sys.argv[2:] or sorted({os.path.basename(p)[: -len(".journal.json")] for r in runs for p in glob.glob(os.path.join(r, "*.journal.json"))})
print(f"# Figures of {out}: {len(runs)} runs\n")
for name in names:
    rows, lines = {}, []
    for r in runs:
        path = os.path.join(r, f"{name}.journal.json")
        if not os.path.exists(path):
            continue
        s = json.load(open(path))["extensions"][0]
        load = s.get("load") or {}
        for v in s["verdicts"]:
            # "during" lines are checked every second; the final value says nothing more than held or not.
            if v["phase"] == "during":
                continue
            key = f"{v['phase']} {v['line']}"
            if key not in lines:
                lines.append(key)
            rows.setdefault(key, {})[r] = v["measured"] + ("" if v["met"] else " **(not met)**")
        if load:
            for key, value in (("load requests (errors)", f"{load.get('completed', 0)} ({load.get('errors', 0)})"),
                               ("load p99 / max ms, whole run", f"{load.get('p99_ms', '-')} / {load.get('max_ms', '-')}")):
                if key not in lines:
                    lines.append(key)
                rows.setdefault(key, {})[r] = value
    if not lines:
        continue
    print(f"## {name}\n")
    print("| line | " + " | ".join(os.path.basename(r) for r in runs) + " |")
    print("|---|" + "---:|" * len(runs))
    for key in lines:
        print(f"| {key} | " + " | ".join(rows[key].get(r, "-") for r in runs) + " |")
    print()
