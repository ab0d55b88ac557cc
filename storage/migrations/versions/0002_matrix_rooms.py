"""matrix rooms: the last handled event and the offered choices per room; longer channel keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

A Matrix room's remembered choices move from `channel_state` (key `ACCOUNT:buttons:ROOM`, which
was longer than the 64 characters PostgreSQL allowed there) to `matrix_rooms`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Room ids start with "!", which user ids (the ACCOUNT part) cannot contain.
BUTTONS = ':buttons:!'


def upgrade() -> None:
    matrix_rooms = op.create_table('matrix_rooms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('room_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('last_event_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('buttons', sa.Text(), nullable=True),
    sa.Column('updated_at', storage.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account', 'room_id')
    )
    with op.batch_alter_table('channel_state', schema=None) as batch_op:
        batch_op.alter_column('key',
               existing_type=sa.VARCHAR(length=64),
               type_=sqlmodel.sql.sqltypes.AutoString(length=300),
               existing_nullable=False)

    channel_state = sa.table(
        'channel_state',
        sa.column('id', sa.Integer()),
        sa.column('platform', sa.String()),
        sa.column('key', sa.String()),
        sa.column('value', sa.Text()),
        sa.column('updated_at', storage.types.UTCDateTime()),
    )
    bind = op.get_bind()
    moved = bind.execute(
        sa.select(channel_state).where(
            channel_state.c.platform == 'matrix',
            channel_state.c.key.contains(BUTTONS, autoescape=True),
        )
    ).all()
    rows = []
    for row in moved:
        account, _, room = row.key.partition(BUTTONS)
        rows.append({
            'account': account,
            'room_id': '!' + room,
            'buttons': row.value,
            'updated_at': row.updated_at,
        })
    if rows:
        op.bulk_insert(matrix_rooms, rows)
        bind.execute(channel_state.delete().where(channel_state.c.id.in_([r.id for r in moved])))


def downgrade() -> None:
    # The remembered choices are dropped with the table (a typed number is then taken as text
    # until the next choice is offered); keys longer than 64 characters must be gone first.
    with op.batch_alter_table('channel_state', schema=None) as batch_op:
        batch_op.alter_column('key',
               existing_type=sqlmodel.sql.sqltypes.AutoString(length=300),
               type_=sa.VARCHAR(length=64),
               existing_nullable=False)

    op.drop_table('matrix_rooms')
