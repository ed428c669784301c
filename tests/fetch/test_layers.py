"""The Legacy Survey layers ls-dr9 and ls-dr10, fetched from the loopback server."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from click.testing import CliRunner

from deepshadows.cli.fetch import fetch_command
from deepshadows.data import open_store
from deepshadows.data.fits import measure_band_features, read_fits_cube
from deepshadows.errors import InputError
from deepshadows.features import FEATURE_NAMES
from deepshadows.fetch import LAYERS, CutoutConfig, fetch_catalog, fits_url, jpeg_url
from deepshadows.fetch.cutouts import parse_jpeg
from deepshadows.viewer import bands_to_cutout, resize_cutout

LS_LAYERS = ("ls-dr9", "ls-dr10")

pytestmark = pytest.mark.skipif(
    any(layer not in LAYERS for layer in LS_LAYERS),
    reason="the Legacy Survey layers come from deepshadows.surveys (LS_DR9, LS_DR10)",
)


def _query(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(url).query).items()}


@pytest.mark.parametrize("layer", LS_LAYERS)
def test_layer_urls(layer: str) -> None:
    config = CutoutConfig(layer=layer, fits=True).validate()
    assert config.survey is LAYERS[layer] and config.survey.layer == layer
    jpeg = _query(jpeg_url(config, 10.0, -20.0))
    assert jpeg["layer"] == layer and jpeg["zoom"] == "15"
    fits = _query(fits_url(config, 10.0, -20.0))
    assert fits["layer"] == layer and fits["bands"] == "grz"
    assert fits["pixscale"] == "0.262" and fits["size"] == str(config.survey.stamp_pixels)


def test_i_band_only_where_the_layer_serves_it() -> None:
    assert CutoutConfig(layer="ls-dr10", bands="griz").validate().bands == "griz"
    with pytest.raises(InputError, match="--bands: layer ls-dr9 serves FITS bands g, r, z only"):
        CutoutConfig(layer="ls-dr9", bands="griz").validate()


@pytest.mark.parametrize("layer", LS_LAYERS)
def test_fetched_rows_carry_the_layer(make_server, coordinates, write_catalog, fast, tmp_path, layer) -> None:
    rows = coordinates(6)
    server = make_server()
    out = tmp_path / f"{layer}.h5"
    result = fetch_catalog(write_catalog(rows), out, layer=layer, base_url=server.url, **fast)
    assert result.n_stored == 6 and server.counts["jpeg"] == 6
    with open_store(out) as store:
        images = store.read_images()
        assert store.config["layer"] == layer and store.config["survey"] == LAYERS[layer].name
        assert store.attrs["survey"]["layer"] == layer
    # The server draws each JPEG from the layer it was asked for: the stored cutouts are the
    # ls ones, not those of the default des-dr1 layer.
    for k, (_, ra, dec) in enumerate(rows):
        ours = resize_cutout(parse_jpeg(server.jpeg_bytes(ra, dec, layer=layer)), size=64, resize="lanczos")
        des = resize_cutout(parse_jpeg(server.jpeg_bytes(ra, dec)), size=64)
        np.testing.assert_array_equal(images[k], ours)
        assert not np.array_equal(images[k], des)


def test_ls_dr10_griz_fits_make_grz_cutouts(make_server, coordinates, write_catalog, fast, tmp_path) -> None:
    rows = coordinates(3)
    server = make_server()
    out = tmp_path / "dr10.h5"
    fetch_catalog(
        write_catalog(rows), out, layer="ls-dr10", bands="griz", from_fits=True, base_url=server.url, **fast
    )
    survey = LAYERS["ls-dr10"]
    with open_store(out) as store:
        images = store.read_images()
        table = store.features_table()
        features = np.stack([np.asarray(table[c]) for c in table.colnames], axis=1)
    for k, (_, ra, dec) in enumerate(rows):
        raw = server.fits_bytes(ra, dec, layer="ls-dr10", size=survey.stamp_pixels, bands="griz")
        bands = read_fits_cube(raw, bands=tuple("griz"))
        grz = {b: bands[b] for b in "grz"}
        np.testing.assert_array_equal(images[k], bands_to_cutout(grz, survey=survey, resize=survey.resize))
        expected, _ = measure_band_features(bands, survey=survey, pixel_scale=survey.native_scale)
        np.testing.assert_array_equal(features[k], expected.astype(np.float32))
    assert np.isfinite(features[:, FEATURE_NAMES.index("g_i")]).all()


def test_cli_accepts_the_layers(make_server, coordinates, write_catalog, tmp_path) -> None:
    server = make_server()
    out = tmp_path / "cli.h5"
    args = [str(write_catalog(coordinates(2))), "--layer", "ls-dr10", "--out", str(out)]
    args += ["--base-url", server.url, "--timeout", "0.5", "--backoff", "0.005", "--quiet"]
    result = CliRunner().invoke(fetch_command, args)
    assert result.exit_code == 0, result.output
    with open_store(out) as store:
        assert store.config["layer"] == "ls-dr10"
    assert "ls-dr9" in CliRunner().invoke(fetch_command, ["--help"]).output


def test_resize_defaults_to_the_layers_own_filter():
    assert CutoutConfig(layer="des-dr1").resize == "nearest"
    assert CutoutConfig(layer="hsc2").resize == "nearest"
    assert CutoutConfig(layer="ls-dr9").resize == "lanczos"  # as the simulated ls-dr9/ls-dr10 sets
    assert CutoutConfig(layer="ls-dr10").resize == "lanczos"
    assert CutoutConfig(layer="ls-dr10", resize="bicubic").validate().resize == "bicubic"
