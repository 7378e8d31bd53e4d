"""Parse the ``ties`` of a GROUP.yaml (Bayesian integration) without evaluating anything.

Grammar (whitespace free between tokens)::

    tie   := ref "=" rhs
    rhs   := ref                      equal
           | ref ("+" | "-") NUMBER   plus / minus a known constant
           | ref ("+" | "-") NAME     plus / minus a free offset declared in ``offsets``
           | NUMBER "*" ref           times a known constant
           | ref "*" NUMBER
    ref   := DATASET "." KIND "[" INDEX "]"
    DATASET := a data set name: a spectrum id or stack entry (bayespec.ids: "run.1", "2024-03",
             "series@2"); a ref is read up to its "[", and the name after the last "." is KIND
    KIND  := amplitude | center | width | background | a shape's extra parameter (eta, asym,
             splitting, ratio, ...; bayespec.models.shapes)

Peak indices count the peaks of a data set in order of position (the joint model keeps the
centers of every data set ordered; see integrate.py); ``background[j]`` is coefficient j (the
constant term first for polynomial backgrounds). A tie is returned as
``left = scale * right + const (+ sign * offset)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ConfigError
from .shapes import SHAPES

# a ref is one token, read up to and including its "[index]" (data set names may hold '.',
# '-', '@' and start with a digit, so they cannot be told from numbers or operators otherwise)
_TOKEN = re.compile(r"\s*(?:(?P<ref>[A-Za-z0-9_][A-Za-z0-9_.@-]*\.[A-Za-z_][A-Za-z0-9_]*"
                    r"\[[^\]]*\])"
                    r"|(?P<num>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)"
                    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*)"
                    r"|(?P<sym>[.\[\]=+\-*]))")
PEAK_KINDS = ("amplitude", "center", "width") + tuple(dict.fromkeys(
    e for s in SHAPES.values() for e in s.extra))
KINDS = PEAK_KINDS + ("background",)


@dataclass(frozen=True)
class Ref:
    """One parameter of one data set: ``dataset.kind[index]``."""

    dataset: str
    kind: str
    index: int

    def __str__(self) -> str:
        return f"{self.dataset}.{self.kind}[{self.index}]"


@dataclass(frozen=True)
class Tie:
    """``left = scale * right + const + offset_sign * offset`` (offset: a name or None)."""

    left: Ref
    right: Ref
    scale: float
    const: float
    offset: str | None
    offset_sign: float
    text: str


def tied_kinds(component: str, K: int, ties) -> frozenset[str]:
    """The kinds of ``component`` every one of whose K peaks is set by a tie (the left side of
    one of ``ties``): their priors are never used (K = 0: none of its kinds is sampled)."""
    lefts = {(t.left.kind, t.left.index) for t in ties if t.left.dataset == component}
    kinds = {k for k, _ in lefts}
    if K == 0:
        return frozenset(kinds)
    return frozenset(k for k in kinds if all((k, i) in lefts for i in range(K)))


def _tokens(text: str, where: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    stripped = text.rstrip()
    while pos < len(stripped):
        m = _TOKEN.match(stripped, pos)
        if not m or m.end() == pos:
            raise ConfigError(f"{where}: cannot read {stripped[pos:].strip()!r} in tie "
                              f"{text!r}; write e.g. 'B.center[0] = A.center[0] + shift'")
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str, where: str):
        self.text, self.where = text, where
        self.toks = _tokens(text, where)
        self.i = 0

    def fail(self, what: str) -> ConfigError:
        return ConfigError(f"{self.where}: tie {self.text!r}: {what}; allowed forms: "
                           f"'B.x[i] = A.x[j]', '... = A.x[j] + 3.67' (or - c), "
                           f"'... = 0.75 * A.x[j]', '... = A.x[j] + OFFSET' (OFFSET declared "
                           f"under offsets)")

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, kind: str, value: str | None = None) -> str:
        t = self.peek()
        if t is None or t[0] != kind or (value is not None and t[1] != value):
            got = "the end" if t is None else repr(t[1])
            want = value or {"ref": "a parameter DATASET.KIND[INDEX]", "num": "a number",
                             "name": "an offset name", "sym": "an operator"}.get(kind, kind)
            raise self.fail(f"expected {want} but found {got}")
        self.i += 1
        return t[1]

    def ref(self) -> Ref:
        text = self.take("ref")
        path, idx = text[:-1].split("[", 1)
        ds, kind = path.rsplit(".", 1)
        if kind not in KINDS:
            raise self.fail(f"unknown parameter {kind!r} (missing parameter); "
                            f"use one of {', '.join(KINDS)}")
        if not idx.strip().isdigit():
            raise self.fail(f"index {idx!r} must be a non-negative integer")
        return Ref(ds, kind, int(idx))

    def parse(self) -> Tie:
        left = self.ref()
        self.take("sym", "=")
        t = self.peek()
        scale, const, off, sign = 1.0, 0.0, None, 0.0
        if t is not None and t[0] == "num":
            scale = float(self.take("num"))
            self.take("sym", "*")
            right = self.ref()
        else:
            right = self.ref()
            t = self.peek()
            if t is not None:
                op = self.take("sym")
                if op == "*":
                    scale = float(self.take("num"))
                elif op in "+-":
                    s = 1.0 if op == "+" else -1.0
                    nxt = self.peek()
                    if nxt is not None and nxt[0] == "num":
                        const = s * float(self.take("num"))
                    else:
                        off, sign = self.take("name"), s
                else:
                    raise self.fail(f"unexpected {op!r} after {right}")
        if self.peek() is not None:
            raise self.fail(f"unexpected {self.peek()[1]!r} after the right-hand side")
        return Tie(left, right, scale, const, off, sign, self.text)


def parse_tie(text: object, where: str) -> Tie:
    """Parse one tie string; ConfigError naming ``where`` (file and key) and the text."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{where}: a tie must be a string like 'B.center[0] = A.center[0]', "
                          f"got {text!r}")
    return _Parser(text.strip(), where).parse()
