"""Where Numba caches bayespec's compiled kernels: a directory named by a digest of the source.

Numba checks a cached function against its own file's timestamp only, not against the files of
the functions it calls: a kernel in sampling/kernel.py that inlines a profile from
models/shapes.py would be loaded stale after an edit of shapes.py (a new shape code then runs
another shape's profile, silently). Keying the cache directory on a digest of every source
file that Numba compiles (models/ and sampling/) makes any edit start a fresh cache.
``configure()`` runs before any bayespec @njit decorator (models and sampling import it
first); the base is $NUMBA_CACHE_DIR if set, else ~/.cache/bayespec.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_DONE = False


def digest() -> str:
    """sha1 (12 hex digits) of the Numba-compiled sources (models/, sampling/) of this copy."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha1()
    for f in sorted([*root.glob("models/**/*.py"), *root.glob("sampling/*.py")]):
        h.update(f.relative_to(root).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def configure() -> None:
    """Point numba.config.CACHE_DIR at <base>/numba-<digest> (once per process)."""
    global _DONE
    if _DONE:
        return
    from numba.core import config

    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "bayespec")
    config.CACHE_DIR = os.path.join(base, f"numba-{digest()}")
    _DONE = True
