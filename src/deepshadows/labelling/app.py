"""The labelling web application (Flask): one page and a small JSON interface.

Routes: ``/`` (the page), ``/static/<file>``, ``GET /api/state``, ``POST /api/label``
(``{"id": ..., "label": "lsbg" | "artifact" | "skip"}``), ``POST /api/undo``,
``GET /api/image?id=...[&gradcam=1]`` (PNG), ``GET /api/object?id=...`` and
``GET``/``POST /api/retrain``. Requests that change something must be JSON (a page of another
site cannot send those without the browser asking first), bodies are limited to 4 KiB, ids
must exist in the store and labels be in the set; anything else is answered with a 4xx status and
nothing is written.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

from deepshadows.labelling.finetune import finetune_from_labels
from deepshadows.labelling.session import LabelSession

__all__ = ["create_app", "make_label_server", "start_retrain"]

_STATIC = Path(__file__).with_name("static")
_MAX_BODY = 4096
_FILES = {"index.html": "text/html", "app.js": "text/javascript", "style.css": "text/css"}


def start_retrain(session: LabelSession, start_model: str, runs_dir: Path, **settings: Any) -> bool:
    """Fine-tune ``start_model`` on the labels so far in a background thread, then re-order.

    Parameters
    ----------
    session : LabelSession
        The session whose labels are used and whose order is updated.
    start_model : str
        Model the fine-tuning starts from (the session's first model).
    runs_dir : pathlib.Path
        Folder of the fine-tuned runs (``round-<k>`` inside).
    **settings
        Passed to :func:`deepshadows.labelling.finetune.finetune_from_labels`.

    Returns
    -------
    bool
        False when a retraining is already running (nothing started).
    """
    with session.lock:
        if session.retrain_status.get("state") == "running":
            return False
        settings = {"cv": 0, **settings}  # a retraining from the page skips the cross-validated estimate
        epochs = int(settings.get("epochs") or 40)
        session.retrain_status = {"state": "running", "epoch": 0, "epochs": epochs, "message": "starting"}

    def progress(row: dict[str, float]) -> None:
        with session.lock:
            session.retrain_status |= {"epoch": int(row["epoch"]), "message": f"epoch {int(row['epoch'])}"}

    def work() -> None:
        try:
            k = 1 + sum(1 for _ in runs_dir.glob("round-*")) if runs_dir.exists() else 1
            result = finetune_from_labels(
                start_model,
                session.store_path,
                session.labels.path,
                runs_dir / f"round-{k}",
                progress=progress,
                **settings,
            )
            with session.lock:
                session.retrain_status |= {"message": "scoring the cutouts with the new model"}
            session.set_model(result["out_dir"])
            with session.lock:
                session.retrain_status = {
                    "state": "done",
                    "run": result["out_dir"],
                    "epoch": len(result["history"]),
                    "epochs": epochs,
                    "message": f"re-ordered with {result['out_dir']}",
                }
        except Exception as exc:  # noqa: BLE001 - reported to the page, the server keeps running
            with session.lock:
                session.retrain_status = {"state": "failed", "message": f"{type(exc).__name__}: {exc}"}

    threading.Thread(target=work, name="deepshadows-retrain", daemon=True).start()
    return True


def create_app(
    session: LabelSession,
    *,
    start_model: str | None = None,
    runs_dir: Path | None = None,
    retrain_settings: dict[str, Any] | None = None,
) -> Flask:
    """Return the Flask application serving a labelling session.

    Parameters
    ----------
    session : LabelSession
        The session.
    start_model : str, optional
        Model that "retrain" fine-tunes (default: the session's model).
    runs_dir : pathlib.Path, optional
        Folder of the fine-tuned runs (default: ``<labels>_runs`` beside the label file).
    retrain_settings : dict, optional
        Settings of the fine-tuning (see :func:`deepshadows.labelling.finetune.finetune_from_labels`).

    Returns
    -------
    flask.Flask
        The application.
    """
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = _MAX_BODY
    start = start_model or session.model_name
    runs = runs_dir or session.labels.path.with_name(session.labels.path.stem + "_runs")
    settings = dict(retrain_settings or {})

    def fail(status: int, message: str) -> tuple[Response, int]:
        return jsonify({"error": message}), status

    def body() -> dict[str, Any]:
        if not request.is_json:
            raise _BadRequest(415, "send application/json")
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise _BadRequest(400, "the body must be a JSON object")
        return data

    @app.errorhandler(_BadRequest)
    def bad_request(exc: _BadRequest) -> tuple[Response, int]:
        return fail(exc.status, exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        return fail(exc.code or 500, exc.description or exc.name)

    @app.get("/")
    def index() -> Response:
        return static_file("index.html")

    @app.get("/static/<path:name>")
    def static_file(name: str) -> Response:
        if name not in _FILES:
            raise _BadRequest(404, f"no file {name[:80]!r}")
        return Response((_STATIC / name).read_bytes(), mimetype=_FILES[name])

    @app.get("/api/state")
    def state() -> Response:
        limit = request.args.get("limit", "48")
        return jsonify(session.snapshot(int(limit) if limit.isdigit() else 48))

    @app.post("/api/label")
    def label() -> tuple[Response, int] | Response:
        data = body()
        try:
            written = session.label(data.get("id"), data.get("label"))
        except KeyError as exc:
            return fail(404, str(exc.args[0]))
        except ValueError as exc:
            return fail(400, str(exc))
        return jsonify({"written": written, **session.snapshot()})

    @app.post("/api/undo")
    def undo() -> tuple[Response, int] | Response:
        body()
        undone = session.undo()
        if undone is None:
            return fail(409, "nothing to undo")
        return jsonify({"undone": undone, **session.snapshot()})

    def object_id() -> str:
        value = request.args.get("id")
        try:
            session.check_id(value)
        except KeyError as exc:
            raise _BadRequest(404, str(exc.args[0])) from None
        return str(value)

    @app.get("/api/image")
    def image() -> Response:
        key = object_id()
        png = session.png(key, gradcam=request.args.get("gradcam") == "1")
        return Response(png, mimetype="image/png", headers={"Cache-Control": "max-age=3600"})

    @app.get("/api/object")
    def detail() -> Response:
        return jsonify(session.detail(object_id()))

    @app.route("/api/retrain", methods=["GET", "POST"])
    def retrain() -> tuple[Response, int] | Response:
        if request.method == "POST":
            body()
            if not start_retrain(session, start, runs, **settings):
                return fail(409, "a retraining is already running")
            return jsonify(session.retrain_status), 202
        return jsonify(session.retrain_status)

    return app


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def make_label_server(
    session: LabelSession, *, host: str = "127.0.0.1", port: int = 8765, **app_options: Any
) -> Any:
    """Return a threaded WSGI server for a session (call ``serve_forever()`` on it).

    Parameters
    ----------
    session : LabelSession
        The session.
    host : str, optional
        Address to bind (the local machine only by default).
    port : int, optional
        Port; 0 picks a free one (``server.server_port`` tells which).
    **app_options
        Passed to :func:`create_app`.

    Returns
    -------
    werkzeug.serving.BaseWSGIServer
        The server, bound and ready.
    """
    return make_server(host, int(port), create_app(session, **app_options), threaded=True)
