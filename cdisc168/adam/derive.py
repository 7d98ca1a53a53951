"""Reusable ADaM derivations in the grammar of admiral (pharmaverse), for pandas.

``derive_var_*`` adds one variable, ``derive_vars_*`` several, ``derive_param_*`` parameter rows,
``compute_*`` maps vectors to a vector. Arguments come in a fixed order: the dataset, other datasets,
keys (``by_vars``), the new variable's name, then options; defaults are the CDISC names. Every
function checks its inputs and names the argument at fault (a missing column is a ``ValueError``
naming it), returns a new frame (the input keeps its values, columns and index) and is vectorised.
Record selections (``filter``, ``filter_add``) are callables ``frame → boolean Series`` or boolean
Series, never text to evaluate. Dates are pandas ``datetime64`` in the frames; the XPT writer makes
them SAS numbers.

==========================  ===========================================================================
function                    adds
==========================  ===========================================================================
derive_vars_merged          variables from another dataset by keys (first/last record if asked)
derive_vars_dt              <prefix>DT, <prefix>DTF from --DTC with imputation (ADaMIG 1.3 §3.1.3)
derive_vars_dtm             <prefix>DTM, <prefix>DTF, <prefix>TMF
derive_vars_dy              --DY relative to a reference date, no day 0
derive_var_trtemfl          TRTEMFL (decision table of admiral, ADaM ADAE v1.0)
derive_var_extreme_flag     a first/last-record flag (ABLFL per BASETYPE, ANL01FL, AOCCFL)
derive_var_base             BASE (or BASEC) from the baseline record
derive_vars_chg             BASE, CHG, PCHG
derive_param_tte            time-to-event parameter rows (EventSource, CensorSource)
derive_vars_relative_time   AFRLT, ARRLT, NFRLT, NRRLT, RRLTU (ADNCA v1.0)
compute_duration            durations between dates (days, weeks, months, years)
compute_age_years           age in completed years
==========================  ===========================================================================
"""

from __future__ import annotations

from cdisc168.adam.derive_base import derive_var_base, derive_vars_chg
from cdisc168.adam.derive_dates import (
    compute_age_years,
    compute_duration,
    derive_vars_dt,
    derive_vars_dtm,
    derive_vars_dy,
)
from cdisc168.adam.derive_flags import derive_var_extreme_flag, derive_var_trtemfl
from cdisc168.adam.derive_merge import derive_vars_merged
from cdisc168.adam.derive_nca import RELATIVE_TIME_UNITS, derive_vars_relative_time
from cdisc168.adam.derive_support import Condition, Desc, desc
from cdisc168.adam.derive_tte import CensorSource, EventSource, Var, derive_param_tte

__all__ = [
    "RELATIVE_TIME_UNITS",
    "CensorSource",
    "Condition",
    "Desc",
    "EventSource",
    "Var",
    "compute_age_years",
    "compute_duration",
    "derive_param_tte",
    "derive_var_base",
    "derive_var_extreme_flag",
    "derive_var_trtemfl",
    "derive_vars_chg",
    "derive_vars_dt",
    "derive_vars_dtm",
    "derive_vars_dy",
    "derive_vars_merged",
    "derive_vars_relative_time",
    "desc",
]
