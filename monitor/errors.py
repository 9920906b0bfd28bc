"""Typed errors. The CLI turns each into one clear line and an exit code, never a traceback."""

from __future__ import annotations


class HeatmonError(Exception):
    """Base of every error that is the user's to fix (bad input, missing model, ...)."""

    exit_code = 2


class InputError(HeatmonError):
    """An input file, stream or argument is missing, unreadable or malformed."""


class ModelError(HeatmonError):
    """No usable speech model: not found, not a Vosk model, or failed to load or download."""


class DeviceError(HeatmonError):
    """An audio device is unknown, busy, or audio capture is not available on this machine."""


def unwrap(group: BaseExceptionGroup) -> BaseException:
    """The first error of a task group's, as it was raised (a task group wraps them all; the
    CLI turns a HeatmonError into one line, so the error itself must come out)."""
    first = group.exceptions[0]
    return unwrap(first) if isinstance(first, BaseExceptionGroup) else first
