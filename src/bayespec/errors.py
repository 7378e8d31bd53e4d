"""Exceptions with messages a user can act on (what, where, how to fix)."""


class BayespecError(Exception):
    """Base class: every error bayespec raises on bad input derives from this."""


class DataError(BayespecError):
    """A data file cannot be used (unreadable, malformed, NaN, bad axis...)."""


class ConfigError(BayespecError):
    """A config key is unknown, missing or has an impossible value."""


class PriorError(ConfigError):
    """A prior is improper or impossible for the parameter it is given to."""


class FitInterrupted(Exception):
    """SIGTERM stopped a checkpointed fit after writing its checkpoint; rerun to resume.
    Deliberately not a BayespecError: it is not bad input, and a campaign must not turn it into
    an error marker."""
