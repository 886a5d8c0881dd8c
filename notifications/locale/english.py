"""The service's words in English: the same keys as ``danish``, for a call run in English."""

from __future__ import annotations

REASONS = {
    "complete": "complete",
    "to_clarify": "{count} problem(s) to clarify",
    "duplicate": "same email as message #{original}, received {received}",
    "oversized": "the email was {size}, over the limit of {limit}; not downloaded",
    "not_answered": "no automatic reply",
    "quarantined": "quarantined: {limit} ({detail})",
    "form_unreadable": "the form could not be opened ({files})",
    "follow_up": "answer to {reference} without a form (found by {found_by})",
    "no_form": "no application form among the attachments",
    "no_attachments": "no attachments",
    "round_closed": "the application round is closed",
    "legacy": "{text}",
}
NO_REPLY = "no automatic reply: {why}"
BOUNCED = "our reply {bounced_reply} to {bounced_to} bounced and is marked failed"
NO_REPLY_WHY = {
    "auto_submitted": "Auto-Submitted: {detail}",
    "precedence": "Precedence: {detail}",
    "list_header": "mailing list header {detail}",
    "suppressed": "X-Auto-Response-Suppress",
    "null_return_path": "null return path (a bounce)",
    "report": "a delivery or disposition report",
    "no_sender": "no sender address",
    "robot_sender": "automatic sender {detail}",
    "ourselves": "sent by ourselves",
    "our_message": "one of our own messages came back",
    "raw_unavailable": "the stored email could not be read",
    "authentication_failed": "the sender is probably forged (the receiving server's verdict: {detail})",
}
FOUND_BY = {"reference": "the reference in the subject", "message_id": "In-Reply-To/References",
            "sender": "the sender's address"}
UNREADABLE = {"encrypted": "encrypted", "macro": "macros", "unsafe": "unsafe", "corrupt": "damaged",
              "unsupported": "unsupported", "too_large": "too large", "timeout": "took too long"}
QUARANTINE = {
    "too_deep": "nested too deep",
    "too_many_parts": "too many parts",
    "too_many_headers": "too many header fields",
    "header_line_too_long": "a header line too long",
    "unparseable": "could not be read",
    "over_memory_budget": "would take too much memory to read",
    "worker_gave_up": "processing failed too many times",
}
QUARANTINE_WHY = {
    "too_deep": "it consists of too many emails nested inside each other",
    "too_many_parts": "it has too many parts and attachments",
    "too_many_headers": "it has too many header fields",
    "header_line_too_long": "one of its header lines is too long",
    "unparseable": "its structure could not be read",
    "over_memory_budget": "it is too large and intricate for us to read automatically",
    "worker_gave_up": "processing it failed several times",
}
ATTEMPTS = "{attempts} attempts"

WE_NEED = "We need {expected}."
PROBLEMS = {
    "missing": "The field is empty.",
    "too_low": "\"{value}\" is too low.",
    "too_high": "\"{value}\" is too high.",
    "unreadable": "{value_problem}.",
    "partner_rows": "{rows}.",
    "partners_missing": "The application is marked as a joint application, but no partner municipalities are "
                        "given.",
    "population_below_target": "The population ({population}) is smaller than the number of citizens in the "
                               "target group ({target_group_size}).",
    "not_approved": "The application is marked as not approved by the director. The call requires the "
                    "director's approval before an application can be considered.",
    "approval_after_receipt": "The date {approval_date} is after the day the application was received "
                              "({received_on}).",
    "legacy": "{text}",
}
PARTNER_ROW = "row {row}: {troubles}"
LINE = "Line {line}: {text}"
VALUES = {
    "not_a_number": "\"{value}\" is not a number",
    "not_whole": "\"{value}\" is not a whole number",
    "several_numbers": "\"{value}\" holds more than one number",
    "invalid_date": "\"{value}\" is not a valid date",
    "unreadable_date": "\"{value}\" cannot be read as a date (write e.g. 2-9-2019)",
    "neither_yes_nor_no": "\"{value}\" is neither Ja (yes) nor Nej (no)",
    "mark_without_yes_no": "\"{value}\" shows a mark without Ja (yes) or Nej (no)",
    "both_yes_and_no": "both Ja (yes) and Nej (no) are marked",
    "phone": "\"{value}\" is not a Danish phone number of 8 digits",
    "cvr_format": "\"{value}\" is not a CVR number of 8 digits",
    "cvr_check_digit": "\"{value}\" is not a valid CVR number (the check digit does not match)",
    "email": "\"{value}\" is not a valid email address",
    "postal": "\"{value}\" is not a four-digit postcode followed by the town",
    "not_a_municipality": "\"{value}\" is not the name of a Danish municipality",
    "municipality_missing": "the municipality's name is missing",
    "column_missing": "{column} is missing",
    "line_layout": "write \"Municipality; number in the target group; population\"",
    "line_yes_no": "write Ja or Nej in the fourth column",
}
COLUMNS = {"municipality": "the municipality", "target_group_size": "the number of citizens in the target group",
           "population": "the population"}
EXPECTED = {
    "municipality": "the name of one of the 98 Danish municipalities, e.g. \"Aarhus Kommune\"",
    "postal_code_city": "a four-digit postcode followed by the town, e.g. \"8000 Aarhus C\"",
    "cvr": "a valid CVR number of 8 digits",
    "contact_name": "the contact person's name",
    "contact_email": "a valid email address, e.g. \"name@kommune.dk\"",
    "contact_phone": "a phone number of 8 digits, optionally with +45",
    "joint_application": "either Ja (yes) or Nej (no) to be marked",
    "partners": "one row per partner municipality with its name, the number of citizens in the target group and "
                "its population",
    "target_group_size": "a whole number of at least 1",
    "population": "a whole number at least as large as the target group",
    "already_implemented": "either Ja (yes) or Nej (no) to be marked",
    "meeting_leaders_count": "a whole number from 1 to 6",
    "intro_course_count": "a whole number from 0 to 24",
    "startup_meeting": "either Ja (yes) or Nej (no) to be marked",
    "director_approved": "the director's approval (Ja), as the call requires",
    "director_name": "the director's name",
    "approval_date": "the date of the director's approval, e.g. \"2-9-2019\", no later than the day the email "
                     "was received",
}

RESEND = "Please save the form as an ordinary Word document (.docx) without a password and send it again."
REFUSALS = {
    "encrypted_pdf": "The file \"{filename}\" is an encrypted PDF.",
    "password": "The file \"{filename}\" is protected by a password.",
    "macros": "The file \"{filename}\" contains macros, which we do not open for security reasons.",
    "macro_document": "The file \"{filename}\" is a macro-enabled document (.docm), which we do not open for "
                      "security reasons.",
    "misnamed": "The file \"{filename}\" is not a Word or PDF document, although its name says so.",
    "damaged": "The file \"{filename}\" is damaged and cannot be opened.",
    "not_word": "The file \"{filename}\" is not a valid Word document.",
    "unusual_structure": "The file \"{filename}\" has an unusual structure and is not opened.",
    "zip_bomb": "The file \"{filename}\" appears to be a so-called zip bomb and is not opened.",
    "unpacks_too_large": "The file \"{filename}\" is too large when unpacked.",
    "unsafe_xml": "The file \"{filename}\" contains unsafe XML declarations and is not opened.",
    "pdf_password": "The PDF file \"{filename}\" is protected by a password.",
    "pdf_damaged": "The PDF file \"{filename}\" is damaged and cannot be opened.",
    "pdf_unreadable": "The PDF file \"{filename}\" cannot be read.",
    "word_damaged": "The Word document \"{filename}\" is damaged and cannot be opened.",
    "doc_unsupported": "The file \"{filename}\" is saved in the old Word 97-2003 format (.doc), which we cannot "
                       "read at the moment.",
    "doc_timeout": "The Word 97-2003 file \"{filename}\" could not be opened in time.",
    "doc_damaged": "The Word 97-2003 file \"{filename}\" is damaged and cannot be opened.",
    "slow": "The file \"{filename}\" could not be read within {seconds} seconds.",
    "resources": "The file \"{filename}\" could not be opened safely: it used too many resources.",
    "memory": "The file \"{filename}\" needs too much memory to open.",
    "legacy": "{text}",
}

# a decision's grounds as its letter gives them (each once); {…} are the ground's parameters, already worded
GROUNDS = {
    "selected": "The applications are ranked by the call's two award criteria: first the relative size of the "
                "target group, then the municipality's experience with Open Dialogue. Your application has a "
                "target group of {target_group_total} citizens out of {population_total} inhabitants "
                "({share} %){experience}. This places it as number {rank} of {ranked} applications assessed and "
                "among the {selected} selected.",
    "ranked_lower": "The applications are ranked by the call's two award criteria: first the relative size of the "
                    "target group, then the municipality's experience with Open Dialogue. Your application has a "
                    "target group of {target_group_total} citizens out of {population_total} inhabitants "
                    "({share} %){experience}. It was ranked number {rank} of {ranked} applications assessed. "
                    "The lowest ranked of those selected had a share of {lowest_selected_share} %.",
    "tied": "Your application shares rank {rank} with {with}: the applications are equal on both criteria.",
    "selection_reason": "The selection does not follow the ranking alone, because not every application on the "
                        "same rank could be selected. The Board's reason for its choice: {reason}",
    "rejected": "The Board has rejected the application: {ground}",
    "rejected_unstated": "The Board has rejected the application.",
    "incomplete": "The application was not complete when the applications were assessed. Missing: {missing}.",
    "incomplete_unstated": "The application was not complete when the applications were assessed.",
    "not_approved": "The call's minimum requirement is that \"the municipality's application for implementation "
                    "support must be approved by the director\". Your application is not approved by the "
                    "municipality's director (item 8.1 of the form is not answered \"Ja\"), so the requirement is "
                    "not met.",
    "numbers_missing": "The number of citizens in the target group or the number of inhabitants was missing, so "
                       "the application could not be assessed by the criteria.",
    "late": "The application was received {received}, after the deadline {deadline}. The call requires "
            "applications to arrive by the deadline, so it was not assessed.",
    "late_admitted": "The application was received {received}, after the deadline {deadline}. The Board has "
                     "assessed it all the same: {reason}",
    "late_admitted_by_rule": "The application was received {received}, after the deadline {deadline}. In this "
                             "round applications received after the deadline are assessed like the others.",
    "not_assessed": "The application was not part of the selection: it arrived after the selection was proposed.",
}
GROUND_LABELS = {
    "rejected": "Rejected by the Board; to the municipality: \"{ground}\"",
    "rejected_unstated": "Rejected by the Board (no ground for the municipality yet)",
    "incomplete": "Not complete: {missing}",
    "incomplete_unstated": "Not complete",
    "not_approved": "Not approved by the director (8.1): the call's minimum requirement is not met",
    "numbers_missing": "The target group (4.1) or the population (4.2) is missing",
    "late": "Received {received}, after the deadline; not ranked unless admitted with a reason",
    "not_assessed": "Not part of the selection",
}
EXPERIENCE = {"none": ", and none of its municipalities has implemented Open Dialogue before",
              "all": ", and all its municipalities have implemented Open Dialogue before",
              "some": ", and {percent} % of its municipalities have not implemented Open Dialogue before"}
AND = " and "
LETTER_STATES = {"drafted": "draft, awaiting approval", "approved": "approved, not sent", "queued": "in the outbox",
                 "sent": "sent", "failed": "sending failed", "no_address": "not sent: no address to answer"}
APPLICATION_STATES = {"complete": "Complete", "needs_clarification": "Awaiting an answer", "rejected": "Rejected",
                      "awarded": "Awarded", "declined": "Declined"}
MESSAGE_STATES = {"application": "Application", "follow_up": "Follow-up", "rejected": "Rejected", "ignored": "Ignored",
                  "duplicate": "Duplicate", "quarantined": "Quarantined", "received": "Being processed",
                  "error": "Failed", "parked": "Given up on (quarantine)"}
DECISION_STATES = {"proposed": "proposed, awaiting approval", "returned": "sent back",
                   "approved": "approved, the letters are not sent", "sent": "decided, the letters are released",
                   "withdrawn": "withdrawn by the one who proposed it"}
