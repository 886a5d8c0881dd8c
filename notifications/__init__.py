"""Reply templates, rendering and sending: renders and sends what storage holds."""

from notifications.compose import build_email, header_safe, new_message_id
from notifications.outbox import OutboxReport, send_pending
from notifications.render import RenderedReply, render_reply
from notifications.transport import FileTransport, SmtpTransport, Transport, TransportError, make_transport

__all__ = [
    "FileTransport",
    "OutboxReport",
    "RenderedReply",
    "SmtpTransport",
    "Transport",
    "TransportError",
    "build_email",
    "header_safe",
    "make_transport",
    "new_message_id",
    "render_reply",
    "send_pending",
]
