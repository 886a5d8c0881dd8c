"""The call's award criteria: target-group share (joint applications summed), then no prior experience."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from parsers import Problem
from parsers.problem_codes import ProblemCode
from web.ranking import Candidate, rank

T0 = datetime(2019, 9, 2, 8, 0, tzinfo=UTC)


def candidate(reference: str, target: int | None, population: int | None, experienced: bool = False,
              minutes: int = 0, partners: list[dict[str, Any]] | None = None, **kw: Any) -> Candidate:
    fields: dict[str, Any] = {"target_group_size": target, "population": population,
                              "already_implemented": experienced, "director_approved": True,
                              "joint_application": bool(partners), "partners": partners or []}
    fields.update(kw.pop("fields", {}))
    return Candidate(reference=reference, municipality=kw.pop("municipality", f"{reference} Kommune"),
                     received_at=T0 + timedelta(minutes=minutes), complete=kw.pop("complete", True),
                     fields=fields, **kw)


def order(ranking) -> list[tuple[str, int, bool]]:
    return [(r.candidate.reference, r.rank, r.tied) for r in ranking.ranked]


def test_a_larger_target_group_share_ranks_first_whatever_the_absolute_size():
    ranking = rank([candidate("BIG", 1250, 352_751), candidate("SMALL", 300, 60_000),
                    candidate("MID", 200, 50_000)])
    assert order(ranking) == [("SMALL", 1, False), ("MID", 2, False), ("BIG", 3, False)]
    assert ranking.ranked[0].share == Fraction(1, 200)


def test_a_joint_application_sums_targets_and_populations_of_all_its_municipalities():
    joint = candidate("JOINT", 400, 59_000, partners=[
        {"municipality": "Fredericia Kommune", "target_group_size": 150, "population": 51_000}])
    ranked = rank([joint]).ranked[0]
    assert (ranked.target_group_total, ranked.population_total) == (550, 110_000)
    assert ranked.share == Fraction(550, 110_000)
    assert [m.name for m in ranked.members] == ["JOINT Kommune", "Fredericia Kommune"] and ranked.joint


def test_summing_can_rank_a_joint_application_below_its_lead_municipality_alone():
    # alone 400/59.000 = 0,68 %; with a partner of 150/51.000 the joint share is 0,50 %
    alone = candidate("ALONE", 400, 59_000)
    joint = candidate("JOINT", 400, 59_000, minutes=-5, partners=[
        {"municipality": "Fredericia Kommune", "target_group_size": 150, "population": 51_000}])
    assert order(rank([joint, alone])) == [("ALONE", 1, False), ("JOINT", 2, False)]


def test_the_applicant_listed_again_among_its_partners_is_counted_once_and_said_so():
    joint = candidate("J", 400, 59_000, municipality="Vejle Kommune", partners=[
        {"municipality": "Vejle Kommune", "target_group_size": 400, "population": 59_000},
        {"municipality": "Fredericia Kommune", "target_group_size": 150, "population": 51_000}])
    ranked = rank([joint]).ranked[0]
    assert ranked.population_total == 110_000
    assert any("Vejle Kommune står også" in w for w in ranked.warnings)


def test_a_partner_without_numbers_is_left_out_of_the_sums_with_a_warning():
    joint = candidate("J", 400, 59_000, partners=[
        {"municipality": "Fredericia Kommune", "target_group_size": None, "population": 51_000}])
    ranked = rank([joint]).ranked[0]
    assert (ranked.target_group_total, ranked.population_total) == (400, 59_000)
    assert any("Fredericia Kommune: antal" in w for w in ranked.warnings)


def test_equal_share_is_decided_by_no_prior_experience():
    experienced = candidate("EXP", 300, 90_000, experienced=True)
    newcomer = candidate("NEW", 240, 72_000, experienced=False, minutes=30)  # same share, 1/300
    ranking = rank([experienced, newcomer])
    assert order(ranking) == [("NEW", 1, False), ("EXP", 2, False)]
    assert [r.without_experience for r in ranking.ranked] == [1, 0]


def test_experience_of_a_joint_application_is_the_share_of_partners_without_it():
    joint = candidate("J", 300, 90_000, experienced=True, partners=[
        {"municipality": "Ikast-Brande Kommune", "target_group_size": 100, "population": 30_000,
         "already_implemented": False},
        {"municipality": "Lemvig Kommune", "target_group_size": 50, "population": 15_000}])
    ranked = rank([joint]).ranked[0]
    # Herning (5.1 Ja), Ikast-Brande (its own Nej), Lemvig (no own answer: 5.1 covers the application)
    assert ranked.without_experience == Fraction(1, 3)
    assert [m.experience_from for m in ranked.members] == ["5.1", "3.2", "5.1 (gælder hele ansøgningen)"]


def test_equal_on_both_criteria_is_a_tie_with_one_rank_shown_as_such():
    ranking = rank([candidate("A", 300, 90_000, minutes=10), candidate("B", 240, 72_000, minutes=5),
                    candidate("TOP", 500, 50_000), candidate("LAST", 10, 90_000)])
    assert order(ranking) == [("TOP", 1, False), ("B", 2, True), ("A", 2, True), ("LAST", 4, False)]


def test_shares_equal_as_floats_but_not_exactly_are_not_a_tie():
    a, b = candidate("A", 1, 3, minutes=5), candidate("B", 33_333_333_333_333_333, 100_000_000_000_000_000)
    assert float(Fraction(1, 3)) == float(Fraction(33_333_333_333_333_333, 100_000_000_000_000_000))
    assert order(rank([b, a])) == [("A", 1, False), ("B", 2, False)]


# equal shares written differently, and shares a float cannot tell apart (1/3 and 0.33333333333333333)
_SHARES = st.sampled_from([(1, 3), (2, 6), (33_333_333_333_333_333, 10**17), (33_333_333_333_333_334, 10**17),
                           (1, 2), (500, 1_000), (7, 1_000), (1_250, 352_751)])


@given(st.lists(st.tuples(_SHARES, st.booleans(), st.integers(0, 3)), min_size=1, max_size=12))
def test_the_order_ranks_and_ties_are_exactly_those_of_the_fractions(inputs):
    candidates = [candidate(f"R{n:02}", target, population, experienced, minutes)
                  for n, ((target, population), experienced, minutes) in enumerate(inputs)]
    ranking = rank(candidates)
    # the plain way: one sort on the exact key, a rank shared by equal criteria
    plain = sorted(ranking.ranked, key=lambda r: (-r.share, -r.without_experience, r.candidate.received_at,
                                                 r.candidate.reference))
    keys = [(r.share, r.without_experience) for r in plain]
    expected = [(r.candidate.reference, 1 + keys.index(keys[n]), keys.count(keys[n]) > 1) for n, r in enumerate(plain)]
    assert order(ranking) == expected


def grounds_of(ranking) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    return {n.candidate.reference: [(str(g.code), g.params) for g in n.grounds] for n in ranking.not_eligible}


def test_not_eligible_applications_are_listed_with_each_ground_as_a_code_and_never_ranked():
    missing_population = Problem("population", ProblemCode.MISSING)
    ranking = rank([
        candidate("OK", 300, 90_000),
        candidate("INCOMPLETE", 300, None, complete=False, problems=(missing_population,)),
        candidate("NOT-APPROVED", 300, 90_000, complete=False, fields={"director_approved": False},
                  problems=(Problem("director_approved", ProblemCode.NOT_APPROVED),)),
        candidate("UNANSWERED", 300, 90_000, fields={"director_approved": None}),
        candidate("REJECTED", 300, 90_000, rejected_reason="intern: samme projekt to gange",
                  rejected_ground="Ansøgningen er trukket tilbage af kommunen."),
    ])
    assert order(ranking) == [("OK", 1, False)]
    grounds = grounds_of(ranking)
    assert grounds["INCOMPLETE"] == [("incomplete", {"missing": [missing_population.label]})]
    assert grounds["NOT-APPROVED"] == [("not_approved", {})]  # the call's requirement, never "incomplete"
    assert grounds["UNANSWERED"] == [("not_approved", {})]
    # the municipality is given the ground staff wrote for it, never the internal note
    assert grounds["REJECTED"] == [("rejected", {"ground": "Ansøgningen er trukket tilbage af kommunen."})]


def test_a_director_saying_no_on_an_incomplete_form_gives_both_grounds_each_once():
    ranking = rank([candidate("BOTH", 300, None, complete=False, fields={"director_approved": False}, problems=(
        Problem("director_approved", ProblemCode.NOT_APPROVED), Problem("population", ProblemCode.MISSING)))])
    (grounds,) = grounds_of(ranking).values()
    assert [code for code, _ in grounds] == ["not_approved", "incomplete"]
    assert grounds[1][1]["missing"] == [Problem("population", ProblemCode.MISSING).label]


def test_a_late_application_is_not_ranked_under_the_exclude_rule_unless_staff_admit_it():
    late = candidate("LATE", 300, 90_000, late=True)
    excluded = rank([late])
    assert not excluded.ranked and grounds_of(excluded)["LATE"][0][0] == "late"
    admitted = rank([replace(late, late_admitted="Mailen lå i karantæne hos Socialstyrelsen før fristen")])
    assert admitted.ranked[0].late_admitted == "Mailen lå i karantæne hos Socialstyrelsen før fristen"


def test_a_late_application_is_ranked_under_the_admit_rule_and_marked_as_admitted_by_it():
    ranking = rank([candidate("LATE", 300, 90_000, late=True)], late_policy="admit")
    assert ranking.ranked[0].candidate.late and ranking.ranked[0].late_admitted == "" and not ranking.not_eligible


def test_a_late_application_that_is_also_not_approved_carries_both_grounds():
    ranking = rank([candidate("X", 300, 90_000, late=True, fields={"director_approved": False}, complete=False,
                              problems=(Problem("director_approved", ProblemCode.NOT_APPROVED),))])
    assert [code for code, _ in grounds_of(ranking)["X"]] == ["not_approved", "late"]


def test_tied_applications_name_each_other():
    ranking = rank([candidate("A", 300, 90_000, municipality="Herning Kommune"),
                    candidate("B", 240, 72_000, municipality="Holbæk Kommune", minutes=5),
                    candidate("C", 100, 90_000)])
    tied = {r.candidate.reference: r.tied_with for r in ranking.ranked}
    assert tied == {"A": ("Holbæk Kommune (B)",), "B": ("Herning Kommune (A)",), "C": ()}


def test_a_selection_that_splits_a_tie_or_skips_a_higher_rank_is_a_departure_and_the_top_n_is_not():
    def ranking_of(*chosen: str):
        return rank([candidate(ref, target, 90_000, selected=ref in chosen, minutes=n)
                     for n, (ref, target) in enumerate([("A", 500), ("B", 400), ("C", 300), ("D", 300),
                                                        ("E", 100)])])

    assert not ranking_of("A", "B", "C", "D").passed_over()  # the whole tie taken
    assert not ranking_of("A", "B").departing()
    split = ranking_of("A", "B", "C")
    assert [r.candidate.reference for r in split.passed_over()] == ["D"]
    assert split.departing() == {"C", "D"}
    skipped = ranking_of("A", "E", "C")
    assert {r.candidate.reference for r in skipped.passed_over()} == {"B", "D"}
    assert skipped.departing() == {"B", "C", "D", "E"}


def test_selected_lists_the_applications_staff_marked():
    ranking = rank([candidate("A", 300, 90_000, selected=True), candidate("B", 10, 90_000)])
    assert [r.candidate.reference for r in ranking.selected] == ["A"]
