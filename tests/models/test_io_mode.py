"""Weight files are readable by everyone, like every other output."""

from __future__ import annotations

import stat
from pathlib import Path

from deepshadows.models import create_model, save_model


def test_saved_weights_are_readable_by_all(tmp_path: Path) -> None:
    model = create_model("deepshadows-table1", image_size=32)
    path = save_model(model, tmp_path / "m.safetensors", metadata={})
    mode = stat.S_IMODE(Path(path).stat().st_mode)
    assert mode & stat.S_IRGRP and mode & stat.S_IROTH
