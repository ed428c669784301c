"""Transfer learning to a second survey: evaluation before and after fine-tuning (Section 5)."""

from __future__ import annotations

from deepshadows.transfer.ensemble import fine_tune_ensemble
from deepshadows.transfer.finetune import MODES, fine_tune
from deepshadows.transfer.run import choose_samples, run_transfer

__all__ = ["MODES", "choose_samples", "fine_tune", "fine_tune_ensemble", "run_transfer"]
