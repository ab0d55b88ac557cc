"""Queries about what the Matrix channel keeps per room: the last handled event, offered choices.

Rows are written with an upsert (one statement, no read first), so two writers never collide on
the unique (account, room) pair.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import MatrixRoom
from storage.types import utcnow

# Well inside SQLite's limit on the parameters of one statement (4 per room).
ROWS_PER_STATEMENT = 500


async def last_handled_events(session: AsyncSession, *, account: str) -> dict[str, str]:
    """The id of the last event handled in each room, by room id."""
    rows = await session.exec(
        select(MatrixRoom.room_id, MatrixRoom.last_event_id).where(
            MatrixRoom.account == account, col(MatrixRoom.last_event_id).is_not(None)
        )
    )
    return {room_id: event_id for room_id, event_id in rows.all() if event_id}


async def save_last_handled(session: AsyncSession, *, account: str, events: dict[str, str]) -> None:
    """Record each room's last handled event (`events`: event id by room id)."""
    rows = [{"room_id": room, "last_event_id": event} for room, event in events.items()]
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        await session.exec(_upsert(session, account, chunk, "last_event_id"))


async def offered_buttons(session: AsyncSession, *, account: str, room_id: str) -> str | None:
    """The choices last offered in a room, as the channel stored them."""
    return (
        await session.exec(
            select(MatrixRoom.buttons).where(
                MatrixRoom.account == account, MatrixRoom.room_id == room_id
            )
        )
    ).first()


async def save_offered_buttons(
    session: AsyncSession, *, account: str, room_id: str, buttons: str
) -> None:
    """Remember the choices offered in a room, replacing the previous ones."""
    await session.exec(
        _upsert(session, account, [{"room_id": room_id, "buttons": buttons}], "buttons")
    )


def _upsert(session: AsyncSession, account: str, rows: list[dict[str, Any]], column: str) -> Any:
    """Insert rooms' rows, or set `column` where the room already has one."""
    dialect = sqlite if session.bind.dialect.name == "sqlite" else postgresql
    now = utcnow()
    statement = dialect.insert(MatrixRoom).values(
        [{"account": account, "updated_at": now, **row} for row in rows]
    )
    return statement.on_conflict_do_update(
        index_elements=["account", "room_id"],
        set_={column: statement.excluded[column], "updated_at": now},
    )
