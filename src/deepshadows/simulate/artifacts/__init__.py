"""Artifacts of LSBG searches (science specification, section 5): priors and rendering.

Type 2 (the paper's main negative class, look-alikes rejected only by eye):

A. a faint compact object in the diffuse light of a bright star or giant elliptical;
B. Galactic cirrus;
C. knots in the arm of a large spiral galaxy;
D. tidal ejecta (streams, plumes, shells) of a high-surface-brightness galaxy;
F. faint groups of galaxies that SourceExtractor merges.

Type 1 (the extra class of the paper's appendix A):

E. a bright star with diffraction spikes, extended wings and, in DES, a bleed trail; in HSC a
   ghost halo.

Each subclass's sampler returns a flat dict of truth parameters; ``draw_artifact`` renders them.
The subclasses live in modules by concern: :mod:`.hosts` (A, C, D, F), :mod:`.diffuse` (B) and
:mod:`.stars` (E); this module dispatches to them.
"""

from __future__ import annotations

import numpy as np

from deepshadows.classes import SUBCLASS_NAMES
from deepshadows.simulate.artifacts import diffuse, hosts, stars
from deepshadows.simulate.artifacts._shared import Drawer, Sampler
from deepshadows.simulate.render import Scene
from deepshadows.surveys import Survey

__all__ = ["SUBCLASS_NAMES", "TYPE2_MIX", "draw_artifact", "sample_artifact"]

#: Default mix of type-2 subclasses. The science specification suggests A 40, B 10, C 15, D 10, F 15
#: (with E moved to type 1); fewer halo artifacts and more faint blends bring the background level
#: of the artifact cutouts closer to that of real ones (section 7b), so the default is this.
TYPE2_MIX: dict[str, float] = {"A": 0.35, "B": 0.10, "C": 0.15, "D": 0.10, "F": 0.30}

_SAMPLERS: dict[str, Sampler] = {}
_DRAWERS: dict[str, Drawer] = {}
for _module in (hosts, diffuse, stars):
    _SAMPLERS |= _module.SAMPLERS
    _DRAWERS |= _module.DRAWERS


def sample_artifact(rng: np.random.Generator, subclass: str, survey: Survey) -> dict[str, float]:
    """Draw the truth parameters of one artifact of the given subclass (``"A"`` to ``"F"``).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    subclass : {"A", "B", "C", "D", "E", "F"}
        Artifact subclass (see the module description).
    survey : Survey
        Survey whose optics shape the artifact; only bright stars (``"E"``) depend on it:
        diffraction spikes and bleed trails in DES, ghost halos in HSC.

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
    subclass : {"A", "B", "C", "D", "E", "F"}
        Artifact subclass.
    params : dict of str to float
        Truth parameters from :func:`sample_artifact` for the same subclass.
    rng : numpy.random.Generator
        Source of randomness for the details not fixed by ``params``: weights, positions and
        shapes of compact objects, group members and star-forming knots.
    survey : Survey
        Survey of the scene (sets the level of saturated bleed trails).
    """
    _DRAWERS[subclass](scene, params, rng, survey)
