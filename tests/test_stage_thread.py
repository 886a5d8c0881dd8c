"""Stage `thread`: an answer is tied to its application by the reference in the subject, then by the
Message-IDs it answers, then by its sender's one open application (never across public mail domains)."""

from __future__ import annotations

from stage_support import WHEN, context, email, through

from ingest.handlers import structure, thread
from storage import Application, InboundMessage, Reply
from storage.reasons import ThreadMatch
from storage.states import ApplicationStatus


def _application(session, reference: str = "AD-2019-0007", sender: str = "a@aarhus.dk",
                 status: str = ApplicationStatus.NEEDS_CLARIFICATION) -> Application:
    application = Application(reference=reference, status=status, late=False, received_at=WHEN)
    session.add(application)
    session.flush()
    session.add(InboundMessage(folder="INBOX", uidvalidity="1", uid=f"old-{reference}", dedupe_key=reference,
                               sender=sender, received_at=WHEN, size=1, application_id=application.id,
                               state="processed"))
    session.flush()
    return application


def test_the_reference_in_a_mangled_subject_finds_the_application(memory_db, tmp_path):
    ctx = context(memory_db, tmp_path, email(with_form=False, Subject="SV: VS: [ AD - 2019 - 7 ] rettet skema"),
                  sender="x@odense.dk")
    application = _application(ctx.session, status=ApplicationStatus.COMPLETE)
    through(ctx, structure.process, thread.process)
    assert (ctx.thread, ctx.thread_found_by) == (application, ThreadMatch.REFERENCE)


def test_in_reply_to_one_of_our_replies_finds_the_application(memory_db, tmp_path):
    ctx = context(memory_db, tmp_path, email(with_form=False, **{"In-Reply-To": "<r1@socialstyrelsen.dk>"}),
                  sender="x@odense.dk")
    application = _application(ctx.session, status=ApplicationStatus.COMPLETE)
    ctx.session.add(Reply(message_id_header="<r1@socialstyrelsen.dk>", kind="clarification", to_addr="a@aarhus.dk",
                          subject="s", body="b", application_id=application.id, inbound_message_id=ctx.row.id))
    ctx.session.flush()  # sent before this message came: stored already
    through(ctx, structure.process, thread.process)
    assert (ctx.thread, ctx.thread_found_by) == (application, ThreadMatch.MESSAGE_ID)


def test_the_senders_one_open_application_is_found_and_a_colleague_on_the_same_domain_too(memory_db, tmp_path):
    own = context(memory_db, tmp_path, email(with_form=False))
    application = _application(own.session)
    through(own, structure.process, thread.process)
    assert (own.thread, own.thread_found_by) == (application, ThreadMatch.SENDER)
    own.session.commit()
    colleague = context(memory_db, tmp_path, email("<c@aarhus.dk>", with_form=False), uid="2",
                        sender="kollega@aarhus.dk")
    through(colleague, structure.process, thread.process)
    assert colleague.thread is not None and colleague.thread.id == application.id


def test_a_public_mail_domain_or_a_complete_application_ties_nothing(memory_db, tmp_path):
    ctx = context(memory_db, tmp_path, email(with_form=False), sender="anne@gmail.com")
    _application(ctx.session, sender="bo@gmail.com")
    _application(ctx.session, reference="AD-2019-0008", sender="a@aarhus.dk", status=ApplicationStatus.COMPLETE)
    through(ctx, structure.process, thread.process)
    assert (ctx.thread, ctx.thread_found_by) == (None, None)


def test_the_senders_own_open_application_wins_over_colleagues_and_two_on_the_domain_tie_nothing(memory_db,
                                                                                                 tmp_path):
    own = context(memory_db, tmp_path, email(with_form=False))  # from a@aarhus.dk
    mine = _application(own.session)
    _application(own.session, reference="AD-2019-0008", sender="b@aarhus.dk")
    through(own, structure.process, thread.process)
    assert (own.thread, own.thread_found_by) == (mine, ThreadMatch.SENDER)
    own.session.commit()
    colleague = context(memory_db, tmp_path, email("<c@aarhus.dk>", with_form=False), uid="2", sender="c@aarhus.dk")
    through(colleague, structure.process, thread.process)
    assert colleague.thread is None  # two open applications on the domain: which one is not a guess to make


def test_a_wildcard_in_the_senders_domain_matches_only_itself(memory_db, tmp_path):
    ctx = context(memory_db, tmp_path, email(with_form=False), sender="x@a_rhus.dk")
    _application(ctx.session, sender="a@aarhus.dk")
    through(ctx, structure.process, thread.process)
    assert ctx.thread is None
