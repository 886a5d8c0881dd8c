"""What can be wrong with a form, a value or a file, as codes with parameters. The parsers say *what* is wrong;
``notifications.locale`` says it in Danish or English (for the sender, staff, the CLI and exports alike), so
nothing downstream ever reads a sentence back."""

from __future__ import annotations

from enum import StrEnum


class ValueCode(StrEnum):
    """Why a value that is present could not be read as its type (parameter ``value``: the text as typed)."""

    NOT_A_NUMBER = "not_a_number"
    NOT_WHOLE = "not_whole"
    SEVERAL_NUMBERS = "several_numbers"
    INVALID_DATE = "invalid_date"
    UNREADABLE_DATE = "unreadable_date"
    NEITHER_YES_NOR_NO = "neither_yes_nor_no"
    MARK_WITHOUT_YES_NO = "mark_without_yes_no"
    BOTH_YES_AND_NO = "both_yes_and_no"
    PHONE = "phone"
    CVR_FORMAT = "cvr_format"
    CVR_CHECK_DIGIT = "cvr_check_digit"
    EMAIL = "email"
    POSTAL = "postal"
    NOT_A_MUNICIPALITY = "not_a_municipality"
    MUNICIPALITY_MISSING = "municipality_missing"  # a partner row without its municipality
    COLUMN_MISSING = "column_missing"  # a partner row without a number (``column``: the column's key)
    LINE_LAYOUT = "line_layout"  # staff's partner line is not "Kommune; antal; antal" (``line``)
    LINE_YES_NO = "line_yes_no"  # staff's partner line has something else than Ja/Nej in column 4 (``line``)


class ProblemCode(StrEnum):
    """Why a field of the form needs clarifying."""

    MISSING = "missing"  # a required field is empty
    TOO_LOW = "too_low"  # ``value``
    TOO_HIGH = "too_high"  # ``value``
    UNREADABLE = "unreadable"  # the value could not be read: ``value_code`` and its parameters
    PARTNER_ROWS = "partner_rows"  # ``rows``: [{"row": n, "troubles": [{"value_code": …, …}]}]
    PARTNERS_MISSING = "partners_missing"  # joint application without partners
    POPULATION_BELOW_TARGET = "population_below_target"  # ``population``, ``target_group_size``
    NOT_APPROVED = "not_approved"  # the director's approval is "Nej"
    APPROVAL_AFTER_RECEIPT = "approval_after_receipt"  # ``approval_date``, ``received_on`` (ISO dates)
    LEGACY = "legacy"  # a problem stored as Danish text before the codes (``text``)


class UnreadableCode(StrEnum):
    """The family of reasons a file is not opened (shown in logs and stored on the message)."""

    ENCRYPTED = "encrypted"
    MACRO = "macro"
    UNSAFE = "unsafe"
    CORRUPT = "corrupt"
    UNSUPPORTED = "unsupported"
    TOO_LARGE = "too_large"
    TIMEOUT = "timeout"


class RefusalCause(StrEnum):
    """Exactly why a file is not opened; each one is a sentence in ``notifications.locale``."""

    ENCRYPTED_PDF = "encrypted_pdf"
    PASSWORD = "password"
    MACROS = "macros"
    MACRO_DOCUMENT = "macro_document"  # .docm
    MISNAMED = "misnamed"  # says .docx/.pdf, is neither
    DAMAGED = "damaged"
    NOT_WORD = "not_word"
    UNUSUAL_STRUCTURE = "unusual_structure"
    ZIP_BOMB = "zip_bomb"
    UNPACKS_TOO_LARGE = "unpacks_too_large"
    UNSAFE_XML = "unsafe_xml"
    PDF_PASSWORD = "pdf_password"
    PDF_DAMAGED = "pdf_damaged"
    PDF_UNREADABLE = "pdf_unreadable"
    WORD_DAMAGED = "word_damaged"
    DOC_UNSUPPORTED = "doc_unsupported"
    DOC_TIMEOUT = "doc_timeout"
    DOC_DAMAGED = "doc_damaged"
    SLOW = "slow"  # ``seconds``
    RESOURCES = "resources"
    MEMORY = "memory"
    LEGACY = "legacy"  # stored as Danish text before the codes (``text``)
