"""Every random stream of bayespec, named in one place.

All numbers come from numpy ``SeedSequence`` streams derived from the sampler ``seed`` (FIT.yaml
``sampler.seed``) and a *spawn key* naming what the stream is for, so the same seed gives the
same numbers bit for bit, and one stream never depends on which others are used (other K
values, other candidates, batch-mates, the thread count). The spawn keys:

=================================  =============================  ===============================
stream                             spawn key                      used by
=================================  =============================  ===============================
chain ``c`` of a K-peak fit        ``(K, c)``                     sampling.sampler.start_chain,
                                                                  sampling.batched
prior curves (ladder bottom)       ``(K, 2**20)``                 inference.fit.prior_energy_sd
Poisson valid fraction P_valid     ``(K, 2**21)``                 models.likelihood
                                                                  .prior_valid_fraction
predictive band                    ``(K, 99)``; a composite       inference.runner.add_predictive,
                                   candidate ``(K_1, .., K_C,     inference.integrate_output,
                                   99)``                          workflow.fit
joint chain ``c`` of Ks            ``(2**20, K_A, K_B, .., c)``   sampling.joint.start_joint_chain
                                                                  (integration, composites)
joint prior energy (ladder)        ``(2**21,)``                   sampling.joint.prior_energy_sd
joint valid fraction P_valid       ``(2**21, 1)``                 sampling.joint.valid_fraction
posterior predictive check         ``(K, 2**22)``; composite      inference.checks (gof.ppc)
                                   ``(K_1, .., K_C, 2**22)``
ladder pilot round ``r``           ``(2**23, *Ks, r)``            inference.fit.adapt_ladder
=================================  =============================  ===============================

A chain's stream is split in two (``SeedSequence.spawn(2)``): the first draws its initial state
(``default_rng``), the second seeds the kernel's generator (the Numba kernels' xoshiro256**
state, :func:`bayespec.sampling.rng.seed_state`, or one uint64 key per task of the batched array
backends). The 2**20 and 2**21 tags keep these streams apart from the chain streams ``(K, c)``
(K and c are far smaller).

Data set ``m`` of an integration group fits with its own seed
``SeedSequence([seed, m]).generate_state(1)[0]`` (:func:`dataset_seed`), so data sets never
share a stream; its streams above then derive from that seed.

The demo generator (bayespec.workflow.demo) adds ``noise_sd * default_rng(seed)
.standard_normal(n)`` with the demo spectrum's own ``seed``; it is data, not a sampler stream.
"""

from __future__ import annotations

import numpy as np

#: spawn-key tag of the prior draws that size a single fit's ladder: (K, PRIOR_CURVES)
PRIOR_CURVES = 2 ** 20
#: spawn-key tag of the Poisson valid-fraction draws: (K, VALID_FRACTION)
VALID_FRACTION = 2 ** 21
#: spawn-key tag of the predictive band: (K, PREDICTIVE) or (K_1, ..., K_C, PREDICTIVE)
PREDICTIVE = 99
#: spawn-key tag in front of a joint chain's key: (JOINT_CHAIN, *Ks, chain)
JOINT_CHAIN = 2 ** 20
#: spawn-key tag of the joint prior draws: (JOINT_PRIOR,) for the energy, (JOINT_PRIOR, 1) for
#: the valid fraction
JOINT_PRIOR = 2 ** 21
#: spawn-key tag of the posterior predictive check: (*Ks, PPC)
PPC = 2 ** 22
#: spawn-key tag of the adaptive ladder's pilot runs: (LADDER_PILOT, *Ks, round)
LADDER_PILOT = 2 ** 23


def ppc_seq(seed: int, *Ks: int) -> np.random.SeedSequence:
    """The posterior predictive check's stream of the candidate with counts Ks."""
    return np.random.SeedSequence(seed, spawn_key=(*Ks, PPC))


def ladder_pilot_seed(seed: int, Ks: tuple[int, ...], rnd: int) -> int:
    """The sampler seed of pilot round ``rnd`` of the adaptive ladder (a plain int seed, so
    the pilot runs through the ordinary chain starts)."""
    return int(np.random.SeedSequence(seed, spawn_key=(LADDER_PILOT, *Ks, rnd))
               .generate_state(1)[0])


def chain_seqs(seed: int, K: int, chain: int) -> list[np.random.SeedSequence]:
    """(initial-state stream, kernel stream) of chain ``chain`` of a K-peak fit."""
    return np.random.SeedSequence(seed, spawn_key=(K, chain)).spawn(2)


def prior_curves_seq(seed: int, K: int) -> np.random.SeedSequence:
    """The prior draws of a K-peak model that size the bottom of its ladder."""
    return np.random.SeedSequence(seed, spawn_key=(K, PRIOR_CURVES))


def valid_fraction_seq(seed: int, K: int) -> np.random.SeedSequence:
    """The prior draws that estimate a Poisson model's valid fraction P_valid."""
    return np.random.SeedSequence(seed, spawn_key=(K, VALID_FRACTION))


def predictive_seq(seed: int, *Ks: int) -> np.random.SeedSequence:
    """The posterior predictive band of a K-peak fit, or of a composite candidate (K_1, ...)."""
    return np.random.SeedSequence(seed, spawn_key=(*Ks, PREDICTIVE))


def joint_chain_seqs(seed: int, Ks: tuple[int, ...], chain: int) -> list[np.random.SeedSequence]:
    """(initial-state stream, kernel stream) of joint chain ``chain`` of the K combination Ks."""
    return np.random.SeedSequence(seed, spawn_key=(JOINT_CHAIN, *Ks, chain)).spawn(2)


def joint_prior_energy_seq(seed: int) -> np.random.SeedSequence:
    """The prior draws that size the bottom of a joint model's ladder."""
    return np.random.SeedSequence(seed, spawn_key=(JOINT_PRIOR,))


def joint_valid_fraction_seq(seed: int) -> np.random.SeedSequence:
    """The prior draws that estimate a joint model's valid fraction P_valid."""
    return np.random.SeedSequence(seed, spawn_key=(JOINT_PRIOR, 1))


def dataset_seed(seed: int, m: int) -> int:
    """The sampler seed of data set ``m`` of an integration group (its separate fit)."""
    return int(np.random.SeedSequence([seed, m]).generate_state(1)[0])
