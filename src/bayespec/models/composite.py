"""Composite models: a background plus named components, each of its own shape, priors and count.

A candidate of a composite model fixes every component's count (``Ks``, one per component);
the candidates are the product of the components' count ranges. Parameter layout ("local"
parameters, as model.Problem's): component after component, within a component peak after
peak (amplitude, center, width, the shape's extras), then the background coefficients. Names:
``{component}.{kind}[{k}]`` and ``background[{coef}]``.

A candidate is sampled as a joint model (joint.py) of one data set whose peak units have their
own shapes, with one order group per component: its centers are kept increasing, which for
exchangeable peaks within a component leaves the evidence unchanged (README "Bayesian
integration", peak order), and relabels within each component only. Ties inside the model
(FIT.yaml ``ties``, the GROUP.yaml forms with component names in place of data sets:
``surface.asym[0] = bulk.asym[0]``) are resolved by joint.build_joint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, DataError
from .model import PEAK_KINDS, Problem, build_problem
from .shirley import running_integral
from .shapes import Background, Shape
from .ties import Tie, tied_kinds


@dataclass(frozen=True)
class Component:
    """One component at one count: ``K`` peaks of ``shape``, priors per peak variable."""

    name: str
    shape: Shape
    K: int
    priors: tuple  # (stride,) Prior per peak variable (amplitude, center, width, extras)

    @property
    def stride(self) -> int:
        return 3 + len(self.shape.extra)

    @property
    def peak_vars(self) -> tuple[str, ...]:
        return PEAK_KINDS + self.shape.extra


@dataclass(frozen=True)
class CompositeProblem:
    """One candidate of a composite model bound to one spectrum (x, y, w, h as model.Problem).

    components: in model order; background, nb and bg_priors (nb, + 1 with an active Shirley
    background: its scale) as model.Problem;
    offset: (n,) fixed part of the mean (a Shirley curve) or None.
    """

    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    h: float
    components: tuple[Component, ...]
    background: Background
    nb: int
    bg_priors: tuple
    likelihood: str = "gaussian"
    offset: np.ndarray | None = None
    shirley_dir: int = 0  # active Shirley background of all peaks (model.Problem), 0 none

    @property
    def coef_names(self) -> list[str]:
        """Names of the tail parameters: the background coefficients (+ 'shirley')."""
        return self.background.coef_names(self.nb) + (["shirley"] if self.shirley_dir else [])

    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    @property
    def K(self) -> int:
        """Total number of peaks (model_selection.csv's K)."""
        return int(sum(c.K for c in self.components))

    @property
    def Ks(self) -> tuple[int, ...]:
        return tuple(c.K for c in self.components)

    @property
    def label(self) -> str:
        """The candidate's name in file names: its counts joined by '-' (``K1-2.zarr``)."""
        return "-".join(map(str, self.Ks))

    @property
    def sum_log_w(self) -> float:
        return float(np.sum(np.log(self.w)))

    @property
    def y_fit(self) -> np.ndarray:
        return self.y if self.offset is None else np.ascontiguousarray(self.y - self.offset)

    @property
    def bases(self) -> tuple[int, ...]:
        """First local slot of each component (and of the background, last)."""
        out, b = [], 0
        for c in self.components:
            out.append(b)
            b += c.K * c.stride
        return tuple(out) + (b,)

    @property
    def priors(self) -> tuple:
        out = []
        for c in self.components:
            out += list(c.priors) * c.K
        return tuple(out) + tuple(self.bg_priors)

    @property
    def param_names(self) -> tuple[str, ...]:
        names = [f"{c.name}.{v}[{k}]" for c in self.components for k in range(c.K)
                 for v in c.peak_vars]
        return tuple(names) + tuple(f"background[{n}]" for n in
                                    self.background.coef_names(self.nb)) + (
            ("shirley",) if self.shirley_dir else ())

    def units(self) -> list[tuple[int, int, int, int]]:
        """Peak units (local offset, parameter count, shape code, order group = component)."""
        out = []
        for g, (c, b) in enumerate(zip(self.components, self.bases)):
            out += [(b + k * c.stride, c.stride, c.shape.code, g) for k in range(c.K)]
        return out

    def slot(self, component: str | None, kind: str, index: int, text: str,
             where: str) -> int:
        """The local slot of ``component.kind[index]`` (``background[j]``: component None)."""
        if kind == "background":
            if index >= self.nb:
                raise ConfigError(f"{where}: tie {text!r}: background[{index}] does not exist: "
                                  f"the {self.background.name} background has {self.nb} "
                                  f"coefficient(s)")
            return self.bases[-1] + index
        names = [c.name for c in self.components]
        if component not in names:
            raise ConfigError(f"{where}: tie {text!r}: no component {component!r} in the model "
                              f"(components: {', '.join(names)}); fix the name")
        i = names.index(component)
        c = self.components[i]
        if kind not in c.peak_vars:
            raise ConfigError(f"{where}: tie {text!r}: {component}.{kind}[{index}] does not "
                              f"exist: the {c.shape.name} shape has parameters "
                              f"{', '.join(c.peak_vars)}")
        if index >= c.K:
            raise ConfigError(f"{where}: tie {text!r}: peak index {index} is beyond K = {c.K} "
                              f"of component {component} (indices count from 0 in order of "
                              f"position)")
        return self.bases[i] + index * c.stride + c.peak_vars.index(kind)

    def _problem(self, c: Component) -> Problem:
        """A model.Problem of component c alone (no background), for its curves."""
        return Problem(self.x, self.y, self.w, self.h, c.K, c.shape, self.background, 0,
                       tuple(c.priors) * c.K, (), self.likelihood, None)

    def curve(self, theta: np.ndarray) -> np.ndarray:
        """Model mean for local parameters theta (..., P) -> (..., n), offset included."""
        theta = np.asarray(theta, dtype=float)
        out = np.zeros(theta.shape[:-1] + (self.n,))
        for c, b in zip(self.components, self.bases):
            if c.K:
                out += self._problem(c).curve(theta[..., b:b + c.K * c.stride])
        t0 = self.bases[-1]
        if self.shirley_dir:
            out += theta[..., t0 + self.nb, None] * running_integral(self.x, out,
                                                                     self.shirley_dir)
        if self.nb:
            bg = Problem(self.x, self.y, self.w, self.h, 0, self.components[0].shape,
                         self.background, self.nb, tuple(self.bg_priors[:self.nb]), (),
                         self.likelihood, self.offset)
            out += bg.curve(theta[..., t0:t0 + self.nb])
        elif self.offset is not None:
            out += self.offset
        return out

    def components_curves(self, theta: np.ndarray) -> np.ndarray:
        """Each peak's contribution (K, n) in model order, background (+ offset) last row."""
        theta = np.asarray(theta, dtype=float)
        rows = []
        for c, b in zip(self.components, self.bases):
            if c.K:
                rows.append(self._problem(c).components(theta[b:b + c.K * c.stride])[:-1])
        bg = np.zeros(self.n)
        t0 = self.bases[-1]
        if self.nb:
            bgp = Problem(self.x, self.y, self.w, self.h, 0, self.components[0].shape,
                          self.background, self.nb, tuple(self.bg_priors[:self.nb]), (),
                          self.likelihood, None)
            bg = bgp.components(theta[t0:t0 + self.nb])[-1]
        if self.shirley_dir and rows:
            bg = bg + theta[t0 + self.nb] * running_integral(
                self.x, np.concatenate(rows, axis=0).sum(axis=0), self.shirley_dir)
        if self.offset is not None:
            bg = bg + self.offset
        return np.concatenate(rows + [bg[None]], axis=0)

    def named(self, local: np.ndarray) -> dict[str, np.ndarray]:
        """Local draws (C, D, P) -> ``{component}_{kind}`` (C, D, K_c) and ``background``."""
        out = {}
        for c, b in zip(self.components, self.bases):
            blk = local[..., b:b + c.K * c.stride].reshape(local.shape[:-1] + (c.K, c.stride))
            for i, v in enumerate(c.peak_vars):
                out[f"{c.name}_{v}"] = np.ascontiguousarray(blk[..., i])
        out["background"] = np.ascontiguousarray(local[..., self.bases[-1]:])
        return out

    def pack(self, posterior: dict[str, np.ndarray]) -> np.ndarray:
        """Named posterior (as :meth:`named`) back to flattened local draws (N, P)."""
        cols = []
        for c in self.components:
            for k in range(c.K):
                for v in c.peak_vars:
                    cols.append(np.asarray(posterior[f"{c.name}_{v}"])[..., k].ravel())
        bg = np.asarray(posterior["background"])
        cols += [bg[..., j].ravel() for j in range(len(self.coef_names))]
        return np.stack(cols, axis=-1)


def build_composite(x: np.ndarray, y: np.ndarray, sd: np.ndarray | None,
                    components: list[tuple[str, str, int]], background: str,
                    degree: int | None, priors: dict, source: str = "",
                    likelihood: str = "gaussian",
                    shirley: bool | str = False, ties: Sequence[Tie] = ()) -> CompositeProblem:
    """Bind one candidate to data: ``components`` lists (name, shape, K); ``priors`` maps a
    component name to its priors mapping (kind -> Prior; absent kinds: the data-scaled
    defaults of model.default_priors, so amplitude, center and width may be omitted) and
    ``background`` to the background priors. Checks as model.build_problem, messages naming
    ``priors.<component>.<kind>``. ``ties``: the model's ties; a kind they set for every peak
    of a component (ties.tied_kinds) needs no prior there, even a required one."""
    comps = []
    first = None
    for name, shape, K in components:
        p = build_problem(x, y, sd, shape, 1, background, degree,
                          {**(priors.get(name) or {}), "background": priors.get("background"),
                           "shirley": priors.get("shirley")},
                          source, likelihood, shirley, prior_key=f"priors.{name}",
                          tied=tied_kinds(name, int(K), ties))
        first = first or p
        comps.append(Component(name, p.shape, int(K), p.priors[:p.stride]))
    npar = sum(c.K * c.stride for c in comps) + len(first.coef_names)
    if first.n <= npar:
        raise DataError(f"{source or 'data'}: {first.n} points but the candidate "
                        f"{'-'.join(str(c.K) for c in comps)} has {npar} parameters; need "
                        f"more points than parameters")
    return CompositeProblem(first.x, first.y, first.w, first.h, tuple(comps), first.background,
                            first.nb, first.priors[first.stride:], likelihood, first.offset,
                            first.shirley_dir)
