"""The vocabulary of the data: kinds of object and artifact subclasses, defined once."""

from __future__ import annotations

__all__ = ["KINDS", "PRESELECTION_EXEMPT", "SUBCLASS_NAMES", "TYPE1_SUBCLASSES"]

#: Kinds of object: LSBGs, the paper's main artifacts (type 2) and the extra class of its
#: appendix A (type 1).
KINDS: tuple[str, ...] = ("lsbg", "type2", "type1")

#: Short descriptions of the artifact subclasses of the simulated survey.
SUBCLASS_NAMES: dict[str, str] = {
    "A": "faint object in halo of bright star/elliptical",
    "B": "Galactic cirrus",
    "C": "spiral-arm knots",
    "D": "tidal ejecta",
    "E": "bright star with spikes",
    "F": "faint groups / blends",
    "G": "bright galaxy at the centre",
    "H": "bright saturated star with masked core",
    "I": "crowded field / inside a large galaxy",
}

#: Subclasses that make up the type-1 (bright-star) artifacts; all others are type 2.
TYPE1_SUBCLASSES: frozenset[str] = frozenset({"E"})

#: Subclasses whose simulated objects need not pass the catalogue preselection (the mean-surface-
#: brightness cuts of :mod:`deepshadows.features.preselection`): the bright stars of type 1 and the
#: bright type-2 objects (G, H, I). Real candidate lists hold these through deblending shreds of
#: their outer parts, which do pass, while the simulated cutout is centred on the bright object
#: itself, whose measured features do not.
PRESELECTION_EXEMPT: frozenset[str] = TYPE1_SUBCLASSES | {"G", "H", "I"}
