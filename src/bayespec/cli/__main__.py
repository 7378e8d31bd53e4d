"""``python -m bayespec.cli``: the ``bayespec`` command."""

import sys

from .main import main

sys.exit(main())
