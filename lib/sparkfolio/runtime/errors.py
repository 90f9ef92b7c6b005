"""Errors a user can fix; the CLI reports them as one line and a non-zero exit, without a traceback."""

from __future__ import annotations


class SparkfolioError(Exception):
    """A problem with the job's inputs or settings, reported to the user as one line."""

    exit_code = 2


class ConfigError(SparkfolioError):
    """An unreadable config file, an unknown key or a value of the wrong type."""


class InputError(SparkfolioError):
    """A missing, empty or malformed input."""


class DependencyError(SparkfolioError):
    """A native program the job needs (Tesseract, Graphviz, Java...) is missing."""

    exit_code = 3


class DataQualityError(SparkfolioError):
    """The input parsed, but too much of it was rejected to trust the result."""

    exit_code = 4
