from __future__ import annotations

import csv
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from deepshadows._io import partial_path
from deepshadows.data import StoreWriter, read_image, to_float
from deepshadows.errors import InputError
from deepshadows.predict import iter_input, logits_to_probabilities, predict, predict_logits
from deepshadows.predict import loading as loading_module
from deepshadows.predict import run as run_module

N = 300
IDS = [f"obj-{i:03d}" for i in range(N)]
IDS[5], IDS[6] = "with,comma", "ümlaut-é"


class TinyNet(nn.Module):
    """Conv, ReLU, global mean and a linear head: logits (N,) or (N, K)."""

    def __init__(self, classes: int | None = None, *, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.classes = classes
        self.conv = nn.Conv2d(3, 4, 3)
        self.head = nn.Linear(4, classes or 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(torch.relu(self.conv(x)).mean(dim=(2, 3))) * 20
        return out[:, 0] if self.classes is None else out


class MeanNet(nn.Module):
    """A nearly free model: the mean pixel value minus one half."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(1, 2, 3)) - 0.5


class FailingNet(nn.Module):
    """Wraps a model and raises on the given call, as a killed process would stop."""

    def __init__(self, inner: nn.Module, fail_on: int) -> None:
        super().__init__()
        self.inner, self.fail_on, self.calls = inner, fail_on, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls == self.fail_on:
            raise KeyboardInterrupt
        return self.inner(x)


def make_images(n: int, side: int = 64, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, side, side, 3), dtype=np.uint8)


def write_store(path: Path, images: np.ndarray, ids: list[str], *, step: int = 100) -> Path:
    n = images.shape[0]
    with StoreWriter(
        path,
        n_total=n,
        feature_dtype=None,
        truth_dtype=None,
        attrs={"config": {"test": True}},
        image_shape=images.shape[1:],
    ) as w:
        for lo in range(0, n, step):
            hi = min(lo + step, n)
            w.append(
                {
                    "images": images[lo:hi],
                    "label": np.full(hi - lo, -1),
                    "kind": np.full(hi - lo, ""),
                    "subclass": np.full(hi - lo, ""),
                    "id": np.asarray(ids[lo:hi], dtype=object),
                }
            )
        return w.finalize(np.full(n, ""), split_fractions=None, split_seed=None)


def use_model(monkeypatch: pytest.MonkeyPatch, model: nn.Module, **metadata: Any) -> None:
    meta = {"num_classes": 1, "model_kwargs": {}, **metadata}
    monkeypatch.setattr(loading_module, "_load_model", lambda path, device: (model, meta))


def direct(model: nn.Module, images: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return logits_to_probabilities(model.eval()(torch.from_numpy(to_float(images))).numpy())


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def assert_same_predictions(path: Path, reference: Path) -> None:
    """Same header, ids, order and labels; probabilities equal up to float32 summation order.

    Worker processes may run with another number of threads than the local process, and oneDNN
    then sums convolutions in another order: the last digit of a probability can differ.
    """
    header, rows = read_csv(path)
    ref_header, ref_rows = read_csv(reference)
    assert header == ref_header
    assert [(r[0], r[2]) for r in rows] == [(r[0], r[2]) for r in ref_rows]
    np.testing.assert_allclose(
        [float(r[1]) for r in rows], [float(r[1]) for r in ref_rows], rtol=1e-5, atol=1e-7
    )


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return make_images(N)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, images: np.ndarray) -> Path:
    return write_store(tmp_path_factory.mktemp("store") / "cutouts.h5", images, IDS)


@pytest.fixture(scope="module")
def model() -> TinyNet:
    return TinyNet().eval()


@pytest.fixture(scope="module")
def reference(model: TinyNet, images: np.ndarray) -> np.ndarray:
    return direct(model, images)


def save(path: Path, image: np.ndarray) -> Path:
    if path.suffix == ".png":
        Image.fromarray(image).save(path)
    else:
        Image.fromarray(image).save(path, quality=95)
    return path


# -- the kernel ----------------------------------------------------------------------------------


def test_predict_logits_matches_forward_and_batches(model: TinyNet, images: np.ndarray) -> None:
    logits = predict_logits(model, images[:20], batch_size=7)
    assert logits.shape == (20,) and logits.dtype == np.float32
    with torch.no_grad():
        expected = model(torch.from_numpy(to_float(images[:20]))).numpy()
    np.testing.assert_allclose(logits, expected, rtol=0, atol=1e-5)
    assert not model.training


def test_logits_do_not_depend_on_the_batch_size(model: TinyNet, images: np.ndarray) -> None:
    batched = predict_logits(model, images[:40])
    for batch_size in (1, 3, 7, 13):
        np.testing.assert_array_equal(predict_logits(model, images[:40], batch_size=batch_size), batched)


def test_logits_to_probabilities() -> None:
    p = logits_to_probabilities(np.array([-1000.0, 0.0, 1000.0], dtype=np.float32))
    np.testing.assert_allclose(p, [0.0, 0.5, 1.0])
    q = logits_to_probabilities(torch.tensor([[1000.0, 0.0, -5.0], [0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(q.sum(axis=1), 1.0)
    np.testing.assert_allclose(q[1], 1 / 3)
    with pytest.raises(ValueError, match="shape"):
        logits_to_probabilities(np.zeros((2, 2, 2)))


# -- inputs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 7, 128, 512])
def test_store_batches_cover_rows_from_start(store: Path, images: np.ndarray, batch_size: int) -> None:
    total, batches = iter_input(store, batch_size=batch_size, start=130)
    assert total == N
    got_ids: list[str] = []
    got: list[np.ndarray] = []
    for ids, batch in batches:
        assert len(ids) == batch.shape[0] <= batch_size
        got_ids += ids
        got.append(batch)
    assert got_ids == IDS[130:]
    np.testing.assert_array_equal(np.concatenate(got), images[130:])


def test_start_skips_rows_without_reading_them(tmp_path: Path, images: np.ndarray) -> None:
    (tmp_path / "a.png").write_bytes(b"not a png")
    save(tmp_path / "b.png", images[0])
    total, batches = iter_input(tmp_path, start=1)
    assert total == 2
    [(ids, batch)] = list(batches)
    assert ids == ["b"]
    np.testing.assert_array_equal(batch[0], images[0])
    with pytest.raises(InputError, match="a.png"):
        list(iter_input(tmp_path)[1])
    with pytest.raises(InputError, match="start at row 3"):
        iter_input(tmp_path, start=3)


def test_unknown_input_kinds(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match="notes.txt"):
        iter_input(tmp_path / "notes.txt")
    with pytest.raises(InputError, match="not found"):
        iter_input(tmp_path / "missing.h5")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no JPEG or PNG"):
        iter_input(tmp_path / "empty")


# -- predict -------------------------------------------------------------------------------------


def test_predict_store(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, store: Path, model: TinyNet, reference: np.ndarray
) -> None:
    threshold = float(np.median(reference))
    use_model(monkeypatch, model, threshold=threshold)
    out = tmp_path / "pred.csv"
    result = predict("model.pt", store, out, batch_size=64, precision="fp32", progress=False)
    assert result["n"] == N and result["out"] == out and result["threshold"] == threshold
    assert result["rows_per_second"] > 0 and result["resumed_from"] == 0
    assert not partial_path(out).exists()
    header, rows = read_csv(out)
    assert header == ["id", "probability", "label"]
    assert [r[0] for r in rows] == IDS
    probs = np.array([float(r[1]) for r in rows])
    np.testing.assert_allclose(probs, reference, rtol=0, atol=1e-6)
    labels = np.array([int(r[2]) for r in rows])
    np.testing.assert_array_equal(labels, (reference > threshold).astype(int))
    assert 0 < labels.sum() < N

    again = predict("model.pt", store, out, threshold=0.0, overwrite=True, precision="fp32", progress=False)
    assert again["threshold"] == 0.0
    assert {r[2] for r in read_csv(out)[1]} == {"1"}


def test_batch_sizes_give_identical_csv(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, store: Path, model: TinyNet
) -> None:
    use_model(monkeypatch, model)
    outputs = []
    for batch_size in (1, 7, 512):
        out = tmp_path / f"b{batch_size}.csv"
        predict("model.pt", store, out, batch_size=batch_size, precision="fp32", progress=False)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]


def test_predict_folder_and_single_image(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model: TinyNet, images: np.ndarray
) -> None:
    use_model(monkeypatch, model)
    folder = tmp_path / "cutouts"
    folder.mkdir()
    names = ["c.png", "a.jpg", "b.png", "e.jpeg", "d.png"]
    for name, image in zip(names, images, strict=False):
        save(folder / name, image)
    (folder / ".hidden").write_text("ignored")
    (folder / "sub").mkdir()
    order = sorted(names)
    expected = np.stack([read_image(folder / name) for name in order])
    out = tmp_path / "folder.csv"
    result = predict("model.pt", folder, out, batch_size=2, precision="fp32", progress=False)
    assert result["n"] == 5
    _, rows = read_csv(out)
    assert [r[0] for r in rows] == [Path(n).stem for n in order]
    np.testing.assert_allclose([float(r[1]) for r in rows], direct(model, expected), rtol=0, atol=1e-6)

    one = tmp_path / "one.csv"
    predict("model.pt", folder / "b.png", one, precision="fp32", progress=False)
    _, rows = read_csv(one)
    assert len(rows) == 1 and rows[0][0] == "b"
    assert abs(float(rows[0][1]) - direct(model, images[2:3])[0]) < 1e-6


def test_three_classes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, store: Path, images: np.ndarray
) -> None:
    model = TinyNet(3, seed=3).eval()
    use_model(monkeypatch, model, num_classes=3, class_names=["lsbg", "type1", "type2"])
    out = tmp_path / "three.csv"
    result = predict("model.pt", store, out, batch_size=100, precision="fp32", progress=False)
    assert result["threshold"] is None
    header, rows = read_csv(out)
    assert header == ["id", "prob_lsbg", "prob_type1", "prob_type2", "label"]
    probs = np.array([[float(v) for v in r[1:4]] for r in rows])
    expected = direct(model, images)
    np.testing.assert_allclose(probs, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-6)
    np.testing.assert_array_equal([int(r[4]) for r in rows], expected.argmax(axis=1))

    use_model(monkeypatch, model, num_classes=3)
    predict("model.pt", store, out, overwrite=True, precision="fp32", progress=False)
    assert read_csv(out)[0] == ["id", "prob_0", "prob_1", "prob_2", "label"]
    with pytest.raises(InputError, match="--threshold"):
        predict("model.pt", store, out, threshold=0.3, overwrite=True, precision="fp32", progress=False)
    use_model(monkeypatch, model, num_classes=1)
    with pytest.raises(InputError, match="shape"):
        predict("model.pt", store, out, overwrite=True, precision="fp32", progress=False)


def test_settings_from_model_kwargs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    two = TinyNet(2, seed=4).eval()
    small = make_images(6, side=32, seed=5)
    store = write_store(tmp_path / "small.h5", small, [f"s{i}" for i in range(6)])
    monkeypatch.setattr(
        loading_module,
        "_load_model",
        lambda path, device: (two, {"model_kwargs": {"num_classes": 2, "image_size": 32}}),
    )
    out = tmp_path / "two.csv"
    predict("model.pt", store, out, precision="fp32", progress=False)
    header, rows = read_csv(out)
    assert header == ["id", "prob_0", "prob_1", "label"]
    expected = direct(two, small)
    np.testing.assert_allclose([[float(v) for v in r[1:3]] for r in rows], expected, rtol=0, atol=1e-6)
    np.testing.assert_array_equal([int(r[3]) for r in rows], expected.argmax(axis=1))


def test_wrong_size_image_needs_resize(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model: TinyNet, images: np.ndarray
) -> None:
    use_model(monkeypatch, model)
    folder = tmp_path / "big"
    folder.mkdir()
    save(folder / "a.png", images[0])
    big = np.asarray(Image.fromarray(images[1]).resize((128, 128), Image.Resampling.NEAREST))
    save(folder / "b.png", big)
    out = tmp_path / "big.csv"
    with pytest.raises(InputError, match=r"b\.png: image is 128x128.*--resize"):
        predict("model.pt", folder, out, precision="fp32", progress=False, strict=True)
    assert not out.exists()
    result = predict("model.pt", folder, out, precision="fp32", progress=False)
    assert result["n"] == 1 and result["failed"] == 1 and "128x128" in result["failures"][0].reason
    predict("model.pt", folder, out, resize="nearest", overwrite=True, precision="fp32", progress=False)
    _, rows = read_csv(out)
    assert [r[0] for r in rows] == ["a", "b"]
    expected = direct(model, images[:2])
    np.testing.assert_allclose([float(r[1]) for r in rows], expected, rtol=0, atol=1e-6)

    small_store = write_store(tmp_path / "small.h5", make_images(4, side=32), ["w", "x", "y", "z"])
    with pytest.raises(InputError, match=r"small\.h5: store cutouts are 32x32"):
        predict("model.pt", small_store, tmp_path / "small.csv", precision="fp32", progress=False)
    result = predict(
        "model.pt", small_store, tmp_path / "small.csv", resize="bicubic", precision="fp32", progress=False
    )
    assert result["n"] == 4


def test_non_image_file_in_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model: TinyNet, images: np.ndarray
) -> None:
    use_model(monkeypatch, model)
    save(tmp_path / "a.png", images[0])
    (tmp_path / "readme.txt").write_text("notes")
    out = tmp_path.parent / f"{tmp_path.name}.csv"
    with pytest.raises(InputError, match=r"readme\.txt: not a JPEG or PNG"):
        predict("model.pt", tmp_path, out, precision="fp32", progress=False, strict=True)
    # without strict it is a row that fails, listed with its reason; the images are classified
    result = predict("model.pt", tmp_path, out, precision="fp32", progress=False)
    assert result["n"] == 1 and [(b.row, b.ident) for b in result["failures"]] == [(2, "readme")]
    assert result["failures"][0].reason.startswith("not a JPEG or PNG image (expected a name ending")


def test_existing_output(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, store: Path, model: TinyNet
) -> None:
    use_model(monkeypatch, model)
    out = tmp_path / "pred.csv"
    out.write_text("old\n")
    with pytest.raises(InputError, match="--overwrite"):
        predict("model.pt", store, out, precision="fp32", progress=False)
    assert out.read_text() == "old\n"
    predict("model.pt", store, out, overwrite=True, precision="fp32", progress=False)
    assert len(read_csv(out)[1]) == N
    with pytest.raises(InputError, match="--batch-size"):
        predict("model.pt", store, out, batch_size=0, overwrite=True, precision="fp32", progress=False)
    with pytest.raises(InputError, match="--threshold"):
        predict("model.pt", store, out, threshold=1.5, overwrite=True, precision="fp32", progress=False)


def test_missing_model_file(tmp_path: Path, store: Path) -> None:
    with pytest.raises(InputError, match="model file not found"):
        loading_module._load_model(tmp_path / "absent.pt", "cpu")


# -- resume --------------------------------------------------------------------------------------


@pytest.fixture
def full_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, store: Path, model: TinyNet) -> bytes:
    use_model(monkeypatch, model)
    out = tmp_path / "full.csv"
    predict("model.pt", store, out, batch_size=50, precision="fp32", progress=False)
    return out.read_bytes()


@pytest.mark.parametrize("k", [0, 1, 123, N])
def test_resume_after_cut_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, store: Path, model: TinyNet, full_run: bytes, k: int
) -> None:
    lines = full_run.split(b"\n")
    half = lines[k + 1][: len(lines[k + 1]) // 2] if k < N else b"obj"
    out = tmp_path / "resumed.csv"
    partial_path(out).write_bytes(b"\n".join(lines[: k + 1]) + b"\n" + half)

    calls = {"rows": 0}
    original = loading_module.predict_logits

    def counting(model: nn.Module, images: np.ndarray, **kwargs: Any) -> np.ndarray:
        calls["rows"] += images.shape[0]
        return original(model, images, **kwargs)

    monkeypatch.setattr(loading_module, "predict_logits", counting)
    result = predict("model.pt", store, out, batch_size=64, resume=True, precision="fp32", progress=False)
    assert result["resumed_from"] == k and result["n"] == N
    assert calls["rows"] == N - k
    assert out.read_bytes() == full_run
    assert not partial_path(out).exists()


def test_resume_header_only_and_torn_header(tmp_path: Path, store: Path, full_run: bytes) -> None:
    out = tmp_path / "resumed.csv"
    for start in (b"id,probab", b"id,probability,label\n", b"id,probability,label\nobj-0"):
        partial_path(out).write_bytes(start)
        result = predict(
            "model.pt", store, out, resume=True, overwrite=True, precision="fp32", progress=False
        )
        assert result["resumed_from"] == 0
        assert out.read_bytes() == full_run


def test_resume_after_interruption(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, store: Path, model: TinyNet, full_run: bytes
) -> None:
    out = tmp_path / "killed.csv"
    monkeypatch.setattr(run_module, "_READ_ROWS", 1)  # blocks of one batch: rows reach the file per batch
    use_model(monkeypatch, FailingNet(model, fail_on=4))
    with pytest.raises(KeyboardInterrupt):
        predict("model.pt", store, out, batch_size=40, precision="fp32", progress=False)
    assert not out.exists()
    assert len(read_csv(partial_path(out))[1]) == 120
    use_model(monkeypatch, model)
    result = predict("model.pt", store, out, batch_size=40, resume=True, precision="fp32", progress=False)
    assert result["resumed_from"] == 120
    assert out.read_bytes() == full_run


def test_resume_checks_partial(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, store: Path, model: TinyNet, full_run: bytes
) -> None:
    out = tmp_path / "other.csv"
    lines = full_run.split(b"\n")
    partial = partial_path(out)
    partial.write_bytes(b"\n".join([lines[0], lines[1], b"someone-else,0.5,0", b""]))
    with pytest.raises(InputError, match="another input"):
        predict("model.pt", store, out, resume=True, precision="fp32", progress=False)
    partial.write_bytes(b"id,prob_0,prob_1,prob_2,label\n")
    with pytest.raises(InputError, match="columns"):
        predict("model.pt", store, out, resume=True, precision="fp32", progress=False)
    # Without --resume the stale partial is replaced.
    predict("model.pt", store, out, precision="fp32", progress=False)
    assert out.read_bytes() == full_run


# -- memory --------------------------------------------------------------------------------------


def test_memory_is_bounded_by_the_batch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    n, step = 20_000, 2_000
    path = tmp_path / "large.h5"
    base = np.zeros((step, 64, 64, 3), dtype=np.uint8)
    ids = [f"large-{i:05d}" for i in range(n)]
    with StoreWriter(path, n_total=n, feature_dtype=None, truth_dtype=None, attrs={"config": {}}) as w:
        for lo in range(0, n, step):
            base[:] = (np.arange(lo, lo + step) % 256).astype(np.uint8)[:, None, None, None]
            w.append(
                {
                    "images": base,
                    "label": np.full(step, -1),
                    "kind": np.full(step, ""),
                    "subclass": np.full(step, ""),
                    "id": np.asarray(ids[lo : lo + step], dtype=object),
                }
            )
        w.finalize(np.full(n, ""), split_fractions=None, split_seed=None)
    del base, ids
    image_bytes = n * 64 * 64 * 3
    use_model(monkeypatch, MeanNet())
    out = tmp_path / "large.csv"
    tracemalloc.start()
    try:
        result = predict("model.pt", path, out, batch_size=256, precision="fp32", progress=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result["n"] == n
    # One block of 2,048 cutouts is 25 MB; the slab being read and the held rows make two.
    assert peak < 64e6 < image_bytes / 3, f"peak {peak / 1e6:.1f} MB for {image_bytes / 1e6:.0f} MB of images"
    with open(out, encoding="utf-8") as fh:
        assert sum(1 for _ in fh) == n + 1


def test_default_precision_is_close_to_float32(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, store: Path, model: TinyNet, reference: np.ndarray
) -> None:
    """`auto` may run bfloat16 on this CPU: probabilities stay within a few thousandths."""
    use_model(monkeypatch, model)
    predict("model.pt", store, tmp_path / "auto.csv", progress=False)
    _, rows = read_csv(tmp_path / "auto.csv")
    np.testing.assert_allclose([float(r[1]) for r in rows], reference, rtol=0, atol=5e-3)


# -- on a Dask cluster ---------------------------------------------------------------------------


def test_dask_cluster_gives_the_same_csv_and_resumes(tmp_path: Path, store: Path) -> None:
    pytest.importorskip("distributed")
    from deepshadows.models import create_model, save_model

    torch.manual_seed(0)
    weights = save_model(
        create_model("deepshadows-table1", image_size=64).eval(), tmp_path / "model.safetensors", metadata={}
    )
    local = tmp_path / "local.csv"
    predict(weights, store, local, precision="fp32", progress=False)
    spread = tmp_path / "dask.csv"
    result = predict(
        weights, store, spread, precision="fp32", progress=False, scheduler="local:2", partition_size=70
    )
    assert result["n"] == N
    assert_same_predictions(spread, local)
    # a run cut after 100 rows resumes on the cluster from row 100
    lines = local.read_bytes().split(b"\n")
    resumed = tmp_path / "resumed.csv"
    partial_path(resumed).write_bytes(b"\n".join(lines[:101]) + b"\n")
    again = predict(
        weights,
        store,
        resumed,
        precision="fp32",
        progress=False,
        scheduler="local:2",
        partition_size=70,
        resume=True,
    )
    assert again["resumed_from"] == 100
    assert_same_predictions(resumed, local)
