"""moderation: an entry meant for the public version waits for a moderator's approval

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

`moderation` is "" for an entry that stays in the cluster, "pending" for a public one waiting,
"approved" or "returned" (sent back to its author with a note). Existing public entries wait.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('diary_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('moderation', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('moderated_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('moderated_at', storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('moderation_note', sa.Text(), nullable=False, server_default=''))
        batch_op.create_foreign_key('fk_diary_entries_moderated_by_people', 'people', ['moderated_by'], ['id'])
        batch_op.create_index(batch_op.f('ix_diary_entries_moderation'), ['moderation'], unique=False)
    entries = sa.table(
        'diary_entries',
        sa.column('moderation', sa.String()),
        sa.column('visibility', sa.String()),
        sa.column('status', sa.String()),
    )
    op.get_bind().execute(
        entries.update()
        .where(entries.c.visibility != 'cluster', entries.c.status == 'submitted')
        .values(moderation='pending')
    )


def downgrade() -> None:
    with op.batch_alter_table('diary_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_diary_entries_moderation'))
        batch_op.drop_constraint('fk_diary_entries_moderated_by_people', type_='foreignkey')
        batch_op.drop_column('moderation_note')
        batch_op.drop_column('moderated_at')
        batch_op.drop_column('moderated_by')
        batch_op.drop_column('moderation')
