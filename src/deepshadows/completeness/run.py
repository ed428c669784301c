"""``deepshadows completeness``: the selection function of a model, by injection and recovery.

Simulated LSBGs with known truth go through what a catalogue search does to a real one (the
features and the preselection, the viewer's cutout and the model); the fractions that survive,
in bins of the truth, are the completeness. Simulated artifacts of every subclass go through
the same steps for the contamination. Objects are simulated in parallel (local processes or
Dask, like ``simulate``) and classified here as they arrive; each depends only on the run's seed
and its own number, so the tables do not depend on the number of workers.

Files written to the output folder: ``injections.csv``/``.fits`` (one row per object),
``completeness_map``, ``completeness_<axis>``, ``contamination`` and ``contamination_thresholds``
tables (CSV and FITS), the figures ``completeness_map.png``, ``completeness_marginals.png``,
``completeness_mu_by_size.png`` and ``contamination.png``, and ``completeness.json`` (the
configuration, the numbers, the timing and the provenance).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import Table
from tqdm.auto import tqdm

from deepshadows._io import make_output_dir, write_json_atomic
from deepshadows._provenance import provenance
from deepshadows.classes import TYPE1_SUBCLASSES
from deepshadows.completeness import figures, tables
from deepshadows.completeness.backgrounds import find_backgrounds
from deepshadows.completeness.classify import LSBGClassifier, load_lsbg_classifier
from deepshadows.completeness.inject import TRUTH_COLUMNS, Job, Outcome, run_jobs
from deepshadows.errors import InputError
from deepshadows.features import FEATURE_NAMES
from deepshadows.models.forward import FORWARD_BATCH
from deepshadows.parallel import InlineExecutor, map_ordered, open_executor
from deepshadows.simulate.artifacts import TYPE2_MIX
from deepshadows.simulate.cutout import CutoutSpec
from deepshadows.simulate.truth import AXES, DEFAULT_GRID, draw_truths, parse_grid
from deepshadows.surveys import get_survey

__all__ = ["SUMMARY_FILE", "CompletenessConfig", "run_completeness"]

#: The run's record in its output folder (also what the report recognises).
SUMMARY_FILE = "completeness.json"
_TASK_OBJECTS = 16
_CLASSIFY_ROWS = 512
_MAX_OBJECTS = 10_000_000


@dataclass(frozen=True)
class CompletenessConfig:
    """What a completeness run injects and how it scores it (recorded in ``completeness.json``).

    Parameters
    ----------
    survey : str
        Survey of :data:`deepshadows.surveys.SURVEYS` whose imaging is simulated.
    n : int
        Injected LSBGs.
    grid : tuple of str
        Truth axes sampled on a grid (names of :data:`deepshadows.simulate.truth.AXES`);
        the other parameters follow the catalogue prior. Empty: all from the prior.
    artifacts_per_subclass : int
        Simulated artifacts of each subclass (A to I), for the contamination; 0 for none.
    seed : int
        Seed of the truth, the rendering, the noise and the bootstrap.
    into : str, optional
        A store fetched with ``fetch --fits`` or a folder of FITS cutouts to inject into;
        None injects into simulated fields.
    threshold : float, optional
        Decision threshold (default: the model's).
    calibrated : bool
        Score the calibrated probabilities of a model that has a calibration.
    resize : str, optional
        Filter of the 256 -> 64 resize (default: the survey's).
    radii : tuple of float
        Radii (arcsec) at which the surface brightness of 50 % completeness is measured.
    """

    survey: str = "des"
    n: int = 20_000
    grid: tuple[str, ...] = DEFAULT_GRID
    artifacts_per_subclass: int = 200
    seed: int = 0
    into: str | None = None
    threshold: float | None = None
    calibrated: bool = True
    resize: str | None = None
    radii: tuple[float, ...] = (3.0, 6.0, 10.0)

    def validate(self) -> CompletenessConfig:
        """Check every value, raising :class:`InputError` that names the option."""
        get_survey(self.survey)
        if not isinstance(self.n, int | np.integer) or not 1 <= self.n <= _MAX_OBJECTS:
            raise InputError(f"--n: must be an integer between 1 and {_MAX_OBJECTS:,}, got {self.n}")
        if not 0 <= self.artifacts_per_subclass <= _MAX_OBJECTS:
            raise InputError(
                f"--artifacts: must be a non-negative integer, got {self.artifacts_per_subclass}"
            )
        if not 0 <= self.seed < 2**63:
            raise InputError(f"--seed: must be a non-negative integer, got {self.seed}")
        parse_grid(list(self.grid))
        if any(not r > 0 for r in self.radii):
            raise InputError(f"radii: must be positive, got {self.radii}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration as a JSON-serialisable mapping."""
        return dataclasses.asdict(self)


def _jobs(cfg: CompletenessConfig) -> list[Job]:
    """List the LSBG injections, then the artifacts per subclass, then the bare real backgrounds."""
    backgrounds = find_backgrounds(cfg.into, cfg.survey) if cfg.into is not None else [None]
    truths = draw_truths(cfg.n, cfg.grid, cfg.seed)
    jobs = [Job(i, "lsbg", "", truths[i], backgrounds[i % len(backgrounds)]) for i in range(cfg.n)]
    for subclass in sorted({*TYPE2_MIX, *TYPE1_SUBCLASSES}):
        kind = "type1" if subclass in TYPE1_SUBCLASSES else "type2"
        start = len(jobs)
        jobs += [Job(start + k, kind, subclass) for k in range(cfg.artifacts_per_subclass)]
    if cfg.into is not None:
        start = len(jobs)
        jobs += [Job(start + k, "background", "", {}, bg) for k, bg in enumerate(backgrounds)]
    return jobs


def _outcomes(
    jobs: Sequence[Job], seed: int, spec: CutoutSpec, workers: int | None, scheduler: str | None
) -> Iterator[Outcome]:
    """Yield the outcome of every job in order, from local processes or a Dask cluster."""
    it = iter(jobs)
    chunks = iter(lambda: list(islice(it, _TASK_OBJECTS)), [])
    with open_executor(scheduler, workers=workers) as executor:
        ahead = 1 if isinstance(executor, InlineExecutor) else 64
        tasks = ((chunk, seed, spec) for chunk in chunks)
        for result in map_ordered(executor, run_jobs, tasks, max_in_flight=ahead):
            yield from result


def _object_table(
    jobs: Sequence[Job], outcomes: Sequence[Outcome], prob: np.ndarray, threshold: float
) -> Table:
    table = Table()
    table["index"] = np.array([j.index for j in jobs], dtype=np.int64)
    table["kind"] = [j.kind for j in jobs]
    table["subclass"] = [j.subclass for j in jobs]
    table["background"] = [j.background.ident if j.background is not None else "" for j in jobs]
    for name in TRUTH_COLUMNS:
        table[name] = np.array([o.truth.get(name, np.nan) for o in outcomes], dtype=np.float64)
    features = np.array([o.features for o in outcomes], dtype=np.float32).reshape(len(outcomes), -1)
    for k, name in enumerate(FEATURE_NAMES):
        table[f"measured_{name}"] = features[:, k]
    pre = np.array([o.preselected for o in outcomes], dtype=np.float64)
    table["probability"] = prob
    table["passed_preselection"] = pre
    table["passed_classifier"] = (prob >= threshold).astype(np.float64)
    with np.errstate(invalid="ignore"):
        table["passed_both"] = np.where(np.isfinite(pre), pre * table["passed_classifier"], np.nan)
    return table


def _simulate_and_classify(
    jobs: Sequence[Job],
    cfg: CompletenessConfig,
    spec: CutoutSpec,
    model: LSBGClassifier,
    *,
    workers: int | None,
    scheduler: str | None,
    progress: bool,
) -> tuple[list[Outcome], np.ndarray]:
    outcomes: list[Outcome] = []
    prob: list[np.ndarray] = []
    bar = tqdm(total=len(jobs), desc=f"completeness {cfg.survey}", unit="object", disable=not progress)
    for outcome in _outcomes(jobs, cfg.seed, spec, workers, scheduler):
        outcomes.append(outcome)
        bar.update(1)
        if len(outcomes) % _CLASSIFY_ROWS == 0:
            prob.append(model(np.stack([o.image for o in outcomes[-_CLASSIFY_ROWS:]])))
    done = sum(len(p) for p in prob)
    if done < len(outcomes):
        prob.append(model(np.stack([o.image for o in outcomes[done:]])))
    bar.close()
    for outcome in outcomes:  # the cutouts are not kept: 12 kB each
        outcome.image = outcome.image[:0]
    return outcomes, np.concatenate(prob)


def _mu_at_half(objects: Table, cfg: CompletenessConfig) -> dict[str, dict[str, Any]]:
    return {
        f'{r:g}"': {
            stage: {
                k: _finite(v)
                for k, v in tables.mu_at_completeness(objects, r, stage=stage, seed=cfg.seed)
                .to_dict()
                .items()
            }
            for stage in tables.STAGES
        }
        for r in cfg.radii
    }


def _write_outputs(
    out: Path, objects: Table, cfg: CompletenessConfig, threshold: float, title: str
) -> list[str]:
    files = tables.write_table(objects, out, "injections")
    lsbg_axes = [name for name in AXES if np.isfinite(np.asarray(objects[AXES[name].column], float)).any()]
    grid_map = tables.binned_completeness(objects, ("mu_eff", "r_eff"))
    files += tables.write_table(grid_map, out, "completeness_map")
    marginals = {name: tables.binned_completeness(objects, (name,)) for name in lsbg_axes}
    for name, table in marginals.items():
        files += tables.write_table(table, out, f"completeness_{name}")
    files.append(figures.plot_completeness_map(grid_map, out / "completeness_map.png", title=title))
    files.append(figures.plot_marginals(marginals, out / "completeness_marginals.png", title=title))
    files.append(
        figures.plot_mu_by_size(objects, cfg.radii, out / "completeness_mu_by_size.png", title=title)
    )
    if (np.asarray(objects["kind"]) != "lsbg").any():
        files += tables.write_table(tables.contamination_table(objects), out, "contamination")
        thresholds = sorted({*np.round(np.arange(0.05, 1.0, 0.05), 2).tolist(), threshold})
        curves = tables.contamination_curves(objects, thresholds)
        files += tables.write_table(curves, out, "contamination_thresholds")
        files.append(figures.plot_contamination(curves, threshold, out / "contamination.png", title=title))
    return sorted(Path(f).name for f in files)


def run_completeness(
    model: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    cfg: CompletenessConfig,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    device: str = "cpu",
    batch_size: int = FORWARD_BATCH,
    overwrite: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Measure the completeness and contamination of a model and the preselection by injection.

    Parameters
    ----------
    model : path-like
        Run folder, weight file, ensemble folder, ONNX file or released model name (``"des"``).
    out_dir : path-like
        Output folder (created).
    cfg : CompletenessConfig
        What to inject and how to score it.
    workers : int, optional
        Local worker processes (default: all cores); the results do not depend on it.
    scheduler : str, optional
        Simulate on Dask instead: ``"local:N"`` or a scheduler address.
    device : str, optional
        Torch device of the model.
    batch_size : int, optional
        Cutouts per forward pass.
    overwrite : bool, optional
        Replace the outputs of an earlier run in ``out_dir``.
    progress : bool, optional
        Show a progress bar.

    Returns
    -------
    dict
        What ``completeness.json`` holds: ``config``, ``model``, ``threshold``,
        ``probabilities``, ``counts``, ``mu_at_half`` (per radius and stage: the mean
        surface brightness of 50 % completeness with its bootstrap interval),
        ``contamination`` (per artifact group and stage at the threshold), ``timing``,
        ``files`` and ``provenance``; plus ``out_dir``.

    Raises
    ------
    deepshadows.errors.InputError
        For an invalid option, an unreadable model or background, or an output folder that
        holds a finished run without ``overwrite``.
    """
    cfg = dataclasses.replace(cfg, grid=parse_grid(list(cfg.grid))).validate()
    out = make_output_dir(out_dir, parameter="--out")
    if (out / SUMMARY_FILE).exists() and not overwrite:
        raise InputError(f"--out: {out} already holds a completeness run; use --overwrite to replace it")
    classifier = load_lsbg_classifier(
        model, threshold=cfg.threshold, calibrated=cfg.calibrated, device=device, batch_size=batch_size
    )
    survey = get_survey(cfg.survey)
    spec = CutoutSpec(
        survey=survey.name,
        resize=cfg.resize or survey.resize,
        image_size=classifier.image_size,
        preselect=False,
        max_attempts=1,
        field_seed=cfg.seed,
    )
    jobs = _jobs(cfg)
    began = time.perf_counter()
    outcomes, prob = _simulate_and_classify(
        jobs, cfg, spec, classifier, workers=workers, scheduler=scheduler, progress=progress
    )
    elapsed = time.perf_counter() - began
    objects = _object_table(jobs, outcomes, prob, classifier.threshold)
    where = "real cutouts" if cfg.into else "simulated fields"
    title = f"{model} on {survey.name}, {cfg.n} LSBGs injected into {where}"
    files = _write_outputs(out, objects, cfg, classifier.threshold, title)
    contamination = tables.contamination_table(objects) if len(objects) > cfg.n else Table()
    kinds, counts = np.unique(np.asarray(objects["kind"]), return_counts=True)
    summary = {
        "config": cfg.to_dict(),
        "model": str(model),
        "threshold": classifier.threshold,
        "probabilities": classifier.probabilities_kind,
        "counts": {str(k): int(c) for k, c in zip(kinds, counts, strict=True)},
        "mu_at_half": _mu_at_half(objects, cfg),
        "contamination": {
            str(row["group"]): {"n": int(row["n"])} | {s: _finite(row[s]) for s in tables.STAGES}
            for row in contamination
        },
        "timing": {
            "objects": len(jobs),
            "elapsed_s": round(elapsed, 2),
            "objects_per_s": round(len(jobs) / elapsed, 2) if elapsed > 0 else None,
            "workers": workers,
            "scheduler": scheduler,
            "cpu_count": os.cpu_count(),
        },
        "files": files,
        "provenance": provenance(),
    }
    write_json_atomic(out / SUMMARY_FILE, summary)
    return summary | {"out_dir": str(out)}


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None
