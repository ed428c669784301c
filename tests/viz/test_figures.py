from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from PIL import Image

from deepshadows.errors import InputError
from deepshadows.viz import SUBCLASS_NAMES, contact_sheet, feature_distributions, group_label
from deepshadows.viz.contact_sheet import group_key


def png_pixels(path) -> np.ndarray:
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.format == "PNG"
        return np.asarray(im.convert("RGB"))


@pytest.fixture
def cutouts():
    rng = np.random.default_rng(0)
    groups = [("lsbg", "")] * 10 + [("artifact", "A")] * 12 + [("artifact", "b")] * 3
    groups += [("artifact", "E")] * 5
    images = rng.integers(0, 256, size=(len(groups), 64, 64, 3), dtype=np.uint8)
    kinds = [k for k, _ in groups]
    subclasses = [s for _, s in groups]
    return images, kinds, subclasses


def test_group_keys_and_labels():
    assert group_key("LSBG", "A") == "lsbg"
    assert group_key("artifact", "b") == "B"
    assert group_key("artifact", None) == "artifact"
    assert group_key("artifact", "halo") == "halo"
    assert group_label("lsbg") == "LSBG"
    assert group_label("A") == f"type 2 · A: {SUBCLASS_NAMES['A']}"
    assert group_label("E").startswith("type 1 · E: bright star with spikes")
    assert group_label("halo") == "artifact · halo"


def test_contact_sheet(tmp_path, cutouts):
    images, kinds, subclasses = cutouts
    backend = matplotlib.get_backend()
    out = contact_sheet(images, kinds, subclasses, tmp_path / "sheet.png", per_group=4)
    assert out == tmp_path / "sheet.png"
    pixels = png_pixels(out)
    # Four rows (LSBG, A, B with only 3 examples, E) of cutouts about 110 px high.
    assert 4 * 110 < pixels.shape[0] < 4 * 200
    assert 4 * 110 < pixels.shape[1] < 2000
    assert [p.name for p in tmp_path.iterdir()] == ["sheet.png"]
    assert matplotlib.get_backend() == backend

    fewer = contact_sheet(images[:10], kinds[:10], subclasses[:10], tmp_path / "lsbg.png", per_group=4)
    assert png_pixels(fewer).shape[0] < pixels.shape[0]


def test_contact_sheet_is_seeded(tmp_path, cutouts):
    images, kinds, subclasses = cutouts
    a = png_pixels(contact_sheet(images, kinds, subclasses, tmp_path / "a.png", seed=1, per_group=3))
    b = png_pixels(contact_sheet(images, kinds, subclasses, tmp_path / "b.png", seed=1, per_group=3))
    c = png_pixels(contact_sheet(images, kinds, subclasses, tmp_path / "c.png", seed=2, per_group=3))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_contact_sheet_titles_and_small_groups(tmp_path, cutouts):
    images, kinds, subclasses = cutouts
    out = contact_sheet(
        images[:2],
        ["lsbg", "artifact"],
        ["", "F"],
        tmp_path / "s.png",
        per_group=8,
        titles={"lsbg": "galaxies"},
    )
    assert png_pixels(out).shape[0] > 2 * 110


def test_contact_sheet_errors(tmp_path, cutouts):
    images, kinds, subclasses = cutouts
    with pytest.raises(InputError, match="kinds"):
        contact_sheet(images, kinds[:-1], subclasses, tmp_path / "x.png")
    with pytest.raises(InputError, match="per_group"):
        contact_sheet(images, kinds, subclasses, tmp_path / "x.png", per_group=0)
    with pytest.raises(InputError, match="images"):
        contact_sheet(images[..., 0], kinds, subclasses, tmp_path / "x.png")
    assert not list(tmp_path.iterdir())


def test_feature_distributions(tmp_path):
    rng = np.random.default_rng(0)
    n, f = 300, 19
    features = rng.normal(size=(n, f))
    features[rng.random((n, f)) < 0.05] = np.nan
    features[:, 3] = np.nan  # a column without any finite value
    features[:, 4] = 1.0  # a constant column
    features[::10, 10] = 30.0  # sentinel values far outside the bulk
    labels = rng.integers(0, 2, size=n)
    flags = (rng.random(n) < 0.1).astype(int)
    names = [f"feature_{j}" for j in range(f)]
    out = feature_distributions(features, names, labels, tmp_path / "features.png", flags=flags)
    pixels = png_pixels(out)
    assert pixels.shape[0] > 400 and pixels.shape[1] > 800
    assert [p.name for p in tmp_path.iterdir()] == ["features.png"]


def test_feature_distributions_string_labels_and_errors(tmp_path):
    features = np.arange(20.0).reshape(10, 2)
    labels = np.array(["lsbg", "artifact"] * 5)
    png_pixels(feature_distributions(features, ["a", "b"], labels, tmp_path / "f.png"))
    with pytest.raises(InputError, match="names"):
        feature_distributions(features, ["a"], labels, tmp_path / "g.png")
    with pytest.raises(InputError, match="labels"):
        feature_distributions(features, ["a", "b"], labels[:3], tmp_path / "g.png")
    with pytest.raises(InputError, match="flags"):
        feature_distributions(features, ["a", "b"], labels, tmp_path / "g.png", flags=[0, 1])
