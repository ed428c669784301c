"""Sample sizes of transfer and of the label curve: defaults that fit the store, or numbers that would."""

from __future__ import annotations

import pytest

from deepshadows.errors import InputError
from deepshadows.transfer.sample_sizes import curve_sizes, transfer_sizes


def test_transfer_defaults_are_the_papers_when_they_fit() -> None:
    assert transfer_sizes(1280) == (320, 960, None)
    assert transfer_sizes(5000, n_finetune=100) == (100, 960, None)


def test_transfer_defaults_shrink_to_a_small_store_and_say_so() -> None:
    n_finetune, n_test, note = transfer_sizes(120)
    assert (n_finetune, n_test) == (30, 90)
    assert "120 labelled objects" in note and "fine-tuning on 30 and testing on 90" in note
    assert transfer_sizes(120, n_finetune=20)[:2] == (20, 100)
    assert transfer_sizes(120, n_test=100)[:2] == (20, 100)


def test_transfer_sizes_given_that_do_not_fit_are_refused_with_sizes_that_would() -> None:
    with pytest.raises(InputError, match=r"exceed the 120 labelled objects; .* --n-finetune 30 --n-test 90"):
        transfer_sizes(120, n_finetune=320, n_test=960)
    with pytest.raises(InputError, match="--n-finetune 200 leaves no test objects"):
        transfer_sizes(120, n_finetune=200)


def test_curve_defaults() -> None:
    assert curve_sizes(5000) == ([20, 40, 80, 160, 320], 960, None)
    sizes, n_test, note = curve_sizes(120)
    assert (sizes, n_test) == ([20, 40, 80], 30)
    assert "testing on 30 and labelling 20, 40, 80" in note
    # Fewer than two default rounds fit in what the test part leaves: four rounds up to all of it.
    assert curve_sizes(40)[:2] == ([3, 7, 15, 30], 10)
    assert curve_sizes(24)[:2] == ([2, 4, 9, 18], 6)


def test_curve_sizes_given_that_do_not_fit_are_refused() -> None:
    with pytest.raises(
        InputError, match=r"--sizes up to 320 and --n-test 30 exceed the 120 labelled objects"
    ):
        curve_sizes(120, sizes=[20, 320])
    with pytest.raises(InputError, match="leaves 0 of the 120"):
        curve_sizes(120, n_test=120)
    assert curve_sizes(120, sizes=[10, 20], n_test=50) == ([10, 20], 50, None)
