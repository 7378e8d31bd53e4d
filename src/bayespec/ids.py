"""The one naming rule for spectra: manifest ids, stack-row entries and GROUP.yaml data sets.

An id is letters, digits, '_', '.' and '-', starting with a letter or digit: it becomes file
names, and can be neither a path ('/') nor '.' or '..'. Row i of a stack file is the entry ``id@i`` (files) shown as
``id[i]`` (tables); '@' occurs in no id, so an entry never collides with another id. A GROUP.yaml
data set is named by an id or an entry, so campaign groups of dotted ids or of stack rows work.
"""

from __future__ import annotations

import re

ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
ENTRY_PATTERN = ID_PATTERN + r"(?:@\d+)?"
_ID_RE = re.compile(ID_PATTERN)
_ENTRY_RE = re.compile(ENTRY_PATTERN)


def is_id(name: object) -> bool:
    """Whether ``name`` is a valid id (and so a safe file-name stem)."""
    return isinstance(name, str) and bool(_ID_RE.fullmatch(name))


def is_entry(name: object) -> bool:
    """Whether ``name`` is an id or a stack-row entry ``id@i``."""
    return isinstance(name, str) and bool(_ENTRY_RE.fullmatch(name))


def entry_name(key: str) -> str:
    """How a file key is shown: ``id@3`` -> ``id[3]``; other keys unchanged."""
    return re.sub(r"@(\d+)$", r"[\1]", str(key))


def entry_key(name: str) -> str:
    """The file key of a shown name: ``id[3]`` -> ``id@3``; other names unchanged."""
    return re.sub(r"\[(\d+)\]$", r"@\1", str(name))
