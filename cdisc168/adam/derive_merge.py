"""Adding variables from another dataset by keys (admiral ``derive_vars_merged``)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from cdisc168.adam.derive_support import (
    Condition,
    OrderItem,
    choice,
    column_names,
    condition_mask,
    order_columns,
    order_items,
    require_absent,
    require_columns,
    require_frame,
    sort_records,
    text_series,
)


def _by_pairs(by_vars: object) -> tuple[list[str], list[str]]:
    """(keys in dataset, keys in dataset_add); a mapping renames ``dataset`` key → ``dataset_add`` key."""
    if isinstance(by_vars, Mapping):
        left = column_names(list(by_vars.keys()), "by_vars")
        right = column_names(list(by_vars.values()), "by_vars")
        return list(left), list(right)
    keys = list(column_names(by_vars, "by_vars"))
    return keys, keys


def _new_var_pairs(new_vars: object, add: pd.DataFrame, add_keys: list[str]) -> dict[str, str]:
    """new name → source column of ``dataset_add``."""
    if new_vars is None:
        return {c: c for c in add.columns if c not in add_keys}
    if isinstance(new_vars, Mapping):
        targets = column_names(list(new_vars.keys()), "new_vars")
        sources = column_names(list(new_vars.values()), "new_vars", allow_empty=True)
        pairs = dict(zip(targets, sources, strict=True))
    else:
        pairs = {c: c for c in column_names(new_vars, "new_vars")}
    require_columns(add, pairs.values(), "new_vars", "dataset_add")
    return pairs


def derive_vars_merged(
    dataset: pd.DataFrame,
    dataset_add: pd.DataFrame,
    by_vars: Sequence[str] | Mapping[str, str] = ("STUDYID", "USUBJID"),
    new_vars: Sequence[str] | Mapping[str, str] | None = None,
    filter_add: Condition | None = None,
    order: Sequence[OrderItem] | None = None,
    mode: str | None = None,
    missing_values: Mapping[str, object] | None = None,
    check_unique: bool = True,
    exist_flag: str | None = None,
    true_value: object = "Y",
    false_value: object = None,
) -> pd.DataFrame:
    """Add variables from ``dataset_add`` to ``dataset`` by keys (left join; admiral ``derive_vars_merged``).

    Steps: keep the records of ``dataset_add`` selected by ``filter_add``; if ``order`` and ``mode``
    are given keep, per ``by_vars`` group, the first or last record in that order; join the
    ``new_vars`` onto ``dataset`` by ``by_vars``. Every record of ``dataset`` is kept, once, in its
    order and with its index.

    - ``by_vars``: key names, or a mapping ``{dataset key: dataset_add key}`` when they differ
      (e.g. ``{"STUDYID": "STUDYID", "USUBJID": "USUBJID", "ADT": "EXSTDT"}``).
    - ``new_vars``: ``None`` (every non-key column), a list of names, or a mapping
      ``{new name: dataset_add column}`` that renames (``{"FANLDTM": "ADTM"}``).
    - ``filter_add``: a callable ``frame → boolean Series`` or a boolean Series on ``dataset_add``'s
      index (never a string to evaluate). Missing conditions count as False.
    - ``order``/``mode``: together; ``order`` lists columns or :func:`desc` keys, ``mode`` is
      ``"first"`` or ``"last"``. Missing order values sort last in every direction
      (``dplyr::arrange``), so with ``"last"`` filter them out first if they must not be chosen.
    - ``missing_values``: ``{new var: value}`` for records of ``dataset`` without a match (not for a
      match whose value is missing).
    - ``exist_flag``: name of a flag set to ``true_value`` where a match exists, else ``false_value``.
    - ``check_unique``: with ``order``/``mode``, warn when records of ``dataset_add`` tie on
      ``by_vars`` + ``order`` (the choice among ties then follows record order, admiral
      ``check_type = "warning"``). Without ``mode``, ``dataset_add`` must be unique by ``by_vars``
      whatever this flag says: a left join must not multiply the records of ``dataset``.

    New variables must not already be in ``dataset`` (ValueError naming them).

    Example (first dose date-time per subject, as ``FANLDTM``):

    >>> import pandas as pd
    >>> adpc = pd.DataFrame({"STUDYID": ["S", "S"], "USUBJID": ["S-1", "S-2"]})
    >>> ex = pd.DataFrame({
    ...     "STUDYID": ["S", "S", "S"], "USUBJID": ["S-1", "S-1", "S-2"],
    ...     "EXSEQ": [1, 2, 1],
    ...     "ADTM": pd.to_datetime(["2024-05-08 09:00", "2024-05-13 10:00", "2024-06-01 11:00"]),
    ... })
    >>> derive_vars_merged(adpc, ex, new_vars={"FANLDTM": "ADTM"}, order=["ADTM", "EXSEQ"], mode="first")
      STUDYID USUBJID             FANLDTM
    0       S     S-1 2024-05-08 09:00:00
    1       S     S-2 2024-06-01 11:00:00
    """
    dataset = require_frame(dataset, "dataset")
    dataset_add = require_frame(dataset_add, "dataset_add")
    keys, add_keys = _by_pairs(by_vars)
    require_columns(dataset, keys, "by_vars")
    require_columns(dataset_add, add_keys, "by_vars", "dataset_add")
    pairs = _new_var_pairs(new_vars, dataset_add, add_keys)
    if not pairs:
        raise ValueError("new_vars: dataset_add has no columns besides the keys")
    clash = [name for name in pairs if name in keys]
    if clash:
        raise ValueError(f"new_vars: {', '.join(clash)} is a key (by_vars), not a new variable")
    require_absent(dataset, pairs, "new_vars")
    if exist_flag is not None:
        require_absent(dataset, [exist_flag], "exist_flag")
        if exist_flag in pairs:
            raise ValueError(f"exist_flag: {exist_flag} is also in new_vars")
    if (order is None) != (mode is None):
        raise ValueError("order, mode: give both (to pick one record per by group) or neither")
    if missing_values is not None:
        if not isinstance(missing_values, Mapping):
            raise TypeError(f"missing_values: expected a mapping new var → value, got {missing_values!r}")
        unknown = [k for k in missing_values if k not in pairs]
        if unknown:
            raise ValueError(f"missing_values: {', '.join(map(str, unknown))} not among new_vars")

    add = dataset_add.loc[condition_mask(dataset_add, filter_add, "filter_add")]
    if order is not None:
        choice(mode, ("first", "last"), "mode")
        items = order_items(order, "order")
        require_columns(dataset_add, order_columns(items), "order", "dataset_add")
        if check_unique and add.duplicated([*add_keys, *order_columns(items)]).any():
            warnings.warn(
                f"dataset_add: records tie on {', '.join([*add_keys, *order_columns(items)])}; "
                f"the {mode} in record order was taken",
                UserWarning,
                stacklevel=2,
            )
        add = sort_records(add, add_keys, items).drop_duplicates(add_keys, keep=mode)
    elif add.duplicated(add_keys).any():
        example = add.loc[add.duplicated(add_keys, keep=False), add_keys].iloc[0].tolist()
        raise ValueError(
            f"dataset_add: not unique by {', '.join(add_keys)} (e.g. {example}); "
            "give filter_add, or order and mode to pick one record per by group"
        )

    add = add.reset_index(drop=True)
    right = pd.DataFrame({key: add[add_key] for key, add_key in zip(keys, add_keys, strict=True)})
    for name, source in pairs.items():
        right[name] = add[source]
    right["_matched"] = True
    merged = dataset.merge(right, how="left", on=keys, sort=False, validate="many_to_one")
    merged.index = dataset.index
    matched = merged.pop("_matched").fillna(False).to_numpy(dtype=bool)
    for name, value in (missing_values or {}).items():
        merged[name] = merged[name].where(matched, value)
    if exist_flag is not None:
        merged[exist_flag] = text_series(np.where(matched, true_value, false_value).tolist(), dataset.index)
    return merged
