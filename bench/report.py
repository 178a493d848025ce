"""The result record: machine, JSON file, text and Markdown tables, the scale plot."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    except (OSError, IndexError, ValueError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_mb": mem, "os": platform.platform(),
            "python": platform.python_version()}


def fmt_s(v: float | None) -> str:
    return "failed" if v is None else (f"{v:.2f}" if v < 100 else f"{v:.0f}")


def rows(record: dict[str, Any]) -> list[list[str]]:
    """case | lobs | s | MB | other | s | MB | lobs/other, one row per ratio."""
    out: list[list[str]] = []
    for case in record["cases"]:
        by = {v["name"]: v for v in case.get("variants", [])}
        for r in case.get("ratios", []):
            a, b = by[r["lobs"]], by[r["other"]]
            out.append([case["title"], a["name"], fmt_s(a["median_s"]), f"{a['peak_rss_mb'] or 0:.0f}",
                        b["name"], fmt_s(b["median_s"]), f"{b['peak_rss_mb'] or 0:.0f}",
                        "-" if r["ratio"] is None else f"{r['ratio']:.2f}"])
        if not case.get("ratios") and case.get("variants"):
            for v in case["variants"]:
                out.append([case["title"], v["name"], fmt_s(v["median_s"]), f"{v['peak_rss_mb'] or 0:.0f}",
                            "", "", "", ""])
    return out


HEAD = ["case", "lobs", "s", "peak MB", "compared with", "s", "peak MB", "lobs/other"]


def text_table(record: dict[str, Any]) -> str:
    body = [HEAD, *rows(record)]
    widths = [max(len(r[i]) for r in body) for i in range(len(HEAD))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in body)


def md_table(record: dict[str, Any]) -> str:
    lines = ["| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    lines += ["| " + " | ".join(r) + " |" for r in rows(record)]
    return "\n".join(lines)


def md_header(record: dict[str, Any]) -> str:
    m = record["machine"]
    tools = ", ".join(f"{k} {v}" for k, v in sorted(record.get("tools", {}).items()))
    commits = sorted({c.get("lobs_commit") or "?" for c in record["cases"]})
    return (f"Machine: {m['cpu']}, {m['cores']} cores, {m['mem_mb'] // 1024} GB RAM, {m['os']}, "
            f"Python {m['python']}. Tools: {tools}. Last run started {record['started']}, lobs commit(s) "
            f"{', '.join(commits)}; median of {record['args'].get('repeat', '?')} interleaved runs.\n")


def md_extras(record: dict[str, Any]) -> str:
    out: list[str] = []
    for case in record["cases"]:
        if case["id"] == "scale":
            out += ["", "Scale (folder remote, one run per point at 100k and above):", "",
                    "| files | push s | push peak MB | pull s | pull peak MB | status cold s | status cold MB | status warm s | status warm MB |",
                    "|---|---|---|---|---|---|---|---|---|"]
            for p in case["points"]:
                out.append(f"| {p['files']:,} | {fmt_s(p.get('push_s'))} | {p.get('push_rss_mb')} | "
                           f"{fmt_s(p.get('pull_s'))} | {p.get('pull_rss_mb')} | "
                           f"{fmt_s(p.get('status_cold_s'))} | {p.get('status_cold_rss_mb')} | "
                           f"{fmt_s(p.get('status_warm_s'))} | {p.get('status_warm_rss_mb')} |")
        elif case["id"] == "stored-vs-raw":
            out += ["", (f"Stored vs raw, {case['dataset']} of JSON/Markdown/HTML/CSV: {case['raw_bytes']:,} B raw, "
                         f"{case['stored_bytes']:,} B stored (**{case['ratio']:.3f}**).")]
        elif case["id"] == "status-cold":
            out += ["", (f"Raw hashing speed of this machine (2 threads, in memory): "
                         f"{case['raw_hash_mb_s_2threads']} MB/s, i.e. a floor of {case['raw_hash_floor_s']} s "
                         f"for {case['dataset']}.")]
            if "lobs_hash_phase_mb_s" in case:
                out += ["", (f"lobs's hash phase alone (from its `--json` events: the `hash` phase to the progress event of its last file): "
                             f"{case['lobs_hash_phase_mb_s']} MB/s, i.e. **{case['lobs_hash_phase_of_raw']}** "
                             f"of the raw speed.")]
            if "read_mb_s_2threads" in case:
                out += ["", (f"Reading the same files from the page cache into a buffer, hashing nothing, 2 threads: "
                             f"{case['read_mb_s_2threads']} MB/s, the most any reader of files can hash at; lobs's hash "
                             f"phase is **{case['lobs_hash_phase_of_ceiling']}** of the lower of that and the raw speed.")]
    for n in record.get("notes", []):
        out.append(f"\nNote: {n}")
    return "\n".join(out)


def plot(record: dict[str, Any], path: Path) -> Path | None:
    """PNG of the scale curves with matplotlib, if it is installed (pip install matplotlib)."""
    scale = next((c for c in record["cases"] if c["id"] == "scale"), None)
    if not scale or not scale["points"]:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    pts = scale["points"]
    xs = [p["files"] for p in pts]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("push", "push (first)"), ("pull", "pull (fresh clone)"), ("status_cold", "status, cold index"),
                       ("status_warm", "status, warm index")):
        ys = [p.get(f"{key}_s") for p in pts]
        ms = [p.get(f"{key}_rss_mb") for p in pts]
        ax1.plot(xs, ys, marker="o", label=label)
        ax2.plot(xs, ms, marker="o", label=label)
    for ax, title in ((ax1, "time (s)"), (ax2, "peak RSS (MB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("files")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle("lobs at scale (" + record["machine"]["cpu"][:40] + f", {record['machine']['cores']} cores)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write(record: dict[str, Any], results_dir: Path, docs_dir: Path | None) -> Path:
    """bench/results/<timestamp>.json; with ``docs_dir`` also latest.json, the plot and the Markdown table."""
    results_dir.mkdir(parents=True, exist_ok=True)
    out = results_dir / f"{record['started'].replace(':', '')}.json"
    out.write_text(json.dumps(record, indent=2) + "\n")
    if docs_dir is not None:
        docs_dir.mkdir(parents=True, exist_ok=True)
        latest = docs_dir / "latest.json"
        if latest.exists():  # a partial run (--cases) replaces its own cases and keeps the others
            old = json.loads(latest.read_text())
            mine = {c["id"] for c in record["cases"]}
            record = dict(record, cases=[c for c in old["cases"] if c["id"] not in mine] + record["cases"],
                          notes=sorted(set(old.get("notes", [])) | set(record["notes"])),
                          tools={**old.get("tools", {}), **record.get("tools", {})})
        latest.write_text(json.dumps(record, indent=2) + "\n")
        plot(record, docs_dir / "scale.png")
        (docs_dir / "latest.md").write_text(md_header(record) + "\n" + md_table(record) + "\n" + md_extras(record) + "\n")
    return out
