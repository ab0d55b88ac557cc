"""an index on evidence_items.media_hash

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

Erasure, retention and `diarybot media gc` ask which evidence rows still use a file's bytes;
without the index each question read the whole table.
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('evidence_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_items_media_hash'), ['media_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('evidence_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_items_media_hash'))
