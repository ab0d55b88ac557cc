"""data rights: pseudonyms, entries kept without their author's name, cluster end dates

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

Every person gets a random pseudonym (existing people too), shown instead of their name on
entries kept after they withdrew consent or after a cluster's retention ran. A cluster can
carry the last day of its work and the moment its retention was applied.
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As storage.models.new_pseudonym was when this ran; a migration does not follow later code.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_pseudonym() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(6))


def upgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pseudonym', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
    people = sa.table('people', sa.column('id', sa.Integer()), sa.column('pseudonym', sa.String()))
    connection = op.get_bind()
    taken: set[str] = set()
    for (person_id,) in connection.execute(sa.select(people.c.id)).all():
        code = new_pseudonym()
        while code in taken:
            code = new_pseudonym()
        taken.add(code)
        connection.execute(people.update().where(people.c.id == person_id).values(pseudonym=code))
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.alter_column('pseudonym', existing_type=sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False)
        batch_op.create_index(batch_op.f('ix_people_pseudonym'), ['pseudonym'], unique=True)

    with op.batch_alter_table('diary_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ends_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('retention_applied_at', storage.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.drop_column('retention_applied_at')
        batch_op.drop_column('ends_on')

    with op.batch_alter_table('diary_entries', schema=None) as batch_op:
        batch_op.drop_column('anonymised')

    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_people_pseudonym'))
        batch_op.drop_column('pseudonym')
