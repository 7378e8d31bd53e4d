"""The ``bayespec`` command line (``bayespec fit``, ``bayespec integrate``, ...); the console
script is ``bayespec.cli:main``. The implementation is :mod:`bayespec.cli.main`."""

from .main import EXIT_RESUMABLE, main

__all__ = ["main", "EXIT_RESUMABLE"]
