"""Line-shape maths beyond the basic peaks: one module per family, pure Numba functions
(registered, with their extra parameters and default priors, in :mod:`bayespec.models.shapes`),
and plain NumPy/SciPy references in :mod:`.reference` that the fast paths are tested against."""
