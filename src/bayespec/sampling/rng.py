"""A tiny counter-free PRNG (xoshiro256**) usable inside Numba kernels.

Each (spectrum, K, chain) task owns its own 4-word state seeded from a numpy SeedSequence, so
results are bit-for-bit reproducible whatever the number of threads or the order tasks run in
(Numba's global np.random state is per thread and would not be).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, uint64

_ONE_OVER_2_53 = 1.0 / 9007199254740992.0


@njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << uint64(k)) | (x >> uint64(64 - k))


@njit(cache=True, inline="always")
def next_u64(s):
    """Advance state ``s`` (uint64[4]) and return the next 64-bit output."""
    result = _rotl(s[1] * uint64(5), 7) * uint64(9)
    t = s[1] << uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@njit(cache=True, inline="always")
def uniform(s):
    """A double in [0, 1)."""
    return float(next_u64(s) >> uint64(11)) * _ONE_OVER_2_53


@njit(cache=True, inline="always")
def normal(s):
    """A standard normal variate (Box-Muller)."""
    u1 = 1.0 - uniform(s)
    u2 = uniform(s)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@njit(cache=True, inline="always")
def fill_normal(s, out, m):
    """Fill out[:m] with standard normals, two per Box-Muller transform (cos and sin)."""
    i = 0
    while i < m:
        u1 = 1.0 - uniform(s)
        u2 = uniform(s)
        rad = math.sqrt(-2.0 * math.log(u1))
        ang = 2.0 * math.pi * u2
        out[i] = rad * math.cos(ang)
        if i + 1 < m:
            out[i + 1] = rad * math.sin(ang)
        i += 2


def seed_state(seq: np.random.SeedSequence) -> np.ndarray:
    """A non-zero xoshiro256** state (uint64[4]) from a SeedSequence."""
    st = seq.generate_state(4, np.uint64)
    if not st.any():
        st[0] = 1
    return st
