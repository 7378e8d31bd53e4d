"""Checkpoints and target_se (issue 6 item 5).

* A fit killed (SIGKILL, or SIGTERM at wall time) and rerun resumes from its checkpoint, and
  every array of the result is bit-for-bit that of an uninterrupted run.
* sampler.target_se stops early with SE <= target and F within 3 SE of the closed form.
* A checkpoint of another fit is refused with a message naming what differs.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from bayespec.cli import EXIT_RESUMABLE
from bayespec.config import parse_fit_config, with_overrides
from bayespec.errors import ConfigError, FitInterrupted
from bayespec.inference.fit import FitSettings, fit_problems
from bayespec.inference.runner import checkpoint_path, fit_to_dir
from bayespec.io.store import read_fit
from bayespec.models.model import build_problem
from bayespec.models.priors import parse_prior
from bayespec.sampling import checkpoint as ckpt
from bayespec.sampling.kernel import RECOMPUTE_EVERY
from conftest import nagata_data

SRC = Path(__file__).resolve().parents[1] / "src"
BURN, SWEEPS = 500, 4000
FIT_YAML = {
    "model": {"shape": "gaussian_nagata", "K": [1, 2], "background": {"kind": "none"}},
    "priors": {"amplitude": {"dist": "uniform", "low": 0, "high": 3},
               "center": {"dist": "uniform", "low": 0, "high": 3},
               "width": {"dist": "uniform", "low": 20, "high": 300}},
    "noise": {"estimate": True},
    "sampler": {"replicas": 12, "burn_in": BURN, "sweeps": SWEEPS, "chains": 2, "thin": 5,
                "threads": 2, "seed": 4, "checkpoint_every": 0.01},
}


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """The data, the config and the result of an uninterrupted run (no checkpoint)."""
    d = tmp_path_factory.mktemp("ckpt")
    x, y = nagata_data(0)
    data = d / "spec.csv"
    np.savetxt(data, np.c_[x, y], delimiter=",", header="x,y", comments="")
    (d / "fit.yaml").write_text(yaml.safe_dump(FIT_YAML))
    fit_to_dir(data, parse_fit_config(FIT_YAML), d / "ref")
    return d


def _arrays(out: Path) -> dict[str, np.ndarray]:
    """Every data variable and coordinate of every store, and the root numbers."""
    got = {}
    for K in FIT_YAML["model"]["K"]:
        tree = read_fit(out / f"K{K}.zarr")
        for node in tree.subtree:
            for name, v in node.to_dataset().variables.items():
                got[f"K{K}{node.path}/{name}"] = np.asarray(v.values)
        for a in ("free_energy", "free_energy_se", "noise_sd", "target_rung"):
            got[f"K{K}/{a}"] = np.asarray(tree.attrs[a])
    assert len(got) > 30
    return got


def _assert_bitwise(a: Path, b: Path) -> None:
    ra, rb = _arrays(a), _arrays(b)
    assert ra.keys() == rb.keys()
    differ = [k for k in ra if not np.array_equal(ra[k], rb[k], equal_nan=True)]
    assert not differ, differ
    assert (a / "model_selection.csv").read_text() == (b / "model_selection.csv").read_text()


def _start_and_wait_for_checkpoint(case: Path, out: str):
    """Start `bayespec fit --checkpoint` in a subprocess; return it once a checkpoint exists."""
    ck = case / f"ck_{out}"
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bayespec.cli", "fit", str(case / "spec.csv"), "--config",
         str(case / "fit.yaml"), "--out", str(case / out), "--checkpoint", str(ck)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    path = checkpoint_path(case / "spec.csv", ck)
    t0 = time.monotonic()
    # wait until every chain is past burn-in, so energies and draws are in the checkpoint too
    while not (path.exists() and min(_progress(path)) >= BURN + RECOMPUTE_EVERY):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t0 < 120, "no checkpoint written within 120 s"
        time.sleep(0.01)
    return proc, path


def _progress(path: Path) -> list[int]:
    """Next sweep of every chain in the checkpoint at ``path``."""
    with np.load(path, allow_pickle=False) as z:
        return [t[2] for t in json.loads(str(z["meta"]))["tasks"]]


def _resume_and_compare(case: Path, out: str, path: Path, caplog) -> None:
    done = _progress(path)
    assert min(done) < BURN + SWEEPS, done  # the run really was cut short
    assert all(s % RECOMPUTE_EVERY == 0 for s in done), done
    # periodic checkpoints do not change the numbers; only the final one is written here
    cfg = with_overrides(parse_fit_config(FIT_YAML), sampler={"checkpoint_every": 0})
    with caplog.at_level(logging.INFO, logger="bayespec"):
        fit_to_dir(case / "spec.csv", cfg, case / out, checkpoint_dir=path.parent)

    assert "resuming from the checkpoint" in caplog.text
    assert not path.exists()  # removed once the stores and the table are written
    _assert_bitwise(case / "ref", case / out)


def test_sigkill_then_resume_is_bit_identical(case, caplog):
    proc, path = _start_and_wait_for_checkpoint(case, "killed")
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (case / "killed" / "model_selection.csv").exists()
    _resume_and_compare(case, "killed", path, caplog)


def test_sigterm_writes_checkpoint_and_exits_then_resumes_bit_identical(case, caplog):
    proc, path = _start_and_wait_for_checkpoint(case, "termed")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_RESUMABLE, err
    assert "SIGTERM: sampler state saved to" in err and "rerun the same command" in err, err
    _resume_and_compare(case, "termed", path, caplog)


# ---------------------------------------------------------------------------- target_se

TARGET, NOISE = 0.03, 0.1


def _target_fit():
    """The closed-form linear model of test_oracles fitted with target_se = TARGET."""
    from test_oracles import _linear_problem

    x, y, X, kind, degree, priors, m0, S0 = _linear_problem("linear")
    prob = build_problem(x, y, None, "gaussian", 0, kind, degree, priors)
    settings = FitSettings(noise_sd=NOISE, sweeps=40000, burn_in=BURN, chains=4, seed=1,
                           threads=2, target_se=TARGET)
    fit, = fit_problems([prob], settings)
    return prob, settings, fit


def test_target_se_stops_early_within_the_closed_form():
    from test_oracles import linear_closed_form, _linear_problem

    x, y, X, kind, degree, priors, m0, S0 = _linear_problem("linear")
    _, _, fit = _target_fit()
    _assert_stopped_within_closed_form(fit, linear_closed_form(X, y, NOISE, m0, S0)[0])


def _assert_stopped_within_closed_form(fit, F: float) -> None:
    """A target_se fit stopped early at a check point, SE <= TARGET, F within 3 SE of F."""
    ran = fit.timing["sweeps"]
    assert ran < 40000 and (BURN + ran) % RECOMPUTE_EVERY == 0, ran
    assert fit.posterior["background"].shape[1] == ran // 5
    assert 0 < fit.free_energy_se <= TARGET
    assert abs(fit.free_energy - F) < 3 * fit.free_energy_se, (fit.free_energy, F,
                                                               fit.free_energy_se)


def test_target_se_run_interrupted_and_resumed_stops_at_the_same_sweep(tmp_path):
    """SIGTERM in this process (from a helper thread, once a checkpoint exists) interrupts the
    target_se fit; the resumed fit stops where the uninterrupted one did, bit for bit."""
    prob, settings, ref = _target_fit()
    path = tmp_path / "c.npz"
    s = FitSettings(**{**settings.__dict__, "checkpoint_every": 0.001})

    def terminate_once_checkpointed():
        while not path.exists():
            time.sleep(0.001)
        os.kill(os.getpid(), signal.SIGTERM)

    killer = threading.Thread(target=terminate_once_checkpointed, daemon=True)
    killer.start()
    with pytest.raises(FitInterrupted, match="rerun the same command to resume"):
        fit_problems([prob], s, checkpoint=path)
    killer.join()
    assert min(_progress(path)) < BURN + ref.timing["sweeps"]
    fit, = fit_problems([prob], s, checkpoint=path)
    assert fit.timing["sweeps"] == ref.timing["sweeps"]
    assert fit.free_energy == ref.free_energy and fit.free_energy_se == ref.free_energy_se
    assert np.array_equal(fit.posterior["background"], ref.posterior["background"])
    assert np.array_equal(fit.ladder.log_z, ref.ladder.log_z)


# ---------------------------------------------------------------------------- refusals

def _small(seed: int) -> tuple[list, FitSettings]:
    x, y = nagata_data(0)
    pri = {k: parse_prior(v, k) for k, v in FIT_YAML["priors"].items()}
    prob = build_problem(x, y, None, "gaussian_nagata", 1, "none", None, pri)
    return [prob], FitSettings(noise_sd=0.1, replicas=6, burn_in=100, sweeps=900, chains=2,
                               seed=seed, threads=1)


def test_mismatched_checkpoint_is_refused_and_a_finished_one_reused(tmp_path, caplog):
    path = tmp_path / "c.npz"
    probs, s = _small(seed=1)
    first, = fit_problems(probs, s, checkpoint=path)
    assert path.exists()  # fit_problems leaves it; runner/campaign delete it after storing
    # a finished checkpoint of the same fit: nothing left to run, the same numbers
    again, = fit_problems(probs, s, checkpoint=path)
    assert again.free_energy == first.free_energy
    assert np.array_equal(again.posterior["center"], first.posterior["center"])
    # another seed: refused, naming what differs and the fix
    other = FitSettings(**{**s.__dict__, "seed": 2})
    with pytest.raises(ckpt.CheckpointMismatch, match=r"c\.npz: checkpoint written for a "
                       r"different fit \(differs in: settings\.seed .*delete it"):
        fit_problems(probs, other, checkpoint=path)
    # other data: refused too
    probs2 = [build_problem(p.x, p.y + 0.01, None, "gaussian_nagata", 1, "none", None,
                            {k: parse_prior(v, k) for k, v in FIT_YAML["priors"].items()})
              for p in probs]
    with pytest.raises(ckpt.CheckpointMismatch, match="differs in: data"):
        fit_problems(probs2, s, checkpoint=path)
    # the campaign's policy: log and start afresh, giving the fresh run's numbers
    with caplog.at_level(logging.WARNING, logger="bayespec"):
        fresh, = fit_problems(probs, other, checkpoint=path, restart_on_mismatch=True)
    assert "starting afresh" in caplog.text
    plain, = fit_problems(probs, other)
    assert fresh.free_energy == plain.free_energy
    # an unreadable file
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ckpt.CheckpointMismatch, match="cannot read the checkpoint"):
        fit_problems(probs, s, checkpoint=path)


def test_batched_backend_refuses_checkpoints(tmp_path):
    probs, s = _small(seed=1)
    s = FitSettings(**{**s.__dict__, "backend": "numpy"})
    with pytest.raises(ConfigError, match="only the numba backend writes them"):
        fit_problems(probs, s, checkpoint=tmp_path / "x.npz")


def test_target_se_on_the_array_backend_stops_early_within_the_closed_form():
    """The numpy backend's target_se (batched.run_grouped): same check points and rules."""
    from test_oracles import linear_closed_form, _linear_problem

    x, y, X, kind, degree, priors, m0, S0 = _linear_problem("linear")
    prob = build_problem(x, y, None, "gaussian", 0, kind, degree, priors)
    fit, = fit_problems([prob], FitSettings(noise_sd=NOISE, sweeps=40000, burn_in=BURN,
                                            chains=4, seed=1, backend="numpy",
                                            target_se=TARGET))
    _assert_stopped_within_closed_form(fit, linear_closed_form(X, y, NOISE, m0, S0)[0])


@pytest.mark.parametrize("key, value, msg", [
    ("target_se", 0, "sampler.target_se: must be a number > 0"),
    ("target_se", "small", "sampler.target_se: must be a number > 0"),
    ("checkpoint_every", -1, "sampler.checkpoint_every: must be a number of seconds >= 0"),
])
def test_config_keys_are_validated(key, value, msg):
    with pytest.raises(ConfigError, match=msg):
        parse_fit_config({"sampler": {key: value}})
    ok = parse_fit_config({"sampler": {"target_se": 0.05, "checkpoint_every": 0}}).sampler
    assert (ok.target_se, ok.checkpoint_every) == (0.05, 0.0)


# ---------------------------------------------------------------------------- campaign

def test_campaign_fit_checkpoint_is_used_then_removed(tmp_path, caplog):
    import xarray as xr

    from bayespec.workflow import campaign

    x = np.linspace(0.0, 3.0, 41)
    y = np.exp(-0.5 * ((x - 1.4) / 0.2) ** 2) + 0.05 * np.random.default_rng(3).standard_normal(41)
    src = tmp_path / "s.csv"
    np.savetxt(src, np.c_[x, y], delimiter=",", header="x,y", comments="")
    assert campaign.ingest(src, tmp_path / "i.zarr", {"spectrum": "s"}) == "ok"
    assert campaign.preprocess(tmp_path / "i.zarr", tmp_path / "p.zarr", {"spectrum": "s"}) == "ok"
    fit = {"model": {"shape": "gaussian", "K": [1], "background": {"kind": "constant"}},
           "priors": {"amplitude": {"dist": "gamma", "shape": 2, "rate": 1},
                      "center": {"dist": "uniform", "low": 0, "high": 3},
                      "width": {"dist": "lognormal", "mu": -1.6, "sigma": 0.5}},
           "sampler": {"burn_in": 100, "sweeps": 1000, "replicas": 8, "seed": 4}}
    plain = tmp_path / "plain.zarr"
    assert campaign.fit_one(tmp_path / "p.zarr", plain, fit, 1, threads=1, spectrum="s") == "ok"
    # a stale checkpoint nobody can use (left by another config): logged, the fit starts afresh
    ck = tmp_path / "checkpoints" / "s" / "K1.npz"
    ck.parent.mkdir(parents=True)
    ck.write_bytes(b"stale")
    out = tmp_path / "ck.zarr"
    with caplog.at_level(logging.WARNING, logger="bayespec"):
        assert campaign.fit_one(tmp_path / "p.zarr", out, fit, 1, threads=1, spectrum="s",
                                checkpoint=ck) == "ok"
    assert "starting afresh" in caplog.text
    assert not ck.exists()  # removed once the store is written
    a, b = xr.open_datatree(plain, engine="zarr"), xr.open_datatree(out, engine="zarr")
    assert a.attrs["free_energy"] == b.attrs["free_energy"]
    np.testing.assert_array_equal(a["posterior"]["center"].values, b["posterior"]["center"].values)
    # a batched backend has no checkpoints: the campaign fits without one (not an error marker)
    fit_np = {**fit, "sampler": {**fit["sampler"], "backend": "numpy", "sweeps": 100}}
    assert campaign.fit_one(tmp_path / "p.zarr", tmp_path / "np.zarr", fit_np, 1, threads=1,
                            spectrum="s", checkpoint=ck) == "ok"
