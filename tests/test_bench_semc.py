"""bench/bench_semc.py without the SEMC source (and without g++), and its output parser.

The benchmark itself (building and timing the C++ code) is not run here.
"""

import json
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import bench_semc  # noqa: E402

LOG_NORM = 0.5 * 301 * math.log(2 * math.pi * 0.1 ** 2)

# stdout of the generated driver, captured from real runs against nabikatomohiro/SEMC 00eb0d9:
# their own FreeEnergyCalculation line, then the driver's full-precision line
SAMPLE_BENCH = (
    "free_energy: 182.125\n"
    "semc_bench method=remc problem=bench K=3 n=301 F=182.1254370699 rungs=30 "
    "min_exchange=0.4960 seconds=3.607 threads=2 seed=1\n"
)
SAMPLE_UPSTREAM = (
    "free_energy: 172.441\n"
    "semc_bench method=remc problem=upstream K=3 n=301 F=172.4407991781 rungs=30 "
    "min_exchange=0.4880 seconds=28.393 threads=2 seed=1\n"
)


def test_parse_driver_output():
    r = bench_semc.parse_semc_output(SAMPLE_BENCH)
    assert r["F_printed"] == 182.125
    assert r["F_theirs"] == 182.1254370699
    assert r["F"] == pytest.approx(182.1254370699 + LOG_NORM)
    assert r["F"] == pytest.approx(-234.352, abs=1e-3)  # vs the K=3 reference -234.307
    assert (r["method"], r["problem"], r["K"], r["n"], r["rungs"]) == ("remc", "bench", 3, 301, 30)
    assert r["min_exchange"] == 0.496 and r["threads"] == 2 and r["seed"] == 1


def test_parse_upstream_convention():
    # their problem as shipped: -244.04, cf. issue 15's -244.200 +- 0.069
    # (their printed convention + LOG_NORM)
    r = bench_semc.parse_semc_output(SAMPLE_UPSTREAM)
    assert r["F"] == pytest.approx(-244.037, abs=1e-3)
    assert bench_semc.LOG_NORM == pytest.approx(-416.478, abs=1e-3)


def test_parse_their_line_only_and_errors():
    r = bench_semc.parse_semc_output("free_energy: 172.441\n")  # their unmodified program
    assert r["F_printed"] == r["F_theirs"] == 172.441
    assert r["F"] == pytest.approx(172.441 + LOG_NORM)
    with pytest.raises(ValueError):
        bench_semc.parse_semc_output("nothing here\n")
    with pytest.raises(ValueError):
        bench_semc.parse_semc_output("free_energy: -nan\n")


def test_no_source(tmp_path, capsys):
    out = tmp_path / "semc.json"
    for src in (["--semc-src", str(tmp_path / "nonexistent")], []):
        rc = bench_semc.main(src + ["--no-bayespec", "--out", str(out),
                                    "--nagata-json", str(tmp_path / "none.json")])
        text = capsys.readouterr().out
        assert rc == 0
        assert ("SEMC source not found" if src else "SEMC source not given") in text
        assert "git clone https://github.com/nabikatomohiro/SEMC" in text
        assert "Running the bayespec half only" in text
        d = json.loads(out.read_text())
        assert d["semc"]["skipped"].startswith("SEMC source not")
        assert d["summary"]["cpp"] == {}


def test_incomplete_source_and_no_gxx(tmp_path, capsys, monkeypatch):
    src = tmp_path / "semc"
    (src / "core").mkdir(parents=True)
    p, why = bench_semc.find_source(str(src))
    assert p is None and "missing" in why and "core/base_emc.hpp" in why
    for f in bench_semc.NEEDED:
        (src / f).parent.mkdir(parents=True, exist_ok=True)
        (src / f).write_text("")
    assert bench_semc.find_source(str(src)) == (src, "")
    monkeypatch.setattr(bench_semc, "gxx_version", lambda: None)
    rc = bench_semc.main(["--semc-src", str(src), "--no-bayespec",
                          "--out", str(tmp_path / "o.json"),
                          "--nagata-json", str(tmp_path / "none.json")])
    assert rc == 0
    assert "g++ not found" in capsys.readouterr().out
