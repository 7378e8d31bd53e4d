"""``python -m bayespec.config``: print FIT.yaml's JSON schema or check / rewrite the generated
part of the campaign config schema (see :func:`bayespec.config.fit_yaml._main`)."""

from .fit_yaml import _main

raise SystemExit(_main())
