"""platform feel: where a hub's topic is, which messages an entry came from, who blocked the bot

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

- hub_chats.thread_id: the Telegram forum topic (or Matrix thread) a hub was linked in, where
  the bot's posts to the hub go.
- diary_entries.sources and evidence_items.source_message: the platform ids of the messages
  that gave an entry's answers and its evidence, so a message deleted on the platform (a
  Matrix redaction) can be taken out of the diary.
- identities.unreachable_since: when the person blocked the bot (or left its direct chat);
  reminders skip them until they write again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('hub_chats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('thread_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
    with op.batch_alter_table('diary_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sources', sa.JSON(), nullable=True))
    with op.batch_alter_table('evidence_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_message', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.create_index(batch_op.f('ix_evidence_items_source_message'), ['source_message'], unique=False)
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unreachable_since', storage.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.drop_column('unreachable_since')
    with op.batch_alter_table('evidence_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_items_source_message'))
        batch_op.drop_column('source_message')
    with op.batch_alter_table('diary_entries', schema=None) as batch_op:
        batch_op.drop_column('sources')
    with op.batch_alter_table('hub_chats', schema=None) as batch_op:
        batch_op.drop_column('thread_id')
