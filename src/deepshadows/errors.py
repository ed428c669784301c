"""Errors that the command line reports as one clear line and a non-zero exit."""

from __future__ import annotations

__all__ = ["DeepShadowsError", "InputError", "WorkerError"]


class DeepShadowsError(Exception):
    """Base class for errors caused by the user's input or environment, not by a bug."""


class InputError(DeepShadowsError, ValueError):
    """A file, row or parameter given by the user is invalid; the message names it."""


class WorkerError(DeepShadowsError, RuntimeError):
    """A worker process stopped abruptly (killed, out of memory, or it could not start)."""
