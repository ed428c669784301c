"""Which cutouts to label next: uncertainty from MC dropout or an ensemble, spread in feature space.

A model's uncertainty about a cutout comes from several stochastic predictions of it: the passes
of the network with its dropout layers left on (MC dropout), or the members of an ensemble. From
those ``T`` probabilities per cutout,

* the *entropy* of the mean probability measures the total uncertainty, and
* *BALD* (mutual information between the label and the weights) the part that labels can remove:
  the entropy of the mean minus the mean entropy of the passes.

The most uncertain cutouts tend to look alike, so :func:`diverse_order` spreads the first ones of
the order over clusters of the network's penultimate features: a screen of cutouts then shows
several kinds of objects rather than one.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from deepshadows._docs import fill_doc
from deepshadows.errors import InputError
from deepshadows.models.preprocess import as_network_input

__all__ = [
    "METHODS",
    "acquisition_scores",
    "bald",
    "diverse_order",
    "embed",
    "entropy",
    "stochastic_probabilities",
]

#: Acquisition functions of :func:`acquisition_scores`.
METHODS = ("bald", "entropy", "random")
_EPS = 1e-7


def _binary_entropy(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, _EPS, 1 - _EPS)
    return -(q * np.log(q) + (1 - q) * np.log1p(-q))


def entropy(samples: np.ndarray) -> np.ndarray:
    """Return the entropy (nats) of the mean LSBG probability of each cutout.

    Parameters
    ----------
    samples : ndarray of shape (T, N) or (N,)
        Probabilities of ``T`` stochastic predictions (or one) of ``N`` cutouts.

    Returns
    -------
    ndarray of shape (N,)
        Entropy, from 0 (certain) to ln 2 (p = 0.5).
    """
    p = np.asarray(samples, dtype=np.float64)
    return _binary_entropy(p.mean(axis=0) if p.ndim == 2 else p)


def bald(samples: np.ndarray) -> np.ndarray:
    """Return the BALD score (mutual information between label and weights) of each cutout.

    Parameters
    ----------
    samples : ndarray of shape (T, N)
        Probabilities of ``T`` stochastic predictions of ``N`` cutouts.

    Returns
    -------
    ndarray of shape (N,)
        Entropy of the mean minus mean entropy; 0 when the predictions agree.

    Raises
    ------
    deepshadows.errors.InputError
        If ``samples`` is not two-dimensional.
    """
    p = np.asarray(samples, dtype=np.float64)
    if p.ndim != 2:
        raise InputError(f"bald: expected samples of shape (T, N), got {p.shape}")
    return np.maximum(_binary_entropy(p.mean(axis=0)) - _binary_entropy(p).mean(axis=0), 0.0)


def acquisition_scores(samples: np.ndarray, method: str = "bald", *, seed: int = 0) -> np.ndarray:
    """Return a score per cutout, higher for the cutouts to label first.

    Parameters
    ----------
    samples : ndarray of shape (T, N)
        Stochastic probabilities (see :func:`stochastic_probabilities`).
    method : {"bald", "entropy", "random"}, optional
        Acquisition function; ``random`` gives uniform random scores.
    seed : int, optional
        Seed of the random scores.

    Returns
    -------
    ndarray of shape (N,)
        Scores.

    Raises
    ------
    deepshadows.errors.InputError
        For an unknown method.
    """
    p = np.atleast_2d(np.asarray(samples, dtype=np.float64))
    if method == "bald":
        return bald(p)
    if method == "entropy":
        return entropy(p)
    if method == "random":
        return np.random.default_rng(seed).random(p.shape[1])
    raise InputError(f"--acquisition: choose from {', '.join(METHODS)}, got {method!r}")


def _dropout_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if "dropout" in type(m).__name__.lower()]


@fill_doc
def stochastic_probabilities(
    model: nn.Module,
    images: np.ndarray,
    *,
    n_samples: int = 10,
    seed: int = 0,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Return stochastic LSBG probabilities: ensemble members, or MC-dropout passes.

    An ensemble (a module with ``members``) gives one row per member. Otherwise the model runs
    ``n_samples`` times with its dropout layers in training mode and everything else (batch
    normalisation included) in evaluation mode.

    Parameters
    ----------
    model : torch.nn.Module
        Binary classifier returning logits of shape (B,) or (B, 1), on ``device``.
    images : ndarray of shape (N, H, W, 3), uint8
        Cutouts as stored.
    n_samples : int, optional
        MC-dropout passes.
    seed : int, optional
        Seed of the dropout masks (the global generator is left as it was).
    %(batch_size)s
    %(device)s

    Returns
    -------
    ndarray of shape (T, N), float32
        Probabilities; ``T`` is the number of members or ``n_samples``.

    Raises
    ------
    deepshadows.errors.InputError
        If the model has neither members nor dropout layers, or ``n_samples`` < 2.
    """
    dev = torch.device(device)
    members = list(getattr(model, "members", []))
    if not members:
        if not _dropout_layers(model):
            raise InputError(f"{type(model).__name__}: has no dropout layers for MC dropout; use an ensemble")
        if int(n_samples) < 2:
            raise InputError(f"--mc-samples: need at least 2 passes, got {n_samples}")
    nets = members or [model] * int(n_samples)
    out = np.empty((len(nets), len(images)), dtype=np.float32)
    with torch.random.fork_rng(devices=[]), torch.inference_mode():
        torch.manual_seed(seed)
        for net in set(nets):
            net.eval()
            if not members:
                for layer in _dropout_layers(net):
                    layer.train()
        try:
            for lo in range(0, len(images), batch_size):
                x = as_network_input(images[lo : lo + batch_size], dev)
                for t, net in enumerate(nets):
                    logits = net(x).reshape(x.shape[0], -1)[:, 0]
                    out[t, lo : lo + x.shape[0]] = torch.sigmoid(logits.float()).cpu().numpy()
        finally:
            for net in set(nets):
                net.eval()
    return out


@fill_doc
def embed(
    model: nn.Module, images: np.ndarray, *, batch_size: int = 256, device: str | torch.device = "cpu"
) -> np.ndarray:
    """Return each cutout's penultimate features (the input of the model's ``head``).

    Falls back to the spatial mean of the Grad-CAM layer's feature maps for a model without a
    ``head`` (an ensemble: those of its first member).

    Parameters
    ----------
    model : torch.nn.Module
        Classifier on ``device``.
    images : ndarray of shape (N, H, W, 3), uint8
        Cutouts as stored.
    %(batch_size)s
    %(device)s

    Returns
    -------
    ndarray of shape (N, D), float32
        Features.

    Raises
    ------
    deepshadows.errors.InputError
        If the model has neither a ``head`` nor a ``gradcam_layer``.
    """
    net = next(iter(getattr(model, "members", [])), model)
    layer = getattr(net, "head", None)
    pool = layer is None
    if pool:
        layer = getattr(net, "gradcam_layer", None)
    if layer is None:
        raise InputError(
            f"{type(net).__name__}: has neither 'head' nor 'gradcam_layer' to take features from"
        )
    captured: list[torch.Tensor] = []

    def hook(_module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        captured.append(output.mean(dim=(2, 3)) if pool else inputs[0])

    handle = layer.register_forward_hook(hook)
    parts = []
    try:
        net.eval()
        with torch.inference_mode():
            for lo in range(0, len(images), batch_size):
                captured.clear()
                net(as_network_input(images[lo : lo + batch_size], torch.device(device)))
                parts.append(captured[-1].float().reshape(captured[-1].shape[0], -1).cpu().numpy())
    finally:
        handle.remove()
    return np.concatenate(parts) if parts else np.empty((0, 0), dtype=np.float32)


def diverse_order(
    scores: np.ndarray, features: np.ndarray, *, n_first: int = 24, pool_factor: int = 5, seed: int = 0
) -> np.ndarray:
    """Order cutouts by score, the first ``n_first`` spread over clusters in feature space.

    The ``n_first * pool_factor`` best-scored cutouts are grouped into ``n_first`` k-means
    clusters of their standardised features; the order takes the best cutout of each cluster in
    turn (clusters by their best score), then continues by score.

    Parameters
    ----------
    scores : ndarray of shape (N,)
        Acquisition scores, higher first.
    features : ndarray of shape (N, D)
        Features of the cutouts (see :func:`embed`).
    n_first : int, optional
        Cutouts to spread (a screen's worth, or a labelling batch).
    pool_factor : int, optional
        Size of the candidate pool relative to ``n_first``.
    seed : int, optional
        Seed of k-means.

    Returns
    -------
    ndarray of shape (N,), int
        Positions in the order to label.

    Raises
    ------
    deepshadows.errors.InputError
        If the shapes do not match.
    """
    from sklearn.cluster import KMeans

    s = np.asarray(scores, dtype=np.float64)
    f = np.asarray(features, dtype=np.float64).reshape(len(s), -1) if len(s) else np.empty((0, 1))
    if f.shape[0] != s.shape[0]:
        raise InputError(f"diverse_order: {len(s)} scores but {f.shape[0]} feature rows")
    by_score = np.argsort(-s, kind="stable")
    pool = by_score[: max(int(n_first), 1) * max(int(pool_factor), 1)]
    k = min(int(n_first), len(pool))
    if k < 2:
        return by_score
    x = f[pool]
    x = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    distinct = len(np.unique(x.round(6), axis=0))
    if distinct < 2:
        return by_score
    groups = KMeans(n_clusters=min(k, distinct), n_init=3, random_state=seed).fit_predict(x)
    queues = [list(pool[groups == g]) for g in np.unique(groups)]  # each already in score order
    queues.sort(key=lambda q: -s[q[0]])
    first: list[int] = []
    while len(first) < k:
        for q in queues:
            if q and len(first) < k:
                first.append(int(q.pop(0)))
    taken = set(first)
    return np.array(first + [int(i) for i in by_score if int(i) not in taken], dtype=np.int64)
