"""FITS cutouts at a pixel scale other than the survey's: the stored cutout before and after reading the WCS.

The same smooth low-surface-brightness galaxy (and a compact source beside it) is rendered at
the Legacy Survey's native 0.262 arcsec per pixel and at 0.2 arcsec per pixel, as the cutout
service serves it at ``pixscale=0.2`` (values interpolated, still nanomaggies per native pixel;
a TAN WCS and ``BANDS='grz'`` in the header). Both are imported with ``--survey ls-dr9``, and
the 0.2-arcsec one also as if its pixels were native (the importer's old behaviour, or
``--pixel-scale 0.262``). The figure shows the two cutouts and their difference, before and
after; the script prints the largest and mean absolute differences in 8-bit steps and the
r-band magnitude and half-light radius measured on each.

Usage: python scripts/fits_pixel_scale_figure.py [--out docs/fits_pixel_scale.png] [--image-size 64]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from astropy.io import fits  # noqa: E402

from deepshadows.data import Store, import_folder  # noqa: E402

NATIVE, FINE = 0.262, 0.2


def sky(scale: float, side: int) -> np.ndarray:
    """The g, r, z images of the object at ``scale`` arcsec per pixel, nanomaggies per native pixel."""
    x = (np.arange(side) - (side - 1) / 2) * scale
    xx, yy = np.meshgrid(x, x)
    planes = []
    for amp in (0.02, 0.03, 0.045):
        disk = amp * np.exp(-np.sqrt(xx**2 + (yy / 0.7) ** 2 + 1.0) / 3.0)
        star = 0.3 * amp * np.exp(-0.5 * ((xx - 6) ** 2 + (yy + 4) ** 2) / 0.8**2)
        planes.append(disk + star)
    return np.stack(planes).astype(np.float32)


def write_cutout(folder: Path, scale: float, side: int) -> Path:
    """Write the object as a grz cube with a TAN WCS of ``scale`` arcsec per pixel."""
    header = fits.Header()
    header.update(
        BANDS="grz", CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRVAL1=150.1, CRVAL2=2.2,
        CRPIX1=(side + 1) / 2, CRPIX2=(side + 1) / 2, CD1_1=-scale / 3600, CD2_2=scale / 3600,
    )  # fmt: skip
    folder.mkdir(parents=True)
    fits.PrimaryHDU(sky(scale, side), header=header).writeto(folder / "obj.fits")
    return folder


def imported(folder: Path, out: Path, image_size: int, pixel_scale: float | None = None) -> Store:
    """Import one folder with ``--survey ls-dr9``."""
    result = import_folder(
        folder, labels_csv=None, out=out, survey="ls-dr9", image_size=image_size, pixel_scale=pixel_scale
    )
    return Store(result.path)


def main() -> None:
    """Render, import, print the differences and save the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/fits_pixel_scale.png"))
    parser.add_argument("--image-size", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        native_dir = write_cutout(root / "native", NATIVE, 160)
        fine_dir = write_cutout(root / "fine", FINE, 256)
        stores = {
            "native": imported(native_dir, root / "native.h5", args.image_size),
            "before": imported(fine_dir, root / "before.h5", args.image_size, pixel_scale=NATIVE),
            "after": imported(fine_dir, root / "after.h5", args.image_size),
        }
        images = {name: store.read_images()[0] for name, store in stores.items()}
        features = {name: store.features_table()[0] for name, store in stores.items()}
    reference = images["native"].astype(int)
    diffs = {name: np.abs(images[name].astype(int) - reference) for name in ("before", "after")}
    print(f"{'':28s} {'max |diff|':>10s} {'mean |diff|':>11s} {'mag_auto_r':>10s} {'flux_radius_r':>13s}")
    for name, label in (("native", "0.262\"/px (native)"), ("before", "0.2\"/px read as native"),
                        ("after", "0.2\"/px from the header")):  # fmt: skip
        diff = diffs.get(name, np.zeros(1, int))
        row = features[name]
        print(
            f"{label:28s} {diff.max():10d} {diff.mean():11.3f} {row['mag_auto_r']:10.3f} "
            f"{row['flux_radius_r']:13.3f}"
        )

    vmax = max(int(d.max()) for d in diffs.values())
    fig, axes = plt.subplots(2, 3, figsize=(9, 6.4), constrained_layout=True)
    titles = {"before": '0.2"/px read as native (before)', "after": '0.2"/px, scale from the WCS (after)'}
    for row, name in enumerate(("before", "after")):
        axes[row, 0].imshow(images["native"], interpolation="nearest")
        axes[row, 0].set_title('0.262"/px (native)', fontsize=9)
        axes[row, 1].imshow(images[name], interpolation="nearest")
        axes[row, 1].set_title(titles[name], fontsize=9)
        shown = axes[row, 2].imshow(
            diffs[name].max(axis=-1), cmap="magma", vmin=0, vmax=vmax, interpolation="nearest"
        )
        axes[row, 2].set_title(
            f"|difference|: max {diffs[name].max()}, mean {diffs[name].mean():.2f} (8-bit steps)", fontsize=9
        )
        fig.colorbar(shown, ax=axes[row, 2], shrink=0.8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(
        f"The same object imported with --survey ls-dr9 ({args.image_size}-pixel cutouts)", fontsize=10
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
