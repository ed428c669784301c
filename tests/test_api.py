"""The package's top-level API: every public name resolves, lazily, to the library function."""

from __future__ import annotations

import subprocess
import sys

import pytest

import deepshadows as ds


def test_every_public_name_resolves() -> None:
    from deepshadows.predict import predict
    from deepshadows.training import fit

    for name in ds.__all__:
        assert callable(getattr(ds, name)) or name == "__version__"
    assert ds.fit is fit and ds.classify is predict
    assert set(ds.__all__) <= set(dir(ds))
    with pytest.raises(AttributeError, match="no attribute 'train'"):
        ds.train  # noqa: B018


def test_import_is_light() -> None:
    code = "import sys, deepshadows; print('torch' in sys.modules, 'galsim' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
