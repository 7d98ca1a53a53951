"""Check functions of the ``define`` rules (``rules/define.yaml``): define.xml valid, and in agreement
with the data.

The schema check judges the document (Define-XML 2.1 XSD). The others adapt the comparisons of
:mod:`cdisc168.check.define_data` to the engine: a rule with ``datasets`` runs on each dataset of a
standard that has a define.xml; a rule without runs once per define.xml, named by its standard. The
def:leaf files are looked for beside the define.xml: the file the tree was parsed from, else the
submission's ``define_paths``.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from cdisc168.check.catalog import RuleDef
from cdisc168.check.define_data import COMPARISONS, Comparison, read_define
from cdisc168.check.registry import CheckFunction, check, dataset_failure, no_failures
from cdisc168.check.submission import STANDARDS, Submission
from cdisc168.standards.schemas import validate_define_xml

ARM_NS = "http://www.cdisc.org/ns/arm/v1.0"


def _standard(submission: Submission, rule: RuleDef, name: str) -> str:
    """The standard whose define.xml a rule judges: the name itself for a document-level rule."""
    if not rule.datasets and name in STANDARDS:
        return name
    return submission.standards.get(name, "")


@check("define_schema")
def check_define_schema(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
    """define.xml is valid against the Define-XML 2.1 XSD (with Analysis Results Metadata 1.0 when the
    document uses the ARM namespace). One failure per schema error."""
    define = submission.define.get(name)
    if define is None:
        return no_failures()
    arm = ARM_NS in (define.getroot().nsmap or {}).values()
    errors = validate_define_xml(define, arm=arm)
    if not errors:
        return no_failures()
    where = submission.define_paths.get(name)
    prefix = f"{where}: " if where is not None else ""
    return pd.concat([dataset_failure(f"{prefix}{error}") for error in errors], ignore_index=True)


def _define_check(comparison: Comparison) -> CheckFunction:
    """A check function running one define/data comparison on a submission."""

    def run(submission: Submission, rule: RuleDef, name: str) -> pd.DataFrame:
        standard = _standard(submission, rule, name)
        define = submission.define.get(standard)
        if define is None:
            return no_failures()
        model = read_define(define)
        path = submission.define_paths.get(standard)
        if model.folder is None and path is not None:
            model = replace(model, folder=path.parent)
        metadata = {n: submission.metadata[n] for n in submission.names(standard) if n in submission.metadata}
        return comparison(model, name if rule.datasets else "", metadata, submission.datasets)

    run.__doc__ = comparison.__doc__
    run.__name__ = f"check_{comparison.__name__}"
    return run


for _name, _comparison in COMPARISONS.items():
    check(_name)(_define_check(_comparison))
