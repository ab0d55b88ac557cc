"""digests: when each cluster's weekly digest is posted in its hub chats

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

A cluster names the weekday (ISO, 1 = Monday; 0 for none) and the local time of its automatic
digest; existing clusters get Friday 15:00, inside the default working hours.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest_day', sa.Integer(), nullable=False, server_default='5'))
        batch_op.add_column(sa.Column('digest_time', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False, server_default='15:00'))


def downgrade() -> None:
    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.drop_column('digest_time')
        batch_op.drop_column('digest_day')
