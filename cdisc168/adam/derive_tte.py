"""Time-to-event parameters (admiral ``derive_param_tte`` with ``event_source``/``censor_source``).

ADaMIG 1.3 §3.3.6 (Table 3.3.6.1, time-to-event variables STARTDT, CNSR, EVNTDESC, CNSDTDSC), the
ADaM Basic Data Structure for Time-to-Event Analyses (ADT, AVAL; SRCDOM/SRCVAR/SRCSEQ traceability)
and STUDY.md §3.7 (ADTTE: AVAL = ADT − STARTDT + 1 days, censoring at the data cut at the
latest).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cdisc168.adam.derive_support import (
    Condition,
    column_name,
    column_names,
    condition_mask,
    datetimes,
    require_columns,
    require_frame,
    sort_records,
)

_DAY = pd.Timedelta(days=1)
_RESERVED = ("STARTDT", "STARTDTF", "ADT", "AVAL", "CNSR")


@dataclass(frozen=True)
class Var:
    """A column of the source dataset, as a value in ``set_values_to`` (admiral: an unquoted symbol).

    ``{"SRCSEQ": Var("AESEQ")}`` copies AESEQ of the chosen record; ``{"SRCDOM": "AE"}`` is a constant.
    """

    name: str

    def __post_init__(self) -> None:
        column_name(self.name, "Var")


SetValue = Var | Callable[[pd.DataFrame], pd.Series] | str | int | float | None


def _check_source(source: _TteSource) -> None:
    column_name(source.dataset_name, "dataset_name")
    column_name(source.date, "date")
    if isinstance(source.filter, str):
        raise TypeError("filter: expected a callable or a boolean Series, not a string (never evaluated)")
    if not isinstance(source.set_values_to, Mapping):
        raise TypeError(f"set_values_to: expected a mapping variable → value, got {source.set_values_to!r}")
    for name in source.set_values_to:
        column_name(name, "set_values_to")
        if name in _RESERVED:
            raise ValueError(f"set_values_to: {name} is derived by derive_param_tte, it cannot be set")
    column_names(source.order, "order", allow_empty=True)


@dataclass(frozen=True)
class _TteSource:
    dataset_name: str
    date: str
    filter: Condition | None = None
    censor: int = 0
    set_values_to: Mapping[str, SetValue] = field(default_factory=dict)
    order: Sequence[str] = ()


@dataclass(frozen=True)
class EventSource(_TteSource):
    """An event for :func:`derive_param_tte` (admiral ``event_source``): CNSR = 0.

    ``dataset_name`` names a frame of ``source_datasets``; ``date`` its date column (datetime64; the
    day counts); ``filter`` selects the event records (callable ``frame → boolean Series`` or a
    boolean Series); ``set_values_to`` gives EVNTDESC, SRCDOM, SRCVAR, SRCSEQ … as constants,
    :class:`Var` column references or callables; ``order`` breaks ties on the same date.
    """

    def __post_init__(self) -> None:
        _check_source(self)
        if self.censor != 0:
            raise ValueError(f"censor: an event has CNSR 0, got {self.censor!r} (use CensorSource)")


@dataclass(frozen=True)
class CensorSource(_TteSource):
    """A censoring for :func:`derive_param_tte` (admiral ``censor_source``): CNSR = ``censor`` ≥ 1.

    Fields as :class:`EventSource`; ``censor`` defaults to 1. ADaMIG 1.3: 0 for events and
    positive integers, ideally one per censoring reason, for censorings.
    """

    censor: int = 1

    def __post_init__(self) -> None:
        _check_source(self)
        if isinstance(self.censor, bool) or not isinstance(self.censor, int | np.integer) or self.censor < 1:
            raise ValueError(f"censor: a censoring has a positive whole CNSR, got {self.censor!r}")


def _value(frame: pd.DataFrame, value: SetValue, name: str, source: str) -> Any:
    if isinstance(value, Var):
        require_columns(frame, [value.name], f"set_values_to[{name!r}]", f"source dataset {source!r}")
        return frame[value.name].to_numpy()
    if callable(value):
        result = value(frame)
        if not isinstance(result, pd.Series) or not result.index.equals(frame.index):
            raise TypeError(f"set_values_to[{name!r}]: a callable must return a Series on the frame's index")
        return result.to_numpy()
    if value is not None and not isinstance(value, str | int | float | np.integer | np.floating):
        raise TypeError(f"set_values_to[{name!r}]: expected a constant, a Var or a callable, got {value!r}")
    return value


def _pick(
    sources: Sequence[_TteSource],
    source_datasets: Mapping[str, pd.DataFrame],
    keys: list[str],
    first: bool,
    kind: str,
) -> pd.DataFrame:
    """Per subject, the first (events) or last (censorings) dated record over all sources."""
    picked = []
    for number, source in enumerate(sources):
        arg = f"{kind}[{number}]"
        if source.dataset_name not in source_datasets:
            raise ValueError(
                f"{arg}: dataset_name {source.dataset_name!r} is not in source_datasets "
                f"({', '.join(map(repr, source_datasets))})"
            )
        frame = require_frame(
            source_datasets[source.dataset_name], f"source_datasets[{source.dataset_name!r}]"
        )
        where = f"source dataset {source.dataset_name!r}"
        require_columns(frame, keys, "subject_keys", where)
        require_columns(frame, [source.date], f"{arg}.date", where)
        require_columns(frame, source.order, f"{arg}.order", where)
        date = datetimes(frame, source.date, f"{arg}.date")
        # A record without a date can be neither an event nor a censoring time.
        selected = condition_mask(frame, source.filter, f"{arg}.filter") & date.notna().to_numpy()
        rows = frame.loc[selected]
        ordered = sort_records(rows.assign(_DATE=date.to_numpy()[selected]), keys, ["_DATE", *source.order])
        chosen = ordered.drop_duplicates(keys, keep="first" if first else "last")
        record = chosen[keys].reset_index(drop=True)
        record["ADT"] = chosen["_DATE"].dt.normalize().to_numpy()
        chosen = chosen.drop(columns="_DATE")
        record["CNSR"] = int(source.censor)
        record["_SOURCE"] = number
        for name, value in source.set_values_to.items():
            record[name] = _value(chosen, value, name, source.dataset_name)
        picked.append(record)
    if not picked:
        empty = {key: pd.Series(dtype=object) for key in keys}
        empty.update(
            ADT=pd.Series(dtype="datetime64[us]"),
            CNSR=pd.Series(dtype="int64"),
            _SOURCE=pd.Series(dtype="int64"),
        )
        return pd.DataFrame(empty)
    combined = pd.concat(picked, ignore_index=True)
    combined = sort_records(combined, keys, ["ADT", "_SOURCE"])
    return combined.drop_duplicates(keys, keep="first" if first else "last")


def derive_param_tte(
    dataset_adsl: pd.DataFrame,
    source_datasets: Mapping[str, pd.DataFrame],
    event_conditions: Sequence[EventSource],
    censor_conditions: Sequence[CensorSource],
    start_date: str = "TRTSDT",
    set_values_to: Mapping[str, object] | None = None,
    subject_keys: Sequence[str] = ("STUDYID", "USUBJID"),
    data_cut_date_var: str | None = None,
    *,
    dataset: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One time-to-event record per subject (admiral ``derive_param_tte``; ADaMIG 1.3 §3.3.6).

    1. Events: per event source, its records selected by ``filter`` with a date; per subject the
       first by (date, ``order``). Over all event sources, per subject the earliest date; on the same
       date the source listed first in ``event_conditions`` wins. CNSR = 0.
    2. Censorings: the same with the *last* record per source and the *latest* date over sources;
       on the same date the source listed last in ``censor_conditions`` wins. CNSR = ``censor``.
    3. A subject with an event gets the event, whatever the censoring dates; otherwise the censoring.
    4. Only subjects in ``dataset_adsl`` with an event or a censoring get a record. STARTDT =
       ``start_date`` (STARTDTF too when ADSL has the matching ``*DTF``); ADT = max(ADT, STARTDT).
    5. AVAL = ADT − STARTDT + 1 in days (STUDY.md §3.7); the parameter's ``set_values_to``
       (PARAMCD, PARAM, …) are added as constants.

    ``data_cut_date_var`` (an ADSL date column, e.g. DCUTDT) censors at the data cut at the latest
    (STUDY.md "Decisions"): events after the cut are not known at the cut and are ignored (before
    step 1); a chosen censoring after the cut becomes a censoring at the cut with EVNTDESC
    "DATA CUT-OFF", SRCDOM "ADSL", SRCVAR ``data_cut_date_var`` and no SRCSEQ (its CNSR is kept).

    ====================================  ==========================  ====  =========================
    subject has                           ADT                         CNSR  description from
    ====================================  ==========================  ====  =========================
    events (any censorings)               earliest event date         0     that event source
    no event, censorings                  latest censoring date       ≥ 1   that censoring source
    censoring after the data cut          data cut date               ≥ 1   DATA CUT-OFF
    neither                               (no record)
    date before STARTDT                   STARTDT (AVAL = 1)
    ====================================  ==========================  ====  =========================

    Differences from admiral: records with a missing date are dropped before the first/last pick
    (admiral's last-record pick can take an undated record and then lose the censoring); AVAL is
    derived here (admiral leaves it to ``derive_vars_duration``); no ``by_vars``. ``dataset`` (a BDS
    frame) receives the new rows if given; its PARAMCD must not already hold the new parameter.

    Example (time to remission, censored at the last assessment):

    >>> import pandas as pd
    >>> adsl = pd.DataFrame({"STUDYID": ["S"] * 2, "USUBJID": ["S-1", "S-2"],
    ...                      "TRTSDT": pd.to_datetime(["2024-05-13", "2024-06-03"])})
    >>> adrs = pd.DataFrame({"STUDYID": ["S"] * 3, "USUBJID": ["S-1", "S-1", "S-2"],
    ...                      "PARAMCD": ["REMIS"] * 3, "AVALC": ["N", "Y", "N"], "ASEQ": [1, 2, 1],
    ...                      "ADT": pd.to_datetime(["2024-06-10", "2024-08-12", "2024-09-02"])})
    >>> trace = {"SRCDOM": "ADRS", "SRCVAR": "ADT", "SRCSEQ": Var("ASEQ")}
    >>> remission = EventSource("adrs", "ADT", filter=lambda d: d["AVALC"] == "Y",
    ...                         set_values_to={"EVNTDESC": "REMISSION", **trace})
    >>> last_assessment = CensorSource("adrs", "ADT", set_values_to={"EVNTDESC": "LAST ASSESSMENT", **trace})
    >>> ttr = derive_param_tte(adsl, {"adrs": adrs}, [remission], [last_assessment],
    ...                        set_values_to={"PARAMCD": "TTR", "PARAM": "Time to Remission (days)"})
    >>> ttr[["USUBJID", "ADT", "AVAL", "CNSR", "EVNTDESC", "SRCSEQ"]]
      USUBJID        ADT  AVAL  CNSR         EVNTDESC  SRCSEQ
    0     S-1 2024-08-12  92.0     0        REMISSION       2
    1     S-2 2024-09-02  92.0     1  LAST ASSESSMENT       1
    """
    adsl = require_frame(dataset_adsl, "dataset_adsl")
    if not isinstance(source_datasets, Mapping):
        raise TypeError(
            f"source_datasets: expected a mapping name → DataFrame, got {type(source_datasets).__name__}"
        )
    keys = list(column_names(subject_keys, "subject_keys"))
    start_date = column_name(start_date, "start_date")
    events = list(event_conditions)
    censors = list(censor_conditions)
    for arg, items, kind in (
        ("event_conditions", events, EventSource),
        ("censor_conditions", censors, CensorSource),
    ):
        bad = [type(item).__name__ for item in items if not isinstance(item, kind)]
        if bad:
            raise TypeError(f"{arg}: expected {kind.__name__} objects, got {', '.join(bad)}")
    if not events and not censors:
        raise ValueError("event_conditions, censor_conditions: give at least one event or censoring source")
    parameter = dict(set_values_to or {})
    for name, value in parameter.items():
        column_name(name, "set_values_to")
        if name in _RESERVED:
            raise ValueError(f"set_values_to: {name} is derived by derive_param_tte, it cannot be set")
        if value is not None and not isinstance(value, str | int | float | np.integer | np.floating):
            raise TypeError(f"set_values_to[{name!r}]: expected a constant, got {value!r}")
    require_columns(adsl, keys, "subject_keys", "dataset_adsl")
    require_columns(adsl, [start_date], "start_date", "dataset_adsl")
    if adsl.duplicated(keys).any():
        raise ValueError(f"dataset_adsl: not one record per subject ({', '.join(keys)})")
    subjects = adsl[keys].reset_index(drop=True)
    subjects["STARTDT"] = datetimes(adsl, start_date, "start_date").dt.normalize().to_numpy()
    flag = start_date[:-2] + "DTF" if start_date.endswith("DT") else None
    if flag and flag in adsl.columns and flag != start_date:
        subjects["STARTDTF"] = adsl[flag].to_numpy()
    if data_cut_date_var is not None:
        column_name(data_cut_date_var, "data_cut_date_var")
        require_columns(adsl, [data_cut_date_var], "data_cut_date_var", "dataset_adsl")
        subjects["_CUT"] = datetimes(adsl, data_cut_date_var, "data_cut_date_var").dt.normalize().to_numpy()
    if dataset is not None:
        require_frame(dataset, "dataset")
        code = parameter.get("PARAMCD")
        if code is not None and "PARAMCD" in dataset.columns and dataset["PARAMCD"].eq(code).any():
            raise ValueError(f"dataset: parameter {code} is already present")

    event_sources = events
    if data_cut_date_var is not None:
        cut = subjects.set_index(keys)["_CUT"]
        event_sources = [
            _before_cut(source, cut, keys, f"event_conditions[{number}]")
            for number, source in enumerate(events)
        ]
    first = _pick(event_sources, source_datasets, keys, first=True, kind="event_conditions").assign(_EVENT=1)
    last = _pick(censors, source_datasets, keys, first=False, kind="censor_conditions").assign(_EVENT=0)
    chosen = sort_records(pd.concat([first, last], ignore_index=True), keys, ["_EVENT"])
    chosen = chosen.drop_duplicates(keys, keep="last")
    records = subjects.merge(chosen, on=keys, how="inner", sort=False)

    if data_cut_date_var is not None:
        late = (records["_EVENT"] == 0) & records["_CUT"].notna() & (records["ADT"] > records["_CUT"])
        records.loc[late, "ADT"] = records.loc[late, "_CUT"]
        for name, value in (("EVNTDESC", "DATA CUT-OFF"), ("SRCDOM", "ADSL"), ("SRCVAR", data_cut_date_var)):
            if name not in records.columns:
                records[name] = pd.Series(None, index=records.index, dtype="str")
            records[name] = records[name].where(~late, value)
        for name in ("SRCSEQ", "CNSDTDSC"):
            if name in records.columns:
                records[name] = records[name].where(~late)
    records["ADT"] = records["ADT"].where(
        records["STARTDT"].isna() | (records["ADT"] >= records["STARTDT"]), records["STARTDT"]
    )
    records["AVAL"] = ((records["ADT"] - records["STARTDT"]) / _DAY + 1).astype("float64")
    records["CNSR"] = records["CNSR"].astype("int64")
    for name, value in parameter.items():
        records[name] = value

    described = [c for c in records.columns if c not in (*keys, *_RESERVED) and not c.startswith("_")]
    source_vars = [c for c in described if c not in parameter]
    start_vars = ["STARTDT", *(["STARTDTF"] if "STARTDTF" in records.columns else [])]
    columns = [*keys, *parameter, *start_vars, "ADT", "AVAL", "CNSR", *source_vars]
    result = records[columns].reset_index(drop=True)
    if dataset is not None:
        return pd.concat([dataset, result], ignore_index=True)
    return result


def _before_cut(source: EventSource, cut: pd.Series, keys: list[str], arg: str) -> EventSource:
    """The event source restricted to records on or before the subject's data cut date."""

    def within(frame: pd.DataFrame) -> pd.Series:
        selected = condition_mask(frame, source.filter, f"{arg}.filter")
        index = pd.MultiIndex.from_frame(frame[keys]) if len(keys) > 1 else pd.Index(frame[keys[0]])
        subject_cut = cut.reindex(index).to_numpy()
        date = datetimes(frame, source.date, f"{arg}.date").dt.normalize().to_numpy()
        known = pd.isna(subject_cut) | (date <= subject_cut)
        return pd.Series(selected & known, index=frame.index)

    return EventSource(
        source.dataset_name,
        source.date,
        filter=within,
        set_values_to=source.set_values_to,
        order=source.order,
    )
