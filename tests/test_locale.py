"""The one locale module: every code is worded in Danish and English, dates/numbers/sizes are written as
people write them, and a code that lost its parameters (purged) still reads."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from notifications.locale import (
    danish,
    date_text,
    english,
    number_text,
    problem_text,
    reason_text,
    refusal_text,
    size_text,
    time_text,
    value_problem_text,
)
from notifications.render import flow
from parsers import Problem, UnreadableFile
from parsers.problem_codes import ProblemCode, RefusalCause, UnreadableCode, ValueCode
from parsers.values import ValueProblem, parse_integer
from storage.reasons import NoReply, NoReplyCode, QuarantineCode, Reason, ReasonCode, ThreadMatch
from storage.states import ApplicationStatus, DecisionState, MessageState, Outcome


def test_dates_and_times_are_written_as_people_write_them_in_danish_time():
    moment = datetime(2019, 9, 3, 9, 30, tzinfo=UTC)  # 11.30 in Copenhagen (summer time)
    assert time_text(moment) == "3. september 2019 kl. 11.30"
    assert time_text(moment, "en") == "3 September 2019 at 11:30"
    assert time_text(datetime(2019, 12, 24, 23, 30, tzinfo=UTC)) == "25. december 2019 kl. 00.30"
    assert date_text(date(2019, 9, 9)) == "9. september 2019" and date_text("2019-09-09", "en") == "9 September 2019"


def test_numbers_and_sizes_have_one_formatter_each_counting_megabytes_as_mail_programs_do():
    assert number_text(352751) == "352.751" and number_text(352751, "en") == "352,751"
    assert number_text(None) == "(ikke angivet)" and number_text(None, "en") == "(not given)"
    assert size_text(10 * 1_048_576) == "10 MB" and size_text(11_010_048) == "10,5 MB"
    assert size_text(11_010_048, "en") == "10.5 MB" and size_text(2048) == "2 kB"


def test_both_languages_word_every_code():
    for table in ("REASONS", "NO_REPLY_WHY", "QUARANTINE", "QUARANTINE_WHY", "PROBLEMS", "VALUES", "REFUSALS",
                  "EXPECTED", "FOUND_BY", "UNREADABLE", "COLUMNS", "APPLICATION_STATES", "MESSAGE_STATES",
                  "DECISION_STATES"):
        assert set(getattr(danish, table)) == set(getattr(english, table)), table
    assert set(danish.REASONS) == {str(c) for c in ReasonCode}
    assert set(danish.APPLICATION_STATES) == {str(s) for s in ApplicationStatus}
    assert set(danish.MESSAGE_STATES) == {str(o) for o in Outcome} | {str(s) for s in MessageState} - {"processed"}
    assert set(danish.DECISION_STATES) == {str(s) for s in DecisionState}
    assert set(danish.NO_REPLY_WHY) == {str(c) for c in NoReplyCode}
    assert set(danish.QUARANTINE) == {str(c) for c in QuarantineCode} == set(danish.QUARANTINE_WHY)
    assert set(danish.PROBLEMS) == {str(c) for c in ProblemCode}
    assert set(danish.VALUES) == {str(c) for c in ValueCode}
    assert set(danish.REFUSALS) == {str(c) for c in RefusalCause}
    assert set(danish.UNREADABLE) == {str(c) for c in UnreadableCode}
    assert set(danish.FOUND_BY) == {str(c) for c in ThreadMatch}


@pytest.mark.parametrize(("reason", "da", "en"), [
    (Reason(ReasonCode.OVERSIZED, {"size": 11_010_048, "limit": 10_485_760}),
     "e-mailen var 10,5 MB, over grænsen på 10 MB; ikke hentet",
     "the email was 10.5 MB, over the limit of 10 MB; not downloaded"),
    (Reason(ReasonCode.DUPLICATE, {"original": 29, "received": "2019-09-03T09:30:00+00:00"}),
     "samme e-mail som besked #29, modtaget 3. september 2019 kl. 11.30",
     "same email as message #29, received 3 September 2019 at 11:30"),
    (Reason(ReasonCode.NOT_ANSWERED).with_no_reply(NoReply(NoReplyCode.AUTO_SUBMITTED, "auto-replied")),
     "intet automatisk svar: Auto-Submitted: auto-replied", "no automatic reply: Auto-Submitted: auto-replied"),
    (Reason(ReasonCode.QUARANTINED, {"limit": "worker_gave_up", "attempts": 3}).with_no_reply(
        NoReply(NoReplyCode.RAW_UNAVAILABLE)),
     "i karantæne: behandlingen fejlede for mange gange (3 forsøg); intet automatisk svar: den gemte e-mail "
     "kunne ikke læses",
     "quarantined: processing failed too many times (3 attempts); no automatic reply: the stored email could "
     "not be read"),
    (Reason(ReasonCode.FOLLOW_UP, {"reference": "AD-2019-0007", "found_by": "reference"}),
     "svar på AD-2019-0007 uden skema (fundet via referencenummeret i emnet)",
     "answer to AD-2019-0007 without a form (found by the reference in the subject)"),
    (Reason(ReasonCode.FORM_UNREADABLE, {"files": [UnreadableFile("macro", "macros", "a.docm").as_dict()]}),
     "skemaet kunne ikke åbnes (a.docm: makroer)", "the form could not be opened (a.docm: macros)"),
    (Reason(ReasonCode.TO_CLARIFY, {"count": 2}), "2 forhold skal afklares", "2 problem(s) to clarify"),
])
def test_a_reason_reads_in_danish_and_english_from_its_code(reason, da, en):
    assert reason_text(reason) == da and reason_text(reason, "en") == en


def test_a_reason_whose_parameters_were_purged_still_reads_instead_of_failing():
    assert reason_text(Reason(ReasonCode.OVERSIZED, {})) == "e-mailen var ?, over grænsen på ?; ikke hentet"
    assert reason_text(Reason(ReasonCode.DUPLICATE, {})) == "samme e-mail som besked #?, modtaget ?"
    assert reason_text(Reason.stored("from_a_newer_version", {"x": 1})).startswith("from_a_newer_version")


def test_a_value_problem_carries_its_code_and_reads_in_both_languages():
    with pytest.raises(ValueProblem) as problem:
        parse_integer("mange")
    assert problem.value.code == ValueCode.NOT_A_NUMBER
    assert value_problem_text(problem.value.as_dict()) == "»mange« er ikke et tal"
    assert value_problem_text(problem.value.as_dict(), "en") == '"mange" is not a number'
    line = ValueProblem(ValueCode.LINE_YES_NO, "måske", line=2).as_dict()
    assert value_problem_text(line) == "Linje 2: skriv Ja eller Nej i fjerde kolonne"


def test_a_problem_says_what_is_wrong_and_what_we_need():
    missing = Problem("contact_name", ProblemCode.MISSING)
    assert problem_text(missing) == "Feltet er ikke udfyldt. Vi har brug for kontaktpersonens navn."
    assert problem_text(missing, "en") == "The field is empty. We need the contact person's name."
    rows = Problem("partners", ProblemCode.PARTNER_ROWS, {"rows": [{"row": 2, "troubles": [
        {"value_code": "column_missing", "value": "", "column": "population"}]}]})
    assert problem_text(rows).startswith("Række 2: antal indbyggere mangler. Vi har brug for en række pr.")


def test_a_refusal_names_the_file_and_says_how_to_send_it_instead():
    refusal = UnreadableFile(UnreadableCode.ENCRYPTED, RefusalCause.PASSWORD, "skema.docx")
    assert refusal_text(refusal) == ("Filen »skema.docx« er beskyttet med adgangskode. Gem venligst skemaet som et "
                                     "almindeligt Word-dokument (.docx) uden adgangskode og send det igen.")
    assert refusal_text(refusal, "en", advice=False) == 'The file "skema.docx" is protected by a password.'
    assert UnreadableFile.from_dict(refusal.as_dict()).as_dict() == refusal.as_dict()


def test_flow_joins_soft_breaks_and_keeps_lists_indented_lines_and_marked_breaks():
    text = "Tak for jeres ansøgning, som vi modtog\n3. september 2019 kl. 11.30. Den har\nreferencen X.\n\n" \
           "Send venligst:\n  * skemaet\n  * bilagene\n- en linje\n\nMed venlig hilsen\\\nSocialstyrelsen\n"
    assert flow(text) == ("Tak for jeres ansøgning, som vi modtog 3. september 2019 kl. 11.30. Den har referencen X."
                          "\n\nSend venligst:\n  * skemaet\n  * bilagene\n- en linje\n\n"
                          "Med venlig hilsen\nSocialstyrelsen\n")


def test_every_reply_kind_reply_status_and_letter_state_has_its_danish_words():
    from notifications.locale import danish, english
    from storage.states import LetterState, ReplyKind, ReplyStatus

    assert set(danish.REPLY_KINDS) == {str(k) for k in ReplyKind}
    assert set(danish.REPLY_STATUS) == {str(s) for s in ReplyStatus}
    assert set(danish.LETTER_STATES) == set(english.LETTER_STATES) == {str(s) for s in LetterState}


def test_every_ground_is_worded_in_both_languages():
    from notifications.locale import danish, english
    from storage.reasons import GroundCode

    for said in (danish, english):
        assert {str(c) for c in GroundCode} <= set(said.GROUNDS)
