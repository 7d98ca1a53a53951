"""RELREC: the daily CRS/ICANS findings (FA) relate to their adverse event (AE) through AESPID."""

from __future__ import annotations


def test_every_fa_record_is_related_to_its_ae(sdtm) -> None:  # type: ignore[no-untyped-def]
    relrec = sdtm.datasets["RELREC"]
    ae = sdtm.datasets["AE"]
    fa = sdtm.datasets["FA"]
    fa_links = set(zip(fa["USUBJID"], fa["FASPID"], strict=True))
    related_fa = relrec[relrec["RDOMAIN"] == "FA"]
    assert set(zip(related_fa["USUBJID"], related_fa["IDVARVAL"], strict=True)) == fa_links
    # each RELID has exactly one AE side and one FA side, both pointing at existing records
    sides = relrec.groupby(["USUBJID", "RELID"])["RDOMAIN"].apply(sorted)
    assert all(s == ["AE", "FA"] for s in sides)
    related_ae = relrec[relrec["RDOMAIN"] == "AE"]
    ae_keys = set(zip(ae["USUBJID"], ae["AESPID"], strict=True))
    assert set(zip(related_ae["USUBJID"], related_ae["IDVARVAL"], strict=True)) <= ae_keys
    assert set(relrec["IDVAR"]) == {"AESPID", "FASPID"}
    assert relrec["RELTYPE"].isna().all()  # record-level relationships


def test_related_aes_are_crs_or_icans(sdtm) -> None:  # type: ignore[no-untyped-def]
    relrec = sdtm.datasets["RELREC"]
    ae = sdtm.datasets["AE"].set_index(["USUBJID", "AESPID"])
    related = relrec[relrec["RDOMAIN"] == "AE"]
    terms = {ae.loc[(u, s), "AEDECOD"] for u, s in zip(related["USUBJID"], related["IDVARVAL"], strict=True)}
    assert terms <= {"Cytokine release syndrome", "Immune effector cell-associated neurotoxicity syndrome"}
