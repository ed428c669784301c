"""Sections of training runs, transfer (fine-tuning) runs and Grad-CAM galleries.

They read what :func:`deepshadows.training.fit`, :func:`deepshadows.transfer.run_transfer` and
:func:`deepshadows.explain.explain_run` wrote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from deepshadows.report._plots import finetune_history_png, history_png
from deepshadows.report._reading import FolderReader, fmt, mapping_table, records_table, to_float
from deepshadows.report.builders.evaluation import METRIC_TITLES, metrics_rows
from deepshadows.report.content import Section, Table

__all__ = ["best_epoch", "build_explain", "build_training_run", "build_transfer"]


def best_epoch(history: Sequence[Mapping[str, str]], model: Mapping[str, Any] | None) -> int | None:
    """Return the epoch whose weights were kept: the sidecar's, else the lowest validation loss.

    Parameters
    ----------
    history : sequence of mapping
        Rows of ``history.csv``.
    model : mapping or None
        Contents of ``model.json``, whose ``metrics.epoch`` names the saved epoch.

    Returns
    -------
    int or None
        The epoch, or None without a usable history or sidecar.
    """
    saved = ((model or {}).get("metrics") or {}).get("epoch")
    if isinstance(saved, int) and not isinstance(saved, bool):
        return saved
    losses = [(to_float(row.get("val_loss")), row.get("epoch")) for row in history]
    finite = [(loss, epoch) for loss, epoch in losses if loss is not None]
    if not finite:
        return None
    epoch = min(finite, key=lambda item: item[0])[1]
    return int(epoch) if epoch is not None and epoch.isdigit() else None


def _duration(seconds: float) -> str:
    minutes, sec = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {sec:02d} s"


def _history_facts(
    history: Sequence[Mapping[str, str]], best: int | None, planned: Any
) -> list[tuple[str, str]]:
    facts = [
        (
            "epochs completed",
            f"{len(history)} of {fmt(planned)}" if planned is not None else str(len(history)),
        )
    ]
    row = next((r for r in history if r.get("epoch") == str(best)), None)
    if best is not None:
        facts.append(("best epoch (lowest validation loss)", str(best)))
    if row is not None:
        facts += [
            ("validation loss at best epoch", fmt(to_float(row.get("val_loss")))),
            ("validation accuracy at best epoch", fmt(to_float(row.get("val_accuracy")))),
        ]
    seconds = [s for r in history if (s := to_float(r.get("seconds"))) is not None]
    if history and len(seconds) == len(history):
        facts.append(("training time", _duration(sum(seconds))))
    return facts


def build_training_run(reader: FolderReader, section: Section) -> None:
    """Fill a training-run section: model, data, configuration, epochs, best epoch and Fig. 3.

    Fig. 3 is ``training_history.png`` when the run wrote it, else drawn from ``history.csv``.

    Parameters
    ----------
    reader : FolderReader
        Reads the run folder (``config.json``, ``model.json``, ``history.csv`` and the figure);
        problems become warnings of the section.
    section : Section
        The section to fill, in place.
    """
    config = reader.json("config.json") or {}
    model = reader.json("model.json", required=False) or {}
    history = reader.csv("history.csv") or []
    train = config.get("train") or model.get("config") or {}
    arch = (config.get("model") or {}).get("architecture") or model.get("architecture")
    store = config.get("store") or model.get("store") or {}
    section.facts += [
        ("architecture", fmt(arch)),
        ("classes", fmt(config.get("class_names") or model.get("class_names"))),
        ("store", fmt(store.get("path"))),
        ("store fingerprint", fmt(store.get("fingerprint"))[:16]),
        ("training / validation objects", f"{fmt(store.get('n_train'))} / {fmt(store.get('n_val'))}"),
        ("precision", fmt(config.get("precision") or model.get("trained_precision"))),
    ]
    if config.get("resumed_from_epoch") is not None:
        section.facts.append(("resumed from epoch", fmt(config["resumed_from_epoch"])))
    best = best_epoch(history, model)
    section.facts += _history_facts(history, best, train.get("epochs"))
    section.facts = [(k, v) for k, v in section.facts if v not in ("–", "– / –")]
    if train:
        section.tables.append(mapping_table(train, "Training configuration"))
    kwargs = (config.get("model") or {}).get("model_kwargs") or model.get("model_kwargs")
    if kwargs:
        section.tables.append(mapping_table(kwargs, "Model arguments"))
    caption = "Accuracy and loss per epoch (Fig. 3); dotted line: best epoch"
    figure = reader.figure("training_history.png", caption)
    if figure is None and history:
        figure = reader.drawn(
            "history.csv",
            lambda: history_png(history, best_epoch=best, title=arch),
            caption + " (drawn from history.csv by the report)",
        )
    if figure is not None:
        section.figures.append(figure)
    section.recorded = config.get("provenance") or (
        {"versions": model["versions"]} if "versions" in model else None
    )
    section.configuration = config or None


def build_transfer(reader: FolderReader, section: Section) -> None:
    """Fill a transfer section: settings, metrics before and after fine-tuning, learning curve.

    Parameters
    ----------
    reader : FolderReader
        Reads the output folder of ``deepshadows transfer`` (``transfer.json``, the optional
        ``learning_curve.csv`` and ``finetune_history.csv``, and the figures); problems become
        warnings of the section.
    section : Section
        The section to fill, in place.
    """
    result = reader.json("transfer.json")
    if result is not None:
        settings = result.get("settings") or {}
        section.facts += [(str(k).replace("_", " "), fmt(v)) for k, v in sorted(settings.items())]
        stages = {s: result[s] for s in ("before", "after") if isinstance(result.get(s), Mapping)}
        if stages:
            cells = {s: metrics_rows(r) for s, r in stages.items()}
            section.tables.append(
                Table(
                    columns=["metric", *(f"{s} fine-tuning [interval]" for s in stages)],
                    rows=[[title, *(cells[s][m] for s in stages)] for m, title in METRIC_TITLES.items()],
                    caption=f"Target test sample ({fmt(next(iter(stages.values())).get('n'))} objects)",
                )
            )
        section.recorded = result.get("provenance")
        section.configuration = {"settings": settings} if settings else None
    curve = reader.csv("learning_curve.csv", required=False)
    if curve:
        section.tables.append(records_table(curve, "Learning curve: metrics against fine-tuning sample size"))
    section.figures += reader.figures(
        [
            ("roc_before_after.png", "ROC before and after fine-tuning (Fig. 7c)"),
            ("learning_curve.png", "Metrics against the number of fine-tuning objects"),
        ]
    )
    history = reader.csv("finetune_history.csv", required=False)
    if history:
        figure = reader.drawn(
            "finetune_history.csv",
            lambda: finetune_history_png(history),
            "Fine-tuning loss and accuracy per epoch (drawn by the report)",
        )
        if figure is not None:
            section.figures.append(figure)
    reader.json("model.json", required=False)


def build_explain(reader: FolderReader, section: Section) -> None:
    """Fill a Grad-CAM section: group sizes and one gallery per group (Fig. 6).

    Parameters
    ----------
    reader : FolderReader
        Reads the output folder of ``deepshadows explain`` (``explain.json`` and the galleries
        beside it); problems become warnings of the section.
    section : Section
        The section to fill, in place.
    """
    result = reader.json("explain.json")
    if result is None:
        return
    section.facts += [
        (k, fmt(result.get(k))) for k in ("model", "store", "split", "seed") if result.get(k) is not None
    ]
    groups = result.get("groups") or {}
    rows = []
    for name, group in groups.items():
        shown = len(group.get("shown") or [])
        rows.append([str(name).replace("_", " "), fmt(group.get("size")), str(shown)])
        # The gallery lies beside explain.json; the recorded path may point where it was written.
        png = Path(str(group.get("png") or f"{name}.png")).name
        figure = reader.figure(png, f"{fmt(group.get('size'))} objects, {shown} shown with Grad-CAM")
        if figure is not None:
            section.figures.append(figure)
    if rows:
        section.tables.append(
            Table(columns=["group", "objects", "shown"], rows=rows, caption="Confident groups")
        )
