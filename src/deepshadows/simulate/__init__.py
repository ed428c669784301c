"""The simulated survey: GalSim scenes of LSBGs, artifacts and field sources, seen through the viewer."""

from __future__ import annotations

from deepshadows.simulate.artifacts import SUBCLASS_NAMES, TYPE2_MIX
from deepshadows.simulate.cutout import CutoutSpec, SimulatedCutout, render_bands, simulate_cutout
from deepshadows.simulate.dataset import SimConfig, assign_classes, make_dataset, object_seed
from deepshadows.simulate.lsbg import LSBGPriors

__all__ = [
    "SUBCLASS_NAMES",
    "TYPE2_MIX",
    "CutoutSpec",
    "LSBGPriors",
    "SimConfig",
    "SimulatedCutout",
    "assign_classes",
    "make_dataset",
    "object_seed",
    "render_bands",
    "simulate_cutout",
]
