"""The ADaM stage: SDTM datasets → ADaM datasets in the dependency order of DESIGN.md.

ADSL → ADLB, ADGC, ADAE, ADPC → ADPP; ADRS (uses ADGC, ADLB) → ADTTE (uses ADRS). Each builder reads
the SDTM datasets and the ADaM datasets built before it (never raw forms) and returns its dataset;
:func:`cdisc168.adam_spec.conform` then makes it exactly its spec's variables, in spec order, sorted by
the spec's keys, so the data and define.xml cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from cdisc168.adam_spec import AdamSpec, conform
from cdisc168.study import Study

Builder = Callable[[Mapping[str, pd.DataFrame], Mapping[str, pd.DataFrame], Study], pd.DataFrame]


def builders() -> list[tuple[str, Builder]]:
    """(dataset, builder) in dependency order."""
    from cdisc168.adam.adae import build_adae
    from cdisc168.adam.adgc import build_adgc
    from cdisc168.adam.adlb import build_adlb
    from cdisc168.adam.adpc import build_adpc
    from cdisc168.adam.adpp import build_adpp
    from cdisc168.adam.adrs import build_adrs
    from cdisc168.adam.adsl import build_adsl
    from cdisc168.adam.adtte import build_adtte

    return [
        ("ADSL", build_adsl),
        ("ADLB", build_adlb),
        ("ADGC", build_adgc),
        ("ADAE", build_adae),
        ("ADPC", build_adpc),
        ("ADPP", build_adpp),
        ("ADRS", build_adrs),
        ("ADTTE", build_adtte),
    ]


def build_adam(
    sdtm: Mapping[str, pd.DataFrame], study: Study, specs: Mapping[str, AdamSpec]
) -> dict[str, pd.DataFrame]:
    """Build every ADaM dataset that has a builder; each must have its spec in ``mappings/adam/``."""
    adam: dict[str, pd.DataFrame] = {}
    for name, builder in builders():
        if name not in specs:
            raise ValueError(f"{name}: no spec mappings/adam/{name}.yaml for a dataset the ADaM stage builds")
        adam[name] = conform(builder(sdtm, adam, study), specs[name])
    return adam
