"""Exchange Monte Carlo: the Numba kernels (single spectrum and joint), the chain backend
interface, the chunked driver with checkpoints, the batched array backends, the random streams
and their seeds (:mod:`.seeds`)."""

from .. import jitcache

jitcache.configure()  # before any @njit of the package: see bayespec.jitcache
