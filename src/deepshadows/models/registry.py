"""A registry of network architectures, so that a name in a file is enough to rebuild a model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

from deepshadows.errors import InputError

__all__ = ["create_model", "list_models", "model_class", "register_model"]

_Builder = TypeVar("_Builder", bound=Callable[..., nn.Module])
_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str) -> Callable[[_Builder], _Builder]:
    """Register a model class or factory function under ``name``.

    Parameters
    ----------
    name : str
        Registry name, written into every weight file so the model can be rebuilt.

    Returns
    -------
    callable
        A decorator that registers its argument and returns it unchanged.

    Raises
    ------
    ValueError
        If another builder is already registered under ``name``.
    """

    def decorator(builder: _Builder) -> _Builder:
        if name in _REGISTRY and _REGISTRY[name] is not builder:
            raise ValueError(f"a model is already registered as {name!r}")
        _REGISTRY[name] = builder
        return builder

    return decorator


def list_models() -> list[str]:
    """Return the registered model names, sorted.

    Returns
    -------
    list of str
        Names accepted by :func:`create_model` (and ``deepshadows train --model``).
    """
    return sorted(_REGISTRY)


def model_class(name: str) -> Callable[..., nn.Module]:
    """Return the class (or factory) registered under ``name``, e.g. to read its class attributes.

    Parameters
    ----------
    name : str
        Registry name (see :func:`list_models`).

    Returns
    -------
    callable
        What :func:`register_model` registered.

    Raises
    ------
    deepshadows.errors.InputError
        If no model is registered under ``name``.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise InputError(
            f"--model: unknown architecture {name!r}; known: {', '.join(list_models()) or 'none'}"
        ) from None


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered model.

    The returned module carries its registry name as ``architecture``, which
    :func:`deepshadows.models.save_model` records beside the weights.

    Parameters
    ----------
    name : str
        Registry name (see :func:`list_models`).
    **kwargs
        Passed to the model's constructor.

    Returns
    -------
    torch.nn.Module
        A freshly initialised model.

    Raises
    ------
    deepshadows.errors.InputError
        If no model is registered under ``name``.
    """
    model = model_class(name)(**kwargs)
    model.architecture = name
    return model
