from __future__ import annotations

import numpy as np
import pytest
import torch

from deepshadows._device import autocast, cpu_supports_bf16, resolve_precision
from deepshadows.data import to_float
from deepshadows.errors import InputError
from deepshadows.models.preprocess import as_network_input

CPU = torch.device("cpu")


def test_uint8_cutouts_become_the_values_of_to_float_in_channels_last_memory() -> None:
    images = np.random.default_rng(0).integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
    x = as_network_input(images, CPU)
    assert x.dtype == torch.float32 and x.shape == (5, 3, 8, 8)
    assert x.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(x, torch.from_numpy(to_float(images)))  # bit for bit


def test_float_input_is_kept_and_laid_out_channels_last() -> None:
    x = torch.rand(2, 3, 4, 4)
    y = as_network_input(x.numpy(), CPU)
    assert torch.equal(y, x) and y.is_contiguous(memory_format=torch.channels_last)


def test_precision_resolution() -> None:
    assert resolve_precision("fp32", CPU) == "fp32"
    assert resolve_precision("auto", CPU) == ("bf16" if cpu_supports_bf16() else "fp32")
    assert resolve_precision("auto", torch.device("cuda")) == "fp16"
    with pytest.raises(InputError, match="fp16 mixed precision needs a CUDA device"):
        resolve_precision("fp16", CPU)
    with pytest.raises(InputError, match="--precision"):
        resolve_precision("fp8", CPU)


def test_bf16_autocast_runs_matrix_products_in_bfloat16() -> None:
    a = torch.rand(4, 4)
    with autocast(CPU, "bf16"):
        assert (a @ a).dtype == torch.bfloat16
    with autocast(CPU, "fp32"):
        assert (a @ a).dtype == torch.float32
