"""public_authors: the stable number of a nameless author in the public version

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

A person shown without their name in a school's public version is "Teacher <number>" there,
the same number in every public version made after; an erased person's row stays without
them (person_id null), so their number is never given again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'public_authors',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('school_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=True),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['people.id']),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('school_id', 'number', name='uq_public_authors_school_number'),
        sa.UniqueConstraint('school_id', 'person_id', name='uq_public_authors_school_person'),
    )
    with op.batch_alter_table('public_authors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_public_authors_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('public_authors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_public_authors_person_id'))
    op.drop_table('public_authors')
