"""A round's decision in the web app: staff propose the selection, another person with the approver role
approves it (or sends it back), the ranking is frozen, a letter is drafted for every application and all are
sent in one batch through the outbox, threaded to each application's conversation."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select
from web_support import PASSWORD, client_for, sign_in

from storage import Application, Reply
from storage.models import AuditEntry, Decision, DecisionLetter, StaffUser
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


TIE_REASON = "Ved lige placering er den først modtagne ansøgning valgt."


def proposed(bench, count: int = 3):
    """Staff select the ``count`` best ranked and propose them; returns (staff client, its token). The demo's
    ranking is Vejle, Aarhus, then Herning and Holbæk tied on rank 3: three split that tie, so the proposal
    gives the reason."""
    client = client_for(bench)
    token = sign_in(client)
    for reference in eligible(client)[:count]:
        assert client.post("/ranking/select", data={"csrf_token": token, "reference": reference}).status_code == 303
    response = client.post("/ranking/propose", data={"csrf_token": token, "round": "AD-2019", "note": "Top tre",
                                                      "selection_reason": TIE_REASON if count == 3 else ""})
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


def approved(bench, count: int = 3):
    """Proposed by staff, approved by an approver; returns (staff client, token, approver client, token, id)."""
    client, token = proposed(bench, count)
    boss, boss_token = approver_client(bench)
    with bench.db.session() as session:
        decision_id = session.scalar(select(Decision.id))
    assert "flash=approved" in boss.post(f"/decision/{decision_id}/approve",
                                         data={"csrf_token": boss_token}).headers["location"]
    return client, token, boss, boss_token, decision_id


def letters_by_reference(bench) -> dict[str, DecisionLetter]:
    with bench.db.session() as session:
        return {letter.application.reference: letter for letter in session.scalars(select(DecisionLetter))}


def codes(letter: DecisionLetter) -> list[str]:
    return [g["code"] for g in letter.grounds["grounds"]]


def withdraw_open_clarifications(client, token: str) -> None:
    """The demo's incomplete application (Odense) and the one its director said no to (Svendborg) have their
    automatic clarification requests still open."""
    for reference in ("AD-2019-0002", "AD-2019-0006"):
        assert "flash=clarification_withdrawn" in client.post(
            f"/applications/{reference}/clarification/withdraw",
            data={"csrf_token": token, "reason": "Afgøres, som ansøgningen foreligger"}).headers["location"]


def test_every_letter_states_its_true_grounds_each_once(bench):
    approved(bench)
    letters = letters_by_reference(bench)
    assert {ref: (letter.kind, codes(letter)) for ref, letter in letters.items()} == {
        "AD-2019-0001": ("award", ["selected"]),  # Aarhus
        "AD-2019-0002": ("decline", ["incomplete"]),  # Odense: 4.2 and 8.1 missing
        "AD-2019-0003": ("award", ["selected"]),  # Vejle and Fredericia
        "AD-2019-0004": ("award", ["selected", "tied", "selection_reason"]),  # Herning, first of the tie
        "AD-2019-0005": ("decline", ["ranked_lower", "tied", "selection_reason"]),  # Holbæk, tied with Herning
        "AD-2019-0006": ("decline", ["not_approved"]),  # Svendborg: the director said "Nej"
        "AD-2019-0007": ("decline", ["late"]),  # Viborg, 12.30 on the deadline day
    }
    svendborg = letters["AD-2019-0006"].body
    assert "»kommunens ansøgning om implementeringsstøtte skal være direktørgodkendt«" in svendborg
    assert "ikke komplet" not in svendborg.lower()
    holbaek = letters["AD-2019-0005"].body
    assert "deler 3. pladsen med Herning Kommune (AD-2019-0004)" in holbaek
    assert TIE_REASON in holbaek and "nr. 3 af 4 vurderede" in holbaek
    assert "deler 3. pladsen med Holbæk Kommune (AD-2019-0005)" in letters["AD-2019-0004"].body
    viborg = letters["AD-2019-0007"].body
    assert "modtaget 9. september 2019 kl. 12.30, efter ansøgningsfristen 9. september 2019 kl. 12.00" in viborg
    assert viborg.count("efter ansøgningsfristen") == 1
    assert "4.2 Antal indbyggere" in letters["AD-2019-0002"].body
    award = letters["AD-2019-0001"].body
    assert "opstartsmøde i Odense" in award and "blandt de 3 udvalgte" in award


def test_every_letter_carries_the_rules_the_appeal_the_contact_the_date_and_the_signing_unit(bench):
    approved(bench)
    for letter in letters_by_reference(bench).values():
        body = letter.body
        assert "Regler og kriterier" in body and "mindst 3 og højest 5" in body
        assert "Klagevejledning\n\nSocialstyrelsens afgørelse kan ikke indbringes" in body
        assert "specialkonsulent Martin Sandø på telefon 41 93 24 90" in body and "spm-uip2@socialstyrelsen.dk" in body
        assert re.search(r"Dato for afgørelsen: \d+\. \w+ 20\d\d", body)
        assert body.rstrip().endswith(
            "Med venlig hilsen\nSocialstyrelsen\nImplementeringsstøtte til Åben Dialog i bostøtten")
        assert "sendt automatisk" not in body  # a decision, not an automatic answer
        assert letter.approved and letter.approved_by == APPROVER  # approved in the words it has


def test_a_selection_that_splits_a_tie_cannot_be_proposed_without_a_reason(bench):
    client = client_for(bench)
    token = sign_in(client)
    for reference in eligible(client)[:3]:
        client.post("/ranking/select", data={"csrf_token": token, "reference": reference})
    page = client.get("/ranking").text
    assert "Udvælgelsen følger ikke rangordenen" in page and 'name="selection_reason"' in page
    refused = client.post("/ranking/propose", data={"csrf_token": token, "round": "AD-2019"})
    assert "flash=selection_reason_needed" in refused.headers["location"]
    with bench.db.session() as session:
        assert session.scalar(select(func.count(Decision.id))) == 0
    # the whole tie selected needs no reason, and no letter gives one
    client.post("/ranking/select", data={"csrf_token": token, "reference": "AD-2019-0005"})
    assert "flash=proposed" in client.post("/ranking/propose", data={"csrf_token": token, "round": "AD-2019"}
                                           ).headers["location"]
    with bench.db.session() as session:
        assert "selection_reason" not in session.scalar(select(Decision)).snapshot


def test_a_late_application_admitted_by_staff_is_ranked_and_its_letter_says_why(bench):
    client = client_for(bench)
    token = sign_in(client)
    assert client.post("/applications/AD-2019-0007/admit-late", data={"csrf_token": token, "reason": ""}
                       ).status_code == 422
    reason = "Mailen lå i Socialstyrelsens spamfilter fra kl. 11.55, før fristen."
    client.post("/applications/AD-2019-0007/admit-late", data={"csrf_token": token, "reason": reason})
    assert "AD-2019-0007" in eligible(client)
    assert "admit_late" in actions(bench)
    for reference in ("AD-2019-0003", "AD-2019-0001", "AD-2019-0007"):  # Vejle, then Aarhus and Viborg tied
        client.post("/ranking/select", data={"csrf_token": token, "reference": reference})
    client.post("/ranking/propose", data={"csrf_token": token, "round": "AD-2019"})
    boss, boss_token = approver_client(bench)
    with bench.db.session() as session:
        decision = session.scalar(select(Decision))
        assert decision.snapshot["late_policy"] == "exclude"
    boss.post(f"/decision/{decision.id}/approve", data={"csrf_token": boss_token})
    viborg = letters_by_reference(bench)["AD-2019-0007"]
    assert viborg.kind == "award" and codes(viborg) == ["selected", "tied", "late_admitted"]
    assert f"Socialstyrelsen har alligevel vurderet den: {reason}" in viborg.body


def test_under_the_admit_rule_a_late_application_is_ranked_and_its_letter_states_the_rule(tmp_path, db_url,
                                                                                          demo_maildir):
    import shutil

    from web_support import Bench, demo_settings, populate

    settings = demo_settings(tmp_path, db_url)
    settings.call.late_policy = "admit"
    shutil.copytree(demo_maildir, settings.mailbox.maildir_path)
    bench = Bench(settings, populate(settings))
    try:
        client = client_for(bench)
        token = sign_in(client)
        assert "AD-2019-0007" in eligible(client)
        for reference in ("AD-2019-0003", "AD-2019-0001", "AD-2019-0007"):
            client.post("/ranking/select", data={"csrf_token": token, "reference": reference})
        client.post("/ranking/propose", data={"csrf_token": token, "round": "AD-2019"})
        boss, boss_token = approver_client(bench)
        with bench.db.session() as session:
            decision_id = session.scalar(select(Decision.id))
        boss.post(f"/decision/{decision_id}/approve", data={"csrf_token": boss_token})
        viborg = letters_by_reference(bench)["AD-2019-0007"]
        assert codes(viborg) == ["selected", "tied", "late_admitted"]
        assert "I denne runde vurderes ansøgninger modtaget efter fristen på lige fod med de øvrige." in viborg.body
    finally:
        bench.db.dispose()


def test_a_staff_rejection_gives_the_municipality_its_ground_never_the_internal_note(bench):
    client = client_for(bench)
    token = sign_in(client)
    client.post("/applications/AD-2019-0002/reject", data={
        "csrf_token": token, "action": "reject", "reason": "Intern: Lone sagde i telefonen, at de opgiver",
        "ground": "Kommunen har meddelt, at den trækker ansøgningen tilbage."})
    approved(bench, count=4)
    odense = letters_by_reference(bench)["AD-2019-0002"]
    assert codes(odense) == ["rejected", "incomplete"]
    assert "Socialstyrelsen har afvist ansøgningen: Kommunen har meddelt, at den trækker" in odense.body
    assert "Intern" not in odense.body and "telefonen" not in odense.body


def test_the_proposer_may_withdraw_but_never_approve_or_send_back_their_own_proposal(bench):
    client, token = proposed(bench)
    with bench.db.session() as session:
        decision_id = session.scalar(select(Decision.id))
        session.scalar(select(StaffUser)).role = StaffRole.APPROVER
    back = client.post(f"/decision/{decision_id}/return", data={"csrf_token": token, "comment": "Mig selv"})
    assert "flash=own_proposal" in back.headers["location"]
    boss, boss_token = approver_client(bench)
    assert "flash=not_own_proposal" in boss.post(f"/decision/{decision_id}/withdraw",
                                                 data={"csrf_token": boss_token}).headers["location"]
    assert "flash=withdrawn" in client.post(f"/decision/{decision_id}/withdraw",
                                            data={"csrf_token": token}).headers["location"]
    with bench.db.session() as session:
        decision = session.get(Decision, decision_id)
        assert decision.state == "withdrawn" and decision.reviewed_by is None
    assert "withdraw_selection" in actions(bench) and "return_selection" not in actions(bench)
    # withdrawn, the selection can change again
    assert "flash=deselected" in client.post("/ranking/select", data={
        "csrf_token": token, "reference": "AD-2019-0004", "selected": "no"}).headers["location"]


def test_a_letter_edited_after_approval_waits_for_an_approver_who_sees_the_change(bench):
    client, token, boss, boss_token, decision_id = approved(bench)
    letter = letters_by_reference(bench)["AD-2019-0005"]
    new_body = letter.body.replace("Kære Holbæk Kommune", "Kære Ole Ries, Holbæk Kommune")
    saved = client.post(f"/decision/{decision_id}/letters/{letter.id}",
                        data={"csrf_token": token, "subject": letter.subject, "body": new_body})
    assert "flash=letter_awaits_approval" in saved.headers["location"]
    assert "letters_unapproved" in client.get(f"/decision/{decision_id}/send").text or \
        "venter på en godkender" in client.get(f"/decision/{decision_id}/send").text
    refused = client.post(f"/decision/{decision_id}/send", data={"csrf_token": token, "confirm": "yes"})
    assert "flash=letters_unapproved" in refused.headers["location"]
    page = boss.get(f"/decision/{decision_id}/letters/{letter.id}").text
    assert "Ændret efter godkendelsen" in page
    assert '<div class="del">- Kære Holbæk Kommune</div>' in page
    assert '<div class="add">+ Kære Ole Ries, Holbæk Kommune</div>' in page
    with bench.db.session() as session:  # the one who edited it may not approve the edit, approver or not
        session.scalar(select(StaffUser).where(StaffUser.email == "anna@socialstyrelsen.dk")).role = "approver"
    own = client.post(f"/decision/{decision_id}/letters/{letter.id}/approve", data={"csrf_token": token})
    assert "flash=own_edit" in own.headers["location"]
    ok = boss.post(f"/decision/{decision_id}/letters/{letter.id}/approve", data={"csrf_token": boss_token})
    assert "flash=letter_approved" in ok.headers["location"]
    with bench.db.session() as session:
        stored = session.get(DecisionLetter, letter.id)
        assert stored.approved and stored.approved_by == APPROVER and stored.approved_body == new_body.strip() + "\n"
    assert "approve_letter" in actions(bench)


def test_the_batch_send_is_confirmed_naming_every_recipient_and_waits_for_open_clarifications(bench):
    client, token, _boss, _boss_token, decision_id = approved(bench)
    unconfirmed = client.post(f"/decision/{decision_id}/send", data={"csrf_token": token})
    assert unconfirmed.headers["location"] == f"/decision/{decision_id}/send"  # to the confirmation page
    confirm = client.get(f"/decision/{decision_id}/send").text
    assert "lone@odense.dk" in confirm and "ib@svendborg.dk" in confirm and "7 breve" in confirm
    assert "venter stadig på svar" in confirm and "Ja, send" not in confirm  # Odense's request is open
    refused = client.post(f"/decision/{decision_id}/send", data={"csrf_token": token, "confirm": "yes"})
    assert "flash=clarification_open" in refused.headers["location"]
    withdraw_open_clarifications(client, token)
    assert "Ja, send 7 breve" in client.get(f"/decision/{decision_id}/send").text
    sent = client.post(f"/decision/{decision_id}/send", data={"csrf_token": token, "confirm": "yes"})
    assert "flash=letters_sent" in sent.headers["location"]
    again = client.post(f"/decision/{decision_id}/send", data={"csrf_token": token, "confirm": "yes"})
    assert "flash=decision_locked" in again.headers["location"]  # a double click queues nothing twice
    with bench.db.session() as session:
        replies = list(session.scalars(select(Reply).where(Reply.kind == "decision")))
        assert len(replies) == 7 and all(r.status == "pending" and r.in_reply_to for r in replies)
        assert session.get(Decision, decision_id).state == "sent"
    page = client.get("/decision").text  # the letters' state is their reply's: queued, until the relay took it
    assert page.count('class="letter-state" data-state="queued"') == 7 and "7 i udbakken" in page
    with bench.db.session() as session:
        for reply in session.scalars(select(Reply).where(Reply.kind == "decision")):
            reply.status = "sent"
    assert client.get("/decision").text.count('class="letter-state" data-state="sent"') == 7
    assert {"propose_selection", "approve_selection", "withdraw_clarification", "send_letters"} <= set(actions(bench))


def test_an_approver_can_send_a_proposal_back_with_a_comment_and_staff_propose_again(bench):
    client, token = proposed(bench)
    boss, boss_token = approver_client(bench)
    with bench.db.session() as session:
        decision = session.scalar(select(Decision))
    assert boss.post(f"/decision/{decision.id}/return", data={"csrf_token": boss_token, "comment": ""}
                     ).status_code == 400
    boss.post(f"/decision/{decision.id}/return", data={"csrf_token": boss_token, "comment": "Tag Holbæk med"})
    assert "Tag Holbæk med" in client.get("/decision").text
    again = client.post("/ranking/propose", data={"csrf_token": token, "round": "AD-2019",
                                                  "selection_reason": TIE_REASON})
    assert "flash=proposed" in again.headers["location"]
    with bench.db.session() as session:
        assert [d.state for d in session.scalars(select(Decision).order_by(Decision.id))] == ["returned", "proposed"]
    assert "return_selection" in actions(bench)


def test_the_case_file_holds_the_sent_letter_as_the_decision_and_names_the_outcome(bench):
    import io
    import json
    import zipfile

    client, token, _boss, _boss_token, decision_id = approved(bench)
    withdraw_open_clarifications(client, token)
    client.post(f"/decision/{decision_id}/send", data={"csrf_token": token, "confirm": "yes"})
    bundle = zipfile.ZipFile(io.BytesIO(client.get("/applications/AD-2019-0001/sagsmappe.zip").content))
    metadata = json.loads(bundle.read("metadata.json"))
    assert metadata["decision"]["outcome"] == "award" and metadata["decision"]["approved_by"] == APPROVER
    assert metadata["decision"]["letter_sent"] is True and metadata["round"] == "AD-2019"
    (letter,) = [f for f in metadata["files"] if f["role"] == "decision"]
    assert letter["direction"] == "out" and "Afg" in bundle.read(letter["path"]).decode("utf-8", "replace")


def test_the_case_files_pdf_sets_the_letter_out_line_by_line(bench):
    import io
    import zipfile

    import pdfplumber

    approved(bench)
    bundle = zipfile.ZipFile(io.BytesIO(client_for_signed(bench).get("/applications/AD-2019-0006/sagsmappe.zip")
                                        .content))
    with pdfplumber.open(io.BytesIO(bundle.read("summary.pdf"))) as pdf:
        lines = [line for page in pdf.pages for line in (page.extract_text() or "").splitlines()]
    assert "Med venlig hilsen" in lines and "Socialstyrelsen" in lines  # the signature, not run together
    assert "Klagevejledning" in lines and "Spørgsmål" in lines


def client_for_signed(bench):
    client = client_for(bench)
    sign_in(client)
    return client


def context_of(grounds: list[dict], language: str = "da") -> dict:
    from config import load_settings

    settings = load_settings(None, call={"appeal_text": {"da": "Kan ikke påklages.", "en": "Cannot be appealed."}})
    return {"reference": "AD-2019-0004", "municipality": "Herning Kommune", "partners": ["Ikast-Brande Kommune"],
            "received_local": "6. september 2019 kl. 16.00", "deadline_local": "9. september 2019 kl. 12.00",
            "decided_on": "1. oktober 2019", "round": "AD-2019", "selected": 3, "ranked": 5, "min_selected": 3,
            "max_selected": 5, "zone": settings.call.zone, "contact": settings.call.contact,
            "signing_unit": "Socialstyrelsen", "questions_address": "spm-uip2@socialstyrelsen.dk",
            "appeal_text": settings.call.appeal_text[language], "grounds": grounds}


FIGURES = {"rank": 4, "ranked": 5, "selected": 3, "target_group_total": 300, "population_total": 90000,
           "share": "300/90000", "without_experience": "1/1"}
EVERY_GROUND = [
    {"code": "ranked_lower", **FIGURES, "lowest_selected_share": "1250/352751"},
    {"code": "tied", "rank": 4, "with": ["Holbæk Kommune (AD-2019-0005)", "Ringsted Kommune (AD-2019-0010)"]},
    {"code": "selection_reason", "reason": "Den først modtagne er valgt."},
    {"code": "rejected", "ground": "Kommunen har trukket ansøgningen tilbage."}, {"code": "rejected"},
    {"code": "incomplete", "missing": ["4.2 Antal indbyggere"]}, {"code": "not_approved"},
    {"code": "numbers_missing"}, {"code": "not_assessed"},
    {"code": "late", "received": "2019-09-09T10:30:00+00:00", "deadline": "2019-09-09T12:00:00+02:00"},
    {"code": "late_admitted", "reason": "Spamfilteret", "received": "2019-09-09T10:30:00+00:00",
     "deadline": "2019-09-09T12:00:00+02:00"}]


@pytest.mark.parametrize("language", ["da", "en"])
def test_each_ground_of_a_decline_letter_is_worded_once_in_the_calls_language(language):
    from notifications import render_reply

    body = render_reply("decision_decline", context_of(EVERY_GROUND, language), language).body
    paragraphs = body.split("\n\n")
    grounds = paragraphs[paragraphs.index("Grounds" if language == "en" else "Begrundelse") + 1:][:len(EVERY_GROUND)]
    assert len(set(grounds)) == len(EVERY_GROUND)  # one paragraph each, none left out, none twice
    assert not any("?" in g for g in grounds)  # every parameter filled
    if language == "en":
        assert "number 4 of 5" in body and "0.354 %" in body and "0.333 %" in body and "after the deadline" in body
        assert "with Holbæk Kommune (AD-2019-0005) and Ringsted Kommune (AD-2019-0010)" in body
        assert "Appeal\n\nCannot be appealed." in body
        assert not any(word in body for word in ("Kære", "Begrundelse", "afslag"))
    else:
        assert "nr. 4 af 5" in body and "0,354 %" in body
        assert "9. september 2019 kl. 12.30, efter ansøgningsfristen" in body
        assert "med Holbæk Kommune (AD-2019-0005) og Ringsted Kommune (AD-2019-0010)" in body
        assert "Socialstyrelsen har afvist ansøgningen.\n" in body  # a rejection from before grounds were given
        assert "Klagevejledning\n\nKan ikke påklages." in body
    award = render_reply("decision_award", context_of([{"code": "selected", **FIGURES}], language), language)
    assert award.kind == "decision" and "Odense" in award.body and "Ikast-Brande Kommune" in award.body
    experienced = render_reply("decision_award", context_of([{"code": "selected", **FIGURES,
                                                              "without_experience": "0/2"}], language), language).body
    if language == "da":
        assert "og ingen af kommunerne i ansøgningen har implementeret Åben Dialog før" in award.body
        assert "og alle kommunerne i ansøgningen har implementeret Åben Dialog før" in experienced
    else:
        assert "none of its municipalities has implemented Open Dialogue before" in award.body
        assert "all its municipalities have implemented Open Dialogue before" in experienced


def test_a_letter_without_an_appeal_text_has_no_empty_appeal_heading():
    from notifications import render_reply

    body = render_reply("decision_decline", {**context_of([{"code": "not_approved"}]), "appeal_text": ""}).body
    assert "Klagevejledning" not in body and "Spørgsmål" in body


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


def test_check_warns_when_letters_are_drafted_without_guidance_on_appeal(bench):
    from ingest.checks import Status, check_decision_letters

    without = bench.settings.model_copy(update={"call": bench.settings.call.model_copy(update={"appeal_text": {}})})
    assert check_decision_letters(without).status == Status.OK  # nothing drafted yet: a hint, not a warning
    approved(bench)
    warned = check_decision_letters(without)
    assert warned.status == Status.WARNING and "call.appeal_text.da" in warned.detail and "AD-2019" in warned.detail
    assert check_decision_letters(bench.settings).status == Status.OK


def test_a_follow_up_after_the_decision_is_told_a_caseworker_will_answer_not_to_send_a_form(bench):
    from email.message import EmailMessage

    from web_support import deliver

    from ingest.demo import to_bytes

    client, token, _boss, _boss_token, decision_id = approved(bench)
    withdraw_open_clarifications(client, token)
    client.post(f"/decision/{decision_id}/send", data={"csrf_token": token, "confirm": "yes"})
    question = EmailMessage()
    question["From"], question["To"] = "Ole Ries <ole@holb.dk>", "uip-imp2@socialstyrelsen.dk"
    question["Subject"] = "SV: Afgørelse om implementeringsstøtte til Åben Dialog [AD-2019-0005]"
    question["Message-ID"] = "<holbaek-spoerger@holb.dk>"
    question.set_content("Må vi stadig sende et bilag om vores netværksmøder?")
    deliver(bench, to_bytes(question))
    with bench.db.session() as session:
        receipt = session.scalars(select(Reply).where(Reply.kind == "receipt").order_by(Reply.id.desc())).first()
    assert receipt.subject.startswith("[AD-2019-0005]")
    assert "har truffet afgørelse om ansøgningen. En sagsbehandler læser jeres e-mail" in receipt.body
    assert "send det rettede skema" not in receipt.body


def test_once_the_letters_are_released_the_queue_and_the_export_show_each_outcome(bench):
    client, token, _boss, _boss_token, decision_id = approved(bench)
    withdraw_open_clarifications(client, token)
    assert "Afventer svar" in client.get("/queue?reviewed=").text  # Odense's status before the decision
    client.post(f"/decision/{decision_id}/send", data={"csrf_token": token, "confirm": "yes"})
    with bench.db.session() as session:
        kinds = {letter.application.reference: letter.kind for letter in session.scalars(select(DecisionLetter))}
    page = client.get("/queue").text
    assert page.count('class="status st-awarded">Tilsagn') == sum(1 for k in kinds.values() if k == "award") == 3
    assert page.count('class="status st-declined">Afslag') == len(kinds) - 3
    assert "Afventer svar</span>" not in page  # Odense's was declined: no longer shown as waiting
    rows = list(csv.reader(io.StringIO(client.get("/queue.csv").content.decode("utf-8-sig")), delimiter=";"))
    shown = {row[0]: row[2] for row in rows[1:]}
    assert shown == {reference: "Tilsagn" if kind == "award" else "Afslag" for reference, kind in kinds.items()}
    assert "Tilsagn" in client.get("/applications/" + next(r for r, k in kinds.items() if k == "award")).text
