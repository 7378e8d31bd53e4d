"""Convergence checks (issue 13 item 3c): R-hat and ESS against closed-form cases, the
chains' F agreement test (calibrated on synthetic batch estimates), ``converged`` on a
well-mixed and on a stuck bimodal fit, and target_se refusing to stop on too few batches or
disagreeing chains.

Reference values used below:
* independent draws: split R-hat - 1 has sd sqrt(2/(M-1)) / (2N) for M split chains of N
  draws (R^2 = (N-1)/N + B/(N W), B/W ~ chi2_{M-1}/(M-1)); bulk ESS = number of draws;
* AR(1) with coefficient phi: integrated autocorrelation time (1 + phi)/(1 - phi), so
  ESS = N (1 - phi)/(1 + phi);
* the agreement statistic T = s_B^2 / s_W^2 is exactly F(C-1, C(b-1)) when each chain's
  estimate is the mean of b independent normal batch estimates.
"""

from __future__ import annotations

import numpy as np
import pytest

import bayespec
from bayespec.inference import diagnostics as dg
from bayespec.inference.checks import stop_refusal
from bayespec.inference.fit import FitSettings, fit_problems
from bayespec.models.model import build_problem

# ----------------------------------------------------------------------------- R-hat and ESS


def test_rhat_of_independent_draws_scatters_as_its_sampling_sd():
    rng = np.random.default_rng(0)
    C, D = 4, 1000
    rhat, ess = dg.rhat_ess(rng.standard_normal((100, C, D)))
    M, N = 2 * C, D // 2
    sd = np.sqrt(2 / (M - 1)) / (2 * N)  # 5.3e-4
    assert np.all(np.abs(rhat - 1) < 6 * sd), np.abs(rhat - 1).max() / sd
    # rank normalisation and the folded variant leave the scatter as for normal draws
    assert 0.75 < np.std(rhat) / sd < 1.25, np.std(rhat) / sd
    # bulk ESS of independent draws is the number of draws: per set within 6 of its sds
    # (sd ~ 0.04 N, measured), on average within 3 %
    r = ess / (C * D)
    assert np.all(np.abs(r - 1) < 0.25) and abs(r.mean() - 1) < 0.03, (r.min(), r.mean())


def test_ess_of_an_ar1_chain_is_n_over_its_autocorrelation_time():
    rng = np.random.default_rng(1)
    phi, C, D = 0.5, 4, 4000
    z = rng.standard_normal((20, C, D))
    a = np.empty_like(z)
    a[..., 0] = z[..., 0] / np.sqrt(1 - phi ** 2)  # stationary from the start
    for t in range(1, D):
        a[..., t] = phi * a[..., t - 1] + z[..., t]
    _, ess = dg.rhat_ess(a)
    ratio = ess / (C * D * (1 - phi) / (1 + phi))
    assert abs(ratio.mean() - 1) < 0.05 and np.all(np.abs(ratio - 1) < 0.25), ratio


def test_rhat_flags_chains_with_shifted_means_and_skips_fixed_parameters():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4, 500))
    x[0, 2:] += 2.0  # two chains elsewhere: far beyond the limit
    x[1, 3] += 1.0  # one chain one sd off: about 1.1
    x[2] = 0.7  # a fixed prior: never sampled
    rhat, ess = dg.rhat_ess(x)
    assert rhat[0] > 1.3 and rhat[1] > 1.05 and np.isnan(rhat[2]) and np.isnan(ess[2])


@pytest.mark.parametrize("case", ["normal", "ties", "odd_draws", "one_chain", "ar1_shifted"])
def test_rhat_ess_equal_arviz_stats_the_reference(case):
    """rhat_ess is written out (arviz-stats costs ~0.4 s to import); arviz-stats' own
    rhat(method="rank") and ess(method="bulk") are the reference, to rounding."""
    from arviz_stats.base import array_stats

    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 4, 301 if case == "odd_draws" else 400))
    if case == "ties":  # Metropolis draws repeat a value on every rejection
        x = np.round(x, 1)
        x[:, :, 1::2] = x[:, :, ::2][..., : x.shape[2] // 2]
    elif case == "one_chain":
        x = x[:, :1]
    elif case == "ar1_shifted":
        for t in range(1, x.shape[2]):
            x[..., t] += 0.8 * x[..., t - 1]
        x[:, 0] += 1.5
    rhat, ess = dg.rhat_ess(x)
    ref_r = array_stats.rhat(x, chain_axis=-2, draw_axis=-1, method="rank")
    ref_e = array_stats.ess(x, chain_axis=-2, draw_axis=-1, method="bulk")
    np.testing.assert_allclose(rhat, ref_r, rtol=1e-10, equal_nan=True)
    np.testing.assert_allclose(ess, ref_e, rtol=1e-9, equal_nan=True)
    assert np.isnan(rhat).all() == (case == "one_chain")


def test_chain_agreement_p_value_is_the_f_distribution_tail():
    from scipy.stats import f as f_dist

    rng = np.random.default_rng(4)
    f_chain, se = _batch_means(rng, b=6)
    out = dg.chain_agreement(f_chain, se, 6)
    assert out.p_value == pytest.approx(f_dist.sf(out.statistic, *out.dof), rel=1e-12)


def test_posterior_params_names():
    post = {"center": np.zeros((2, 5, 2)), "width": np.ones((2, 5, 2)),
            "background": np.zeros((2, 5, 1))}
    names, draws = dg.posterior_params(post, ["c0"])
    assert names == ["center[0]", "center[1]", "width[0]", "width[1]", "background[c0]"]
    assert draws.shape == (5, 2, 5)


# ----------------------------------------------------------------------------- chains' F

def _batch_means(rng, C=4, b=5, sigma=0.3, offsets=None):
    """Each chain's F as the mean of b normal batch estimates, and its batch-means SE."""
    blocks = rng.normal(0.0, sigma, (C, b)) + (0 if offsets is None else np.asarray(offsets)[:, None])
    return blocks.mean(axis=1), blocks.std(axis=1, ddof=1) / np.sqrt(b)


def test_chain_agreement_is_calibrated_when_the_chains_agree():
    rng = np.random.default_rng(3)
    p = np.array([dg.chain_agreement(*_batch_means(rng), 5).p_value for _ in range(4000)])
    # p is uniform: its 5 % tail holds 5 % of the sets within 4 binomial sds
    assert abs(np.mean(p < 0.05) - 0.05) < 4 * np.sqrt(0.05 * 0.95 / 4000)
    flagged = np.mean([not dg.chain_agreement(*_batch_means(rng), 5).agree for _ in range(4000)])
    assert flagged < 0.004  # at most CHAIN_P_MIN plus noise


def test_chain_agreement_flags_a_chain_in_another_mode():
    rng = np.random.default_rng(4)
    f, se = _batch_means(rng, offsets=[0, 0, 0, 3.0])
    a = dg.chain_agreement(f, se, 5)
    assert not a.agree and a.p_value < 1e-3
    assert a.spread == pytest.approx(np.std(f, ddof=1) / 2)
    text = dg.disagreement_text(a, 0.2)
    assert text.startswith("chains' F disagree: spread") and "vs SE 0.2" in text
    # the same offset far below the floor is not a disagreement that changes any decision
    f2, se2 = _batch_means(np.random.default_rng(4), sigma=1e-4, offsets=[0, 0, 0, 0.01])
    tiny = dg.chain_agreement(f2, se2, 5)
    assert tiny.p_value < 1e-3 and tiny.agree
    # untestable (one batch per chain): not agreed
    assert not dg.chain_agreement(f, np.full(4, np.nan), 1).agree


def test_convergence_reasons_text():
    agree = dg.ChainAgreement(np.zeros(4), np.ones(4), 0.1, 1.0, 0.5, (3, 16), True)
    names = ["center[0]", "center[1]", "width[0]"]
    assert dg.convergence_reasons(names, np.array([1.0, 1.01, np.nan]),
                                  np.array([900.0, 800.0, np.nan]), 4, agree, 0.1) == []
    r = dg.convergence_reasons(names, np.array([1.0, 1.31, 1.2]), np.array([900.0, 50.0, 70.0]),
                               4, agree, 0.1)
    assert r[0] == "R-hat 1.31 for center[1] (2 parameters >= 1.05)"
    assert r[1] == "bulk ESS 50 for center[1] (< 400: 100 per chain)"


# ----------------------------------------------------------------------------- on fits

def _bimodal_cfg(**sampler):
    return {"model": {"shape": "gaussian", "K": [1], "background": {"kind": "none"}},
            "priors": {"amplitude": {"dist": "uniform", "low": 0, "high": 2},
                       "center": {"dist": "uniform", "low": 0, "high": 10},
                       "width": {"dist": "uniform", "low": 0.05, "high": 1}},
            "noise": {"sd": 0.05},
            "sampler": {"burn_in": 300, "chains": 4, "seed": 0, "threads": 4, **sampler}}


@pytest.fixture(scope="module")
def bimodal():
    """Two equal peaks, data exactly symmetric about x = 5: a one-peak model has two equally
    likely modes (center 2.5 or 7.5), which a chain can only cross through the hot rungs."""
    x = np.linspace(0, 10, 201)
    y = np.exp(-(x - 2.5) ** 2 / (2 * 0.3 ** 2)) + 0.05 * np.random.default_rng(0).standard_normal(
        x.size)
    return x, y + y[::-1]


def test_converged_when_the_ladder_mixes_the_modes(bimodal):
    f = bayespec.fit(*bimodal, _bimodal_cfg(replicas=8, ratio=2.0, sweeps=4000)).best
    d = f.diagnostics
    assert d["converged"], d["convergence_reasons"]
    c = np.asarray(f.posterior["center"])[..., 0]
    assert np.all((c < 5).mean(axis=1) > 0.2) and np.all((c < 5).mean(axis=1) < 0.8)
    assert d["rhat_max"] < dg.RHAT_MAX and d["ess_min"] >= 400
    assert d["F_chain_spread"] < 3 * f.free_energy_se + dg.F_SPREAD_FLOOR


def test_not_converged_when_chains_are_stuck_in_different_modes(bimodal):
    """Three rungs a factor 1000 apart never swap: each chain keeps the mode it fell into."""
    f = bayespec.fit(*bimodal, _bimodal_cfg(replicas=3, ratio=1000.0, extend=False,
                                            sweeps=300)).best
    d = f.diagnostics
    means = np.asarray(f.posterior["center"])[..., 0].mean(axis=1)
    assert (means < 5).any() and (means > 5).any()  # the chains sit in different modes
    assert not d["converged"] and d["rhat_max"] > 1.3
    assert any(r.startswith("R-hat") and "center[0]" in r for r in d["convergence_reasons"])


# ----------------------------------------------------------------------------- target_se

def _linear_fit(chains: int, target_se: float, sweeps: int = 2000):
    x = np.linspace(0, 1, 60)
    y = 0.5 + 2 * x + 0.1 * np.random.default_rng(5).standard_normal(x.size)
    from bayespec.models.priors import parse_prior

    prob = build_problem(x, y, None, "gaussian", 0, "linear", None,
                         {"background": parse_prior({"dist": "normal", "mean": 0, "sd": 5},
                                                    "background")})
    s = FitSettings(noise_sd=0.1, replicas=10, burn_in=500, sweeps=sweeps, chains=chains,
                    seed=2, threads=2, target_se=target_se)
    return prob, fit_problems([prob], s)[0]


def test_target_se_needs_the_minimum_number_of_batches():
    """With 2 chains the SE comes from 2 x 5 = 10 batch estimates (< MIN_SE_BATCHES = 20):
    target_se never stops the fit, however large, and the fit says why; with 4 chains the
    same target stops it early, without a warning."""
    _, two = _linear_fit(chains=2, target_se=100.0)
    assert two.timing["sweeps"] == 2000
    assert any("target_se was never applied" in w and "10 batch estimates" in w
               and "sampler.chains >= 4" in w for w in two.warnings), two.warnings
    _, four = _linear_fit(chains=4, target_se=100.0)
    assert four.timing["sweeps"] < 2000 and not four.warnings
    assert dg.se_batches(4, 500) == dg.MIN_SE_BATCHES


def test_target_se_stops_only_where_the_draws_pass_rhat_and_ess():
    """An SE of 100 nats is reached at once, but 500 sweeps thinned by 5 are 100 draws a
    chain, never a bulk ESS of 100 per chain: the fit stops at the first check point whose
    draws pass the convergence check, so a target_se stop is never "not converged"."""
    _, f = _linear_fit(chains=4, target_se=100.0)
    stop = f.timing["sweeps"]
    d = f.diagnostics
    assert d["converged"] and d["ess_min"] >= dg.ESS_PER_CHAIN * 4, d["convergence_reasons"]
    # the same chains cut at the check point before: their draws failed the check
    earlier = (stop - 500) // 5
    names, draws = dg.posterior_params(
        {k: np.asarray(v)[:, :earlier] for k, v in f.posterior.items()}, f.coef_names)
    rhat, ess = dg.rhat_ess(draws)
    assert np.nanmin(ess) < dg.ESS_PER_CHAIN * 4 or np.nanmax(rhat) >= dg.RHAT_MAX


def test_target_se_stop_with_estimated_noise_checks_the_posterior_rung():
    """With the noise estimated, the draws judged at a stop are those of the rung the fit
    reports as its posterior (nearest the refined noise precision), so the stopped fit is
    converged there too."""
    prob, _ = _linear_fit(chains=4, target_se=None, sweeps=500)
    s = FitSettings(noise_sd=None, replicas=10, burn_in=500, sweeps=2000, chains=4, seed=2,
                    threads=2, target_se=100.0)
    f = fit_problems([prob], s)[0]
    assert f.noise_estimated and f.timing["sweeps"] < 2000
    assert f.diagnostics["converged"], f.diagnostics["convergence_reasons"]
    assert f.diagnostics["ess_min"] >= dg.ESS_PER_CHAIN * 4


def test_target_se_never_stops_a_fit_without_draws():
    """thin 600 leaves no draw at the first check points (500, 1000 sampling sweeps): the fit
    must not stop there (it would report converged with an empty posterior)."""
    x = np.linspace(0, 1, 60)
    y = 0.5 + 2 * x + 0.1 * np.random.default_rng(5).standard_normal(x.size)
    from bayespec.models.priors import parse_prior

    prob = build_problem(x, y, None, "gaussian", 0, "linear", None,
                         {"background": parse_prior({"dist": "normal", "mean": 0, "sd": 5},
                                                    "background")})
    s = FitSettings(noise_sd=0.1, replicas=10, burn_in=500, sweeps=3000, chains=4, seed=2,
                    threads=2, thin=600, target_se=100.0)
    f = fit_problems([prob], s)[0]
    draws = np.asarray(f.posterior["background"]).shape[1]
    assert f.timing["sweeps"] >= 4 * 600 and draws >= 4, (f.timing["sweeps"], draws)


def test_target_se_missed_at_the_cap_is_a_warning_not_a_reason():
    """A target the sweeps cannot reach leaves converged chains converged (their SE is
    honest, only larger than asked for) and says so among the fit's warnings."""
    _, f = _linear_fit(chains=4, target_se=1e-6, sweeps=1000)
    assert f.timing["sweeps"] == 1000 and f.diagnostics["converged"], \
        f.diagnostics["convergence_reasons"]
    assert any("above sampler.target_se = 1e-06" in w and "sampler.sweeps = 1000" in w
               for w in f.warnings), f.warnings


def test_stop_refusal_while_the_chains_disagree():
    prob, _ = _linear_fit(chains=4, target_se=100.0, sweeps=500)
    rng = np.random.default_rng(6)
    betas = np.array([0.0, 1.0, 10.0, 100.0])
    ne = rng.normal(30.0, 1.0, (4, 4, 500))
    assert stop_refusal(prob, betas, False, ne) is None
    ne[3, :-1] -= 5.0  # one chain's energies below the (reported) top rung: its log z moves
    why = stop_refusal(prob, betas, False, ne)
    assert why is not None and why.startswith("chains' F disagree"), why
    assert "fewer than 20" in stop_refusal(prob, betas, False, ne[:2])
