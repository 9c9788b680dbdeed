"""One exception type for every problem a user can fix.

The CLI prints an ``XrayError`` as one clear message and exits non-zero, never a traceback:
the message names the file or setting that is wrong, the hint says how to fix it.
"""


class XrayError(Exception):
    """A problem with the user's input, data, weights or environment (not a bug)."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  fix: {self.hint}"


class ConfigError(XrayError):
    """An unknown or invalid setting."""


class DataError(XrayError):
    """A data folder, npz or image that cannot be used as it is."""


class WeightsError(XrayError):
    """Pretrained weights that cannot be found, downloaded or loaded."""
