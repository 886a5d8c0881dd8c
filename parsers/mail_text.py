"""The text of an email, for a caseworker to read in the browser: its plain-text body, or, when it has only
HTML, the text of that HTML. The sender's HTML is never shown: it is parsed (lxml) and only its text nodes are
kept, scripts, styles and comments dropped, block elements turned into line breaks and a link's address
written after its text as plain text (the page escapes it: nothing in it can be clicked or load anything).

Bytes in, text out; nothing raises: a message that cannot be read gives ``MailText`` with ``source=NONE``.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from enum import StrEnum

import lxml.html
from lxml import etree

from parsers.display_text import visible_text

MAX_TEXT = 100_000  # characters shown; the rest is in the .eml
MAX_DEPTH = 20
_BLOCKS = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol",
                     "blockquote", "pre", "hr", "section", "article", "header", "footer", "address", "dl", "dt",
                     "dd", "form", "fieldset", "center"})
_DROPPED = "//script|//style|//head|//title|//noscript|//template|//iframe|//object|//svg"
_RUNS = re.compile(r"[ \t\r\n\f\v]+")
_BLANK_RUNS = re.compile(r"\n{3,}")


class TextSource(StrEnum):
    PLAIN = "plain"  # the text/plain body
    HTML = "html"  # text extracted from the text/html body
    NONE = "none"  # no body text (only attachments), or it could not be read


@dataclass(frozen=True)
class MailText:
    text: str
    source: TextSource
    truncated: bool = False


def mail_text(raw: bytes) -> MailText:
    """The body text of the email ``raw`` (RFC 5322 bytes)."""
    try:
        message = email.message_from_bytes(raw, policy=policy.default)
        part = _body(message)
    except Exception:  # a message the email package cannot take apart: no text, the .eml is still there
        return MailText("", TextSource.NONE)
    if part is None:
        return MailText("", TextSource.NONE)
    content = _content(part)
    html = part.get_content_type() == "text/html"
    text = html_text(content) if html else shown_lines(content)
    if not text:
        return MailText("", TextSource.NONE)
    truncated = len(text) > MAX_TEXT
    return MailText(text[:MAX_TEXT], TextSource.HTML if html else TextSource.PLAIN, truncated)


def _body(message: EmailMessage) -> Message | None:
    """The plain-text body if there is one, else the HTML body (``get_body``, which skips attachments)."""
    if _depth(message) > MAX_DEPTH:
        return None
    return message.get_body(preferencelist=("plain", "html"))


def _depth(part: Message, depth: int = 0) -> int:
    if depth > MAX_DEPTH or not part.is_multipart():
        return depth
    payload = part.get_payload()
    children = payload if isinstance(payload, list) else [payload]
    return max((_depth(child, depth + 1) for child in children if isinstance(child, Message)), default=depth)


def _content(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str):
            return content
    except (LookupError, UnicodeError, ValueError, AttributeError, TypeError):
        pass  # an unknown or lying charset: the bytes as UTF-8, undecodable ones replaced
    payload = part.get_payload(decode=True)
    return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def shown_lines(text: str) -> str:
    """Lines as they were written, each without control or format characters; at most one blank line between
    paragraphs; no blank lines at either end."""
    lines = [visible_text(line.expandtabs(4), MAX_TEXT) if line.strip() else ""
             for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")


def html_text(markup: str) -> str:
    """The text a reader sees in ``markup``, as lines (see the module's docstring)."""
    if not markup.strip():
        return ""
    try:
        root = lxml.html.document_fromstring(markup)
    except (etree.ParserError, ValueError):
        return ""
    for dropped in root.xpath(_DROPPED):
        dropped.drop_tree()  # the element and its text go; the text after it stays
    preformatted = {element for pre in root.iter("pre") for element in pre.iter() if element is not pre}
    for element in root.iter():
        if not isinstance(element.tag, str):  # comments and processing instructions
            continue
        tag = element.tag.lower()
        if tag != "pre" and element not in preformatted and element.text:
            element.text = _RUNS.sub(" ", element.text)  # in HTML a line break in the source is a space
        if element not in preformatted and element.tail:
            element.tail = _RUNS.sub(" ", element.tail)
        if tag == "a":
            href = (element.get("href") or "").strip()
            shown = element.text_content().strip()
            if href.lower().startswith(("http://", "https://", "mailto:")) and href.removeprefix("mailto:") != shown:
                element.tail = f" [{href}]" + (element.tail or "")
        elif tag == "li":
            element.text = "• " + (element.text or "")
        elif tag in ("td", "th"):
            element.tail = "  " + (element.tail or "")
        elif tag == "img" and element.get("alt"):
            element.tail = f"[{element.get('alt')}]" + (element.tail or "")
        if tag in _BLOCKS:
            element.tail = "\n" + (element.tail or "")
            if tag not in ("br", "li", "tr", "dd", "dt"):
                element.text = "\n" + (element.text or "")
    return shown_lines(root.text_content())
