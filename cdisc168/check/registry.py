"""The registry of check functions: a rule of the catalog names its check, the registry finds it.

A check function takes ``(submission, rule, dataset name)`` and returns a DataFrame of failures, one row
per failure, with any of the columns of :data:`FAILURE_COLUMNS`:

* ``row`` - the 1-based record number in the dataset (missing/None for a dataset-level problem);
* ``USUBJID``, ``SEQ`` - filled by the engine from the record when left out;
* ``variable`` - the variable judged; ``value`` - the value seen (filled from the record when left out);
* ``message`` - overrides the rule's message for that failure;
* ``dataset`` - overrides the dataset a finding names (e.g. a define rule naming the dataset it is about).

An empty frame means the dataset passes. Checks are vectorised, read only the columns they need and
never raise for odd data (a variable the dataset lacks means the rule does not apply to it).

Check functions live in the modules ``cdisc168/check/*_rules*.py``; :func:`load_check_modules` imports
them all, so a rule catalog can name any check they register.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from cdisc168.check.catalog import RuleDef
    from cdisc168.check.submission import Submission

CheckFunction = Callable[["Submission", "RuleDef", str], pd.DataFrame]
FAILURE_COLUMNS: tuple[str, ...] = ("row", "USUBJID", "SEQ", "variable", "value", "message", "dataset")
CHECK_PACKAGE = "cdisc168.check"
_MODULE_MARK = "_rules"

_REGISTRY: dict[str, CheckFunction] = {}


class UnknownCheckError(KeyError):
    """A rule names a check function that no check module registers."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def check(name: str) -> Callable[[CheckFunction], CheckFunction]:
    """Decorator registering a check function under ``name`` (names are unique)."""

    def register(function: CheckFunction) -> CheckFunction:
        existing = _REGISTRY.get(name)
        if existing is not None and existing is not function:
            raise ValueError(
                f"check {name!r} is registered twice: {existing.__module__}.{existing.__qualname__} "
                f"and {function.__module__}.{function.__qualname__}"
            )
        _REGISTRY[name] = function
        return function

    return register


def load_check_modules() -> None:
    """Import every check module of the package (``cdisc168/check/*_rules*.py``) so that they register."""
    package = importlib.import_module(CHECK_PACKAGE)
    for module in pkgutil.iter_modules(package.__path__):
        if _MODULE_MARK in module.name:
            importlib.import_module(f"{CHECK_PACKAGE}.{module.name}")


def check_function(name: str) -> CheckFunction:
    """The check function registered under ``name``; :class:`UnknownCheckError` names the known ones."""
    if name not in _REGISTRY:
        load_check_modules()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise UnknownCheckError(f"no check function {name!r} is registered (known: {known})") from None


def registered_checks() -> tuple[str, ...]:
    """The names of every registered check (after importing the check modules)."""
    load_check_modules()
    return tuple(sorted(_REGISTRY))


def display_value(value: object) -> str:
    """A value as a finding shows it: "" for missing, whole numbers without ".0"."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):  # type: ignore[call-overload]
        return ""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def no_failures() -> pd.DataFrame:
    """The result of a check that found nothing."""
    return pd.DataFrame()


def failures_at(
    positions: np.ndarray,
    *,
    variable: str | None = None,
    message: str | Sequence[str] | None = None,
    value: Sequence[object] | None = None,
) -> pd.DataFrame:
    """Failures at the records at 0-based ``positions``; ``message``/``value`` are scalars or one per position
    (build per-failure messages from the failing records only, never from the whole dataset)."""
    if not len(positions):
        return no_failures()
    columns: dict[str, Any] = {"row": np.asarray(positions, dtype=np.int64) + 1}
    if variable is not None:
        columns["variable"] = variable
    if message is not None:
        columns["message"] = message if isinstance(message, str) else list(message)
    if value is not None:
        columns["value"] = list(value)
    return pd.DataFrame(columns)


def failures_where(
    mask: np.ndarray | pd.Series, *, variable: str | None = None, message: str | None = None
) -> pd.DataFrame:
    """Failures at the records where ``mask`` is True (NA counts as False)."""
    flags = (
        mask.fillna(False).to_numpy(dtype=bool)
        if isinstance(mask, pd.Series)
        else np.asarray(mask, dtype=bool)
    )
    hits = np.flatnonzero(flags)
    return failures_at(hits, variable=variable, message=message)


def concat_failures(found: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """The failures of several sub-checks (e.g. one per variable) as one frame."""
    frames = [f for f in found if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else no_failures()


def dataset_failures(items: Iterable[tuple[str | None, object, str]]) -> pd.DataFrame:
    """Dataset-level failures (no record), one per ``(variable, value, message)``."""
    rows = [{"row": None, "variable": v, "value": value, "message": m} for v, value, m in items]
    return pd.DataFrame(rows) if rows else no_failures()


def dataset_failure(message: str, *, variable: str | None = None, value: object = None) -> pd.DataFrame:
    """One dataset-level failure (no record), e.g. a variable the dataset lacks."""
    return dataset_failures([(variable, value, message)])
