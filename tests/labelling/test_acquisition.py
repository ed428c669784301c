from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.labelling.conftest import cutouts

from deepshadows.errors import InputError
from deepshadows.labelling import (
    acquisition_scores,
    bald,
    diverse_order,
    embed,
    entropy,
    stochastic_probabilities,
)
from deepshadows.models import load_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_entropy_and_bald_on_known_cases():
    # Columns: certain; agreed coin flip (aleatoric); confident passes that disagree (epistemic).
    samples = np.array([[0.99, 0.5, 0.01], [0.99, 0.5, 0.99]])
    h = entropy(samples)
    b = bald(samples)
    assert h[0] < 0.06 and h[1] == pytest.approx(np.log(2)) and h[2] == pytest.approx(np.log(2))
    assert b[0] == pytest.approx(0, abs=1e-9) and b[1] == pytest.approx(0, abs=1e-9)
    assert b[2] > 0.6
    assert np.argmax(acquisition_scores(samples, "bald")) == 2
    with pytest.raises(InputError, match="acquisition"):
        acquisition_scores(samples, "margin")
    with pytest.raises(InputError, match="shape"):
        bald(np.array([0.5, 0.2]))


def test_diverse_order_spreads_the_first_over_clusters():
    # Two tight clusters; the ten best scores all lie in cluster A.
    rng = np.random.default_rng(0)
    features = np.vstack([rng.normal(0, 0.01, (20, 2)), rng.normal(10, 0.01, (20, 2))])
    scores = np.concatenate([np.linspace(1.0, 0.8, 20), np.linspace(0.5, 0.3, 20)])
    order = diverse_order(scores, features, n_first=2, pool_factor=20)
    assert sorted(order.tolist()) == list(range(40))
    assert order[0] == 0 and order[1] >= 20  # the second comes from the other cluster
    assert diverse_order(scores, features, n_first=1).tolist() == np.argsort(-scores).tolist()


def test_mc_dropout_gives_varied_reproducible_passes(model_dir):
    model, _ = load_model(model_dir)
    images, _ = cutouts(12, seed=0)
    state = torch.random.get_rng_state()
    a = stochastic_probabilities(model, images, n_samples=4, seed=3)
    b = stochastic_probabilities(model, images, n_samples=4, seed=3)
    assert a.shape == (4, 12) and np.array_equal(a, b)
    assert np.ptp(a, axis=0).max() > 0  # dropout on: the passes differ
    assert torch.equal(torch.random.get_rng_state(), state)
    assert not model.training and not any(m.training for m in model.modules())
    assert embed(model, images).shape == (12, 1024)
    with pytest.raises(InputError, match="at least 2"):
        stochastic_probabilities(model, images, n_samples=1)
