"""Maps from a model's logits to calibrated probabilities: temperature, Platt, isotonic regression.

Temperature scaling divides the logits by one number ``T`` before the sigmoid (or softmax),
chosen to minimise the log loss on held-out data. It keeps the order of the probabilities,
hence the ROC curve, the AUC and the decisions at probability 0.5 of a binary model, and only
makes the probabilities less (``T > 1``) or more (``T < 1``) confident.

Platt scaling fits ``p = sigmoid(a * logit + b)`` by logistic regression on the logits: a
slope ``a``, like ``1 / T``, and a bias ``b``, which moves the logit where the probability is
0.5. It keeps the order of the probabilities (for ``a > 0``) but moves the decision at 0.5,
so it corrects a model whose decisions are biased on other data (a new survey, a new sky),
which temperature scaling cannot. It applies to binary models only. The likelihood is that of
Platt's smoothed targets, ``(N+ + 1) / (N+ + 2)`` for the ``N+`` LSBGs and ``1 / (N- + 2)``
for the ``N-`` artifacts, rather than 1 and 0: with exact targets a sample that the logits
separate has its maximum at an infinite slope, with smoothed ones the fit stays finite.

Isotonic regression fits a non-decreasing, piecewise-linear function from the model's
probability to the observed fraction of LSBGs. It can correct any monotone distortion but
needs more data, turns ranges of probabilities into plateaus (ties) and applies to binary
models only. Its output is kept within ``[1 / (n + 2), 1 - 1 / (n + 2)]`` for ``n`` fitted
objects: a finite sample cannot support more certainty, and an exact 0 or 1 would make the
log loss of one surprise infinite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from deepshadows.errors import InputError

__all__ = [
    "BINARY_ONLY_METHODS",
    "CALIBRATION_METHODS",
    "ProbabilityMap",
    "fit_isotonic",
    "fit_platt",
    "fit_probability_map",
    "fit_temperature",
]

#: Calibration methods: ``none`` keeps the model's probabilities.
CALIBRATION_METHODS: tuple[str, ...] = ("temperature", "platt", "isotonic", "none")
#: Methods that apply to binary models only.
BINARY_ONLY_METHODS: tuple[str, ...] = ("platt", "isotonic")
#: Search range of the temperature.
_TEMPERATURE_RANGE = (1e-2, 1e2)


def _probabilities(logits: np.ndarray) -> np.ndarray:
    from deepshadows.models.forward import logits_to_probabilities

    return logits_to_probabilities(logits)


@dataclass(frozen=True)
class ProbabilityMap:
    """How logits become probabilities.

    Parameters
    ----------
    method : {"temperature", "platt", "isotonic", "none"}
        The map.
    temperature : float, optional
        ``T > 0`` of temperature scaling: probabilities are ``sigmoid(logit / T)`` (binary) or
        ``softmax(logits / T)``.
    slope, bias : float, optional
        ``a`` and ``b`` of Platt scaling: probabilities are ``sigmoid(a * logit + b)``.
    knots_x, knots_y : tuple of float, optional
        Isotonic regression: the model's probability at each knot (increasing) and the
        calibrated probability there (non-decreasing); linear in between, constant beyond.
    """

    method: str
    temperature: float | None = None
    slope: float | None = None
    bias: float | None = None
    knots_x: tuple[float, ...] = ()
    knots_y: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.method not in CALIBRATION_METHODS:
            raise InputError(f"method: must be one of {', '.join(CALIBRATION_METHODS)}, got {self.method!r}")
        if self.method == "temperature":
            t = self.temperature
            if not isinstance(t, int | float) or isinstance(t, bool) or not (math.isfinite(t) and t > 0):
                raise InputError(f"temperature: must be a positive number, got {t!r}")
        if self.method == "platt":
            for name in ("slope", "bias"):
                v = getattr(self, name)
                if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v):
                    raise InputError(f"{name}: Platt scaling needs a finite number, got {v!r}")
        if self.method == "isotonic":
            x = np.asarray(self.knots_x, dtype=np.float64)
            y = np.asarray(self.knots_y, dtype=np.float64)
            if x.ndim != 1 or x.shape != y.shape or x.size < 1:
                raise InputError("knots_x, knots_y: need two lists of the same length, at least one knot")
            if not (np.isfinite(x).all() and np.isfinite(y).all()) or (np.diff(x) <= 0).any():
                raise InputError("knots_x: must be finite and strictly increasing")
            if (np.diff(y) < 0).any() or y.min() < 0.0 or y.max() > 1.0:
                raise InputError("knots_y: must be non-decreasing probabilities in [0, 1]")

    @property
    def binary_only(self) -> bool:
        """Whether the map applies to binary models only (Platt scaling, isotonic regression)."""
        return self.method in BINARY_ONLY_METHODS

    def apply(self, logits: Any) -> np.ndarray:
        """Return the calibrated probabilities of logits.

        Parameters
        ----------
        logits : array-like of shape (N,) or (N, K)
            Logits of a binary or a K-class model.

        Returns
        -------
        ndarray of float64, the shape of ``logits``
            Probability of class 1 (binary) or of every class.

        Raises
        ------
        deepshadows.errors.InputError
            If a Platt or isotonic map is applied to the logits of K classes.
        """
        z = np.asarray(logits, dtype=np.float64)
        if self.binary_only and z.ndim != 1:
            raise InputError(
                f"{self.method} calibration applies to binary models, got logits of shape {z.shape}"
            )
        if self.method == "temperature":
            return _probabilities(z / float(self.temperature))
        if self.method == "platt":
            return _probabilities(float(self.slope) * z + float(self.bias))
        if self.method == "isotonic":
            return np.interp(_probabilities(z), self.knots_x, self.knots_y)
        return _probabilities(z)

    def describe(self) -> str:
        """Return a short description, e.g. ``"temperature T=1.42"`` or ``"Platt a=1.23 b=-0.45"``."""
        if self.method == "temperature":
            return f"temperature T={self.temperature:.3g}"
        if self.method == "platt":
            return f"Platt a={self.slope:.3g} b={self.bias:.3g}"
        if self.method == "isotonic":
            return f"isotonic ({len(self.knots_x)} knots)"
        return "none"


def _check_targets(logits: Any, targets: Any) -> tuple[np.ndarray, np.ndarray]:
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim not in (1, 2) or z.shape[0] == 0:
        raise InputError(f"logits: expected a non-empty array of shape (N,) or (N, K), got {z.shape}")
    if not np.isfinite(z).all():
        raise InputError(f"logits: hold {int((~np.isfinite(z)).sum())} non-finite value(s)")
    n_classes = 2 if z.ndim == 1 else z.shape[1]
    y = np.asarray(targets)
    if y.shape != (z.shape[0],):
        raise InputError(f"targets: expected shape ({z.shape[0]},), one per logit, got {y.shape}")
    if y.dtype.kind not in "biu" or y.min() < 0 or y.max() >= n_classes:
        raise InputError(f"targets: must be class indices 0..{n_classes - 1}")
    return z, y.astype(np.int64)


def fit_temperature(logits: Any, targets: Any) -> float:
    """Return the temperature that minimises the log loss of ``logits / T``.

    The mean log loss is minimised over ``log T`` in ``[log 0.01, log 100]`` by bounded Brent
    search (:func:`scipy.optimize.minimize_scalar`); it is convex in ``1 / T``, so the minimum
    is unique.

    Parameters
    ----------
    logits : array-like of shape (N,) or (N, K)
        Logits of a binary model (class 1 by the sigmoid) or of K classes (softmax).
    targets : array-like of int, shape (N,)
        True class of each object (0 or 1 for a binary model).

    Returns
    -------
    float
        The temperature ``T > 0``.

    Raises
    ------
    deepshadows.errors.InputError
        If the logits or targets are invalid.
    """
    from scipy.optimize import minimize_scalar
    from scipy.special import logsumexp

    z, y = _check_targets(logits, targets)
    if z.ndim == 1:
        signed = np.where(y == 1, -z, z)  # -log p(true class) = softplus(-z) for y = 1

        def loss(log_t: float) -> float:
            return float(np.logaddexp(0.0, signed * math.exp(-log_t)).mean())

    else:
        true_logit = z[np.arange(y.size), y]

        def loss(log_t: float) -> float:
            beta = math.exp(-log_t)
            return float((logsumexp(z * beta, axis=1) - true_logit * beta).mean())

    low, high = (math.log(v) for v in _TEMPERATURE_RANGE)
    result = minimize_scalar(loss, bounds=(low, high), method="bounded", options={"xatol": 1e-7})
    return float(math.exp(result.x))


def fit_platt(logits: Any, labels: Any) -> tuple[float, float]:
    """Fit Platt scaling, ``p = sigmoid(a * logit + b)``, to a binary model's logits.

    The mean cross-entropy against Platt's smoothed targets (see the module notes) is
    minimised over ``(a, b)`` by L-BFGS with its exact gradient, on standardised logits for a
    well-conditioned problem. The loss is convex and, with smoothed targets, grows without
    bound as ``|a|`` does, so the minimum is finite even when the logits separate the classes.
    When all logits are equal only the bias is fitted (``a = 1``).

    Parameters
    ----------
    logits : array-like of shape (N,)
        Logits of a binary model (class 1 = LSBG).
    labels : array-like of int, shape (N,)
        True labels, 0 or 1.

    Returns
    -------
    a, b : float
        Slope and bias, finite.

    Raises
    ------
    deepshadows.errors.InputError
        If the inputs are invalid or the logits are not those of a binary model.
    """
    from scipy.optimize import minimize

    z, y = _check_targets(logits, labels)
    if z.ndim != 1:
        raise InputError(f"logits: Platt scaling applies to binary models, got shape {z.shape}")
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    t = np.where(y == 1, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))
    centre, scale = float(z.mean()), float(z.std())
    if not scale > 1e-12 * max(1.0, abs(centre)):
        mean = float(t.mean())
        return 1.0, math.log(mean / (1.0 - mean)) - centre
    u = (z - centre) / scale

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        s = params[0] * u + params[1]
        residual = _probabilities(s) - t
        value = float((np.logaddexp(0.0, s) - t * s).mean())
        return value, np.array([(residual * u).mean(), residual.mean()])

    result = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B", options={"gtol": 1e-10})
    slope, intercept = (float(v) for v in result.x)
    a, b = slope / scale, intercept - slope * centre / scale
    if not (math.isfinite(a) and math.isfinite(b)):
        raise InputError(f"Platt scaling did not converge ({result.message}); use --method temperature")
    return a, b


def fit_isotonic(prob: Any, labels: Any) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Fit a non-decreasing map from a binary model's probabilities to the fraction of LSBGs.

    Parameters
    ----------
    prob : array-like of shape (N,)
        The model's probability of class 1.
    labels : array-like of int, shape (N,)
        True labels, 0 or 1.

    Returns
    -------
    knots_x, knots_y : tuple of float
        Knots of the piecewise-linear map (:class:`ProbabilityMap`), from
        :class:`sklearn.isotonic.IsotonicRegression`, with values kept within
        ``[1 / (N + 2), 1 - 1 / (N + 2)]``.

    Raises
    ------
    deepshadows.errors.InputError
        If the inputs are invalid.
    """
    from sklearn.isotonic import IsotonicRegression

    p = np.asarray(prob, dtype=np.float64)
    if p.ndim != 1 or not np.isfinite(p).all():
        raise InputError(f"prob: expected finite probabilities of shape (N,), got shape {p.shape}")
    _, y = _check_targets(np.zeros_like(p), labels)
    floor = 1.0 / (y.size + 2)
    model = IsotonicRegression(y_min=floor, y_max=1.0 - floor, increasing=True, out_of_bounds="clip")
    model.fit(p, y.astype(np.float64))
    return tuple(map(float, model.X_thresholds_)), tuple(map(float, model.y_thresholds_))


def fit_probability_map(logits: Any, targets: Any, *, method: str = "temperature") -> ProbabilityMap:
    """Fit the calibration map of a model from its logits on held-out objects.

    Parameters
    ----------
    logits : array-like of shape (N,) or (N, K)
        Logits of a binary model or of K classes.
    targets : array-like of int, shape (N,)
        True classes.
    method : {"temperature", "platt", "isotonic", "none"}, optional
        ``platt`` and ``isotonic`` need a binary model; ``none`` returns the identity map.

    Returns
    -------
    ProbabilityMap
        The fitted map.

    Raises
    ------
    deepshadows.errors.InputError
        If the method is unknown, Platt scaling or isotonic regression is asked for K classes,
        or the inputs are invalid.
    """
    if method not in CALIBRATION_METHODS:
        raise InputError(f"--calibration: must be one of {', '.join(CALIBRATION_METHODS)}, got {method!r}")
    z, y = _check_targets(logits, targets)
    if method in BINARY_ONLY_METHODS and z.ndim != 1:
        raise InputError(
            f"--calibration {method}: applies to binary models, this one has {z.shape[1]} classes; "
            "use temperature"
        )
    if method == "temperature":
        return ProbabilityMap("temperature", temperature=fit_temperature(z, y))
    if method == "platt":
        a, b = fit_platt(z, y)
        return ProbabilityMap("platt", slope=a, bias=b)
    if method == "isotonic":
        x, fitted = fit_isotonic(_probabilities(z), y)
        return ProbabilityMap("isotonic", knots_x=x, knots_y=fitted)
    return ProbabilityMap("none")
