"""person-bounded queries: a person's entries by (author_id, status, submitted_at, id)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

`/mine`, `/add` and `/privacy` read one person's entries by status, `/mine` the newest submitted
first with a limit. The index on `author_id` alone made the database fetch every entry of the
person and sort them; this one serves the status as well and hands the entries over in order,
so `/mine` stops after the entries it shows. It starts with `author_id`, so it replaces the old
index for everything that looked entries up by author.
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('diary_entries', schema=None) as batch_op:
        batch_op.create_index(
            'ix_entries_author_status',
            ['author_id', 'status', 'submitted_at', 'id'],
            unique=False,
        )
        batch_op.drop_index(batch_op.f('ix_diary_entries_author_id'))


def downgrade() -> None:
    with op.batch_alter_table('diary_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_diary_entries_author_id'), ['author_id'], unique=False)
        batch_op.drop_index('ix_entries_author_status')
