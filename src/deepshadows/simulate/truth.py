"""The truth of the injected LSBGs: the axes of the selection function and how they are sampled.

Each axis is one truth parameter of :func:`deepshadows.simulate.lsbg.sample_lsbg` with the bins
its completeness is reported in. An axis *on the grid* is sampled uniformly over its bins
(log-uniformly for the radius and the Sersic index), with the same number of injections in
every cell of the grid; every other parameter is drawn from the simulator's catalogue prior.
With no axis on the grid every parameter follows the prior.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from deepshadows.errors import InputError

__all__ = ["AXES", "DEFAULT_GRID", "Axis", "draw_truths", "parse_grid"]


@dataclass(frozen=True)
class Axis:
    """One truth parameter of the selection function.

    Parameters
    ----------
    name : str
        Name on the command line (``mu_eff``, ``r_eff``, ``sersic_n``, ``q``, ``color``).
    column : str
        The simulator's truth key (``mu_mean_g``, ``r_eff``, ``sersic_n``, ``q``, ``g_i``).
    edges : tuple of float
        Bin edges, increasing; the grid spans the first to the last.
    log : bool
        Sample and bin in the logarithm.
    label : str
        Axis title of the figures, with units.
    """

    name: str
    column: str
    edges: tuple[float, ...]
    log: bool
    label: str

    @property
    def centres(self) -> np.ndarray:
        """Bin centres (geometric for a logarithmic axis)."""
        e = np.asarray(self.edges)
        return np.sqrt(e[:-1] * e[1:]) if self.log else 0.5 * (e[:-1] + e[1:])

    def uniform(self, rng: np.random.Generator, bins: np.ndarray) -> np.ndarray:
        """Draw one value uniformly (log-uniformly) inside each given bin.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of randomness.
        bins : ndarray of int
            Bin index of each draw.

        Returns
        -------
        ndarray of float
            One value per entry of ``bins``.
        """
        e = np.log(self.edges) if self.log else np.asarray(self.edges, dtype=float)
        u = e[bins] + rng.random(len(bins)) * (e[bins + 1] - e[bins])
        return np.exp(u) if self.log else u


#: The axes of the selection function, by command-line name.
AXES: dict[str, Axis] = {
    axis.name: axis
    for axis in (
        Axis(
            "mu_eff",
            "mu_mean_g",
            tuple(np.round(np.arange(23.5, 28.501, 0.25), 2)),
            False,
            "mean g surface brightness within R_eff [mag/arcsec²]",
        ),
        Axis(
            "r_eff",
            "r_eff",
            (1.5, 2.0, 2.5, 3.0, 3.5, 4.25, 5.0, 6.0, 7.0, 8.5, 10.0, 12.0, 15.0, 20.0),
            True,
            "R_eff, semi-major [arcsec]",
        ),
        Axis("sersic_n", "sersic_n", (0.3, 0.45, 0.6, 0.8, 1.0, 1.3, 1.7, 2.5, 4.0), True, "Sérsic n"),
        Axis("q", "q", (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0), False, "axis ratio b/a"),
        Axis("color", "g_i", (-0.1, 0.15, 0.4, 0.6, 0.8, 1.1, 1.4), False, "g - i [mag]"),
    )
}
#: Other names accepted by :func:`parse_grid`.
_ALIASES = {"mu": "mu_eff", "mu_mean_g": "mu_eff", "n": "sersic_n", "colour": "color", "g_i": "color"}
#: Axes on the grid by default: surface brightness, size and colour.
DEFAULT_GRID: tuple[str, ...] = ("mu_eff", "r_eff", "color")


def parse_grid(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """Read the axes on the grid from ``"mu_eff,r_eff,color"`` (``"prior"`` or ``""``: none).

    Parameters
    ----------
    text : str or sequence of str or None
        Comma-separated axis names (or aliases: ``mu``, ``n``, ``g_i``, ``colour``); None gives
        :data:`DEFAULT_GRID`.

    Returns
    -------
    tuple of str
        Names of :data:`AXES`, in the order given, without repeats.

    Raises
    ------
    deepshadows.errors.InputError
        For an unknown axis.
    """
    if text is None:
        return DEFAULT_GRID
    items = text.split(",") if isinstance(text, str) else list(text)
    names: list[str] = []
    for raw in (item.strip().lower() for item in items):
        if raw in ("", "prior", "none"):
            continue
        name = _ALIASES.get(raw, raw)
        if name not in AXES:
            choices = ", ".join([*AXES, "prior"])
            raise InputError(f"--grid: unknown axis {raw!r}; choose from {choices}")
        if name not in names:
            names.append(name)
    return tuple(names)


def draw_truths(n: int, grid: Sequence[str], seed: int) -> list[dict[str, float]]:
    """Draw the fixed truth parameters of ``n`` injections.

    The cells of the grid (every combination of the bins of its axes) are filled in turn in a
    random order, so each cell gets ``n // n_cells`` or one more injection; inside its cell an
    injection's value is uniform (log-uniform) on every grid axis.

    Parameters
    ----------
    n : int
        Number of injections.
    grid : sequence of str
        Axes on the grid (names of :data:`AXES`); empty for the catalogue prior alone.
    seed : int
        Seed of the draws.

    Returns
    -------
    list of dict of str to float
        Per injection, the simulator's truth key to its value (empty dicts without a grid): the
        ``fixed`` argument of :func:`deepshadows.simulate.lsbg.sample_lsbg`.
    """
    if not grid:
        return [{} for _ in range(n)]
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**32 + 1,)))
    axes = [AXES[name] for name in grid]
    cells = np.array(list(itertools.product(*(range(len(a.edges) - 1) for a in axes))), dtype=np.int64)
    order = np.concatenate([rng.permutation(len(cells)) for _ in range(-(-n // len(cells)))])[:n]
    chosen = cells[order]
    values = [axis.uniform(rng, chosen[:, k]) for k, axis in enumerate(axes)]
    return [{axis.column: float(values[k][i]) for k, axis in enumerate(axes)} for i in range(n)]
