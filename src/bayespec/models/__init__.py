"""What is fitted: peak shapes and backgrounds, priors, likelihoods, the Problem (one spectrum
and one K), composite models and ties. The bottom layer: imports only bayespec.errors/ids."""

from .. import jitcache

jitcache.configure()  # before any @njit of the package: see bayespec.jitcache
