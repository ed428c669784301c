"""``deepshadows predict``: stream an input through a trained classifier into a table.

Probabilities are calibrated by default when the model has a calibration
(:mod:`deepshadows.calibration`); the columns are the same for every model
(:mod:`deepshadows.predict.columns`), and the table's ``PROBCAL`` keyword names the
calibration. The table is CSV, FITS, Parquet, ECSV or
VOTable (:mod:`deepshadows.tables`), optionally the user's catalogue with the
prediction columns added (:mod:`deepshadows.predict.catalog_join`).
"""

from __future__ import annotations

import contextlib
import csv
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from deepshadows._io import check_at_least_one, check_writable, partial_path
from deepshadows.calibration import find_calibration, model_operating_point
from deepshadows.errors import InputError
from deepshadows.models.forward import FORWARD_BATCH, logits_to_probabilities
from deepshadows.parallel import open_executor
from deepshadows.predict.catalog_join import CatalogJoin
from deepshadows.predict.csv_output import _after_overlap, _BlockWriter, _resume_state
from deepshadows.predict.failed_rows import _FailureLog, _recorded_failures, _resume_point
from deepshadows.predict.inputs import _open_input
from deepshadows.predict.loading import load_classifier
from deepshadows.predict.model_settings import (
    _calibration_notes,
    _columns,
    _image_size,
    _threshold,
)
from deepshadows.predict.outputs import finish_output, output_meta, plan_output, reopen_finished
from deepshadows.predict.partitions import Partition, classify_partitions
from deepshadows.prediction_schema import is_uncalibrated, legacy_header, legacy_note
from deepshadows.released import resolve_model_path

__all__ = ["load_classifier", "predict"]

_READ_ROWS = 2048


def _finished(out: str | os.PathLike[str], resume: bool) -> bool:
    """Whether ``out`` is the finished output of an earlier run that ``resume`` reopens."""
    return resume and Path(out).exists() and not partial_path(out).exists()


def predict(
    model_path: str | os.PathLike[str],
    input_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    threshold: float | None = None,
    batch_size: int = FORWARD_BATCH,
    resize: str | None = None,
    device: str = "cpu",
    precision: str = "auto",
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    scheduler: str | None = None,
    partition_size: int = 8192,
    calibrated: bool = True,
    target_purity: float | None = None,
    target_completeness: float | None = None,
    strict: bool = False,
    retry_failed: bool = False,
    fmt: str | None = None,
    columns: Sequence[str] = (),
    catalog: CatalogJoin | str | os.PathLike[str] | None = None,
    log: Callable[[str], object] | None = None,
) -> dict[str, Any]:
    """Classify every cutout of an input and write one table row per cutout.

    Cutouts are read in blocks of 2,048 (or one batch, if larger) and classified
    ``batch_size`` at a time; each block's rows are written to ``<out>.partial`` as CSV and
    flushed. Once every row is written that file is renamed to ``out`` (CSV) or streamed into
    the format of ``out`` (see :mod:`deepshadows.tables`), so ``out`` is either complete
    or absent. Memory holds about one block whatever the size of the input (ECSV and VOTable
    outputs, and a ``catalog`` join, hold the whole table at the end).

    Prediction columns:

    binary models (one logit per cutout, ``num_classes`` 1 or absent)
        ``id,probability,label``: the probability of class 1 and ``label = 1`` when it exceeds
        the threshold, else 0.
    models of K classes (``num_classes`` K >= 2, softmax over K logits)
        ``id,prob_<class 0>,...,prob_<class K-1>,label``: softmax probabilities, named by the
        model's ``class_names`` (by default the class index), and the index of the most
        probable class.
    a calibration applied (see below)
        the model's own probabilities follow the calibrated ones: ``probability_uncalibrated``
        or ``prob_<class>_uncalibrated``, before ``label``.

    An ensemble folder writes the members' mean probability and one more column,
    ``uncertainty``: the standard deviation of the members' probabilities (of the top class for
    K classes; see :mod:`deepshadows.models.ensemble_combine`).

    ``probability`` (``prob_<class>``) is always the value the ``label`` is based on: calibrated
    by default whenever the model has a calibration (a ``calibration.json`` beside its weights,
    or one in its description), unless ``calibrated=False``. Calibrated tables also carry the
    model's own probabilities, ``probability_uncalibrated`` (``prob_<class>_uncalibrated``, after
    the calibrated ones), and name the calibration in ``PROBCAL``. A model without one writes its
    own probabilities and says so once through ``log``.

    ``num_classes`` and ``image_size`` are read from the model's metadata or its
    ``model_kwargs``.

    Probabilities are written with 8 significant digits in CSV, as float32 elsewhere.

    A store's rows also carry ``ra`` and ``dec`` (degrees, after ``id``) when its truth table has
    them, as a fetched store's has, and the ``features`` or ``truth`` columns named in
    ``columns`` (at the end). Outputs other than CSV record how they were made in their header or
    metadata: ``MODEL``, ``MODELSHA`` (SHA-256 of the weights), ``THRESHLD``, ``PROBCAL`` (the
    calibration method or ``none``) and ``DSVERSIO``, and for a threshold chosen for a target
    ``OPTARGET`` and, when known, the threshold's bootstrap interval ``THRLOW``, ``THRHIGH`` (see
    :func:`deepshadows.predict.outputs.output_meta`).

    An image that cannot be read (empty, truncated, not an image, or of another size without
    ``resize``) does not stop the run: its row is left out of the output and listed with the
    reason in ``<out>.failures.csv`` (columns ``row, id, file, reason``; see
    :mod:`deepshadows.failures`), which is absent when every row was classified. ``strict=True``
    stops at the first such image instead.

    Parameters
    ----------
    model_path : path-like
        Trained model: weights written by training, an ONNX export (see
        :func:`load_classifier`), or the name of a released model (``"des"``, ``"hsc"``).
    input_path : path-like
        A store, a folder of JPEG or PNG cutouts or one image (see
        :func:`deepshadows.predict.iter_input`).
    out : path-like
        Table to write; its extension gives the format (``.csv``, ``.fits``/``.fit``,
        ``.parquet``, ``.ecsv``, ``.vot``) unless ``fmt`` names it.
    threshold : float or None, optional
        Decision threshold of a binary model in [0, 1]; by default the model's ``threshold``
        metadata, or 0.5. Not accepted for softmax models of K classes.
    batch_size : int, optional
        Cutouts read and classified at a time.
    resize : {"nearest", "bicubic"} or None, optional
        Resample square cutouts of another size to the model's input size (64 x 64 by default);
        None rejects them.
    device : str, optional
        Torch device to run the model on.
    precision : {"auto", "fp32", "bf16", "fp16"}, optional
        Arithmetic of a PyTorch model. ``"auto"``: bfloat16 mixed precision on CPUs with native
        bfloat16 (1.6-1.9 times the float32 throughput on 2 cores, logits within about 3e-3, the
        same test AUC to 1e-4), float16 on CUDA, float32 elsewhere; ``"fp32"`` for logits that
        do not depend on the machine beyond rounding. ONNX models run in float32.
    resume : bool, optional
        Continue an existing ``<out>.partial``: its complete rows are kept (a trailing
        incomplete line is cut off) and prediction continues with the next row; rows recorded
        as failed are not read again (see ``retry_failed``). The last kept row's id must match
        the input's. A ``.partial`` (or finished output) written by an earlier version, whose
        calibrated column was ``calibrated_probability`` (``calibrated_prob_<class>``), is
        continued with it read as ``probability`` (said through ``log``) and no uncalibrated
        column. Without a ``.partial`` the run starts from scratch, unless ``out`` is
        the finished output of an earlier run: then it is kept and only ``retry_failed`` adds to
        it. With ``resume=False`` an existing ``.partial`` is replaced.
    overwrite : bool, optional
        Whether an existing ``out`` may be replaced.
    progress : bool, optional
        Whether to show a progress bar.
    scheduler : str, optional
        Classify on a Dask cluster: ``"local:N"`` or the address of a scheduler (see
        :mod:`deepshadows.parallel`). Partitions of ``partition_size`` rows go to the workers,
        which read the input and the model by path (shared file system); this process writes
        their results in order, so the output, and ``resume``, are as without it.
    partition_size : int, optional
        Rows per task on a cluster.
    calibrated : bool, optional
        Write the calibrated probabilities of a model that has a calibration (the default);
        False writes the model's own probabilities.
    target_purity : float, optional
        Choose the decision threshold of a binary model as the one of highest completeness
        whose purity on the objects the calibration was fitted on (the validation split, or the
        user's labelled objects), as stored with the calibration, is at least this (see
        :func:`deepshadows.calibration.choose_operating_point`). When the calibration kept
        those objects, the point carries 95 % bootstrap intervals (see
        :meth:`deepshadows.calibration.Calibration.choose`), printed through ``log`` and
        returned in ``operating_point``. Excludes ``threshold``.
    target_completeness : float, optional
        The same for a lowest completeness (the threshold of highest purity that reaches it).
    strict : bool, optional
        Stop at the first image that cannot be read, with an error that names it, instead of
        listing it in the failures file.
    retry_failed : bool, optional
        With ``resume``, read the rows that an earlier run recorded as failed again, at the end:
        those now readable are appended to the output (after the other rows, so out of input
        order), the others stay in the failures file.
    fmt : {"csv", "fits", "parquet", "ecsv", "votable"}, optional
        Format of ``out``, instead of the one its extension names.
    columns : sequence of str, optional
        Columns of the input store's ``features`` or ``truth`` tables added to each row.
    catalog : CatalogJoin or path-like, optional
        Write this catalogue, every row and column, with the prediction columns added instead
        of the prediction table: rows matched by id, or by position with
        :attr:`CatalogJoin.match_radius` (see :func:`deepshadows.predict.catalog_join.join_catalog`).
        Prediction columns whose name the catalogue uses get the suffix ``_pred``.
    log : callable, optional
        Called with a line of text for notes: a model without calibration, the operating
        point chosen.

    Returns
    -------
    dict
        ``n`` (rows in the output), ``n_input`` (rows of the input), ``failed`` (rows listed
        in the failures file), ``failures`` (those rows, as
        :class:`~deepshadows.failures.FailedRow`), ``failures_path`` (the failures file, None
        when no row failed), ``out`` (its path), ``seconds`` (time of this call),
        ``rows_per_second`` (rows classified by this call per second), ``threshold`` (the
        threshold used, None for softmax models of K classes), ``resumed_from`` (rows of the
        input accounted for by an earlier run), ``probabilities`` (``"calibrated"`` or ``"uncalibrated"``),
        ``calibration`` (the method of the calibration applied, None when the probabilities
        are the model's own),
        ``operating_point`` (the chosen point as a dict, with its ``interval`` when it has
        one, or None), ``notes`` (the lines
        passed to ``log``), ``format`` (of ``out``) and ``join`` (a
        :class:`~deepshadows.predict.catalog_join.JoinReport`, None without ``catalog``).

    Raises
    ------
    deepshadows.errors.InputError
        If ``out`` exists and ``overwrite`` is false, its format is unknown, ``columns`` are
        not in the store, the catalogue cannot be read, the input or the model is invalid, an
        argument is out of range, a target cannot be met or the model has no stored
        completeness-purity curve for it, the ``.partial`` to resume was written with other
        columns or from another input, or, with ``strict``, an image cannot be read.
    """
    began = time.perf_counter()
    check_at_least_one(batch_size, "--batch-size")
    if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
        raise InputError(f"--threshold must lie in [0, 1], got {threshold}")
    check_at_least_one(partition_size, "--partition-size")
    out = check_writable(out, overwrite=overwrite or _finished(out, resume))
    plan = plan_output(out, input_path, fmt=fmt, columns=columns, catalog=catalog)
    model_name = str(model_path)  # as given: a released model's name rather than its file
    model_path = resolve_model_path(model_path)
    partial = partial_path(out)
    classify, metadata = load_classifier(model_path, device=device, precision=precision)
    source = _open_input(input_path, image_size=_image_size(metadata), resize=resize)
    targeted = target_purity is not None or target_completeness is not None
    calibration = find_calibration(model_path, metadata) if calibrated or targeted else None
    use_map = calibrated and calibration is not None and calibration.changes_probabilities
    n_classes, header = _columns(model_path, metadata, calibrated=use_map)
    ensemble = hasattr(classify, "member_logits")
    if ensemble:
        header.append("uncertainty")
    notes = _calibration_notes(model_name, calibration, calibrated)
    point = None
    if targeted:
        if threshold is not None:
            raise InputError("--threshold excludes --target-purity and --target-completeness; give one")
        point = model_operating_point(
            model_name,
            calibration,
            n_classes=n_classes,
            target_purity=target_purity,
            target_completeness=target_completeness,
            calibrated=use_map,
        )
        notes.append(point.describe())
        thr: float | None = point.threshold
    else:
        thr = _threshold(model_path, metadata, threshold, n_classes)
    for line in notes:
        if log is not None:
            log(line)
    to_probabilities = calibration.probabilities if use_map else logits_to_probabilities

    if _finished(out, resume):
        reopen_finished(plan, partial, header)
    done, last_id, fresh = 0, None, True
    if resume and partial.exists():
        state = _resume_state(partial, header)
        if state is not None:
            (done, last_id, written), fresh = state, False
            if written != header:  # continued as an earlier version wrote it, without uncalibrated columns
                notes.append(legacy_note(partial, legacy_header(header) or []))
                if log is not None:
                    log(notes[-1])
                header = written
    recorded = _recorded_failures(out) if not fresh else []
    resume_at, overlap, kept = _resume_point(done, recorded)
    if resume_at > source.total:
        raise InputError(
            f"{partial}: holds {done} rows and {len(kept)} failures but {input_path} has only "
            f"{source.total} rows; it was made from another input, rerun without --resume"
        )
    retry = kept if retry_failed else []
    failure_log = _FailureLog(out, kept)
    raw = logits_to_probabilities if any(is_uncalibrated(name) for name in header) else None
    job = _BlockWriter(
        classify, ensemble, int(batch_size), n_classes, model_path, to_probabilities, thr, strict, raw
    )
    bar = tqdm(total=source.total, initial=resume_at, desc="predict", unit="cutout", disable=not progress)
    try:
        with (
            contextlib.ExitStack() as stack,
            open(partial, "w" if fresh else "a", newline="", encoding="utf-8") as fh,
        ):
            writer = csv.writer(fh, lineterminator="\n")
            if fresh:
                writer.writerow(header)
                fh.flush()
            # Read and write in blocks of many forward batches: fewer HDF5 reads and flushes.
            # A resumed run starts at the last row written, to check its id against the output's.
            first = resume_at if overlap is None else overlap
            if scheduler is None:
                block = max(int(batch_size), _READ_ROWS)
                blocks = _after_overlap(source.blocks(first, block), last_id, resume_at, partial, input_path)
                computed = job.write(job.forward(blocks), writer, fh, failure_log, bar)
            else:
                template = Partition(
                    model=str(Path(model_path).resolve()),
                    input=str(Path(input_path).resolve()),
                    image_size=_image_size(metadata),
                    resize=resize,
                    device=device,
                    precision=precision,
                    batch_size=int(batch_size),
                    members=ensemble,
                )
                executor = stack.enter_context(open_executor(scheduler))
                parts = classify_partitions(
                    executor, template, start=first, total=source.total, size=partition_size, max_in_flight=8
                )
                blocks = _after_overlap(parts, last_id, resume_at, partial, input_path)
                computed = job.write(blocks, writer, fh, failure_log, bar)
            # Rows that failed in an earlier run are read again at the end, on request.
            still = job.retry(source, retry, writer, fh)
            computed += len(retry) - len(still)
    finally:
        bar.close()
        failure_log.close()
    meta = output_meta(
        model_name,
        model_path,
        metadata,
        threshold=thr,
        calibration=calibration.method if use_map else None,
        operating_point=None if point is None else point.to_dict(),
    )
    joined = finish_output(plan, partial, header, meta)
    if joined is not None and log is not None:
        log(joined.describe())
    failures = [bad for bad in failure_log.rows if bad not in retry] + still
    listed = failure_log.finish(failures)
    seconds = time.perf_counter() - began
    return {
        "n": source.total - len(failures),
        "n_input": source.total,
        "failed": len(failures),
        "failures": sorted(failures, key=lambda b: b.row),
        "failures_path": listed,
        "out": out,
        "seconds": seconds,
        "rows_per_second": computed / seconds if seconds > 0 else float("inf"),
        "threshold": thr,
        "resumed_from": resume_at,
        "probabilities": "calibrated" if use_map else "uncalibrated",
        "calibration": calibration.method if use_map else None,
        "operating_point": None if point is None else point.to_dict(),
        "notes": notes,
        "format": plan.fmt,
        "join": joined,
    }
