"""CDISC standards shipped with the package and the study's view of them.

* :mod:`cdisc168.standards.ct` - full SDTM CT 2025-03-28, ADaM CT 2025-03-28, Define-XML CT 2026-03-27;
* :mod:`cdisc168.standards.ig` - SDTMIG v3.4 and ADaMIG v1.3 dataset/structure and variable metadata;
* :mod:`cdisc168.standards.schemas` - the Define-XML 2.1 XSD set and Dataset-JSON 1.1 JSON schema;
* :mod:`cdisc168.standards.study_ct` - ``mappings/terminology.yaml``, checked against the CT;
* :mod:`cdisc168.standards.files` - where the generated data live (``scripts/build_standards.py``).
"""
