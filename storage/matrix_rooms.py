"""Queries about what the Matrix channel keeps: rooms' last handled events and offered choices.

Its own values (the sync token, the device) go to `channel_state`, the rooms to `matrix_rooms`.

Rows are written with upserts (one statement, no read first), so two writers never collide on
a unique pair, and a checkpoint costs one statement per table rather than a read and a write.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ChannelState, MatrixRoom
from storage.types import utcnow

# Well inside SQLite's limit on the parameters of one statement (5 per room).
ROWS_PER_STATEMENT = 500


async def room_memory(
    session: AsyncSession, *, account: str
) -> dict[str, tuple[str | None, str | None]]:
    """Per room id: the last handled event and the offered choices (None where not saved)."""
    rows = await session.exec(
        select(MatrixRoom.room_id, MatrixRoom.last_event_id, MatrixRoom.buttons).where(
            MatrixRoom.account == account
        )
    )
    return {room_id: (event_id or None, buttons) for room_id, event_id, buttons in rows.all()}


async def save_rooms(
    session: AsyncSession,
    *,
    account: str,
    events: dict[str, str] | None = None,
    buttons: dict[str, str] | None = None,
) -> None:
    """Record rooms' last handled events and offered choices (each by room id).

    One statement per 500 rooms; a room given only one of the two keeps its other one.
    """
    events, buttons = events or {}, buttons or {}
    rows = [
        {"room_id": room, "last_event_id": events.get(room), "buttons": buttons.get(room)}
        for room in {**events, **buttons}
    ]
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        await session.exec(_upsert_rooms(session, account, chunk))


async def offered_buttons(session: AsyncSession, *, account: str, room_id: str) -> str | None:
    """The choices last offered in a room, as the channel stored them."""
    return (
        await session.exec(
            select(MatrixRoom.buttons).where(
                MatrixRoom.account == account, MatrixRoom.room_id == room_id
            )
        )
    ).first()


async def save_channel_value(session: AsyncSession, *, platform: str, key: str, value: str) -> None:
    """Save a channel's value (in `channel_state`) in one statement, replacing the previous one."""
    statement = (
        _dialect(session)
        .insert(ChannelState)
        .values(platform=platform, key=key, value=value, updated_at=utcnow())
    )
    await session.exec(
        statement.on_conflict_do_update(
            index_elements=["platform", "key"],
            set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
        )
    )


def _dialect(session: AsyncSession) -> Any:
    return sqlite if session.bind.dialect.name == "sqlite" else postgresql


def _upsert_rooms(session: AsyncSession, account: str, rows: list[dict[str, Any]]) -> Any:
    """Insert rooms' rows, or update the rooms that have one; a None leaves a column as it was."""
    now = utcnow()
    statement = (
        _dialect(session)
        .insert(MatrixRoom)
        .values([{"account": account, "updated_at": now, **row} for row in rows])
    )
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["account", "room_id"],
        set_={
            "last_event_id": func.coalesce(new.last_event_id, MatrixRoom.last_event_id),
            "buttons": func.coalesce(new.buttons, MatrixRoom.buttons),
            "updated_at": now,
        },
    )
