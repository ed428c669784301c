"""How the calibration statistics of simulated DES cutouts change with depth.

The real statistics that ``deepshadows inspect`` compares against (science specification,
section 7b) come from two sets of cutouts recovered from published figures: 36 from the
DeepShadows paper (des-dr1 layer) and 150 from a public re-implementation (ls-dr9 layer, the
same sky imaged about twice as deep). This script simulates the same objects at the DES DR1
noise level and with the noise scaled down to the ls-dr9 level, and prints the medians of the
four statistics next to the real ones, plus those of noise-only cutouts (the Gaussian floor) and
of the DES-depth cutouts after a round trip through a 72-pixel image and back (bicubic, JPEG
quality 95 in between), the kind of processing a figure and its read-back apply.

Usage: python scripts/calibration_depth.py [--n 220] [--deep-factor 0.35] [--seed 1000]
"""

from __future__ import annotations

import argparse
import dataclasses
import io

import numpy as np
from PIL import Image
from threadpoolctl import threadpool_limits

from deepshadows.domain.realism import REAL_TARGETS, cutout_statistics, format_statistic
from deepshadows.simulate import CutoutSpec, simulate_cutout
from deepshadows.simulate.noise import add_noise
from deepshadows.surveys import BANDS, DES, Survey
from deepshadows.viewer import bands_to_cutout

_TYPE2_MIX = "AAAABCCDFFF"  # close to the default type-2 mix (A 35 %, B 10 %, C 15 %, D 10 %, F 30 %)


def scaled_survey(factor: float) -> Survey:
    """DES with every band's pixel noise multiplied by ``factor``."""
    return dataclasses.replace(DES, noise_sigma={band: s * factor for band, s in DES.noise_sigma.items()})


def noise_only(survey: Survey, n: int, seed: int) -> dict[str, np.ndarray]:
    """Statistics of cutouts that hold nothing but the survey's noise."""
    rng = np.random.default_rng(seed)
    sigma = np.array([survey.noise_sigma[band] for band in BANDS])
    images = []
    for _ in range(n):
        bands = np.zeros((len(BANDS), survey.stamp_pixels, survey.stamp_pixels), dtype=np.float32)
        add_noise(bands, sigma, rng, correlation_px=survey.noise_correlation)
        images.append(bands_to_cutout(bands, survey=survey))
    return cutout_statistics(np.stack(images))


def figure_roundtrip(image: np.ndarray, size: int = 72, quality: int = 95) -> np.ndarray:
    """Resample a cutout to ``size`` pixels, JPEG-compress it and resample it back (bicubic)."""
    side = image.shape[0]
    buffer = io.BytesIO()
    enlarged = Image.fromarray(image).resize((size, size), Image.Resampling.BICUBIC)
    enlarged.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB").resize((side, side), Image.Resampling.BICUBIC))


def simulated(survey: Survey, n: int, seed: int) -> dict[str, list[np.ndarray]]:
    """``n`` LSBG and about ``n`` type-2 cutouts simulated at ``survey``'s depth, by class."""
    jobs = [("lsbg", "")] * n + [("type2", sub) for sub in _TYPE2_MIX] * (n // len(_TYPE2_MIX))
    images: dict[str, list[np.ndarray]] = {"lsbg": [], "artifact": []}
    for i, (kind, subclass) in enumerate(jobs):
        spec = CutoutSpec(survey=survey, kind=kind, subclass=subclass)  # type: ignore[arg-type]
        images["lsbg" if kind == "lsbg" else "artifact"].append(simulate_cutout(spec, seed + i).image)
    return images


def _fmt(statistic: str, values: np.ndarray | tuple[float, ...]) -> str:
    return ", ".join(format_statistic(statistic, float(v)) for v in values)


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--n", type=int, default=220, help="LSBGs per depth (and about as many artifacts)")
    parser.add_argument("--deep-factor", type=float, default=0.35, help="noise factor of the deep set")
    parser.add_argument("--seed", type=int, default=1000)
    args = parser.parse_args()
    threadpool_limits(1)
    statistics = ("bg_std", "clip_frac", "center_excess")
    print("| set | class | " + " | ".join(f"{s} (R, G, B)" for s in statistics) + " |")
    print("|---|---|" + "---|" * len(statistics))
    for factor, layer in [(1.0, "des-dr1"), (args.deep_factor, "ls-dr9")]:
        survey = scaled_survey(factor)
        floor = noise_only(survey, 100, args.seed)
        cells = [_fmt(s, np.median(floor[s], axis=0)) for s in statistics]
        print(f"| simulated, noise x {factor:g}, noise only | - | " + " | ".join(cells) + " |")
        images = simulated(survey, args.n, args.seed)
        for cls, stack in images.items():
            values = cutout_statistics(np.stack(stack))
            cells = [_fmt(s, np.median(values[s], axis=0)) for s in statistics]
            print(f"| simulated, noise x {factor:g} | {cls} | " + " | ".join(cells) + " |")
        if factor == 1.0:
            for cls, stack in images.items():
                values = cutout_statistics(np.stack([figure_roundtrip(image) for image in stack]))
                cells = [_fmt(s, np.median(values[s], axis=0)) for s in statistics]
                print(f"| simulated, noise x 1, 72-px round trip | {cls} | " + " | ".join(cells) + " |")
        for cls in ("lsbg", "artifact"):
            real = REAL_TARGETS[layer][cls]
            cells = [_fmt(s, real[s]["median"]) for s in statistics]
            print(f"| real {layer} | {cls} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
