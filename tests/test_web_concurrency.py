"""The staff web app under parallel requests and hostile headers, against a real uvicorn (SQLite and
PostgreSQL): sign-in limits and the selection cap hold, stale corrections are refused, and no header the
client chooses decides an address, a redirect or what an anonymous caller reads."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import select
from web_support import EMAIL, PASSWORD, client_for, csrf_of, serving, sign_in

from storage import Application, Attachment
from storage.models import AuditEntry, FieldCorrection
from storage.staff import record_poll

pytestmark = pytest.mark.slow  # many threads at once against the app, repeated

PARALLEL = 30


def at_once(count: int, prepare: Callable[[int], Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Prepare ``count`` requests (each on its own connection), then fire them together."""
    calls = [prepare(n) for n in range(count)]
    barrier = threading.Barrier(count)
    responses: list[httpx.Response | None] = [None] * count

    def run(n: int) -> None:
        barrier.wait()
        responses[n] = calls[n]()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(r is not None for r in responses)
    return responses  # type: ignore[return-value]


def audit_actions(bench) -> Counter[str]:
    with bench.db.session() as session:
        return Counter(session.scalars(select(AuditEntry.action)))


def test_thirty_parallel_wrong_sign_ins_reach_the_password_check_only_five_times(bench):
    with serving(bench) as url:
        def prepare(_n: int) -> Callable[[], httpx.Response]:
            client = httpx.Client(base_url=url, timeout=60)
            token = csrf_of(client.get("/login").text)
            return lambda: client.post("/login", data={"email": EMAIL, "password": "wrong-password-123",
                                                       "csrf_token": token, "next_page": "/queue"})

        responses = at_once(PARALLEL, prepare)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {401: 5, 429: PARALLEL - 5}
    actions = audit_actions(bench)
    assert (actions["login_failed"], actions["login_refused_rate_limit"]) == (5, PARALLEL - 5)


def test_six_parallel_selections_never_select_more_than_five(bench):
    client = client_for(bench)
    token = sign_in(client)
    # six eligible applications: the demo's four on time, the late one admitted by staff, and AD-2019-0006 once
    # its director's approval is corrected
    client.post("/applications/AD-2019-0006/corrections", data={"csrf_token": token, "key": "director_approved",
                                                                "value": "Ja"})
    client.post("/applications/AD-2019-0007/admit-late", data={"csrf_token": token, "reason": "Spamfilteret"})
    with bench.db.session() as session:
        eligible = [a.reference for a in session.scalars(select(Application)) if a.status == "complete"
                    and not a.rejected_reason]
    assert len(eligible) >= 6
    with serving(bench) as url:
        def prepare(n: int) -> Callable[[], httpx.Response]:
            browser = httpx.Client(base_url=url, timeout=60)
            csrf = sign_in(browser)  # type: ignore[arg-type]
            return lambda: browser.post("/ranking/select", data={"csrf_token": csrf, "reference": eligible[n]})

        responses = at_once(6, prepare)
    flashes = Counter(r.headers["location"].split("#")[0] for r in responses)
    assert flashes == {"/ranking?flash=selected": 5, "/ranking?flash=too_many": 1}
    with bench.db.session() as session:
        assert sum(a.selected for a in session.scalars(select(Application))) == 5


def test_a_correction_made_on_a_stale_page_is_refused_and_shows_the_other_value(bench):
    first, second = client_for(bench), client_for(bench)
    token_a, token_b = sign_in(first), sign_in(second)
    page = first.get("/applications/AD-2019-0001").text
    version = page.split('name="edit_version" value="')[1].split('"')[0]
    with bench.db.session() as session:
        form_population = next(v.value for v in session.scalar(select(Application).where(
            Application.reference == "AD-2019-0001")).current_submission.values if v.key == "population")
    ok = first.post("/applications/AD-2019-0001/corrections",
                    data={"csrf_token": token_a, "key": "population", "value": "61.000", "edit_version": version})
    assert ok.status_code == 303
    stale = second.post("/applications/AD-2019-0001/corrections",
                        data={"csrf_token": token_b, "key": "population", "value": "62.000", "edit_version": version})
    assert stale.status_code == 409
    assert "En anden har ændret ansøgningen" in stale.text and "61.000" in stale.text
    with bench.db.session() as session:
        corrections = list(session.scalars(select(FieldCorrection).where(FieldCorrection.key == "population")))
    assert [c.value for c in corrections] == [61000]
    # the page's new version lets the second member correct on top; "read from the form" stays the form's value
    fresh = second.get("/applications/AD-2019-0001").text.split('name="edit_version" value="')[1].split('"')[0]
    second.post("/applications/AD-2019-0001/corrections",
                data={"csrf_token": token_b, "key": "population", "value": "62.000", "edit_version": fresh})
    with bench.db.session() as session:
        corrections = list(session.scalars(select(FieldCorrection).where(FieldCorrection.key == "population")))
    assert [(c.original, c.value) for c in corrections] == [(form_population, 61000), (form_population, 62000)]


@pytest.mark.parametrize("trusted, expected", [("", "127.0.0.1"), ("127.0.0.1", "203.0.113.9")],
                         ids=["no proxy configured", "loopback proxy configured"])
def test_x_forwarded_for_is_believed_only_from_a_configured_proxy(bench, trusted, expected):
    bench.settings.web.forwarded_allow_ips = trusted
    with serving(bench) as url, httpx.Client(base_url=url) as client:
        token = csrf_of(client.get("/login").text)
        client.post("/login", data={"email": EMAIL, "password": "wrong-password-123", "csrf_token": token},
                    headers={"X-Forwarded-For": "203.0.113.9"})
    with bench.db.session() as session:
        (client_address,) = session.scalars(select(AuditEntry.client).where(AuditEntry.action == "login_failed"))
    assert client_address == expected


def test_rotating_x_forwarded_for_does_not_escape_the_per_client_limit(bench):
    with serving(bench) as url, httpx.Client(base_url=url) as client:
        token, codes = csrf_of(client.get("/login").text), []
        for n in range(22):
            response = client.post("/login", data={"email": f"x{n}@example.dk", "password": "wrong-password-123",
                                                   "csrf_token": token},
                                   headers={"X-Forwarded-For": f"198.51.100.{n}"})
            codes.append(response.status_code)
            token = csrf_of(response.text)  # each answer carries a fresh login form
    assert codes[:20] == [401] * 20 and codes[20:] == [429, 429]


@pytest.mark.parametrize("path", ["/files/9223372036854775808", "/messages/99999999999999999999/raw",
                                  "/files/0", "/files/-1"])
def test_ids_out_of_range_are_404_with_the_usual_headers(bench, path):
    client = client_for(bench)
    sign_in(client)
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["X-Frame-Options"] == "DENY" and "default-src 'none'" in response.headers[
        "Content-Security-Policy"]


def test_anonymous_health_checks_see_counts_never_error_text(bench):
    with bench.db.session() as session:
        record_poll(session, error="MailboxError: IMAP imap.internal:993: LOGIN failed for uip-imp2")
    body = client_for(bench).get("/healthz").json()
    assert body["last_poll_failed"] is True and "imap.internal" not in str(body)
    assert {"messages_error", "messages_parked", "messages_quarantined"} <= body.keys()


def test_bidi_and_control_characters_never_reach_a_page_or_a_download_name(bench):
    client = client_for(bench)
    sign_in(client)
    with bench.db.session() as session:
        attachment = session.scalars(select(Attachment)).first()
        attachment.filename = "faktura\u202egpj.exe\u200b\u0007"
        attachment_id = attachment.id
    page = client.get("/messages").text
    assert "\u202e" not in page and "fakturagpj.exe" in page
    disposition = client.get(f"/files/{attachment_id}").headers["content-disposition"]
    assert "%E2%80%AE" not in disposition and "\u202e" not in disposition and "fakturagpj.exe" in disposition


def test_no_redirect_is_built_from_the_request_host(bench):
    client = client_for(bench)
    sign_in(client)
    response = client.get("/queue/", headers={"Host": "evil.example"})
    assert response.status_code == 404 and "location" not in response.headers
    anonymous = client_for(bench).get("/queue", headers={"Host": "evil.example"})
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert PASSWORD not in anonymous.text


@pytest.mark.parametrize("repeat", range(3))
def test_a_proposal_and_changes_to_its_applications_at_the_same_moment_never_disagree(bench, repeat):
    """A proposal against a rejection, a deselection and a correction of the applications it proposes, all at
    once: each change is either made before the proposal (and the snapshot shows it) or refused after it; the
    frozen snapshot and the applications never disagree."""
    from storage.models import Decision

    client = client_for(bench)
    token = sign_in(client)
    for reference in ("AD-2019-0003", "AD-2019-0001", "AD-2019-0004", "AD-2019-0005"):  # the tie whole
        client.post("/ranking/select", data={"csrf_token": token, "reference": reference})
    changes = [
        ("/ranking/propose", {"round": "AD-2019"}),
        ("/applications/AD-2019-0005/reject", {"reason": "intern", "ground": "Trukket tilbage.", "action": "reject"}),
        ("/ranking/select", {"reference": "AD-2019-0004", "selected": "no"}),
        ("/applications/AD-2019-0001/corrections", {"key": "population", "value": "9.999.999"}),
    ]
    with serving(bench) as url:
        def prepare(n: int) -> Callable[[], httpx.Response]:
            browser = httpx.Client(base_url=url, timeout=60)
            csrf = sign_in(browser)  # type: ignore[arg-type]
            path, data = changes[n]
            return lambda: browser.post(path, data={"csrf_token": csrf, **data})

        responses = at_once(len(changes), prepare)
    assert all(r.status_code in (303, 422) for r in responses), [r.status_code for r in responses]
    with bench.db.session() as session:
        decisions = list(session.scalars(select(Decision)))
        applications = {a.reference: a for a in session.scalars(select(Application))}
        selected_now = sorted(ref for ref, a in applications.items() if a.selected)
        if not decisions:  # the changes came first and left a selection that departs from the order
            assert "proposal_size" in responses[0].headers["location"] or \
                "selection_reason_needed" in responses[0].headers["location"]
            return
        (decision,) = decisions
        assert sorted(decision.snapshot["selected"]) == selected_now  # what was proposed is what is selected
        ranked = {e["reference"]: e for e in decision.snapshot["ranked"]}
        assert ("AD-2019-0005" in ranked) == (applications["AD-2019-0005"].rejected_reason is None)
        population = ranked.get("AD-2019-0001", {}).get("population_total")
        corrected = bool(applications["AD-2019-0001"].corrections)
        assert population == (9_999_999 if corrected else 352_751)


def test_eight_caseworkers_answering_one_email_at_once_send_one_reply(bench):
    from storage import InboundMessage, Reply
    from storage.states import ReplyKind

    with bench.db.session() as session:
        question = session.scalars(select(InboundMessage.id).where(
            InboundMessage.message_id == "<demo-q@esbjerg.dk>")).one()
    with serving(bench) as url:
        def prepare(n: int) -> Callable[[], httpx.Response]:
            browser = httpx.Client(base_url=url, timeout=60)
            csrf = sign_in(browser)  # type: ignore[arg-type]
            return lambda: browser.post(f"/messages/{question}/reply", data={
                "csrf_token": csrf, "text": f"Svar nummer {n}", "action": "send"})

        responses = at_once(8, prepare)
    assert Counter(r.status_code for r in responses) == {303: 1, 409: 7}
    with bench.db.session() as session:
        replies = session.scalars(select(Reply).where(Reply.kind == ReplyKind.STAFF_REPLY)).all()
        assert len(replies) == 1 and audit_actions(bench)["reply_message"] == 1
