"""Exceptions that monoscan raises for problems a user can fix.

Every error the CLI turns into a one-line ``error: ...`` message and exit code 2 derives from
:class:`MonoscanError`. Anything else escaping a stage is a bug in monoscan.
"""

from __future__ import annotations

__all__ = [
    "FaceNotFoundError",
    "FormatError",
    "InputError",
    "MonoscanError",
    "NoFaceError",
    "NoPersonError",
]


class MonoscanError(Exception):
    """Base class for user-facing errors (bad input, unreadable files, nothing detected)."""


class InputError(MonoscanError, ValueError):
    """The input file or array cannot be used (missing, unreadable, truncated, too large...)."""


class NoFaceError(MonoscanError):
    """No usable face was found in the photo (none detected, or too small)."""


class FaceNotFoundError(NoFaceError):
    """No face at all in the photo (a back view, a close-up of hair), as opposed to a face
    that is too small or a ``--face-index`` that does not exist: the pipeline then makes the
    hair maps alone when it finds hair."""


class NoPersonError(MonoscanError):
    """No person was found in the photo."""


class FormatError(MonoscanError, ValueError):
    """A mesh, strand or dataset file is malformed (truncated, wrong counts, NaN...)."""
