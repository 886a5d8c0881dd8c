"""A round's decision in the web app: staff propose the selection, another person with the approver role
approves it (or sends it back), the ranking is frozen, a letter is drafted for every application and all are
sent in one batch through the outbox, threaded to each application's conversation."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from web_support import PASSWORD, client_for, sign_in

from storage import Application, Reply
from storage.decision_models import Decision, DecisionLetter
from storage.models import AuditEntry, StaffUser
from storage.passwords import hash_password
from storage.staff import add_staff
from storage.states import StaffRole

APPROVER = "direktoer@socialstyrelsen.dk"


def eligible(client) -> list[str]:
    page = client.get("/ranking").text
    return re.findall(r'name="reference" value="([A-Z]+-\d{4}-\d{4})">\s*<input type="hidden" name="selected" '
                      r'value="yes">', page)


def approver_client(bench):
    with bench.db.session() as session:
        add_staff(session, APPROVER, hash_password(PASSWORD), StaffRole.APPROVER)
    client = client_for(bench)
    return client, sign_in(client, APPROVER, PASSWORD)


def proposed(bench):
    """Staff select three eligible applications and propose them; returns (staff client, its token)."""
    client = client_for(bench)
    token = sign_in(client)
    for reference in eligible(client)[:3]:
        assert client.post("/ranking/select", data={"csrf_token": token, "reference": reference}).status_code == 303
    response = client.post("/ranking/propose", data={"csrf_token": token, "round": "AD-2019", "note": "Top tre"})
    assert response.status_code == 303 and "flash=proposed" in response.headers["location"]
    return client, token


def actions(bench) -> list[str]:
    with bench.db.session() as session:
        return [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_a_proposal_needs_an_approver_who_is_not_the_proposer(bench):
    client, token = proposed(bench)
    with bench.db.session() as session:
        decision = session.scalar(select(Decision))
    refused = client.post(f"/decision/{decision.id}/approve", data={"csrf_token": token})
    assert refused.status_code == 403 and "godkender" in refused.text
    with bench.db.session() as session:  # an approver who proposed it may not approve it either
        user = session.scalar(select(StaffUser))
        user.role = StaffRole.APPROVER
    own = client.post(f"/decision/{decision.id}/approve", data={"csrf_token": token})
    assert "flash=own_proposal" in own.headers["location"]
    with bench.db.session() as session:
        assert session.get(Decision, decision.id).state == "proposed"


def test_an_approved_selection_is_frozen_and_drafts_a_letter_for_every_application_of_the_round(bench):
    client, token = proposed(bench)
    boss, boss_token = approver_client(bench)
    with bench.db.session() as session:
        decision = session.scalar(select(Decision))
        applications = session.scalar(select(func.count(Application.id)))
    assert "Top tre" in boss.get("/decision").text
    assert boss.post(f"/decision/{decision.id}/approve", data={"csrf_token": boss_token}).status_code == 303
    with bench.db.session() as session:
        decision = session.get(Decision, decision.id)
        letters = list(session.scalars(select(DecisionLetter)))
        assert decision.state == "approved" and decision.snapshot["approved_by"] == APPROVER
        assert len(decision.snapshot["selected"]) == 3
        assert len(letters) == applications
        assert sorted(letter.kind for letter in letters).count("award") == 3
        frozen = decision.snapshot
    # the selection no longer changes, and a later correction does not change what was decided
    first = frozen["selected"][0]
    locked = client.post("/ranking/select", data={"csrf_token": token, "reference": first, "selected": "no"})
    assert "flash=decision_locked" in locked.headers["location"]
    client.post(f"/applications/{first}/corrections", data={"csrf_token": token, "key": "population",
                                                             "value": "9999999"})
    with bench.db.session() as session:
        assert session.get(Decision, decision.id).snapshot == frozen
        assert session.scalar(select(Application).where(Application.reference == first)).selected


def test_decline_letters_give_the_grounds_and_awards_what_happens_next(bench):
    proposed(bench)
    boss, boss_token = approver_client(bench)
    with bench.db.session() as session:
        decision = session.scalar(select(Decision))
    boss.post(f"/decision/{decision.id}/approve", data={"csrf_token": boss_token})
    with bench.db.session() as session:
        letters = {(letter.kind, tuple(g["code"] for g in letter.grounds["grounds"])): letter
                   for letter in session.scalars(select(DecisionLetter))}
    award = next(v for (kind, _), v in letters.items() if kind == "award")
    assert "opstartsmøde i Odense" in award.body and "blandt de 3 udvalgte i runden AD-2019" in award.body
    codes = {code for (kind, grounds) in letters if kind == "decline" for code in grounds}
    assert "incomplete" in codes  # the demo's applications awaiting an answer
    incomplete = next(v for (kind, grounds), v in letters.items() if "incomplete" in grounds)
    assert "ikke komplet" in incomplete.body


def test_letters_are_previewed_edited_and_sent_in_one_batch_threaded_to_each_conversation(bench):
    client, token = proposed(bench)
    boss, boss_token = approver_client(bench)
    with bench.db.session() as session:
        decision = session.scalar(select(Decision))
    boss.post(f"/decision/{decision.id}/approve", data={"csrf_token": boss_token})
    with bench.db.session() as session:
        letter = session.scalars(select(DecisionLetter).order_by(DecisionLetter.id)).first()
        reference = letter.application.reference
    preview = client.get(f"/decision/{decision.id}/letters/{letter.id}").text
    assert letter.subject in preview and "Ret brevet" in preview
    edited = client.post(f"/decision/{decision.id}/letters/{letter.id}",
                         data={"csrf_token": token, "subject": letter.subject, "body": "Kære kommune\n\nRettet tekst."})
    assert edited.status_code == 303
    assert client.post(f"/decision/{decision.id}/send", data={"csrf_token": token}).status_code == 303
    again = client.post(f"/decision/{decision.id}/send", data={"csrf_token": token})  # a double click
    assert "flash=decision_locked" in again.headers["location"]
    with bench.db.session() as session:
        letters = list(session.scalars(select(DecisionLetter)))
        replies = list(session.scalars(select(Reply).where(Reply.kind == "decision")))
        assert len(replies) == len([x for x in letters if x.reply_id]) and len(replies) >= len(letters) - 1
        sent = session.get(Reply, session.get(DecisionLetter, letter.id).reply_id)
        assert sent.body.startswith("Kære kommune") and sent.in_reply_to and sent.application_id
        assert all(r.status == "pending" and r.application_id for r in replies)
        assert session.get(Decision, decision.id).state == "sent"
    assert {"propose_selection", "approve_selection", "edit_letter", "send_letters"} <= set(actions(bench))
    assert "Afgørelse" in client.get(f"/applications/{reference}").text


def test_an_approver_can_send_a_proposal_back_with_a_comment_and_staff_propose_again(bench):
    client, token = proposed(bench)
    boss, boss_token = approver_client(bench)
    with bench.db.session() as session:
        decision = session.scalar(select(Decision))
    assert boss.post(f"/decision/{decision.id}/return", data={"csrf_token": boss_token, "comment": ""}
                     ).status_code == 400
    boss.post(f"/decision/{decision.id}/return", data={"csrf_token": boss_token, "comment": "Tag Viborg med"})
    assert "Tag Viborg med" in client.get("/decision").text
    again = client.post("/ranking/propose", data={"csrf_token": token, "round": "AD-2019"})
    assert "flash=proposed" in again.headers["location"]
    with bench.db.session() as session:
        assert [d.state for d in session.scalars(select(Decision).order_by(Decision.id))] == ["returned", "proposed"]
    assert "return_selection" in actions(bench)


def test_the_case_file_holds_the_sent_letter_as_the_decision_and_names_the_outcome(bench):
    import io
    import json
    import zipfile

    client, token = proposed(bench)
    boss, boss_token = approver_client(bench)
    with bench.db.session() as session:
        decision = session.scalar(select(Decision))
        award = session.scalar(select(Application).where(Application.selected)).reference
    boss.post(f"/decision/{decision.id}/approve", data={"csrf_token": boss_token})
    client.post(f"/decision/{decision.id}/send", data={"csrf_token": token})
    bundle = zipfile.ZipFile(io.BytesIO(client.get(f"/applications/{award}/sagsmappe.zip").content))
    metadata = json.loads(bundle.read("metadata.json"))
    assert metadata["decision"]["outcome"] == "award" and metadata["decision"]["approved_by"] == APPROVER
    assert metadata["decision"]["letter_sent"] is True and metadata["round"] == "AD-2019"
    (letter,) = [f for f in metadata["files"] if f["role"] == "decision"]
    assert letter["direction"] == "out" and "Afg" in bundle.read(letter["path"]).decode("utf-8", "replace")


LETTER = {"reference": "AD-2019-0004", "municipality": "Herning Kommune", "partners": ["Ikast-Brande Kommune"],
          "received_local": "6. september 2019 kl. 16.00", "deadline_local": "9. september 2019 kl. 12.00",
          "approved_local": "1. oktober 2019 kl. 10.00", "round": "AD-2019", "selected": 3, "ranked": 5, "rank": 4,
          "target_group_total": 300, "population_total": 90000, "share": "0,333", "without_experience": "100",
          "questions_address": "spm-uip2@socialstyrelsen.dk",
          "grounds": [{"code": "ranked_lower", "rank": 4, "ranked": 5, "target_group_total": 300,
                       "population_total": 90000, "share": "0,333", "without_experience": "100",
                       "lowest_selected_share": "0,354"},
                      {"code": "rejected", "reason": "samme projekt som AD-2019-0002"},
                      {"code": "incomplete", "missing": ["4.2 Antal indbyggere"]}, {"code": "not_approved"},
                      {"code": "numbers_missing"}, {"code": "not_assessed"}, {"code": "late"}]}


@pytest.mark.parametrize("language", ["da", "en"])
def test_each_ground_of_a_decline_letter_is_worded_in_the_calls_language(language):
    from notifications import render_reply

    body = render_reply("decision_decline", LETTER, language).body
    bullets = [line for line in body.splitlines() if line.startswith("- ")]
    assert len(bullets) == len(LETTER["grounds"])  # one line each, none left out
    if language == "en":
        assert "number 4 of 5" in body and "0,354 %" in body and "after the deadline" in body
        assert not any(word in body for word in ("Kære", "Begrundelse", "afslag", "kommune "))
    else:
        assert "nr. 4 af 5" in body and "efter ansøgningsfristen" in body
        assert "ikke godkendt af kommunens direktør" in body
    award = render_reply("decision_award", LETTER, language)
    assert award.kind == "decision" and "Odense" in award.body and "Ikast-Brande Kommune" in award.body
    all_experienced = render_reply("decision_award", {**LETTER, "without_experience": "0"}, language).body
    none_experienced = render_reply("decision_award", {**LETTER, "without_experience": "100"}, language).body
    if language == "da":
        assert "og ingen af kommunerne i ansøgningen har implementeret Åben Dialog før" in award.body
        assert "og alle kommunerne i ansøgningen har implementeret Åben Dialog før" in all_experienced
        assert "0 %" not in all_experienced.replace("0,333 %", "")
    else:
        assert "none of its municipalities has implemented Open Dialogue before" in none_experienced
        assert "all its municipalities have implemented Open Dialogue before" in all_experienced


def test_the_rankings_light_rows_read_every_application_as_its_full_record_does(bench):
    """The ranking reads light rows (six fields, stored problems); a corrected application is read whole. Both
    give the candidates that the full records (every field, problems worked out again) give."""
    from web.application_record import candidate
    from web.decisions import ranking_candidates
    from web.queue_page import load_records
    from web.ranking import RANKING_FIELDS

    client = client_for(bench)
    token = sign_in(client)
    client.post("/applications/AD-2019-0006/corrections",
                data={"csrf_token": token, "key": "director_approved", "value": "Ja"})
    client.post("/applications/AD-2019-0003/corrections", data={
        "csrf_token": token, "key": "partners", "value": "Fredericia; 150; 51.000; Nej\nKolding; 200; 94.000"})
    settings, round_ = bench.settings, bench.settings.call_rounds[0]
    with bench.db.session() as session:
        light = {c.reference: c for c in ranking_candidates(settings, session, round_)}
        full = {a.reference: candidate(a, record) for a, record in load_records(settings, session)}
    assert len(light) == len(full) >= 6
    assert not full["AD-2019-0002"].complete  # an incomplete one, read from light rows, is compared too
    for reference, expected in full.items():
        got = light[reference]
        assert (got.complete, got.problem_labels, got.problem_fields, got.late, got.selected) == (
            expected.complete, expected.problem_labels, expected.problem_fields, expected.late, expected.selected)
        assert ({k: v for k, v in got.fields.items() if k in RANKING_FIELDS}
                == {k: v for k, v in expected.fields.items() if k in RANKING_FIELDS}), reference
