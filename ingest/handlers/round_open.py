"""Stage: the round the message belongs to. A follow-up belongs to its application's round, whenever it comes;
new mail to the round open when it arrived. When the operator has closed intake (``call.open = false``) or no
round is open, the message is stored and answered that there is no open round, naming the next opening when
one is configured."""

from __future__ import annotations

from config.rounds import next_opening, round_at, stored_round
from ingest.context import MessageContext
from ingest.errors import RejectMessage
from notifications.locale import time_text
from storage.reasons import Reason, ReasonCode


def process(ctx: MessageContext) -> None:
    settings = ctx.settings
    rounds = settings.call_rounds
    if settings.call.open:
        if ctx.thread is not None:
            ctx.round = stored_round(rounds, ctx.thread.round) or rounds[0]
            return
        ctx.round = round_at(rounds, ctx.row.received_at)
        if ctx.round is not None:
            return
    upcoming = next_opening(rounds, ctx.row.received_at) if settings.call.open else None
    context = {} if upcoming is None else {
        "next_round": upcoming.name,
        "next_opens_local": time_text(upcoming.opens, settings.call.language, settings.call.zone)}
    params = {} if upcoming is None else {"next_round": upcoming.name}
    raise RejectMessage(Reason(ReasonCode.ROUND_CLOSED, params), "round_closed", ctx.thread, **context)
