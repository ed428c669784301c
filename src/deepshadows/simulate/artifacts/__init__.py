"""Artifacts of LSBG searches (science specification, section 5): priors and rendering.

Type 2 (the paper's main negative class). Faint look-alikes, rejected only by eye:

A. a faint compact object in the diffuse light of a bright star or giant elliptical;
B. Galactic cirrus;
C. knots in the arm of a large spiral galaxy;
D. tidal ejecta (streams, plumes, shells) of a high-surface-brightness galaxy;
F. faint groups of galaxies that SourceExtractor merges.

Bright objects that real candidate lists hold through deblending shreds of their outer parts
(exempt from the catalogue preselection, :data:`deepshadows.classes.PRESELECTION_EXEMPT`):

G. a whole bright galaxy at the centre (elliptical, lenticular, face-on spiral, edge-on disc);
H. a bright saturated star near the centre, its core masked per band (coloured rings);
I. a crowded field (globular clusters, a galaxy group) or the inside of a very large galaxy.

Type 1 (the extra class of the paper's appendix A):

E. a bright star with diffraction spikes, extended wings and, in DES, a bleed trail; in HSC a
   ghost halo.

Each subclass's sampler returns a flat dict of truth parameters; ``draw_artifact`` renders them.
The subclasses live in modules by concern: :mod:`.hosts` (A, C, D, F), :mod:`.diffuse` (B),
:mod:`.stars` (E), :mod:`.bright_galaxies` (G), :mod:`.saturated_stars` (H) and :mod:`.crowded` (I);
this module dispatches to them.
"""

from __future__ import annotations

import numpy as np

from deepshadows.classes import SUBCLASS_NAMES
from deepshadows.simulate.artifacts import bright_galaxies, crowded, diffuse, hosts, saturated_stars, stars
from deepshadows.simulate.artifacts._shared import Drawer, Sampler
from deepshadows.simulate.render import Scene
from deepshadows.surveys import Survey

__all__ = [
    "ARTIFACT_MIXES",
    "PAPER_TYPE2_MIX",
    "SUBCLASS_NAMES",
    "TYPE2_MIX",
    "draw_artifact",
    "sample_artifact",
]

#: Default mix of type-2 subclasses, calibrated by eye on the 30 artifacts of the random part of the
#: real development set (Legacy Survey DR9 cutouts of DES Y3 candidates). Counted there:
#:
#: - 10 whole bright galaxies at or near the centre (ellipticals, lenticulars, face-on spirals with a
#:   bulge, edge-on discs, two or three bright galaxies in the field) -> G 0.33;
#: - 6 bright saturated stars near the centre or entering from the edge (coloured rings, spikes,
#:   bleed trails) -> H 0.20;
#: - 3 crowded fields or cutouts inside the disc of a very large galaxy -> I 0.10;
#: - 11 faint look-alikes -> 0.37 shared by the faint subclasses as seen: 3 faint spirals with
#:   knots (C), 3 streaks and tidal features (D), 3 diffuse glows (A 0.07, B 0.05) and 2 compact
#:   blends (F).
#:
#: The science specification's faint-only mix (A 40, B 10, C 15, D 10, F 15) described none of the
#: bright content that dominates real random artifacts.
TYPE2_MIX: dict[str, float] = {
    "A": 0.07,
    "B": 0.05,
    "C": 0.09,
    "D": 0.08,
    "F": 0.08,
    "G": 0.33,
    "H": 0.20,
    "I": 0.10,
}

#: The faint look-alikes of the paper only, in the shares of the simulator before the bright
#: subclasses were added: ``simulate --artifact-mix paper --randomize none`` makes exactly the
#: sets that it made.
PAPER_TYPE2_MIX: dict[str, float] = {"A": 0.35, "B": 0.10, "C": 0.15, "D": 0.10, "F": 0.30}

#: Named type-2 mixes of ``simulate --artifact-mix``.
ARTIFACT_MIXES: dict[str, dict[str, float]] = {"real": TYPE2_MIX, "paper": PAPER_TYPE2_MIX}

_SAMPLERS: dict[str, Sampler] = {}
_DRAWERS: dict[str, Drawer] = {}
for _module in (hosts, diffuse, stars, bright_galaxies, saturated_stars, crowded):
    _SAMPLERS |= _module.SAMPLERS
    _DRAWERS |= _module.DRAWERS


def sample_artifact(rng: np.random.Generator, subclass: str, survey: Survey) -> dict[str, float]:
    """Draw the truth parameters of one artifact of the given subclass (``"A"`` to ``"I"``).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    subclass : {"A", "B", "C", "D", "E", "F", "G", "H", "I"}
        Artifact subclass (see the module description).
    survey : Survey
        Survey whose optics shape the artifact; only bright stars (``"E"``, ``"H"``) depend on
        it: diffraction spikes and bleed trails in DES, ghost halos in HSC.

    Returns
    -------
    dict of str to float
        Flat truth parameters (positions and sizes in arcsec, magnitudes in AB mag, angles in
        degrees), as :func:`draw_artifact` takes them.
    """
    return {key: float(value) for key, value in _SAMPLERS[subclass](rng, survey).items()}


def draw_artifact(
    scene: Scene, subclass: str, params: dict[str, float], rng: np.random.Generator, survey: Survey
) -> None:
    """Render an artifact of ``subclass`` with truth ``params`` into ``scene``.

    Parameters
    ----------
    scene : Scene
        Scene the light is added to, in place.
    subclass : {"A", "B", "C", "D", "E", "F", "G", "H", "I"}
        Artifact subclass.
    params : dict of str to float
        Truth parameters from :func:`sample_artifact` for the same subclass.
    rng : numpy.random.Generator
        Source of randomness for the details not fixed by ``params``: weights, positions and
        shapes of compact objects, group members and star-forming knots.
    survey : Survey
        Survey of the scene (sets the level of saturated bleed trails and masked star cores).
    """
    _DRAWERS[subclass](scene, params, rng, survey)
