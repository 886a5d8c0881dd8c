"""The move step: a chunk's messages out of the inbox once their outcomes are committed, one MOVE per folder,
then where each went noted on its row. A crash before the MOVE leaves them in the inbox: the next poll finds
them processed (by UID and Message-ID) and only moves them."""

from __future__ import annotations

from sqlalchemy import update

from config import Settings
from config.faults import fault_point
from ingest.mailbox import Mailbox, MailboxEntry
from ingest.poll_report import PollReport
from ingest.services import Services
from storage import InboundMessage
from storage.states import Outcome

Move = tuple[MailboxEntry, int, str]  # the message, its row, the folder it goes to


def target_folder(settings: Settings, outcome: str | None) -> str:
    mailbox = settings.mailbox
    if outcome == Outcome.QUARANTINED:
        return mailbox.quarantine_folder
    return mailbox.rejected_folder if outcome == Outcome.REJECTED else mailbox.processed_folder


def move_messages(services: Services, mailbox: Mailbox, moves: list[Move], report: PollReport) -> None:
    """Move the messages out of the inbox (after their commits), then note where each went."""
    moved: dict[str, list[int]] = {}
    by_target: dict[str, list[tuple[MailboxEntry, int]]] = {}
    for entry, row_id, target in moves:
        by_target.setdefault(target, []).append((entry, row_id))
    try:
        for target, group in by_target.items():  # one MOVE per folder, not one per message
            fault_point("kill-before-move")
            mailbox.move_many([entry.uid for entry, _ in group], target)
            moved[target] = [row_id for _, row_id in group]
            report.moved += len(group)
    finally:
        if moved:
            with services.db.session() as session:
                for target, ids in moved.items():
                    session.execute(update(InboundMessage).where(InboundMessage.id.in_(ids))
                                    .values(moved_to=target).execution_options(synchronize_session=False))
