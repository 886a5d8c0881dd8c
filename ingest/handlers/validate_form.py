"""Stage: check the record against the form contract's rules."""

from __future__ import annotations

from ingest.context import MessageContext
from parsers import validate


def process(ctx: MessageContext) -> None:
    assert ctx.form is not None
    received_on = ctx.row.received_at.astimezone(ctx.settings.call.zone).date()
    ctx.problems = validate(ctx.form.record, received_on)
