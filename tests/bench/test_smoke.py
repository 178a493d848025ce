"""The benchmark suite runs end to end on a tiny dataset (it measures nothing worth keeping).

Locally: folder remote, status and scale cases with whatever tools are present. In CI
(``CI=true``: s5cmd, rclone, aws and moto are installed) one S3 case runs too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(120)
def test_bench_runs_end_to_end(tmp_path: Path) -> None:
    cases = "folder,status,scale"
    argv = [sys.executable, "-m", "bench", "--tiny", "--quick", "--repeat", "1", "--no-dvc",
            "--workdir", str(tmp_path / "work"), "--results", str(tmp_path / "results")]
    if os.environ.get("CI") == "true":
        cases = "s3," + cases
        argv += ["--transports", "s5cmd"]
    proc = subprocess.run([*argv, "--cases", cases], cwd=ROOT, capture_output=True, text=True, timeout=110,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "lobs/other" in proc.stdout
    (record_path,) = (tmp_path / "results").glob("*.json")
    record = json.loads(record_path.read_text())
    ids = {c["id"] for c in record["cases"]}
    assert {"folder-push", "folder-pull", "repush-noop", "repush-1pct", "stored-vs-raw",
            "status-warm", "status-cold", "scale"} <= ids
    if "s3" in cases:
        assert {"s3-push-s5cmd", "s3-pull-s5cmd"} <= ids
    for case in record["cases"]:
        for v in case["variants"]:
            assert v["error"] is None, (case["id"], v)
            assert v["median_s"] > 0 and v["peak_rss_mb"] > 0
    stored = next(c for c in record["cases"] if c["id"] == "stored-vs-raw")
    assert 0 < stored["ratio"] < 1  # text compresses
    assert all(p["push_s"] for p in next(c for c in record["cases"] if c["id"] == "scale")["points"])
