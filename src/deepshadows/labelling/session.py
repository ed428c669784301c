"""State of a labelling session: the store, the model's scores, the order and the label file.

One :class:`LabelSession` serves every browser tab; a lock makes each label an atomic
read-check-append, so two tabs labelling the same object append one record, not two.
"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from deepshadows.data.label_file import CLASS_OF, LABELS, UNDO, LabelFile, replay
from deepshadows.data.label_matching import match_labels, store_positions
from deepshadows.data.label_tables import load_label_table
from deepshadows.errors import InputError
from deepshadows.labelling.acquisition import (
    acquisition_scores,
    diverse_order,
    embed,
    stochastic_probabilities,
)
from deepshadows.models import load_model
from deepshadows.store.reader import open_store

__all__ = ["ORDERS", "LabelSession"]

#: Orders of the cutouts to label.
ORDERS = ("uncertain", "random", "probability")
_SCREEN = 24


class LabelSession:
    """A store, a model and a label file, with the order in which to label the cutouts.

    Parameters
    ----------
    store_path : path-like
        Store of cutouts.
    model : path-like or str
        Run folder, weight file, ensemble folder or released model name.
    labels_path : path-like
        Label file; continued when it exists.
    order : {"uncertain", "random", "probability"}, optional
        Acquisition order: most uncertain first (BALD, spread in feature space), random, or
        most probable LSBG first.
    mc_samples : int, optional
        MC-dropout passes (an ensemble uses its members).
    seed : int, optional
        Seed of the dropout masks, the random order and the clustering.
    device : str, optional
        Device of the model.
    known : path-like, optional
        A label table of labels already known (CSV ``id,label``, ECSV, FITS; see
        :func:`deepshadows.data.label_tables.load_label_table`): the objects it names that the
        label file does not yet label are written to it as labelled, before the page opens.
    match_radius_arcsec : float, optional
        Match ``known`` to the store by ra/dec within this radius instead of by id.
    id_column, label_column : str, optional
        The id and label columns of ``known`` (found by name by default).
    """

    def __init__(
        self,
        store_path: str | os.PathLike[str],
        model: str | os.PathLike[str],
        labels_path: str | os.PathLike[str],
        *,
        order: str = "uncertain",
        mc_samples: int = 10,
        seed: int = 0,
        device: str = "cpu",
        known: str | os.PathLike[str] | None = None,
        match_radius_arcsec: float | None = None,
        id_column: str | None = None,
        label_column: str | None = None,
    ) -> None:
        if order not in ORDERS:
            raise InputError(f"--order: choose from {', '.join(ORDERS)}, got {order!r}")
        self.store_path, self.order_name, self.seed, self.device = Path(store_path), order, seed, device
        self.mc_samples = int(mc_samples)
        self.labels = LabelFile(labels_path)
        self.lock = threading.RLock()
        with open_store(store_path) as store:
            self.ids = np.array([str(i) for i in store.ids])
            self.images = store.read_images()
            self.features = self._table(store, "features")
            positions = store_positions(store)
        self.position = None if positions is None else {"ra": positions[0], "dec": positions[1]}
        self.row_of = {k: i for i, k in enumerate(self.ids)}
        self.events = self.labels.read()
        self.state, self.actions = replay(self.events)
        if known is not None:
            table = load_label_table(known, id_column=id_column, label_column=label_column)
            ra, dec = (None, None) if positions is None else positions
            rows, classes = match_labels(
                table,
                self.ids,
                ra=ra,
                dec=dec,
                match_radius_arcsec=match_radius_arcsec,
                target=str(store_path),
            )
            name_of = {c: name for name, c in CLASS_OF.items()}
            for row, cls in zip(rows.tolist(), classes.tolist(), strict=True):
                if str(self.ids[row]) not in self.state:
                    self.labels.append(str(self.ids[row]), name_of[int(cls)])
            self.events = self.labels.read()
            self.state, self.actions = replay(self.events)
        unknown = [k for k in self.state if k not in self.row_of]
        if unknown:
            raise InputError(
                f"{self.labels.path}: {len(unknown)} id(s) not in {store_path}, first {unknown[0]!r}"
            )
        self.p_at_label: dict[str, float] = {}
        self.retrain_status: dict[str, Any] = {"state": "idle"}
        self.generation = 0
        self.set_model(model)

    @staticmethod
    def _table(store: Any, name: str) -> dict[str, np.ndarray] | None:
        has = store.has_features if name == "features" else store.has_truth
        if not has:
            return None
        table = store.features_table() if name == "features" else store.truth_table()
        return {c: np.asarray(table[c], dtype=np.float64) for c in table.colnames}

    def set_model(self, model: str | os.PathLike[str]) -> None:
        """Load a model, score every cutout and order the cutouts again.

        Parameters
        ----------
        model : path-like or str
            Run folder, weight file, ensemble folder or released model name.
        """
        net, _ = load_model(model, device=self.device)
        samples = stochastic_probabilities(
            net, self.images, n_samples=self.mc_samples, seed=self.seed, device=self.device
        )
        prob = samples.mean(axis=0)
        if self.order_name == "uncertain":
            scores = acquisition_scores(samples, "bald", seed=self.seed)
            order = diverse_order(
                scores, embed(net, self.images, device=self.device), n_first=_SCREEN, seed=self.seed
            )
        elif self.order_name == "random":
            scores = acquisition_scores(samples, "random", seed=self.seed)
            order = np.argsort(-scores)
        else:
            scores = prob
            order = np.argsort(-prob, kind="stable")
        with self.lock:
            self.model_name, self.net = str(model), net
            self.prob, self.scores, self.order = prob, scores, order
            self.generation += 1

    def check_id(self, object_id: Any) -> int:
        """Return the store row of an id.

        Parameters
        ----------
        object_id : Any
            Id from a request.

        Returns
        -------
        int
            Row.

        Raises
        ------
        KeyError
            If the id is not in the store.
        """
        if not isinstance(object_id, str) or object_id not in self.row_of:
            raise KeyError(f"id {str(object_id)[:80]!r} is not in {self.store_path.name}")
        return self.row_of[object_id]

    def label(self, object_id: Any, label: Any) -> bool:
        """Record a label; return False when the object already had it (nothing written).

        Parameters
        ----------
        object_id : Any
            Id of the object (must be in the store).
        label : Any
            One of ``lsbg``, ``artifact``, ``skip``.

        Returns
        -------
        bool
            Whether a record was appended.

        Raises
        ------
        KeyError
            For an unknown id.
        ValueError
            For a label outside the set.
        """
        row = self.check_id(object_id)
        if label not in LABELS:
            raise ValueError(f"label must be one of {', '.join(LABELS)}, got {str(label)[:40]!r}")
        with self.lock:
            if self.state.get(object_id) == label:
                return False
            self.events.append(self.labels.append(object_id, label))
            self.state, self.actions = replay(self.events)
            self.p_at_label.setdefault(object_id, float(self.prob[row]))
            return True

    def undo(self) -> str | None:
        """Take back the latest label in force; return its id (None when there is none).

        Returns
        -------
        str or None
            Id whose label was taken back.
        """
        with self.lock:
            if not self.actions:
                return None
            object_id = self.actions[-1][0]
            self.events.append(self.labels.append(object_id, UNDO))
            self.state, self.actions = replay(self.events)
            return object_id

    def _curve(self) -> list[dict[str, float]]:
        """Agreement of the model with the labels so far (last 20) and its expected accuracy."""
        points, hits = [], []
        expected = float(np.mean(np.maximum(self.prob, 1 - self.prob)))
        for n, (object_id, label) in enumerate((k, v) for k, v in self.state.items() if v in CLASS_OF):
            p = self.p_at_label.get(object_id, float(self.prob[self.row_of[object_id]]))
            hits.append(float((p >= 0.5) == bool(CLASS_OF[label])))
            points.append({"n": n + 1, "agreement": float(np.mean(hits[-20:])), "expected": expected})
        return points

    def snapshot(self, limit: int = 48) -> dict[str, Any]:
        """Return what the page shows: counts, the next cutouts, the labels and the chart.

        Parameters
        ----------
        limit : int, optional
            Cutouts of the queue to return.

        Returns
        -------
        dict
            JSON-ready state.
        """
        with self.lock:
            done = self.state
            queue = [int(i) for i in self.order if self.ids[i] not in done]
            n_labelled = sum(1 for v in done.values() if v in CLASS_OF)
            return {
                "model": self.model_name,
                "order": self.order_name,
                "generation": self.generation,
                "n_total": len(self.ids),
                "n_labelled": n_labelled,
                "n_skipped": sum(1 for v in done.values() if v == "skip"),
                "n_remaining": len(queue),
                "queue": [
                    {
                        "id": str(self.ids[i]),
                        "p": round(float(self.prob[i]), 4),
                        "score": round(float(self.scores[i]), 4),
                    }
                    for i in queue[:limit]
                ],
                "recent": [{"id": k, "label": v} for k, v in list(done.items())[-10:]],
                "can_undo": bool(self.actions),
                "curve": self._curve(),
                "retrain": dict(self.retrain_status),
            }

    def png(self, object_id: Any, *, scale: int = 4, gradcam: bool = False) -> bytes:
        """Return a cutout as PNG, upscaled with nearest neighbours, optionally with Grad-CAM.

        Parameters
        ----------
        object_id : Any
            Id of the object.
        scale : int, optional
            Upscaling factor.
        gradcam : bool, optional
            Overlay the model's Grad-CAM map for its predicted class.

        Returns
        -------
        bytes
            PNG file.
        """
        from PIL import Image

        row = self.check_id(object_id)
        image = self.images[row]
        if gradcam:
            from matplotlib import colormaps

            from deepshadows.explain import gradcam as cam

            with self.lock:
                net = self.net
            net = next(iter(getattr(net, "members", [])), net)
            maps, _ = cam(net, image[None], device=self.device)
            heat = maps[0] / maps[0].max() if maps[0].max() > 0 else maps[0]
            colour = colormaps["jet"](heat)[..., :3] * 255
            image = (0.55 * image + 0.45 * colour).clip(0, 255).astype(np.uint8)
        h, w = image.shape[:2]
        pic = Image.fromarray(image).resize((w * scale, h * scale), Image.Resampling.NEAREST)
        buf = io.BytesIO()
        pic.save(buf, format="PNG")
        return buf.getvalue()

    def detail(self, object_id: Any) -> dict[str, Any]:
        """Return an object's probability, score, label, features and, where known, ra/dec.

        Parameters
        ----------
        object_id : Any
            Id of the object.

        Returns
        -------
        dict
            JSON-ready details.
        """
        row = self.check_id(object_id)
        out: dict[str, Any] = {
            "id": object_id,
            "p": float(self.prob[row]),
            "score": float(self.scores[row]),
            "label": self.state.get(object_id),
        }
        if self.features is not None:
            out["features"] = {
                k: (None if not np.isfinite(v[row]) else float(v[row])) for k, v in self.features.items()
            }
        if self.position is not None:
            out["ra"], out["dec"] = float(self.position["ra"][row]), float(self.position["dec"][row])
        return out
