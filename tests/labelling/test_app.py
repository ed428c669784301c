"""The labelling server through Flask's test client: labels, undo, restart and bad requests."""

from __future__ import annotations

import pytest

from deepshadows.labelling import LabelFile, LabelSession
from deepshadows.labelling.app import create_app

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def session(store, model_dir, tmp_path):
    return LabelSession(store, str(model_dir), tmp_path / "labels.csv", mc_samples=3)


def test_label_undo_and_restart(session, store, model_dir, tmp_path):
    client = create_app(session).test_client()
    state = client.get("/api/state").get_json()
    assert state["n_total"] == 40 and state["n_remaining"] == 40 and len(state["queue"]) == 40
    first, second = state["queue"][0]["id"], state["queue"][1]["id"]
    r = client.post("/api/label", json={"id": first, "label": "lsbg"})
    assert r.status_code == 200 and r.get_json()["written"] and r.get_json()["n_labelled"] == 1
    assert first not in [q["id"] for q in r.get_json()["queue"]]
    # A second tab sending the same label appends nothing.
    assert client.post("/api/label", json={"id": first, "label": "lsbg"}).get_json()["written"] is False
    client.post("/api/label", json={"id": second, "label": "artifact"})
    r = client.post("/api/undo", json={})
    assert r.get_json()["undone"] == second and r.get_json()["n_labelled"] == 1
    assert LabelFile(tmp_path / "labels.csv").labels() == {first: "lsbg"}
    assert len((tmp_path / "labels.csv").read_text().splitlines()) == 4  # header, 2 labels, undo
    # A new server on the same file continues.
    again = LabelSession(store, str(model_dir), tmp_path / "labels.csv", mc_samples=3)
    state = create_app(again).test_client().get("/api/state").get_json()
    assert state["n_labelled"] == 1 and state["n_remaining"] == 39 and state["recent"][-1]["id"] == first


def test_images_and_details(session):
    client = create_app(session).test_client()
    r = client.get("/api/image?id=obj-3")
    assert r.status_code == 200 and r.data[:8] == b"\x89PNG\r\n\x1a\n"
    from io import BytesIO

    from PIL import Image

    assert Image.open(BytesIO(r.data)).size == (64, 64)  # 16 x 16, nearest-neighbour x4
    assert client.get("/api/image?id=obj-3&gradcam=1").status_code == 200
    info = client.get("/api/object?id=obj-3").get_json()
    assert info["id"] == "obj-3" and 0 <= info["p"] <= 1 and info["label"] is None
    page = client.get("/")
    assert page.status_code == 200 and b"app.js" in page.data
    assert client.get("/static/app.js").status_code == 200


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"json": {"id": "nope", "label": "lsbg"}}, 404),
        ({"json": {"id": "obj-1", "label": "galaxy"}}, 400),
        ({"json": {"id": ["obj-1"], "label": "lsbg"}}, 404),
        ({"json": ["obj-1", "lsbg"]}, 400),
        ({"data": "id=obj-1&label=lsbg", "content_type": "application/x-www-form-urlencoded"}, 415),
        ({"data": "{not json", "content_type": "application/json"}, 400),
        (
            {
                "data": '{"id": "obj-1", "label": "lsbg", "pad": "' + "x" * 10000 + '"}',
                "content_type": "application/json",
            },
            413,
        ),
    ],
)
def test_bad_requests_write_nothing(session, tmp_path, kwargs, status):
    client = create_app(session).test_client()
    r = client.post("/api/label", **kwargs)
    assert r.status_code == status and "error" in r.get_json()
    assert not (tmp_path / "labels.csv").exists()


def test_other_bad_requests(session, tmp_path):
    client = create_app(session).test_client()
    assert client.get("/api/image?id=nope").status_code == 404
    assert client.get("/api/object").status_code == 404
    assert client.post("/api/undo", json={}).status_code == 409
    assert client.get("/static/../app.py").status_code == 404
    assert not (tmp_path / "labels.csv").exists()


def test_retrain_runs_in_the_background_and_reorders(session, tmp_path):
    import time

    client = create_app(session, retrain_settings={"epochs": 1}).test_client()
    queue = client.get("/api/state").get_json()["queue"]
    for k, item in enumerate(queue[:8]):
        client.post("/api/label", json={"id": item["id"], "label": "lsbg" if k % 2 else "artifact"})
    assert client.post("/api/retrain", json={}).status_code == 202
    end = time.monotonic() + 60
    while client.get("/api/retrain").get_json()["state"] == "running" and time.monotonic() < end:
        time.sleep(0.2)
    status = client.get("/api/retrain").get_json()
    assert status["state"] == "done", status
    state = client.get("/api/state").get_json()
    assert state["generation"] == 2 and state["model"].endswith("round-1")
    assert (tmp_path / "labels_runs" / "round-1" / "model.safetensors").exists()
