"""digests: when each cluster's weekly digest is posted, and where each chat's last one ended

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

A cluster names the weekday (ISO, 1 = Monday; 0 for none) and the local time of its automatic
digest; existing clusters get Friday 15:00, inside the default working hours. `digest_marks`
keeps, per chat and cluster (or school), the moment its last digest ran up to.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('digest_marks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_key', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('until', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('chat_key', 'cluster_id', 'school_id')
    )
    with op.batch_alter_table('digest_marks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_marks_cluster_id'), ['cluster_id'], unique=False)

    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest_day', sa.Integer(), nullable=False, server_default='5'))
        batch_op.add_column(sa.Column('digest_time', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False, server_default='15:00'))


def downgrade() -> None:
    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.drop_column('digest_time')
        batch_op.drop_column('digest_day')

    with op.batch_alter_table('digest_marks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_marks_cluster_id'))

    op.drop_table('digest_marks')
