"""Ladder adaptation (sampling/ladder.py): barrier, placement at equal barrier shares, the
number of rungs, the remapped chain state, and a real run of the sampler on a bad ladder."""

import numpy as np
import pytest

from bayespec.models.model import build_problem
from bayespec.sampling import ladder as lad
from bayespec.sampling.sampler import advance, geometric_ladder, start_chain

# synthetic local barrier lambda(beta) = A / (B0 + beta): constant near the prior, ~ 1 / beta
# in the likelihood-dominated part, as for a real posterior; Lambda(beta) = A log(1 + beta / B0)
A, B0 = 0.3, 1e-3


def Lam(b):
    return A * np.log1p(np.asarray(b, dtype=float) / B0)


def Lam_inv(v):
    return B0 * np.expm1(np.asarray(v) / A)


def ladder(L, lo=1e-9, hi=1.0, zero=True):
    pos = np.geomspace(lo, hi, L - 1 if zero else L)
    return np.concatenate([[0.0], pos]) if zero else pos


def test_barrier_is_the_cumulative_rejection():
    b = ladder(5)
    r = np.array([0.1, 0.0, 0.4, 0.25])
    np.testing.assert_allclose(lad.barrier(b, r), [0, 0.1, 0.1, 0.5, 0.75])
    np.testing.assert_allclose(lad.barrier(b, [1.5, -0.1, 0, 0]), [0, 1, 1, 1, 1])  # clipped
    with pytest.raises(ValueError):
        lad.barrier(b, r[:-1])
    with pytest.raises(ValueError):
        lad.barrier(b[::-1], r)
    with pytest.raises(ValueError):
        lad.barrier(b, [0.1, np.nan, 0, 0])


@pytest.mark.parametrize("n", [12, 30])
def test_place_gives_equal_barrier_shares_converging_with_refinement(n):
    errs = []
    for L in (20, 40, 80, 160):
        b = ladder(L)
        new = lad.place(b, np.diff(Lam(b)), n)
        d = np.diff(Lam(new))
        errs.append(np.max(np.abs(d / (Lam(1.0) / (n - 1)) - 1)))
        # and the placed rungs are where the exact inverse puts them
        exact = Lam_inv(Lam(1.0) * np.arange(n) / (n - 1))
        assert np.max(np.abs(np.log(new[1:] / exact[1:]))) < 10 * errs[-1] + 1e-12
    errs = np.array(errs)
    assert errs[-1] < 1e-4, errs  # equal shares within 0.01 %
    assert np.all(errs[1:] < errs[:-1] / 4), errs  # at least second order in the rung spacing


def test_place_is_idempotent_on_its_own_output():
    b = ladder(40)
    for n in (10, 25, 60):
        new = lad.place(b, np.diff(Lam(b)), n)
        again = lad.place(new, np.diff(Lam(new)), n)
        assert again[0] == new[0] and again[-1] == new[-1]
        np.testing.assert_allclose(again, new, rtol=2e-3)
    # a ladder with exactly equal increments is a fixed point
    even = Lam_inv(Lam(1.0) * np.arange(15) / 14)
    np.testing.assert_allclose(lad.place(even, np.diff(Lam(even)), 15), even, rtol=1e-12)


@pytest.mark.parametrize("b", [ladder(12), ladder(12, zero=False), 100.0 * ladder(9, 1e-6),
                               np.array([0.0, 1.0])])
def test_place_keeps_the_ends_and_is_strictly_increasing(b):
    rng = np.random.default_rng(5)
    profiles = [np.zeros(b.size - 1), rng.uniform(0, 1, b.size - 1),
                rng.uniform(0, 1, b.size - 1) * (rng.uniform(size=b.size - 1) < 0.4),
                np.full(b.size - 1, 1.0)]
    for r in profiles:
        for n in (2, 3, b.size, 3 * b.size + 1, 200):
            new = lad.place(b, r, n)
            assert new.shape == (n,)
            assert new[0] == b[0] and new[-1] == b[-1]
            assert np.all(np.diff(new) > 0), (r, n, new)
    with pytest.raises(ValueError):
        lad.place(b, np.zeros(b.size - 1), 1)


def test_place_without_rejection_resamples_the_old_ladder():
    b = ladder(10)
    np.testing.assert_allclose(lad.place(b, np.zeros(9), 10), b, rtol=1e-12)
    fine = lad.place(b, np.zeros(9), 19)
    np.testing.assert_allclose(fine[::2], b, rtol=1e-12)
    u = np.log1p(b / b[1])  # midpoints in u = log(1 + beta / beta_1)
    np.testing.assert_allclose(np.log1p(fine[1::2] / b[1]), (u[1:] + u[:-1]) / 2, rtol=1e-12)
    assert fine[1] == pytest.approx((2 ** 0.5 - 1) * b[1])


def test_place_puts_every_new_rung_into_the_only_rejecting_pair():
    b = ladder(10)
    for j in (0, 4, 8):
        r = np.zeros(9)
        r[j] = 0.6
        new = lad.place(b, r, 7)
        inner = new[1:-1]
        assert np.all((inner > b[j]) & (inner < b[j + 1])), (j, new)
        assert np.all(np.diff(new) > 0)


def test_place_moves_rungs_towards_the_barrier():
    # a ladder whose top pairs reject much more: rungs move up, none lost
    b = ladder(10, 1e-4)
    r = np.array([0.02, 0.03, 0.05, 0.1, 0.2, 0.5, 0.8, 0.9, 0.9])
    new = lad.place(b, r, 10)
    assert np.all(new[1:-1] > b[1:-1])


def test_rungs_for():
    assert lad.rungs_for(0.0) == 4
    assert lad.rungs_for(3.0) == 11  # 3 / (11 - 1) = 0.3 exactly
    for lam in (1.3, 2.0, 4.7, 9.99, 20.0):
        n = lad.rungs_for(lam, min_rungs=2, max_rungs=1000)
        assert lam / (n - 1) <= lad.TARGET_REJECTION < lam / (n - 2)
    assert lad.rungs_for(5.0, target_rejection=0.5) == 11  # Syed et al.'s 2 Lambda + 1
    assert lad.rungs_for(1000.0) == 256 and lad.rungs_for(0.1, min_rungs=8) == 8
    for bad in (-1.0, np.nan, np.inf):
        with pytest.raises(ValueError):
            lad.rungs_for(bad)
    with pytest.raises(ValueError):
        lad.rungs_for(1.0, min_rungs=10, max_rungs=5)


def test_remap_takes_the_nearest_rung_and_interpolates_steps():
    old = ladder(8, 1e-6)
    L, P = old.size, 3
    who = np.array([3, 0, 7, 1, 6, 2, 5, 4])
    u = np.arange(L)[:, None] * 10.0 + np.arange(P)[None, :]  # slot s holds 10 s + p
    step = np.stack([np.geomspace(1.0, 1e-3, L), np.linspace(2.0, 0.5, L), np.zeros(L)], 1)
    new = np.sort(np.concatenate([old, [0.4 * old[1], 0.6 * old[1]], old[2:-1] * 1.7,
                                  old[2:-1] / 1.7]))
    nu, nstep, nwho = lad.remap(u, step, who, old, new)
    M = new.size
    assert nu.shape == (M, P) and nstep.shape == (M, P)
    np.testing.assert_array_equal(nwho, np.arange(M))
    for i, b in enumerate(new):  # brute force: nearest in u = log(1 + beta / beta_1)
        want = int(np.argmin(np.abs(np.log1p(b / old[1]) - np.log1p(old / old[1]))))
        if b > 10 * old[1]:  # there: nearest in log beta
            assert want == int(np.argmin(np.abs(np.log(b / old[1:])))) + 1
        np.testing.assert_array_equal(nu[i], u[who[want]], err_msg=f"rung {i}, beta {b}")
    # steps: log step linear in the ladder coordinate; exact at old rungs; fixed stays 0
    at_old = np.searchsorted(new, old)
    assert np.all(new[at_old] == old)
    np.testing.assert_allclose(nstep[at_old], step, rtol=1e-12)
    assert np.all(nstep[:, 2] == 0)
    assert np.all(nstep[:, :2] > 0)
    # midpoint in u of two rungs: geometric mean of their steps
    mid = old[1] * np.expm1(0.5 * (np.log1p(old[3] / old[1]) + np.log1p(old[4] / old[1])))
    _, s2, _ = lad.remap(u, step, who, old, np.array([0.0, mid, 1.0]))
    np.testing.assert_allclose(s2[1, :2], np.sqrt(step[3, :2] * step[4, :2]), rtol=1e-12)
    with pytest.raises(ValueError):
        lad.remap(u[:-1], step, who, old, new)


def _problem():
    x = np.linspace(0, 3, 101)
    y = np.exp(-0.5 * ((x - 1.4) / 0.2) ** 2) + 0.1 * np.random.default_rng(0).standard_normal(101)
    return build_problem(x, y, None, "gaussian", 1, "none", None, {})


def test_placing_the_rungs_evens_the_sampler_swap_rejection():
    """A one-peak problem with known noise (top 1 / 0.1^2) on a geometric ladder with too large
    a ratio: the top pairs rarely swap, the bottom ones almost always. Placing the same number
    of rungs at equal barrier shares, and continuing the remapped chain, evens them out."""
    prob = _problem()
    burn, sweeps = 1000, 3000
    bad = geometric_ladder(100.0, 7, 6.0)
    cs = start_chain(prob, bad, sweeps, 1, 11, 0)
    advance(prob, bad, burn, 1, cs, burn + sweeps)
    r = 1.0 - cs.swap / sweeps
    spread = r.max() / r.min()
    assert spread > 5, r  # the bad ladder is bad
    new = lad.place(bad, r, bad.size)
    cs2 = start_chain(prob, new, sweeps, 1, 12, 0)
    cs2.u, cs2.step, cs2.who = lad.remap(cs.u, cs.step, cs.who, bad, new)
    cs2.rng = cs.rng.copy()
    advance(prob, new, burn, 1, cs2, burn + sweeps)
    r2 = 1.0 - cs2.swap / sweeps
    assert r2.max() / r2.min() < min(1.8, spread / 4), (r, r2)
    # the barrier is a property of the problem: a rejection above 0.7 hides part of it, so the
    # even ladder measures at least as much
    lam2 = lad.barrier(new, r2)[-1]
    assert lam2 > 0.95 * lad.barrier(bad, r)[-1]
    # second round with the number of rungs from the barrier: mean acceptance near 0.7
    n = lad.rungs_for(lam2)
    assert bad.size < n < 30
    final = lad.place(new, r2, n)
    cs3 = start_chain(prob, final, sweeps, 1, 13, 0)
    cs3.u, cs3.step, cs3.who = lad.remap(cs2.u, cs2.step, cs2.who, new, final)
    advance(prob, final, burn, 1, cs3, burn + sweeps)
    r3 = 1.0 - cs3.swap / sweeps
    assert 0.2 < r3.mean() < 0.4 and r3.max() / r3.min() < 1.6, r3
