"""Sample sizes that fit the store: the fine-tuning and test samples of transfer and of the label curve.

The defaults follow the paper (320 objects to fine-tune on, the rest, here 960, to test on) and
the label curve's rounds (20, 40, 80, 160 and 320 labels). A store of a user's own labels is
often smaller: sizes left at their defaults then shrink to fit it, and the command says what it
chose; sizes given explicitly are kept, or refused with sizes that would fit.
"""

from __future__ import annotations

from collections.abc import Sequence

from deepshadows.errors import InputError

__all__ = ["DEFAULT_CURVE_SIZES", "DEFAULT_FINETUNE", "DEFAULT_TEST", "curve_sizes", "transfer_sizes"]

#: Objects fine-tuned on by default (the paper's 320 HSC objects).
DEFAULT_FINETUNE = 320
#: Objects tested on by default.
DEFAULT_TEST = 960
#: Labels after each round of the label curve, by default.
DEFAULT_CURVE_SIZES: tuple[int, ...] = (20, 40, 80, 160, 320)


def transfer_sizes(
    total: int, n_finetune: int | None = None, n_test: int | None = None
) -> tuple[int, int, str | None]:
    """Return the fine-tuning and test sample sizes for ``total`` labelled objects.

    Sizes given are kept; a size left out is its default, or, when the two do not fit, what
    remains (the test sample takes three quarters of a store too small for both defaults).

    Parameters
    ----------
    total : int
        Labelled objects in the store.
    n_finetune, n_test : int, optional
        Sizes asked for (None: choose).

    Returns
    -------
    n_finetune, n_test : int
        The sizes.
    note : str or None
        What was chosen and why, when a default was shrunk to fit.

    Raises
    ------
    deepshadows.errors.InputError
        If the store has fewer than 2 labelled objects, or the sizes given do not fit; the
        message then gives sizes that would.
    """
    fit_test = max(1, (3 * total) // 4)
    suggestion = (
        f"with {total} labelled objects, for example --n-finetune {total - fit_test} --n-test {fit_test}"
    )
    if total < 2:
        raise InputError(f"the store has {total} labelled object(s); transfer needs at least 2")
    if n_finetune is not None and n_test is not None:
        if n_finetune + n_test > total:
            raise InputError(
                f"--n-finetune {n_finetune} + --n-test {n_test} exceed the {total} labelled objects; "
                f"{suggestion}"
            )
        return int(n_finetune), int(n_test), None
    if n_finetune is None and n_test is None:
        if DEFAULT_FINETUNE + DEFAULT_TEST <= total:
            return DEFAULT_FINETUNE, DEFAULT_TEST, None
        chosen = (total - fit_test, fit_test)
    elif n_finetune is not None:
        if n_finetune >= total:
            raise InputError(f"--n-finetune {n_finetune} leaves no test objects of the {total}; {suggestion}")
        chosen = (int(n_finetune), min(DEFAULT_TEST, total - int(n_finetune)))
        if chosen[1] == DEFAULT_TEST:
            return chosen[0], chosen[1], None
    else:
        assert n_test is not None
        if n_test >= total:
            raise InputError(
                f"--n-test {n_test} leaves no objects to fine-tune on of the {total}; {suggestion}"
            )
        chosen = (min(DEFAULT_FINETUNE, total - int(n_test)), int(n_test))
        if chosen[0] == DEFAULT_FINETUNE:
            return chosen[0], chosen[1], None
    note = (
        f"the store has {total} labelled objects, fewer than the default {DEFAULT_FINETUNE} + "
        f"{DEFAULT_TEST}: fine-tuning on {chosen[0]} and testing on {chosen[1]}"
    )
    return chosen[0], chosen[1], note


def curve_sizes(
    total: int, sizes: Sequence[int] | None = None, n_test: int | None = None
) -> tuple[list[int], int, str | None]:
    """Return the label counts of the curve's rounds and the size of its test part.

    Left out, the test part is 960 objects when the rounds fit beside it, otherwise a quarter of
    the store, and the rounds are the default counts that fit in the rest (or four rounds up to
    the rest, when fewer than two defaults fit).

    Parameters
    ----------
    total : int
        Labelled objects in the store.
    sizes : sequence of int, optional
        Labels after each round, increasing (None: choose).
    n_test : int, optional
        Size of the test part (None: choose).

    Returns
    -------
    sizes : list of int
        The label counts.
    n_test : int
        The test part's size.
    note : str or None
        What was chosen and why, when a default was shrunk to fit.

    Raises
    ------
    deepshadows.errors.InputError
        If the store has fewer than 8 labelled objects, the test part leaves fewer than 4 of them
        to label, or the rounds given do not fit beside it; the message then gives sizes that would.
    """
    if total < 8:
        raise InputError(f"the store has {total} labelled object(s); the label curve needs at least 8")
    largest = int(sizes[-1]) if sizes else DEFAULT_CURVE_SIZES[-1]
    if n_test is not None:
        test = int(n_test)
    else:
        test = DEFAULT_TEST if total - DEFAULT_TEST >= largest else total // 4
    rest = total - test
    if rest < 4:
        raise InputError(
            f"--n-test {test} leaves {max(rest, 0)} of the {total} labelled objects to label; "
            f"for example --n-test {total // 4}"
        )
    if sizes is None:
        chosen = [s for s in DEFAULT_CURVE_SIZES if s <= rest]
        if len(chosen) < 2:
            chosen = sorted({max(2, rest // 8), max(3, rest // 4), max(4, rest // 2), rest})
    else:
        chosen = [int(s) for s in sizes]
        if chosen and chosen[-1] > rest:
            fitting = [s for s in DEFAULT_CURVE_SIZES if s <= rest] or [rest // 4, rest // 2, rest]
            raise InputError(
                f"--sizes up to {chosen[-1]} and --n-test {test} exceed the {total} labelled objects; "
                f"for example --n-test {test} --sizes {','.join(str(s) for s in fitting)}"
            )
    defaults = (sizes is None and chosen != list(DEFAULT_CURVE_SIZES)) or (
        n_test is None and test != DEFAULT_TEST
    )
    note = None
    if defaults:
        note = (
            f"the store has {total} labelled objects: testing on {test} and labelling "
            f"{', '.join(str(s) for s in chosen)} (fewer than the defaults, to fit)"
        )
    return chosen, test, note
