"""What a run adds to its batches for the real sky: augmentation and domain adaptation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from deepshadows.adapt import FeatureAlignment, TargetBatches
from deepshadows.augment import STRONG, WEAK, Augmenter, augment_config
from deepshadows.training.config import TrainConfig

# Internal to the training package.
__all__: list[str] = []


@dataclass
class DomainTools:
    """The augmenter, target batches and alignment loss of a run (each None when off)."""

    augmenter: Augmenter | None
    target: TargetBatches | None
    alignment: FeatureAlignment | None
    unlabelled: TargetBatches | None = None
    views: tuple[Augmenter, Augmenter] | None = None

    @classmethod
    def for_run(cls, cfg: TrainConfig, image_shape: tuple[int, int, int]) -> DomainTools:
        """Build the tools that ``cfg`` asks for; ``image_shape`` is (H, W, C) of the cutouts."""
        config = augment_config(cfg.augment)
        augmenter = None if config is None else Augmenter(config, cfg.seed)
        target = alignment = None
        if cfg.adapt_to is not None:
            target = TargetBatches(cfg.adapt_to, image_shape, seed=cfg.seed)
            alignment = FeatureAlignment(cfg.adapt_loss)
        unlabelled = views = None
        if cfg.unlabelled is not None:
            unlabelled = TargetBatches(cfg.unlabelled, image_shape, seed=cfg.seed, option="--unlabelled")
            views = (Augmenter(WEAK, cfg.seed), Augmenter(STRONG, cfg.seed))
        return cls(augmenter, target, alignment, unlabelled, views)

    def start_epoch(self, seed: int) -> None:
        """Re-seed every random draw from the epoch's seed (a resumed run repeats them)."""
        streams = np.random.SeedSequence(seed).generate_state(2, dtype=np.uint64)
        if self.augmenter is not None:
            self.augmenter.reseed(int(streams[0]))
        if self.target is not None:
            self.target.reseed(int(streams[1]))
        if self.unlabelled is not None and self.views is not None:
            more = np.random.SeedSequence([seed, 1]).generate_state(3, dtype=np.uint64)
            self.unlabelled.reseed(int(more[0]))
            self.views[0].reseed(int(more[1]))
            self.views[1].reseed(int(more[2]))

    def augment(self, batches: Iterator[tuple[Any, Any]]) -> Iterator[tuple[Any, Any]]:
        """Yield the training batches augmented (unchanged when augmentation is off)."""
        if self.augmenter is None:
            yield from batches
            return
        for x, y in batches:
            yield self.augmenter(x), y

    def loop_arguments(self, batch_size: int) -> dict[str, Any]:
        """Keyword arguments of :func:`deepshadows.training.loop.train_one_epoch` for adaptation."""
        if self.unlabelled is not None and self.views is not None:
            weak, strong = self.views
            pairs = ((weak(u), strong(u)) for u in self.unlabelled.batches(batch_size))
            return {"unlabelled_views": pairs}
        if self.target is None or self.alignment is None:
            return {}
        return {
            "target_batches": self.target.batches(batch_size, transform=self.augmenter),
            "alignment": self.alignment,
        }
