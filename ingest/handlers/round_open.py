"""Stage: when the operator has closed the round, store the message and say there is no open round."""

from __future__ import annotations

from ingest.context import MessageContext
from ingest.errors import RejectMessage
from storage.reasons import Reason, ReasonCode


def process(ctx: MessageContext) -> None:
    if not ctx.settings.call.open:
        raise RejectMessage(Reason(ReasonCode.ROUND_CLOSED), "round_closed")
