"""The rows to import from a folder: every cutout in it, or the rows of a labels CSV file."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from deepshadows.data.fits import FITS_SUFFIXES, FitsObject, is_fits_file
from deepshadows.data.images import IMAGE_SUFFIXES
from deepshadows.data.label_tables import _LABEL_HINT, label_value
from deepshadows.errors import InputError
from deepshadows.store.reader import KINDS, SUBCLASSES
from deepshadows.store.splits import SPLIT_NAMES

# Shared by the modules of this package; not part of the public API.
__all__: list[str] = []

_SPLIT_VALUES = SPLIT_NAMES

#: A row's cutout: an image file, or the FITS file(s) of one object.
_Source = Path | FitsObject


@dataclass
class _Rows:
    """Cutouts to import, one entry per row."""

    paths: list[_Source] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    subclasses: list[str] = field(default_factory=list)
    splits: list[str] | None = None

    def append(
        self, source: _Source, ident: str, label: int = -1, kind: str = "", subclass: str = ""
    ) -> None:
        """Add one row; by default unlabelled, with no kind and no subclass."""
        self.paths.append(source)
        self.ids.append(ident)
        self.labels.append(label)
        self.kinds.append(kind)
        self.subclasses.append(subclass)


def _rows_from_folder(images: list[Path]) -> _Rows:
    rows = _Rows()
    seen: dict[str, Path] = {}
    for path in images:
        if path.stem in seen:
            raise InputError(
                f"{path}: id {path.stem!r} is also the name of {seen[path.stem].name};"
                " ids (file names without extension) must be unique"
            )
        seen[path.stem] = path
        rows.append(path, path.stem)
    return rows


def _rows_from_fits(objects: Mapping[str, FitsObject]) -> _Rows:
    rows = _Rows()
    for ident in sorted(objects):
        rows.append(objects[ident], ident)
    return rows


def _looked_for(ident: str, fits: bool) -> str:
    if fits:
        return f"{ident}.fits or {', '.join(f'{ident}_{b}.fits' for b in ('g', 'r', 'z'))}"
    return ", ".join(ident + s for s in IMAGE_SUFFIXES)


def _parse_row(
    record: Mapping[str, str],
    where: str,
    by_stem: Mapping[str, Sequence[_Source]],
    folder: Path,
    *,
    fits: bool = False,
) -> tuple[_Source, str, int, str, str]:
    """Check one CSV record and return (file or FITS object, id, label, kind, subclass)."""
    ident = record["id"]
    if not ident:
        raise InputError(f"{where}: empty id")
    label = label_value(record["label"])
    if label is None:
        raise InputError(f"{where}: label {record['label']!r} is not a label; {_LABEL_HINT}")
    kind = record.get("kind", "").lower() or ("lsbg" if label == 1 else "")
    if kind not in KINDS:
        raise InputError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS[:-1])}")
    if (kind == "lsbg") != (label == 1) and kind:
        raise InputError(f"{where}: kind {kind!r} contradicts label {record['label']!r}")
    subclass = record.get("subclass", "").upper()
    if subclass not in SUBCLASSES or (subclass and label == 1):
        raise InputError(f"{where}: subclass {subclass!r} is not valid for this row (artifacts only, A to F)")
    name = record.get("file", "")
    source: _Source
    if name:
        source = folder / name
        if not source.is_file():
            raise InputError(f"{where}: file {name!r} not found in {folder}")
        if fits:
            if not is_fits_file(source):
                raise InputError(f"{where}: file {name!r} is not a FITS file ({', '.join(FITS_SUFFIXES)})")
            source = FitsObject(ident, cube=source)
    else:
        matches = by_stem.get(ident, [])
        if not matches:
            raise InputError(
                f"{where}: no image for id {ident!r} (looked for {_looked_for(ident, fits)} in {folder})"
            )
        if len(matches) > 1:
            names = ", ".join(p.name for p in matches if isinstance(p, Path))
            raise InputError(f"{where}: id {ident!r} matches several files ({names}); add a 'file' column")
        source = matches[0]
    return source, ident, label, kind, subclass


def _rows_from_csv(
    csv_path: Path, folder: Path, images: list[Path], objects: Mapping[str, FitsObject] | None = None
) -> _Rows:
    by_stem: dict[str, list[_Source]] = {}
    if objects is not None:
        by_stem = {ident: [obj] for ident, obj in objects.items()}
    for path in images:
        by_stem.setdefault(path.stem, []).append(path)
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = [h.strip().lower() for h in next(reader, [])]
            records = [(reader.line_num, row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{csv_path}: cannot read the labels CSV ({exc})") from exc
    missing = [c for c in ("id", "label") if c not in header]
    if missing:
        raise InputError(
            f"{csv_path}: missing column(s) {', '.join(missing)} (header: {', '.join(header) or 'empty'})"
        )
    rows = _Rows(splits=[] if "split" in header else None)
    first_row: dict[str, int] = {}
    for number, (line, values) in enumerate(records, start=1):
        where = f"{csv_path}, row {number} (line {line})"
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            raise InputError(f"{where}: {len(values)} fields, the header has {len(header)}")
        record = {h: v.strip() for h, v in zip(header, values, strict=True)}
        path, ident, label, kind, subclass = _parse_row(
            record, where, by_stem, folder, fits=objects is not None
        )
        if ident in first_row:
            raise InputError(f"{where}: id {ident!r} repeats row {first_row[ident]}")
        first_row[ident] = number
        if rows.splits is not None:
            split = record["split"].lower()
            if split not in _SPLIT_VALUES:
                raise InputError(
                    f"{where}: split {record['split']!r} is not one of {', '.join(_SPLIT_VALUES)}"
                )
            rows.splits.append(split)
        rows.append(path, ident, label, kind, subclass)
    if not rows.ids:
        raise InputError(f"{csv_path}: no data rows")
    return rows
