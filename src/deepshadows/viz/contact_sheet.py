"""Contact sheets: a few example cutouts of every class and artifact subclass, one row each."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from deepshadows._docs import fill_doc
from deepshadows._io import check_at_least_one, save_png
from deepshadows.classes import SUBCLASS_NAMES, TYPE1_SUBCLASSES
from deepshadows.errors import InputError

__all__ = ["SUBCLASS_NAMES", "TYPE1_SUBCLASSES", "group_key", "group_label", "contact_sheet"]

#: Row order of the sheet: LSBGs, the type-2 subclasses, then type 1; other groups follow sorted.
_ORDER: tuple[str, ...] = ("lsbg", "A", "B", "C", "D", "F", "E")

# Layout in inches: side of one cutout, gap between cutouts, height of a row label and of
# the index line under each cutout, and the outer margin.
_CELL, _GAP, _LABEL_H, _INDEX_H, _MARGIN = 1.0, 0.06, 0.26, 0.14, 0.15


def group_key(kind: str, subclass: str | None) -> str:
    """Return the contact-sheet group of one cutout.

    Parameters
    ----------
    kind : str
        ``"lsbg"`` (any case) for a galaxy; anything else is an artifact.
    subclass : str or None
        Artifact subclass (``"A"`` to ``"F"``, any case); ignored for LSBGs.

    Returns
    -------
    str
        ``"lsbg"``, the upper-case subclass letter, the subclass as given if it is not one of
        the known letters, or ``"artifact"`` if an artifact has no subclass.
    """
    if str(kind).strip().lower() == "lsbg":
        return "lsbg"
    sub = "" if subclass is None else str(subclass).strip()
    if not sub:
        return "artifact"
    return sub.upper() if sub.upper() in SUBCLASS_NAMES else sub


def group_label(key: str) -> str:
    """Return the row label of a group, e.g. ``"type 2 · B: Galactic cirrus"``.

    Parameters
    ----------
    key : str
        A group as returned by :func:`group_key`.

    Returns
    -------
    str
        ``"LSBG"``; ``"type 1 · <letter>: <description>"`` or ``"type 2 · ..."`` for a known
        subclass; ``"artifact"`` for an artifact without subclass; ``"artifact · <key>"`` for
        an unknown subclass.
    """
    if key == "lsbg":
        return "LSBG"
    if key in SUBCLASS_NAMES:
        kind = "type 1" if key in TYPE1_SUBCLASSES else "type 2"
        return f"{kind} · {key}: {SUBCLASS_NAMES[key]}"
    return key if key == "artifact" else f"artifact · {key}"


def _ordered(keys: set[str]) -> list[str]:
    known = [k for k in _ORDER if k in keys]
    return known + sorted(keys - set(_ORDER))


def _choose(indices: np.ndarray, n: int, seed: int, key: str) -> np.ndarray:
    """Pick up to ``n`` indices, seeded by ``seed`` and the group so rows do not interact."""
    rng = np.random.default_rng([seed, *key.encode()])
    if indices.size <= n:
        return indices
    return np.sort(rng.choice(indices, size=n, replace=False))


@fill_doc
def contact_sheet(
    images: np.ndarray,
    kinds: Sequence[str],
    subclasses: Sequence[str | None],
    out_png: str | os.PathLike[str],
    *,
    per_group: int = 8,
    seed: int = 0,
    titles: Mapping[str, str] | None = None,
    captions: Sequence[str] | None = None,
) -> Path:
    """Draw randomly chosen example cutouts of every group, one labelled row per group.

    Rows follow the order LSBG, type-2 subclasses A, B, C, D, F, type-1 subclass E, then any
    other subclass present. Each cutout is shown pixel for pixel (nearest-neighbour, no
    smoothing) with its index in ``images`` underneath.

    Parameters
    ----------
    images : ndarray of shape (N, H, W, 3), uint8
        RGB cutouts, channels last.
    kinds : sequence of str, length N
        ``"lsbg"`` or ``"artifact"`` per cutout.
    subclasses : sequence of str or None, length N
        Artifact subclass per cutout (``"A"`` to ``"F"``); ignored for LSBGs.
    %(out_png)s
    per_group : int, optional
        Most cutouts shown per row; a group with fewer shows all of them.
    seed : int, optional
        Seed of the random choice; each group's choice depends only on the seed and the group.
    titles : mapping of str to str, optional
        Row labels that replace the default ones, keyed by group (``"lsbg"``, ``"A"``, ...).
    captions : sequence of str, length N, optional
        Text under each cutout; by default ``#<index in images>``.

    Returns
    -------
    %(written_png)s

    Raises
    ------
    deepshadows.errors.InputError
        If the arrays are empty, have the wrong shape or disagree in length, or ``per_group``
        is below 1.
    """
    from matplotlib.figure import Figure

    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.shape[0] == 0:
        raise InputError(f"images: expected a non-empty (N, H, W, 3) array, got {images.shape}")
    if len(kinds) != len(images) or len(subclasses) != len(images):
        raise InputError(
            f"kinds ({len(kinds)}) and subclasses ({len(subclasses)}) must have one entry "
            f"per image ({len(images)})"
        )
    check_at_least_one(per_group, "per_group")
    if captions is not None and len(captions) != len(images):
        raise InputError(f"captions ({len(captions)}) must have one entry per image ({len(images)})")
    keys = np.array([group_key(k, s) for k, s in zip(kinds, subclasses, strict=True)])
    groups = _ordered(set(keys.tolist()))
    labels = {g: group_label(g) for g in groups} | dict(titles or {})

    n_cols = per_group
    row_h = _LABEL_H + _CELL + _INDEX_H
    width = 2 * _MARGIN + n_cols * _CELL + (n_cols - 1) * _GAP
    # Leave room for the longest row label (about 0.08 inch per character at 9 pt bold).
    width = max(width, 2 * _MARGIN + 0.08 * (max(len(v) for v in labels.values()) + 12))
    height = 2 * _MARGIN + len(groups) * row_h
    # A bare Figure renders with the Agg canvas and leaves pyplot's backend and state alone.
    fig = Figure(figsize=(width, height))
    for r, group in enumerate(groups):
        members = np.flatnonzero(keys == group)
        chosen = _choose(members, per_group, seed, group)
        top = height - _MARGIN - r * row_h
        fig.text(
            _MARGIN / width,
            (top - _LABEL_H / 2) / height,
            f"{labels[group]}  ({chosen.size} of {members.size})",
            fontsize=9,
            va="center",
            ha="left",
            fontweight="bold",
        )
        bottom = top - _LABEL_H - _CELL
        for c, index in enumerate(chosen):
            left = _MARGIN + c * (_CELL + _GAP)
            ax = fig.add_axes((left / width, bottom / height, _CELL / width, _CELL / height))
            ax.imshow(images[index], interpolation="nearest", resample=False)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.text(
                0.5,
                -0.02,
                f"#{index}" if captions is None else str(captions[index]),
                transform=ax.transAxes,
                fontsize=6,
                ha="center",
                va="top",
                color="0.3",
            )
    return save_png(fig, out_png)
