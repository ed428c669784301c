"""Batches of unlabelled target cutouts for domain adaptation, drawn without end."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import numpy as np
import torch

from deepshadows.errors import InputError
from deepshadows.store.reader import open_store

__all__ = ["TargetBatches"]

_MAX_TARGET_ROWS = 200_000


class TargetBatches:
    """Every cutout of a store, reshuffled on each pass, as endless batches.

    Labels and splits of the store are ignored: adaptation uses the images only. The cutouts are
    held in memory (at most 200,000 are used, drawn at random).

    Parameters
    ----------
    path : str or os.PathLike
        The store of target cutouts (``deepshadows fetch`` or ``import`` makes one).
    image_shape : tuple of int
        (H, W, C) of the training cutouts; the target cutouts must match.
    seed : int, optional
        Seed of the order.
    option : str, optional
        The option that named the store, for error messages.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        image_shape: tuple[int, int, int],
        *,
        seed: int = 0,
        option: str = "--adapt-to",
    ) -> None:
        with open_store(path) as store:
            n = len(store)
            if n == 0:
                raise InputError(f"{option}: {path}: the store holds no cutouts")
            rows = np.arange(n)
            if n > _MAX_TARGET_ROWS:
                rows = np.sort(np.random.default_rng(seed).choice(n, _MAX_TARGET_ROWS, replace=False))
            self.images = store.read_images(rows)
        if tuple(self.images.shape[1:]) != tuple(image_shape):
            raise InputError(
                f"{option}: {path}: cutouts of shape {tuple(self.images.shape[1:])}, "
                f"but the training cutouts are {tuple(image_shape)}"
            )
        self.path = str(path)
        self._rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        """Return the number of target cutouts."""
        return len(self.images)

    def reseed(self, seed: int) -> None:
        """Restart the order from ``seed`` (e.g. once per epoch, so that a resumed run matches).

        Parameters
        ----------
        seed : int
            The new seed.
        """
        self._rng = np.random.default_rng(seed)

    def batches(
        self, batch_size: int, transform: Callable[[np.ndarray], torch.Tensor] | None = None
    ) -> Iterator[torch.Tensor | np.ndarray]:
        """Yield batches of ``batch_size`` cutouts without end.

        Parameters
        ----------
        batch_size : int
            Cutouts per batch (a smaller target set is repeated within a batch).
        transform : callable, optional
            Applied to every uint8 batch (e.g. a :class:`deepshadows.augment.Augmenter`).

        Yields
        ------
        torch.Tensor or ndarray
            uint8 cutouts (B, H, W, C), or what ``transform`` makes of them.
        """
        n = len(self.images)
        queue = np.empty(0, dtype=np.int64)
        while True:
            while queue.size < batch_size:
                queue = np.concatenate([queue, self._rng.permutation(n)])
            pick, queue = queue[:batch_size], queue[batch_size:]
            batch = self.images[np.sort(pick)]
            yield batch if transform is None else transform(batch)
