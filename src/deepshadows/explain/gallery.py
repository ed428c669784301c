"""``deepshadows explain``: Grad-CAM galleries of confident right and wrong classifications (Fig. 6)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows._io import check_at_least_one, make_output_dir, save_png, write_json_atomic
from deepshadows.errors import InputError
from deepshadows.evaluation.run import predict_split
from deepshadows.explain.gradcam import ensemble_gradcam
from deepshadows.store.reader import open_store

__all__ = ["confident_groups", "explain_run", "plot_gallery"]


def confident_groups(
    y_true: np.ndarray, prob: np.ndarray, class_names: Sequence[str], *, high: float = 0.8, low: float = 0.2
) -> dict[str, np.ndarray]:
    """Return the positions of confidently classified objects, by outcome.

    Binary (``prob`` of shape (N,), the LSBG probability): true positives and false positives
    with ``prob > high``, true negatives and false negatives with ``prob < low``, as Fig. 6 of the
    paper. K classes: for every (true, predicted) pair, the objects whose predicted class has a
    probability above ``high``.

    Parameters
    ----------
    y_true : array-like of int, shape (N,)
        True labels (1 for LSBGs in the binary case, class indices ``0 .. K-1`` otherwise).
    prob : ndarray of shape (N,) or (N, K)
        Predicted LSBG probability (binary) or class probabilities.
    class_names : sequence of str
        Name of each class, used in the group names of K-class problems; unused for binary ones.
    high : float, optional
        Probability above which a prediction counts as confident.
    low : float, optional
        LSBG probability below which a binary prediction counts as a confident artifact.

    Returns
    -------
    dict of str to ndarray of int
        Group name (``true_positives``, ``true_<a>_predicted_<b>``, ...) -> positions in
        ``y_true``; empty groups are left out.
    """
    y = np.asarray(y_true)
    p = np.asarray(prob)
    if p.ndim == 1:
        groups = {
            "true_positives": (y == 1) & (p > high),
            "false_positives": (y == 0) & (p > high),
            "true_negatives": (y == 0) & (p < low),
            "false_negatives": (y == 1) & (p < low),
        }
    else:
        predicted, top = p.argmax(axis=1), p.max(axis=1)
        groups = {
            f"true_{class_names[t]}_predicted_{class_names[q]}": (y == t) & (predicted == q) & (top > high)
            for t in range(p.shape[1])
            for q in range(p.shape[1])
        }
    return {name: np.flatnonzero(mask) for name, mask in groups.items() if mask.any()}


def plot_gallery(
    images: np.ndarray,
    maps: np.ndarray,
    titles: Sequence[str],
    out_png: str | os.PathLike[str],
    *,
    title: str,
    columns: int = 4,
) -> Path:
    """Draw cutouts (top row of each pair) and their Grad-CAM overlays (bottom row) in a grid.

    Each map is scaled to its own maximum and drawn with the ``jet`` colour map at 45 % opacity
    over the cutout, as Fig. 6 of the paper.

    Parameters
    ----------
    images : ndarray of shape (N, H, W, 3), uint8
        Cutouts as served by the store.
    maps : ndarray of shape (N, h, w)
        Non-negative Grad-CAM maps, one per cutout (as returned by
        :func:`deepshadows.explain.gradcam`).
    titles : sequence of str
        Title of each cutout, drawn above it.
    out_png : path-like
        Output PNG file.
    title : str
        Title of the whole figure.
    columns : int, optional
        Cutouts per row (fewer when there are fewer cutouts).

    Returns
    -------
    pathlib.Path
        The written PNG.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(images)
    cols = max(1, min(columns, n))
    rows = -(-n // cols)
    fig, axes = plt.subplots(2 * rows, cols, figsize=(2.1 * cols, 4.3 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i in range(n):
        r, c = 2 * (i // cols), i % cols
        axes[r, c].imshow(images[i])
        axes[r, c].set_title(titles[i], fontsize=7)
        peak = float(maps[i].max())
        axes[r + 1, c].imshow(images[i])
        axes[r + 1, c].imshow(maps[i] / peak if peak > 0 else maps[i], cmap="jet", alpha=0.45, vmin=0, vmax=1)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    try:
        return save_png(fig, out_png)
    finally:
        plt.close(fig)


def explain_run(
    model_path: str | os.PathLike[str],
    store_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    split: str = "test",
    per_group: int = 8,
    high: float = 0.8,
    low: float = 0.2,
    seed: int = 0,
    device: str = "cpu",
) -> dict[str, Any]:
    """Write Grad-CAM galleries of randomly chosen confident classifications of a split.

    For each group of :func:`confident_groups`, ``per_group`` objects are drawn at random
    (seeded) and shown with the Grad-CAM map of their predicted class: ``<group>.png``, and
    ``explain.json`` (the objects shown, their probabilities and the group sizes).

    The empty groups are named in ``notes``, with the numbers of objects above ``high`` and
    below ``low``. When no group has a member (a model that is not yet confident), the
    ``per_group`` objects of each true class that the model finds most likely to be of that
    class are drawn instead, as ``most_confident_<class>.png`` (``confident`` false in the
    summary).

    Parameters
    ----------
    model_path : path-like
        Run folder or weight file of a model that follows the model contract.
    store_path : path-like
        Store holding the split.
    out_dir : path-like
        Output folder (created if needed).
    split : str, optional
        Split to draw from.
    per_group : int, optional
        Objects per gallery.
    high, low : float, optional
        Confidence thresholds on the probability.
    seed : int, optional
        Seed of the random choice.
    device : str, optional
        Torch device.

    Returns
    -------
    dict
        ``groups`` (name -> ``size``, ``shown`` ids, ``probabilities``, ``png``, ``confident``),
        ``notes`` (lines saying which galleries are empty and why) and ``out_dir``.

    Raises
    ------
    deepshadows.errors.InputError
        For an invalid option, or a model without a Grad-CAM layer.
    """
    from deepshadows.models import load_model
    from deepshadows.training import store_targets

    check_at_least_one(per_group, "--per-group")
    if not 0.0 <= low < high <= 1.0:
        raise InputError(f"--low and --high: need 0 <= low < high <= 1, got {low} and {high}")
    model, meta = load_model(model_path, device=device)
    num_classes = int(meta.get("model_kwargs", {}).get("num_classes", 1))
    names = list(meta.get("class_names") or ["artifact", "lsbg"])
    rows, prob = predict_split(model, store_path, split=split, device=device)
    with open_store(store_path) as store:
        y_true = store_targets(store, num_classes)[rows]
        ids = store.ids[rows]
        groups = confident_groups(y_true, prob, names, high=high, low=low)
        notes = _empty_notes(groups, y_true, prob, split, high=high, low=low)
        fallback = not groups
        if fallback:
            groups = _most_confident(y_true, prob, names, int(per_group))
        out = make_output_dir(out_dir)
        rng = np.random.default_rng(seed)
        summary: dict[str, Any] = {}
        for name, members in groups.items():
            chosen = np.sort(rng.choice(members, size=min(int(per_group), members.size), replace=False))
            images = store.read_images(rows[chosen])
            maps, _ = ensemble_gradcam(model, images, device=device)
            p_lsbg = prob[chosen] if prob.ndim == 1 else prob[chosen, names.index("lsbg")]
            titles = [f"{ident}\nP(LSBG) = {p:.2f}" for ident, p in zip(ids[chosen], p_lsbg, strict=True)]
            label = name.replace("_", " ")
            heading = (
                f"{label} in {split} (none is confident), {chosen.size} shown"
                if fallback
                else f"{label}: {members.size} in {split}, {chosen.size} shown"
            )
            png = plot_gallery(images, maps, titles, out / f"{name}.png", title=heading)
            summary[name] = {
                "size": int(members.size),
                "shown": [str(i) for i in ids[chosen]],
                "probabilities": np.round(prob[chosen], 6).tolist(),
                "png": str(png),
                "confident": not fallback,
            }
        if fallback and summary:
            notes.append(
                "drew the most confident objects of each true class instead: "
                + ", ".join(f"{name}.png" for name in summary)
            )
    write_json_atomic(
        out / "explain.json",
        {
            "model": str(model_path),
            "store": str(store_path),
            "split": split,
            "seed": seed,
            "groups": summary,
            "notes": notes,
        },
    )
    return {"groups": summary, "notes": notes, "out_dir": str(out)}


def _empty_notes(
    groups: dict[str, np.ndarray],
    y_true: np.ndarray,
    prob: np.ndarray,
    split: str,
    *,
    high: float,
    low: float,
) -> list[str]:
    """Say which galleries are empty and why, with the counts, and what to try."""
    n = len(y_true)
    hint = "lower --high or raise --low to widen them"
    if prob.ndim > 1:
        if groups:
            return []
        top = prob.max(axis=1) if n else prob.max(axis=1, initial=0)
        peak = f", the highest top-class probability is {top.max():.3f}" if n else ""
        return [
            f"no gallery: none of the {n} {split} objects has a class probability above {high}{peak}; {hint}"
        ]
    above, below = int((prob > high).sum()), int((prob < low).sum())
    counts = f"{above} of the {n} {split} objects have P(LSBG) > {high} and {below} have P(LSBG) < {low}" + (
        f"; P(LSBG) ranges from {prob.min():.3f} to {prob.max():.3f}" if n else ""
    )
    wanted = {
        "true_positives": f"no LSBG with P > {high}",
        "false_positives": f"no artifact with P > {high}",
        "true_negatives": f"no artifact with P < {low}",
        "false_negatives": f"no LSBG with P < {low}",
    }
    empty = [f"{name} ({why})" for name, why in wanted.items() if name not in groups]
    if not empty:
        return []
    return [f"empty galleries: {', '.join(empty)}: {counts}; {hint} (--high, --low)"]


def _most_confident(
    y_true: np.ndarray, prob: np.ndarray, class_names: Sequence[str], per_group: int
) -> dict[str, np.ndarray]:
    """Return, for each true class, the objects of that class the model finds most likely to be it."""
    p = np.stack([1.0 - prob, prob], axis=1) if prob.ndim == 1 else prob
    groups: dict[str, np.ndarray] = {}
    for k in range(p.shape[1]):
        members = np.flatnonzero(np.asarray(y_true) == k)
        if members.size:
            best = members[np.argsort(-p[members, k], kind="stable")[:per_group]]
            groups[f"most_confident_{class_names[k]}"] = best
    return groups
