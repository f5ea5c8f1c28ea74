#!/usr/bin/env python3
"""Timing harness behind scripts/compare-tools.sh and scripts/scaling.sh.

Whole processes are timed from the outside (wall clock around fork/exec/wait), and the
peak resident memory of each process is read from the kernel's rusage of that child
(`wait4`), so every contender is measured the same way whatever language it is written
in. Contenders run in alternating rounds (the order rotates every round) so that a
change in machine load hits all of them alike; one untimed warm-up run of each first
fills the page cache.

Subcommands (both write JSON, a markdown snippet, and with --update-docs replace the
snippet between `<!-- BEGIN name -->` and `<!-- END name -->` in docs/performance.md):

  compare  --bin BIN --exam DIR [--rounds N]   dcm2niix, pydicom, decode-only, score
  scaling  --bin BIN [--rounds N]              cost against slices, matrix, exams, cores

Only the Python standard library is used; plots are written as plain SVG.
"""

import argparse
import datetime
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


# --------------------------------------------------------------------------- measuring


def run_timed(cmd, cwd=None):
    """Runs `cmd` to completion; returns (wall seconds, peak RSS MB, exit code, stderr)."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=cwd)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        proc.returncode = code
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    # Linux reports ru_maxrss in kilobytes.
    return wall, usage.ru_maxrss / 1024.0, code, text


class Contender:
    """One tool: a name, how to describe it, and how to build its command line.

    `make_cmd(scratch)` gets a fresh empty scratch folder (for output) per run.
    """

    def __init__(self, name, label, make_cmd):
        self.name = name
        self.label = label
        self.make_cmd = make_cmd
        self.wall_s = []
        self.rss_mb = []

    def run_once(self, record):
        scratch = tempfile.mkdtemp(prefix=f"perf-{self.name}-")
        try:
            cmd = self.make_cmd(scratch)
            wall, rss, code, err = run_timed(cmd)
            if code != 0:
                sys.exit(
                    f"{self.name} failed (exit {code}): {' '.join(cmd)}\n{err[-2000:]}"
                )
            if record:
                self.wall_s.append(wall)
                self.rss_mb.append(rss)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def run_rounds(contenders, rounds):
    """One warm-up run of each, then `rounds` rounds in rotating order."""
    for c in contenders:
        c.run_once(record=False)
    for r in range(rounds):
        k = r % len(contenders)
        for c in contenders[k:] + contenders[:k]:
            c.run_once(record=True)
        sys.stderr.write(f"\r  round {r + 1}/{rounds}")
        sys.stderr.flush()
    sys.stderr.write("\n")


def median(xs):
    s = sorted(xs)
    n = len(s)
    if n == 0:
        return float("nan")
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def p90(xs):
    """Nearest-rank 90th percentile."""
    s = sorted(xs)
    return s[max(0, math.ceil(0.9 * len(s)) - 1)] if s else float("nan")


def stats(c):
    return {
        "name": c.name,
        "command": c.label,
        "runs": len(c.wall_s),
        "median_ms": median(c.wall_s) * 1000,
        "p90_ms": p90(c.wall_s) * 1000,
        "min_ms": min(c.wall_s) * 1000,
        "peak_rss_mb_median": median(c.rss_mb),
        "peak_rss_mb_max": max(c.rss_mb),
        "samples_ms": [round(w * 1000, 2) for w in c.wall_s],
    }


def bench_json(binary, folder, repeat, decode_only=False):
    """`spine-edema bench --json` of a folder: the in-process per-stage medians."""
    cmd = [binary, "bench", "--json", "--repeat", str(repeat), folder]
    if decode_only:
        cmd.insert(2, "--decode-only")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


# --------------------------------------------------------------------------- context


def machine():
    def sh(cmd):
        try:
            return subprocess.run(
                cmd, capture_output=True, text=True, cwd=REPO, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(
                (l.split(":", 1)[1].strip() for l in f if l.startswith("model name")),
                None,
            )
    except OSError:
        pass
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M"
        ),
        "commit": sh(["git", "rev-parse", "--short", "HEAD"]),
        "dirty": bool(sh(["git", "status", "--porcelain", "--untracked-files=no"])),
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "load_average": os.getloadavg()[0],
        "dcm2niix": (sh(["dcm2niix", "-v"]) or "").splitlines()[-1:] or None,
    }


def folder_size(folder):
    """Number and total size of the image files (the phantom's truth files left out)."""
    files = nbytes = 0
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d != "truth"]
        for n in names:
            if n.startswith(".") or n.endswith(".json"):
                continue
            files += 1
            nbytes += os.path.getsize(os.path.join(root, n))
    return files, nbytes


def run_line(ctx, load_after):
    dirty = " (uncommitted changes)" if ctx["dirty"] else ""
    return (
        f"Run {ctx['date_utc']} UTC, commit `{ctx['commit']}`{dirty}, "
        f"{ctx['cpus']} CPUs ({ctx['cpu_model']}), load average "
        f"{ctx['load_average']:.1f} before and {load_after:.1f} after."
    )


def replace_block(doc_path, name, text):
    """Replaces the text between the BEGIN/END markers of `name` in `doc_path`."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    with open(doc_path) as f:
        doc = f.read()
    i, j = doc.find(begin), doc.find(end)
    if i < 0 or j < i:
        sys.exit(f"{doc_path}: markers {begin} / {end} not found")
    doc = doc[: i + len(begin)] + "\n" + text.rstrip() + "\n" + doc[j:]
    with open(doc_path, "w") as f:
        f.write(doc)


def write_outputs(args, name, summary, markdown):
    os.makedirs(args.work, exist_ok=True)
    json_path = os.path.join(args.work, f"{name}.json")
    md_path = os.path.join(args.work, f"{name}.md")
    with open(json_path, "w") as f:
        json.dump(summary, f, indent=2)
    with open(md_path, "w") as f:
        f.write(markdown)
    print(markdown)
    print(f"summary: {json_path}\nmarkdown: {md_path}")
    if args.update_docs:
        replace_block(args.update_docs, name, markdown)
        print(f"updated {args.update_docs}")


# --------------------------------------------------------------------------- compare


def compare(args):
    exam = os.path.abspath(args.exam)
    binary = os.path.abspath(args.bin)
    py = sys.executable
    contenders = [
        Contender(
            "dcm2niix",
            "dcm2niix -z n -o TMP EXAM",
            lambda tmp: ["dcm2niix", "-z", "n", "-o", tmp, exam],
        ),
        Contender(
            "pydicom",
            "python3 scripts/pydicom_load.py EXAM",
            lambda tmp: [py, os.path.join(HERE, "pydicom_load.py"), exam],
        ),
        Contender(
            "decode-only",
            "spine-edema bench --decode-only --repeat 1 EXAM",
            lambda tmp: [binary, "bench", "--decode-only", "--repeat", "1", exam],
        ),
        Contender(
            "score",
            "spine-edema score EXAM --out TMP --force",
            lambda tmp: [binary, "score", exam, "--out", tmp, "--force"],
        ),
    ]
    ctx = machine()
    run_rounds(contenders, args.rounds)
    load_after = os.getloadavg()[0]
    rows = [stats(c) for c in contenders]
    score = next(r for r in rows if r["name"] == "score")
    for r in rows:
        r["ratio_to_score"] = r["median_ms"] / score["median_ms"]
        r["score_over_this"] = score["median_ms"] / r["median_ms"]
    stages = bench_json(binary, exam, args.stage_repeats)
    files, nbytes = folder_size(exam)
    summary = {
        "machine": ctx,
        "load_average_after": load_after,
        "invocation": args.invocation,
        "exam": {"path": exam, "description": args.exam_label, "files": files, "bytes": nbytes},
        "rounds": args.rounds,
        "tools": rows,
        "stages_in_process": stages,
    }
    by = {r["name"]: r for r in rows}
    lines = [
        run_line(ctx, load_after),
        f"Exam: {args.exam_label}; {files} DICOM files, {nbytes / 1e6:.1f} MB. "
        f"{args.rounds} rounds after one warm-up run of each, order rotating every round.",
        f"Command: `{args.invocation}`",
        "",
        "| | tool (whole process) | median ms | p90 ms | as a ratio to (d) | (d) ÷ this | peak RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for letter, r in zip("abcd", rows):
        lines.append(
            f"| ({letter}) | {r['name']}: `{r['command']}` | {r['median_ms']:.0f} | "
            f"{r['p90_ms']:.0f} | {r['ratio_to_score']:.2f} | {r['score_over_this']:.2f} | "
            f"{r['peak_rss_mb_max']:.0f} |"
        )
    over_dcm = by["score"]["median_ms"] / by["dcm2niix"]["median_ms"]
    over_decode = by["score"]["median_ms"] / by["decode-only"]["median_ms"]
    rss = by["score"]["peak_rss_mb_max"]
    lines += [
        "",
        f"- score ÷ dcm2niix = **{over_dcm:.2f}×** (target ≤ 2×, goal ≤ 1×): "
        f"{'met' if over_dcm <= 2 else 'not met'}.",
        f"- score ÷ decode-only = **{over_decode:.2f}×** (target ≤ 3×): "
        f"{'met' if over_decode <= 3 else 'not met'}.",
        f"- peak RSS of score = **{rss:.0f} MB** (target ≤ 300 MB): "
        f"{'met' if rss <= 300 else 'not met'}.",
        "",
        f"In-process stages of the same exam (`spine-edema bench --repeat {args.stage_repeats}`, "
        "median ms):",
        "",
        "| " + " | ".join(s["stage"] for s in stages["stages"]) + " | total |",
        "|" + "---:|" * (len(stages["stages"]) + 1),
        "| "
        + " | ".join(f"{s['median_ms']:.1f}" for s in stages["stages"])
        + f" | {stages['total_median_ms']:.1f} |",
    ]
    write_outputs(args, "compare-tools", summary, "\n".join(lines) + "\n")


# --------------------------------------------------------------------------- scaling


def phantom(binary, root, seed, matrix, slices, fluid_matrix=None):
    """Writes (once) a one-exam lumbar phantom without distractor series; returns its folder."""
    name = f"seed{seed}-m{matrix}-f{fluid_matrix or matrix}-s{slices}"
    folder = os.path.join(root, name)
    if os.path.exists(os.path.join(folder, ".complete")):
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    cmd = [binary, "phantom", "--out", folder, "--seed", str(seed), "--preset", "lumbar",
           "--matrix", str(matrix), "--slices", str(slices), "--no-extra-series"]
    if fluid_matrix:
        cmd += ["--fluid-matrix", str(fluid_matrix)]
    subprocess.run(cmd, check=True, capture_output=True)
    open(os.path.join(folder, ".complete"), "w").close()
    return folder


def linked_batch(root, folders):
    """A folder holding hard links to every file of `folders` (one subfolder each)."""
    name = f"batch-{len(folders)}"
    batch = os.path.join(root, name)
    shutil.rmtree(batch, ignore_errors=True)
    for k, src in enumerate(folders):
        for dirpath, _dirs, names in os.walk(src):
            rel = os.path.relpath(dirpath, src)
            dst = os.path.join(batch, f"p{k:03}", rel)
            os.makedirs(dst, exist_ok=True)
            for n in names:
                if not n.startswith("."):
                    os.link(os.path.join(dirpath, n), os.path.join(dst, n))
    return batch


def voxel_point(binary, folder, rounds, stage_repeats, label, matrix, fluid_matrix, slices):
    decode = Contender(
        "decode-only", "", lambda tmp: [binary, "bench", "--decode-only", "--repeat", "1", folder]
    )
    score = Contender(
        "score", "", lambda tmp: [binary, "score", folder, "--out", tmp, "--force"]
    )
    run_rounds([decode, score], rounds)
    stages = bench_json(binary, folder, stage_repeats)
    voxels = slices * (matrix * matrix + fluid_matrix * fluid_matrix)
    return {
        "label": label,
        "matrix": matrix,
        "fluid_matrix": fluid_matrix,
        "slices": slices,
        "voxels": voxels,
        "decode_only": stats(decode),
        "score": stats(score),
        "stages_ms": {s["stage"]: s["median_ms"] for s in stages["stages"]},
    }


def exams_point(binary, batch, n, jobs, rounds):
    cpus = ",".join(str(c) for c in range(jobs))
    cmd = ["taskset", "-c", cpus] if shutil.which("taskset") else []
    c = Contender(
        f"score-{n}x-jobs{jobs}",
        "",
        lambda tmp: cmd + [binary, "score", batch, "--out", tmp, "--force", "--jobs", str(jobs)],
    )
    return c


def scaling(args):
    binary = os.path.abspath(args.bin)
    root = os.path.join(os.path.abspath(args.work), "phantoms")
    os.makedirs(root, exist_ok=True)
    ctx = machine()
    seed = args.seed
    points = []
    grid = [(m, 15) for m in args.matrices] + [(args.slice_matrix, s) for s in args.slices]
    seen = set()
    for matrix, slices in grid:
        if (matrix, slices) in seen:
            continue
        seen.add((matrix, slices))
        print(f"voxels: {matrix}² × {slices}", file=sys.stderr)
        folder = phantom(binary, root, seed, matrix, slices)
        points.append(
            voxel_point(binary, folder, args.rounds, args.stage_repeats,
                        f"{matrix}²×{slices}", matrix, matrix, slices)
        )
    points.sort(key=lambda p: p["voxels"])

    # Exams and cores: the reference exam shape, one patient per seed.
    pool = [
        phantom(binary, root, seed + k, args.exam_matrix, 15, args.exam_fluid_matrix)
        for k in range(max(args.exams))
    ]
    batches = []
    for n in args.exams:
        batch = linked_batch(root, pool[:n])
        print(f"exams: {n}", file=sys.stderr)
        contenders = [exams_point(binary, batch, n, jobs, args.rounds) for jobs in args.jobs]
        run_rounds(contenders, args.exam_rounds)
        for jobs, c in zip(args.jobs, contenders):
            s = stats(c)
            batches.append({"exams": n, "jobs": jobs, **s,
                            "exams_per_s": n / (s["median_ms"] / 1000)})
    load_after = os.getloadavg()[0]

    summary = {"machine": ctx, "load_average_after": load_after,
               "invocation": args.invocation, "voxels": points, "batches": batches}
    img_dir = os.path.join(REPO, "docs", "img")
    os.makedirs(img_dir, exist_ok=True)
    voxel_svg = os.path.join(img_dir, "perf-scaling-voxels.svg")
    exam_svg = os.path.join(img_dir, "perf-scaling-exams.svg")
    with open(voxel_svg, "w") as f:
        f.write(svg_voxels(points))
    with open(exam_svg, "w") as f:
        f.write(svg_exams(batches, args.jobs))

    fit_score = fit_line([p["voxels"] / 1e6 for p in points],
                         [p["score"]["median_ms"] for p in points])
    fit_decode = fit_line([p["voxels"] / 1e6 for p in points],
                          [p["decode_only"]["median_ms"] for p in points])
    stage_names = list(points[0]["stages_ms"].keys()) if points else []
    lines = [
        run_line(ctx, load_after),
        f"Command: `{args.invocation}`. Phantoms: lumbar, seed {seed}, T1 and fluid series "
        "of the same matrix and slice count, no distractor series. Whole processes, "
        f"median of {args.rounds} alternating rounds; stage columns are in-process medians "
        f"of `spine-edema bench --repeat {args.stage_repeats}`.",
        "",
        "| grid (both series) | voxels (M) | decode-only process ms | score process ms | "
        "score process ns/voxel | "
        + " | ".join(f"{s} stage ms" for s in stage_names)
        + " | score peak RSS MB |",
        "|---|---:|---:|---:|---:|" + "---:|" * len(stage_names) + "---:|",
    ]
    for p in points:
        lines.append(
            f"| {p['label']} | {p['voxels'] / 1e6:.2f} | {p['decode_only']['median_ms']:.0f} | "
            f"{p['score']['median_ms']:.0f} | "
            f"{p['score']['median_ms'] * 1e6 / p['voxels']:.0f} | "
            + " | ".join(f"{p['stages_ms'][s]:.1f}" for s in stage_names)
            + f" | {p['score']['peak_rss_mb_max']:.0f} |"
        )
    lines += [
        "",
        f"Least-squares line, whole process: score ≈ {fit_score[0]:.0f} ms + "
        f"{fit_score[1]:.0f} ms per million voxels (R² {fit_score[2]:.3f}); decode-only ≈ "
        f"{fit_decode[0]:.0f} ms + {fit_decode[1]:.0f} ms per million voxels "
        f"(R² {fit_decode[2]:.3f}).",
        "",
        "![cost against voxels](img/perf-scaling-voxels.svg)",
        "",
        f"Batches of the reference exam shape (T1 {args.exam_matrix}² + fluid "
        f"{args.exam_fluid_matrix}², 15 slices, one patient per seed from {seed}): "
        "`taskset -c 0` with `--jobs 1` against `taskset -c 0,1` with `--jobs 2`, "
        f"median of {args.exam_rounds} alternating rounds.",
        "",
        "| exams | jobs (cores) | wall s (median) | p90 s | exams/s | speed-up over 1 core | peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for b in batches:
        one = next(x for x in batches if x["exams"] == b["exams"] and x["jobs"] == args.jobs[0])
        b["speedup"] = b["exams_per_s"] / one["exams_per_s"]
        lines.append(
            f"| {b['exams']} | {b['jobs']} | {b['median_ms'] / 1000:.2f} | {b['p90_ms'] / 1000:.2f} | "
            f"{b['exams_per_s']:.2f} | {b['speedup']:.2f} | {b['peak_rss_mb_max']:.0f} |"
        )
    lines += ["", "![throughput against batch size and cores](img/perf-scaling-exams.svg)"]
    write_outputs(args, "scaling", summary, "\n".join(lines) + "\n")


def fit_line(xs, ys):
    """Least squares y = a + b x; returns (a, b, R²)."""
    n = len(xs)
    if n < 2:
        return (float("nan"),) * 3
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    b = sxy / sxx if sxx else float("nan")
    a = my - b * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - a - b * x) ** 2 for x, y in zip(xs, ys))
    return a, b, 1 - ss_res / ss_tot if ss_tot else float("nan")


# --------------------------------------------------------------------------- SVG

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]


def nice_max(v):
    if v <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * e:
            return m * e
    return 10 * e


def svg_frame(w, h, title, xlabel, ylabel):
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
        f'<text x="{w / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>',
        f'<text x="{w / 2}" y="{h - 8}" text-anchor="middle">{xlabel}</text>',
        f'<text x="16" y="{h / 2}" text-anchor="middle" transform="rotate(-90 16 {h / 2})">'
        f"{ylabel}</text>",
    ]


def axes(out, x0, y0, x1, y1, xmax, ymax, xticks=5, yticks=5, xfmt="{:g}"):
    out.append(f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="black"/>')
    out.append(f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="black"/>')
    for k in range(yticks + 1):
        v = ymax * k / yticks
        y = y0 - (y0 - y1) * k / yticks
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{v:g}</text>')
    if xmax is not None:
        for k in range(xticks + 1):
            v = xmax * k / xticks
            x = x0 + (x1 - x0) * k / xticks
            out.append(f'<text x="{x:.1f}" y="{y0 + 16}" text-anchor="middle">'
                       f"{xfmt.format(v)}</text>")


def svg_voxels(points):
    w, h, x0, y0, x1, y1 = 640, 400, 70, 350, 620, 40
    series = [
        ("score (whole process)", [p["score"]["median_ms"] for p in points]),
        ("decode-only (whole process)", [p["decode_only"]["median_ms"] for p in points]),
        ("segment stage (in process)", [p["stages_ms"].get("segment", 0) for p in points]),
    ]
    xs = [p["voxels"] / 1e6 for p in points]
    xmax = nice_max(max(xs, default=1))
    ymax = nice_max(max((max(v) for _, v in series if v), default=1))
    out = svg_frame(w, h, "Cost against voxels per exam (T1 + fluid)",
                    "million voxels per exam", "ms")
    axes(out, x0, y0, x1, y1, xmax, ymax)
    px = lambda x: x0 + (x1 - x0) * x / xmax
    py = lambda y: y0 - (y0 - y1) * y / ymax
    for k, (name, ys) in enumerate(series):
        colour = COLOURS[k % len(COLOURS)]
        a, b, _ = fit_line(xs, ys)
        if not math.isnan(b):
            out.append(f'<line x1="{px(0):.1f}" y1="{py(max(a, 0)):.1f}" x2="{px(xmax):.1f}" '
                       f'y2="{py(min(a + b * xmax, ymax)):.1f}" stroke="{colour}" '
                       f'stroke-dasharray="4 3" opacity="0.6"/>')
        for x, y, p in zip(xs, ys, points):
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="4" fill="{colour}">'
                       f"<title>{p['label']}: {y:.0f} ms</title></circle>")
        out.append(f'<rect x="{x0 + 12}" y="{y1 + 8 + 18 * k}" width="10" height="10" '
                   f'fill="{colour}"/>')
        out.append(f'<text x="{x0 + 28}" y="{y1 + 17 + 18 * k}">{name}</text>')
    for x, p in zip(xs, points):
        out.append(f'<text x="{px(x):.1f}" y="{y0 - 6}" text-anchor="middle" '
                   f'font-size="9" fill="#666">{p["label"]}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def svg_exams(batches, jobs):
    w, h, x0, y0, x1, y1 = 640, 400, 70, 350, 620, 40
    ns = sorted({b["exams"] for b in batches})
    ymax = nice_max(max((b["exams_per_s"] for b in batches), default=1))
    out = svg_frame(w, h, "Batch throughput: exams per second", "exams in the batch",
                    "exams/s")
    axes(out, x0, y0, x1, y1, None, ymax)
    group = (x1 - x0) / max(len(ns), 1)
    bar = group * 0.7 / max(len(jobs), 1)
    for g, n in enumerate(ns):
        gx = x0 + group * g + group * 0.15
        out.append(f'<text x="{x0 + group * (g + 0.5):.1f}" y="{y0 + 16}" '
                   f'text-anchor="middle">{n}</text>')
        for k, j in enumerate(jobs):
            b = next((b for b in batches if b["exams"] == n and b["jobs"] == j), None)
            if b is None:
                continue
            hgt = (y0 - y1) * b["exams_per_s"] / ymax
            out.append(f'<rect x="{gx + bar * k:.1f}" y="{y0 - hgt:.1f}" width="{bar - 2:.1f}" '
                       f'height="{hgt:.1f}" fill="{COLOURS[k % len(COLOURS)]}">'
                       f"<title>{n} exams, {j} core(s): {b['exams_per_s']:.2f} exams/s"
                       "</title></rect>")
    for k, j in enumerate(jobs):
        out.append(f'<rect x="{x0 + 12}" y="{y1 + 8 + 18 * k}" width="10" height="10" '
                   f'fill="{COLOURS[k % len(COLOURS)]}"/>')
        out.append(f'<text x="{x0 + 28}" y="{y1 + 17 + 18 * k}">--jobs {j} on {j} core(s)</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- main


def ints(text):
    return [int(x) for x in text.replace(",", " ").split()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    for name in ("compare", "scaling"):
        p = sub.add_parser(name)
        p.add_argument("--bin", required=True, help="the spine-edema binary")
        p.add_argument("--work", required=True, help="folder for phantoms and results")
        p.add_argument("--rounds", type=int, default=10 if name == "compare" else 3)
        p.add_argument("--stage-repeats", type=int, default=5 if name == "compare" else 3)
        p.add_argument("--update-docs", metavar="MD", help="replace the snippet in this file")
        p.add_argument("--invocation", default="", help="the command line, for the record")
    c = sub.choices["compare"]
    c.add_argument("--exam", required=True, help="folder of the exam")
    c.add_argument("--exam-label", default="", help="what the exam is, for the record")
    s = sub.choices["scaling"]
    s.add_argument("--seed", type=int, default=8)
    s.add_argument("--matrices", type=ints, default=[256, 384, 512])
    s.add_argument("--slice-matrix", type=int, default=384)
    s.add_argument("--slices", type=ints, default=[11, 15, 20, 25])
    s.add_argument("--exams", type=ints, default=[1, 4, 16])
    s.add_argument("--exam-rounds", type=int, default=3)
    s.add_argument("--jobs", type=ints, default=[1, 2])
    s.add_argument("--exam-matrix", type=int, default=512)
    s.add_argument("--exam-fluid-matrix", type=int, default=320)
    args = ap.parse_args()
    {"compare": compare, "scaling": scaling}[args.command](args)


if __name__ == "__main__":
    main()
