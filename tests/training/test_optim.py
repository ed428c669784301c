from __future__ import annotations

import copy
import logging

import pytest
import torch

from deepshadows.models import create_model
from deepshadows.training import optim as optim_module
from deepshadows.training.optim import KerasAdadelta

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return create_model("deepshadows-table1", image_size=16)


def _loss(model: torch.nn.Module, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(8, 3, 16, 16, generator=gen)
    y = (torch.rand(8, generator=gen) > 0.5).float()
    model.eval()  # no dropout: both optimizers see the same gradients
    return torch.nn.functional.binary_cross_entropy_with_logits(model(x), y)


def _train(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, *, fold: bool, steps: int = 4
) -> list[float]:
    penalties = []
    for step in range(steps):
        loss = _loss(model, step)
        if not fold:
            penalty = model.l2_penalty()
            penalties.append(penalty.item())
            loss = loss + penalty
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if fold:
            penalties.append(float(optimizer.last_penalty))
    return penalties


@pytest.mark.parametrize("compiled", [False, True])
def test_matches_torch_adadelta_with_the_penalty_in_the_loss(compiled: bool) -> None:
    """Folding 2λw into the update is Keras's L2 regulariser: the same steps as the loss term."""
    reference, folded = _model(), _model()
    torch_opt = torch.optim.Adadelta(reference.parameters(), lr=0.1, rho=0.95, eps=1e-7)
    ours = KerasAdadelta(folded.l2_param_groups(), lr=0.1, rho=0.95, eps=1e-7, compiled=compiled)
    expected = _train(reference, torch_opt, fold=False)
    got = _train(folded, ours, fold=True)
    assert got == pytest.approx(expected, rel=1e-5)
    assert ours.is_compiled == compiled
    for a, b in zip(reference.parameters(), folded.parameters(), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-6)
    moved = sum(
        (a - b).abs().sum().item() for a, b in zip(_model().parameters(), folded.parameters(), strict=True)
    )
    assert moved > 0
    # The state has PyTorch's layout: it loads into torch's Adadelta and back.
    state = ours.state_dict()
    assert set(state["state"][0]) == {"step", "square_avg", "acc_delta"}


def test_state_dict_round_trip_continues_identically() -> None:
    a, b = _model(), _model()
    opt_a = KerasAdadelta(a.l2_param_groups(), compiled=False)
    _train(a, opt_a, fold=True, steps=2)
    b.load_state_dict(a.state_dict())
    opt_b = KerasAdadelta(b.l2_param_groups(), compiled=False)
    opt_b.load_state_dict(copy.deepcopy(opt_a.state_dict()))  # as torch.load gives fresh tensors
    _train(a, opt_a, fold=True, steps=2)
    _train(b, opt_b, fold=True, steps=2)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_a_failed_compilation_falls_back_to_the_eager_update(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_fn, **_kwargs):
        def run(*_args):
            raise RuntimeError("no C++ compiler")

        return run

    monkeypatch.setattr(optim_module.torch, "compile", broken)
    model = _model()
    opt = KerasAdadelta(model.l2_param_groups(), compiled=True)
    with caplog.at_level(logging.WARNING, logger="deepshadows.training.optim"):
        _train(model, opt, fold=True, steps=2)
    assert not opt.is_compiled
    assert "running it eagerly" in caplog.text


def test_environment_switch_turns_compilation_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(optim_module.COMPILE_ENV, "0")
    model = _model()
    opt = KerasAdadelta(model.parameters())
    _train(model, opt, fold=True, steps=1)
    assert not opt.is_compiled


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"lr": 0.0}, "learning rate"), ({"rho": 1.0}, "rho"), ({"eps": 0.0}, "eps")],
)
def test_rejects_bad_hyperparameters(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        KerasAdadelta(_model().parameters(), **kwargs)


def test_rejects_a_negative_penalty() -> None:
    with pytest.raises(ValueError, match="l2 factors"):
        KerasAdadelta([{"params": list(_model().parameters()), "l2": -1.0}])
