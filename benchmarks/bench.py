"""`make bench`: landaudit's stages against a plain-pandas baseline and the I/O floor.

    .venv/bin/python benchmarks/bench.py [--sizes 10000,20000] [--repeats 3] [--full] [--quick]

For each size N (parcels) a workspace ``benchmarks/work/n<N>-s<seed>/`` is generated once with
``landaudit demo --parcels N --seed S`` and reused while it exists (git-ignored). The previous
year (2022) is ingested and classified once per invocation, untimed, so that classify has last
year's figures. Then, ``repeats`` times, in this order (A B C A B C …, so machine drift hits all
three alike):

  A  landaudit ingest, classify, export, run   (year 2023, subprocesses of the runtime install:
                                               .venv-runtime/bin/landaudit, see below)
  B  benchmarks/baseline_pandas.py             (the analyst's pandas + openpyxl script)
  C  benchmarks/floor.py                       (raw python-calamine read + raw xlsxwriter write)

Every command is a child process; wall time is measured around it and peak RSS comes from
``os.wait4`` (``ru_maxrss``, KiB on Linux) of that child alone. Medians over the repeats are
reported, ratios are medians of the per-repeat (paired) ratios. ``landaudit --help`` wall time is
measured separately (1 warm-up + 7 runs).

landaudit is measured as users install it: `make bench` builds ``.venv-runtime`` from
requirements.lock (the runtime dependencies only, no pandas: pyarrow would import an installed
pandas in every process, ~0.3 s each) and passes ``--landaudit .venv-runtime/bin/landaudit``. The
baseline and the floor run in ``.venv`` (they need pandas and openpyxl). Without ``--landaudit``,
``.venv-runtime`` is used when it exists, else ``.venv``; the record says which (``landaudit_env``).

Results: a table on stdout, and a record appended to ``benchmarks/results/<YYYY-MM-DD>.json``
(``--quick`` writes to ``benchmarks/work/quick-results.json`` instead). See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
WORK = BENCH / "work"
RESULTS = BENCH / "results"
BIN = ROOT / ".venv" / "bin"
PYTHON = str(BIN / "python")            # the baseline, the floor and this script's helpers
RUNTIME_BIN = ROOT / ".venv-runtime" / "bin"
LANDAUDIT = str((RUNTIME_BIN if (RUNTIME_BIN / "landaudit").exists() else BIN) / "landaudit")
YEAR, PREV = 2023, 2022
AS_OF = f"{YEAR}-12-31"
COMMON = ["--log-format", "plain", "-q"]

DEFAULT_PLAN = [(10_000, 3), (20_000, 3), (100_000, 1)]
FULL_SIZES = [10_000, 20_000, 100_000, 1_000_000]
CITY_N = 20_000
TARGETS = {
    "run_vs_baseline_speedup_min": 3.0,   # at CITY_N: baseline / landaudit run >= 3
    "run_vs_floor_max": 1.5,              # at CITY_N: landaudit run / floor <= 1.5
    "ingest_classify_1m_max_s": 120.0,
    "peak_rss_1m_max_gib": 4.0,
    "help_max_s": 0.5,
    "per_parcel_flat_tolerance": 0.30,    # ingest and classify, 10k → 1M
}
STAGES = ("ingest", "classify", "export", "run")


# --------------------------------------------------------------------------------------------
# measuring one child process
# --------------------------------------------------------------------------------------------

def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("LANDAUDIT_WORKSPACE", None)
    env["PYTHONWARNINGS"] = "ignore"
    return env


def measure(cmd: list[str], *, ok=(0,), cwd: Path | None = None) -> dict:
    """Run cmd as a child; wall seconds, peak RSS (KiB), CPU seconds, exit code, stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                cwd=cwd, env=_env())
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    if proc.returncode not in ok:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{stderr[-3000:]}")
    return {"wall_s": wall, "maxrss_kib": ru.ru_maxrss, "user_s": ru.ru_utime,
            "sys_s": ru.ru_stime, "rc": proc.returncode, "stdout": stdout}


def landaudit(ws: Path, *args: str, ok=(0, 1)) -> dict:
    return measure([LANDAUDIT, *args, "-w", str(ws)], ok=ok)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------------------------
# machine and code identity
# --------------------------------------------------------------------------------------------

def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def _landaudit_env() -> dict:
    """The environment landaudit is measured in: its python, and whether pandas is importable there
    (with pandas installed, pyarrow imports it in each process)."""
    python = str(Path(LANDAUDIT).with_name("python"))
    code = ("import importlib.util as u, json, sys; "
            "print(json.dumps({'python': sys.executable, 'pandas_installed': u.find_spec('pandas') is not None}))")
    return json.loads(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout)


def _versions() -> dict:
    code = ("import importlib.metadata as m, json, sys; print(json.dumps({'python': sys.version.split()[0], "
            "**{p: m.version(p) for p in ('landaudit', 'duckdb', 'pyarrow', 'python-calamine', "
            "'xlsxwriter', 'pandas', 'openpyxl', 'numpy')}}))")
    return json.loads(subprocess.run([PYTHON, "-c", code], capture_output=True, text=True,
                                     check=True).stdout)


def _git(*args: str) -> str:
    r = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return r.stdout.strip()


def src_hash() -> str:
    """Hash of src/ as it is on disk (others may be editing it while we measure)."""
    h = hashlib.sha256()
    for p in sorted((ROOT / "src").rglob("*")):
        if p.is_file() and p.suffix in (".py", ".sql", ".toml"):
            h.update(str(p.relative_to(ROOT)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def machine() -> dict:
    return {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "mem_total_gib": _mem_total_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "versions": _versions(),
    }


# --------------------------------------------------------------------------------------------
# workspaces
# --------------------------------------------------------------------------------------------

def workspace(n: int, seed: int, regen: bool) -> tuple[Path, dict]:
    """The demo workspace for (n, seed), generated once and reused."""
    ws = WORK / f"n{n}-s{seed}"
    marker = ws / ".bench-demo.json"
    demo_src = hashlib.sha256((ROOT / "src/landaudit/demo.py").read_bytes()).hexdigest()[:16]
    if marker.exists() and not regen:
        info = json.loads(marker.read_text())
        if info.get("demo_py_sha") != demo_src:
            log(f"  note: {ws.name} was generated by another demo.py ({info.get('demo_py_sha')});"
                " reusing it (pass --regen to regenerate)")
        return ws, info
    if ws.exists():
        shutil.rmtree(ws)
    ws.mkdir(parents=True)
    log(f"  generating demo inputs: landaudit demo --parcels {n} --seed {seed} (cached afterwards)")
    m = measure([LANDAUDIT, "demo", "--parcels", str(n), "--seed", str(seed), "-w", str(ws)])
    info = {"parcels": n, "seed": seed, "demo_py_sha": demo_src, "demo_s": round(m["wall_s"], 2),
            "demo_maxrss_kib": m["maxrss_kib"], "generated": dt.datetime.now().isoformat(timespec="seconds"),
            "inputs": {str(p.relative_to(ws / "data/raw")): p.stat().st_size
                       for p in sorted((ws / "data/raw").rglob("*")) if p.is_file()}}
    marker.write_text(json.dumps(info, ensure_ascii=False, indent=1))
    return ws, info


def prepare_previous_year(ws: Path) -> None:
    """2022 ingest + classify, untimed: classify 2023 reads last year's parcels for growth."""
    landaudit(ws, "ingest", "--year", str(PREV), *COMMON)
    landaudit(ws, "classify", "--year", str(PREV), "--as-of", f"{PREV}-12-31", *COMMON)


def _fresh(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    return path


# --------------------------------------------------------------------------------------------
# one size
# --------------------------------------------------------------------------------------------

def _summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": [round(v, 3) for v in values]}


def bench_size(n: int, repeats: int, seed: int, regen: bool, with_baseline: bool) -> dict:
    log(f"N = {n:,} parcels, {repeats} repeat(s)")
    ws, demo = workspace(n, seed, regen)
    log("  setup (untimed): ingest + classify 2022")
    prepare_previous_year(ws)
    raw = ws / "data" / "raw" / str(YEAR)
    exports = ws / "data" / "exports" / str(YEAR)
    out = ws / "bench_out"

    runs: dict[str, list[dict]] = {k: [] for k in (*STAGES, "baseline", "floor")}
    in_run: list[dict] = []
    for i in range(repeats):
        log(f"  repeat {i + 1}/{repeats}: landaudit ingest/classify/export/run")
        runs["ingest"].append(landaudit(ws, "ingest", "--year", str(YEAR), *COMMON))
        runs["classify"].append(landaudit(ws, "classify", "--year", str(YEAR), "--as-of", AS_OF,
                                          *COMMON))
        runs["export"].append(landaudit(ws, "export", "--year", str(YEAR), *COMMON))
        runs["run"].append(landaudit(ws, "run", "--year", str(YEAR), "--as-of", AS_OF, *COMMON))
        manifest = json.loads((ws / "data/processed" / str(YEAR) / "run_manifest.json").read_text())
        in_run.append(manifest.get("timings_seconds", {}))
        if with_baseline:
            log(f"  repeat {i + 1}/{repeats}: pandas baseline")
            m = measure([PYTHON, str(BENCH / "baseline_pandas.py"), str(raw),
                         str(_fresh(out / "baseline")), "--year", str(YEAR)])
            m["detail"] = json.loads(m["stdout"].strip().splitlines()[-1])
            runs["baseline"].append(m)
        log(f"  repeat {i + 1}/{repeats}: floor")
        m = measure([PYTHON, str(BENCH / "floor.py"), str(raw), str(exports),
                     str(_fresh(out / "floor"))])
        m["detail"] = json.loads(m["stdout"].strip().splitlines()[-1])
        m["floor_s"] = m["wall_s"] - m["detail"]["prep_s"]
        runs["floor"].append(m)

    def t(kind: str) -> list[float]:
        key = "floor_s" if kind == "floor" else "wall_s"
        return [r[key] for r in runs[kind]]

    res: dict = {"parcels": n, "repeats": repeats, "seed": seed, "workspace": str(ws.relative_to(ROOT)),
                 "demo": demo, "stages": {}}
    for kind, rs in runs.items():
        if not rs:
            continue
        rss = [r["maxrss_kib"] for r in rs]
        entry = {"wall_s": _summary(t(kind)),
                 "peak_rss_mib": {"median": statistics.median(rss) / 1024, "max": max(rss) / 1024},
                 "cpu_s_median": statistics.median(r["user_s"] + r["sys_s"] for r in rs)}
        if kind in STAGES:
            entry["per_parcel_us"] = statistics.median(t(kind)) / n * 1e6
        if "detail" in rs[0]:
            entry["detail"] = rs[-1]["detail"]
        res["stages"][kind] = entry
    res["in_run_stage_s"] = {k: statistics.median(d[k] for d in in_run if k in d)
                            for k in ("ingest", "classify", "export", "total")
                            if any(k in d for d in in_run)}
    res["in_run_per_parcel_us"] = {k: v / n * 1e6 for k, v in res["in_run_stage_s"].items()
                                   if k in ("ingest", "classify")}
    run_t = t("run")
    if runs["baseline"]:
        res["run_vs_baseline_speedup"] = statistics.median(
            b / a for a, b in zip(run_t, t("baseline"), strict=True))
        res["run_vs_baseline_speedup_of_medians"] = (statistics.median(t("baseline"))
                                                     / statistics.median(run_t))
    res["run_over_floor"] = statistics.median(a / f for a, f in zip(run_t, t("floor"), strict=True))
    res["run_over_floor_of_medians"] = statistics.median(run_t) / statistics.median(t("floor"))
    res["ingest_plus_classify_s"] = (res["stages"]["ingest"]["wall_s"]["median"]
                                     + res["stages"]["classify"]["wall_s"]["median"])
    res["export_workbooks"] = _export_shape(exports)
    return res


def _sheet_rows(path: Path) -> dict[str, int | None]:
    """Rows per sheet from each worksheet's <dimension> (cheap even for a 500 MB workbook)."""
    import re
    import zipfile

    rows: dict[str, int | None] = {}
    with zipfile.ZipFile(path) as z:
        book = z.read("xl/workbook.xml").decode("utf-8")
        rels = z.read("xl/_rels/workbook.xml.rels").decode("utf-8")
        targets = dict(re.findall(r'Id="([^"]+)"[^>]*Target="([^"]+)"', rels))
        targets.update({i: t for t, i in re.findall(r'Target="([^"]+)"[^>]*Id="([^"]+)"', rels)})
        for name, rid in re.findall(r'<sheet name="([^"]+)"[^>]*r:id="([^"]+)"', book):
            target = targets.get(rid, "")
            member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            try:
                with z.open(member) as f:
                    head = f.read(2048).decode("utf-8", "replace")
            except KeyError:
                rows[name] = None
                continue
            m = re.search(r'<dimension ref="[A-Z]+\d+(?::[A-Z]+(\d+))?"', head)
            rows[name] = int(m.group(1)) if m and m.group(1) else (1 if m else None)
    return rows


def _export_shape(exports: Path) -> dict:
    """Workbooks landaudit wrote, their sheets and rows (to see split sheets at 1M)."""
    shape = {}
    for p in sorted(exports.rglob("*.xlsx")):
        try:
            rows = _sheet_rows(p)
        except Exception as exc:  # noqa: BLE001 - reported, not fatal
            rows = {f"<unreadable: {exc}>": None}
        shape[str(p.relative_to(exports))] = {"bytes": p.stat().st_size, "sheets": list(rows),
                                              "rows": rows}
    return shape


def bench_help(runs: int = 7) -> dict:
    measure([LANDAUDIT, "--help"])  # warm-up (pyc, page cache)
    ms = [measure([LANDAUDIT, "--help"]) for _ in range(runs)]
    walls = [m["wall_s"] for m in ms]
    return {**_summary(walls), "peak_rss_mib": max(m["maxrss_kib"] for m in ms) / 1024}


# --------------------------------------------------------------------------------------------
# verdicts, table
# --------------------------------------------------------------------------------------------

def verdicts(sizes: dict[int, dict], help_: dict) -> dict:
    v: dict = {"help_s": {"value": help_["median"], "target": f"<= {TARGETS['help_max_s']}",
                          "met": help_["median"] <= TARGETS["help_max_s"]}}
    city = sizes.get(CITY_N)
    if city:
        if "run_vs_baseline_speedup" in city:
            s = city["run_vs_baseline_speedup"]
            v["city_run_vs_baseline"] = {"value": s, "target": ">= 3x faster",
                                         "met": s >= TARGETS["run_vs_baseline_speedup_min"]}
        f = city["run_over_floor"]
        v["city_run_over_floor"] = {"value": f, "target": "<= 1.5x floor",
                                    "met": f <= TARGETS["run_vs_floor_max"]}
    big = sizes.get(1_000_000)
    if big:
        ic = big["ingest_plus_classify_s"]
        rss = max(big["stages"][k]["peak_rss_mib"]["max"] for k in ("ingest", "classify"))
        sheets = [(name, n) for w in big["export_workbooks"].values()
                  for name, n in w.get("rows", {}).items()]
        split = sorted(name for name, _ in sheets if name.endswith("_2"))
        largest = max((n or 0 for _, n in sheets), default=0)
        v["1m_ingest_plus_classify_s"] = {"value": ic, "target": "<= 120 s",
                                          "met": ic <= TARGETS["ingest_classify_1m_max_s"]}
        v["1m_peak_rss_ingest_classify_gib"] = {
            "value": rss / 1024, "target": "<= 4 GiB",
            "met": rss / 1024 <= TARGETS["peak_rss_1m_max_gib"],
            "note": f"run: {big['stages']['run']['peak_rss_mib']['max'] / 1024:.2f} GiB, "
                    f"export: {big['stages']['export']['peak_rss_mib']['max'] / 1024:.2f} GiB"}
        v["1m_export_completes"] = {
            "value": (f"split sheets: {', '.join(split)}" if split else
                      f"no split needed: largest sheet {largest:,} rows <= 1,048,576"),
            "target": "export completes, lists split at the sheet row limit",
            "met": largest <= 1_048_576}
    if 10_000 in sizes and len([n for n in sizes if n > 10_000]) > 0:
        tol = TARGETS["per_parcel_flat_tolerance"]
        for stage in ("ingest", "classify"):
            base = sizes[10_000]["stages"][stage]["per_parcel_us"]
            rel = {n: sizes[n]["stages"][stage]["per_parcel_us"] / base
                   for n in sorted(sizes) if n >= 10_000}
            v[f"per_parcel_flat_{stage}"] = {
                "value": {str(n): round(r, 2) for n, r in rel.items()},
                "target": f"within ±{tol:.0%} of 10k (wall time incl. start-up)",
                "met": all(abs(r - 1) <= tol for r in rel.values()),
                "complete": 1_000_000 in sizes}
            base = sizes[10_000]["in_run_per_parcel_us"].get(stage)
            if base:
                rel = {n: sizes[n]["in_run_per_parcel_us"][stage] / base
                       for n in sorted(sizes) if n >= 10_000}
                v[f"per_parcel_flat_{stage}_in_process"] = {
                    "value": {str(n): round(r, 2) for n, r in rel.items()},
                    "target": f"within ±{tol:.0%} of 10k (stage time inside `run`, no start-up)",
                    "met": all(abs(r - 1) <= tol for r in rel.values()),
                    "complete": 1_000_000 in sizes}
    return v


def _growth(sizes: dict[int, dict], stage: str, key: str) -> list[str]:
    ns = sorted(sizes)
    out = []
    for a, b in pairwise(ns):
        va = sizes[a]["stages"][stage][key]["median"]
        vb = sizes[b]["stages"][stage][key]["median"]
        out.append(f"{math.log(vb / va) / math.log(b / a):.2f}" if va > 0 and vb > 0 else "-")
    return out


def table(record: dict) -> str:
    sizes = {s["parcels"]: s for s in record["sizes"]}
    ns = sorted(sizes)
    head = "| | " + " | ".join(f"{n:,}" for n in ns) + " |"
    sep = "|---|" + "---:|" * len(ns)
    lines = ["Wall time, median of repeats (s); peak RSS (MiB) in brackets", "", head, sep]
    labels = {"ingest": "landaudit ingest", "classify": "landaudit classify",
              "export": "landaudit export", "run": "**landaudit run**",
              "baseline": "pandas baseline", "floor": "I/O floor"}
    for kind, label in labels.items():
        cells = []
        for n in ns:
            st = sizes[n]["stages"].get(kind)
            cells.append("—" if st is None else
                         f"{st['wall_s']['median']:.2f} ({st['peak_rss_mib']['max']:.0f})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("| repeats | " + " | ".join(str(sizes[n]["repeats"]) for n in ns) + " |")
    if any("measured" in sizes[n] for n in ns):
        lines.append("| measured (start, git head) | " + " | ".join(
            sizes[n].get("measured", "") for n in ns) + " |")
    lines.append("| run: baseline ÷ landaudit (speed-up) | " + " | ".join(
        f"{sizes[n]['run_vs_baseline_speedup']:.2f}×" if "run_vs_baseline_speedup" in sizes[n]
        else "—" for n in ns) + " |")
    lines.append("| run: landaudit ÷ floor | " + " | ".join(
        f"{sizes[n]['run_over_floor']:.2f}×" for n in ns) + " |")
    for stage in ("ingest", "classify"):
        lines.append(f"| {stage} µs/parcel (wall) | " + " | ".join(
            f"{sizes[n]['stages'][stage]['per_parcel_us']:.1f}" for n in ns) + " |")
        lines.append(f"| {stage} µs/parcel (in-process, from run manifest) | " + " | ".join(
            f"{sizes[n]['in_run_per_parcel_us'].get(stage, float('nan')):.1f}" for n in ns) + " |")
    if len(ns) > 1:
        for stage in ("ingest", "classify"):
            cells = ["—"]
            for a, b in pairwise(ns):
                ta = sizes[a]["stages"][stage]["wall_s"]["median"]
                tb = sizes[b]["stages"][stage]["wall_s"]["median"]
                cells.append(f"{(tb - ta) / (b - a) * 1e6:.1f}")
            lines.append(f"| {stage} marginal µs/parcel (vs previous size) | "
                         + " | ".join(cells) + " |")
        lines += ["", "Growth exponent between consecutive sizes (1.0 = linear): time; RSS", "",
                  "| stage | " + " | ".join(f"{a:,}→{b:,}" for a, b in pairwise(ns)) + " |",
                  "|---|" + "---:|" * (len(ns) - 1)]
        for kind in ("ingest", "classify", "export", "run", "baseline", "floor"):
            if all(kind in sizes[n]["stages"] for n in ns):
                tg = _growth(sizes, kind, "wall_s")
                rg = _growth(sizes, kind, "peak_rss_mib")
                lines.append(f"| {kind} | " + " | ".join(f"{a}; {b}" for a, b in zip(tg, rg, strict=True)) + " |")
    h = record["help"]
    lines += ["", f"`landaudit --help`: median {h['median']:.3f} s (min {h['min']:.3f}, "
              f"max {h['max']:.3f}, {len(h['runs'])} runs)", "", "Targets:", ""]
    for name, v in record["verdicts"].items():
        val = v["value"]
        if isinstance(val, float):
            val = f"{val:.2f}"
        lines.append(f"- {name}: {val} (target {v['target']}) — {'MET' if v['met'] else 'MISSED'}"
                     + ("" if v.get("complete", True) else " [1M not measured in this run]")
                     + (f" ({v['note']})" if v.get("note") else ""))
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------

def plan(args) -> list[tuple[int, int]]:
    if args.quick:
        return [(2000, args.repeats or 1)]
    if args.sizes:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    elif args.full:
        sizes = FULL_SIZES
    else:
        return [(n, args.repeats or r) for n, r in DEFAULT_PLAN]
    return [(n, args.repeats or (3 if n < 100_000 else 1)) for n in sizes]


def _strip(obj):
    """Drop bulky stdout captures before saving."""
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k != "stdout"}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def combine(paths: list[Path]) -> dict:
    """The latest measurement of each size across results files, re-scored (for the docs)."""
    runs = [r for p in paths for r in json.loads(p.read_text())["runs"]]
    runs.sort(key=lambda r: r["started"])
    latest: dict[int, dict] = {}
    for r in runs:
        for size in r["sizes"]:
            latest[size["parcels"]] = {**size, "measured": f"{r['started']} @ {r['git']['head']}"}
    record = {"sizes": [latest[n] for n in sorted(latest)], "help": runs[-1]["help"]}
    record["verdicts"] = verdicts(latest, record["help"])
    return record


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", help="comma-separated parcel counts, e.g. 10000,20000,1000000")
    ap.add_argument("--repeats", type=int, help="repeats per size (default 3 below 100k, else 1)")
    ap.add_argument("--full", action="store_true", help="10k, 20k, 100k and 1M")
    ap.add_argument("--quick", action="store_true", help="2000 parcels, 1 repeat (smoke test)")
    ap.add_argument("--seed", type=int, default=20231)
    ap.add_argument("--regen", action="store_true", help="regenerate cached demo workspaces")
    ap.add_argument("--baseline-max", type=int, default=200_000,
                    help="skip the pandas baseline above this many parcels (openpyxl's writer "
                         "keeps every cell in memory, several GiB at 1M). Default 200000")
    ap.add_argument("--out", type=Path, help="results file (default benchmarks/results/<date>.json)")
    ap.add_argument("--report", type=Path, nargs="+", metavar="RESULTS_JSON",
                    help="measure nothing: print the table of the latest result of each size "
                         "in these results files (what docs/benchmarks.md shows)")
    ap.add_argument("--landaudit", type=Path,
                    help="the landaudit executable to measure (make bench: .venv-runtime/bin/landaudit)")
    args = ap.parse_args(argv)
    if args.landaudit:
        global LANDAUDIT
        LANDAUDIT = str(args.landaudit.resolve())
    if args.report:
        print(table(combine(args.report)))
        return 0

    if not Path(LANDAUDIT).exists():
        print(f"{LANDAUDIT} not found: run `make install` first", file=sys.stderr)
        return 2
    WORK.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now()
    record: dict = {
        "started": started.isoformat(timespec="seconds"),
        "argv": sys.argv[1:] if argv is None else argv,
        "machine": machine(),
        "git": {"head": _git("rev-parse", "--short", "HEAD"),
                "src_dirty": bool(_git("status", "--porcelain", "--", "src")),
                "src_hash_start": src_hash()},
        "loadavg_start": os.getloadavg(),
        "landaudit_env": _landaudit_env(),
        "targets": TARGETS,
    }
    m = record["machine"]
    log(f"machine: {m['cpu_model']}, {m['cpus_usable']} usable cores, {m['mem_total_gib']} GiB; "
        f"load {record['loadavg_start'][0]:.2f}; landaudit {m['versions']['landaudit']} "
        f"@ {record['git']['head']}{' (src modified)' if record['git']['src_dirty'] else ''}")
    log(f"landaudit measured: {LANDAUDIT} (pandas installed there: {record['landaudit_env']['pandas_installed']})")

    log("landaudit --help")
    record["help"] = bench_help()
    results = []
    for n, repeats in plan(args):
        results.append(bench_size(n, repeats, args.seed, args.regen,
                                  with_baseline=n <= args.baseline_max))
    record["sizes"] = results
    record["help_again"] = bench_help(3)
    record["finished"] = dt.datetime.now().isoformat(timespec="seconds")
    record["loadavg_end"] = os.getloadavg()
    record["git"]["src_hash_end"] = src_hash()
    if record["git"]["src_hash_end"] != record["git"]["src_hash_start"]:
        log("WARNING: src/ changed while the benchmark ran; numbers mix two versions of the code")
    record["verdicts"] = verdicts({s["parcels"]: s for s in results}, record["help"])
    record = _strip(record)

    text = table(record)
    print()
    print(text)
    out = args.out or (WORK / "quick-results.json" if args.quick
                       else RESULTS / f"{started:%Y-%m-%d}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = json.loads(out.read_text()) if out.exists() else {"runs": []}
    doc["runs"].append(record)
    out.write_text(json.dumps(doc, ensure_ascii=False, indent=1, default=float) + "\n")
    log(f"results appended to {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
