"""The array-API batched backend: closed-form oracle, equivalence with the Numba kernel,
independence from batch-mates, array-api-strict compliance, and a clear error without CuPy."""

import numpy as np
import pytest

from bayespec.errors import ConfigError
from bayespec.inference.fit import FitSettings, fit_spectrum, ladder_for
from bayespec.models.model import build_problem
from bayespec.models.priors import parse_prior
from bayespec.sampling import batched
from bayespec.sampling.chunked import check_points
from conftest import nagata_data

NAGATA_UNIFORM = {
    "amplitude": parse_prior({"dist": "uniform", "low": 0, "high": 3}, "a"),
    "center": parse_prior({"dist": "uniform", "low": 0, "high": 3}, "c"),
    "width": parse_prior({"dist": "uniform", "low": 20, "high": 300}, "w"),
}


def _linear_closed_form(x, y, s, sd0):
    n = len(x)
    X = np.stack([np.ones(n), x], 1)
    S0 = np.eye(2) * sd0 ** 2
    SNi = np.linalg.inv(S0) + X.T @ X / s ** 2
    SN = np.linalg.inv(SNi)
    mN = SN @ (X.T @ y / s ** 2)
    F = (n / 2 * np.log(2 * np.pi * s ** 2) + 0.5 * np.linalg.slogdet(S0)[1]
         - 0.5 * np.linalg.slogdet(SN)[1] + 0.5 * (y @ y / s ** 2 - mN @ SNi @ mN))
    return F, mN, SN


def test_numpy_backend_matches_closed_form():
    rng = np.random.default_rng(4)
    x = np.linspace(0, 1, 40)
    y = 0.5 + 2 * x + 0.1 * rng.standard_normal(40)
    pri = {"background": parse_prior({"dist": "normal", "mean": 0, "sd": 3}, "bg")}
    (f,) = fit_spectrum(x, y, None, "gaussian", [0], "linear", None, pri,
                        FitSettings(noise_sd=0.1, backend="numpy", sweeps=3000, burn_in=500))
    F, mN, SN = _linear_closed_form(x, y, 0.1, 3.0)
    assert abs(f.free_energy - F) < 3 * f.free_energy_se, (f.free_energy, F, f.free_energy_se)
    bg = f.posterior["background"].reshape(-1, 2)
    # 12 000 correlated draws; 3 MCSE with a conservative ESS of 1000
    assert np.all(np.abs(bg.mean(0) - mN) < 3 * np.sqrt(np.diag(SN) / 1000))


@pytest.mark.slow
def test_numpy_backend_agrees_with_numba():
    x, y = nagata_data(0)
    s = dict(noise_sd=0.1, sweeps=2500, burn_in=700, seed=2)
    a = fit_spectrum(x, y, None, "gaussian_nagata", [1], "none", None, NAGATA_UNIFORM,
                     FitSettings(backend="numba", **s))[0]
    b = fit_spectrum(x, y, None, "gaussian_nagata", [1], "none", None, NAGATA_UNIFORM,
                     FitSettings(backend="numpy", **s))[0]
    se = np.hypot(a.free_energy_se, b.free_energy_se)
    assert abs(a.free_energy - b.free_energy) < 3 * se, (a.free_energy, b.free_energy, se)
    assert abs(b.free_energy + 24.4167) < 3 * b.free_energy_se  # quadrature reference
    ca, cb = a.posterior["center"].ravel(), b.posterior["center"].ravel()
    assert abs(ca.mean() - cb.mean()) < 3 * np.hypot(ca.std(), cb.std()) / np.sqrt(500)


def _problem(y):
    x, _ = nagata_data(0)
    return build_problem(x, y, None, "gaussian_nagata", 1, "none", None, NAGATA_UNIFORM)


def test_result_does_not_depend_on_batch_mates():
    _, y0 = nagata_data(0)
    _, y1 = nagata_data(1)
    p0, p1 = _problem(y0), _problem(y1)
    betas = ladder_for(p0, FitSettings(noise_sd=0.1, replicas=8))[0]
    alone = batched.run_batched([p0], betas, 30, 40, 2, 2, seed=9)
    both = batched.run_batched([p1, p0], betas, 30, 40, 2, 2, seed=9)
    for c in range(2):
        assert np.array_equal(alone[0][c].ne, both[1][c].ne)
        assert np.array_equal(alone[0][c].theta, both[1][c].theta)


def test_a_batch_run_in_pieces_is_the_unsplit_run():
    """batch_advance to a RECOMPUTE_EVERY multiple, then on: bit for bit one call (the
    target_se check points rely on it)."""
    from bayespec.sampling.kernel import RECOMPUTE_EVERY

    _, y = nagata_data(0)
    p = _problem(y)
    betas = ladder_for(p, FitSettings(noise_sd=0.1, replicas=5))[0]
    burn, sweeps = 120, 2 * RECOMPUTE_EVERY - 100
    ref = batched.run_batched([p], betas, burn, sweeps, 3, 2, seed=4)
    b, s = batched.batch_start([p], betas, burn, sweeps, 3, 2, seed=4)
    batched.batch_advance(b, s, RECOMPUTE_EVERY)
    batched.batch_advance(b, s, burn + sweeps)
    got = batched.spectrum_outputs(b, s, 0)
    for c in range(2):
        for k in ("ne", "theta", "acc", "swap", "steps"):
            assert np.array_equal(getattr(got[c], k), getattr(ref[0][c], k)), k


def test_target_se_stop_does_not_depend_on_batch_mates():
    """A spectrum taken out of its batch at its target_se check point has the numbers (and
    the stop) of the same spectrum fitted alone, and its counts end at its stop."""
    _, y0 = nagata_data(0)
    p0, p1 = _problem(y0), _problem(nagata_data(1)[1] * 3.0)
    betas = ladder_for(p0, FitSettings(noise_sd=0.1, replicas=6))[0]
    se_of = lambda j, ne: [0.0, 1.0][j]  # noqa: E731  job 0 stops at once, job 1 never
    alone = batched.run_grouped([(p0, betas)], 100, 1500, 5, 2, 3, target_se=0.5,
                                se_of=se_of, may_stop=None)
    both = batched.run_grouped([(p0, betas), (p1, betas)], 100, 1500, 5, 2, 3,
                               target_se=0.5, se_of=se_of, may_stop=None)
    first = check_points(100, 1500, 0.5)[0] - 100  # sampling sweeps at the first check point
    assert first < 1500
    assert alone[0][0].ne.shape[-1] == first == both[0][0].ne.shape[-1]
    assert both[1][0].ne.shape[-1] == 1500
    for c in range(2):
        for k in ("ne", "theta", "acc", "swap"):
            assert np.array_equal(getattr(alone[0][c], k), getattr(both[0][c], k)), k
    assert np.all(both[0][0].acc <= first)  # counted over its own sampling sweeps only


def test_array_api_strict_gives_the_numpy_numbers():
    strict = pytest.importorskip("array_api_strict")
    _, y = nagata_data(0)
    p = _problem(y)
    betas = ladder_for(p, FitSettings(noise_sd=0.1, replicas=6))[0]
    ref = batched.run_batched([p], betas, 20, 20, 2, 2, seed=1)
    got = batched.run_batched([p], betas, 20, 20, 2, 2, seed=1, xp=strict)
    for c in range(2):
        np.testing.assert_allclose(got[0][c].ne, ref[0][c].ne, rtol=1e-10)


def test_cupy_without_gpu_is_a_clear_error():
    try:
        import cupy  # noqa: F401
        pytest.skip("CuPy is installed here")
    except ImportError:
        pass
    with pytest.raises(ConfigError, match="sampler.backend: cupy"):
        batched.namespace("cupy")
