"""termly rhythm: terms, holidays, input points, working hours, reminder delivery state

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

The cluster gains its calendar (terms, holidays, hand-set input points, working days and hours,
the default rhythm and the nudge period), a person can pause or stop reminders, and a reminder
row gains what exactly-once delivery needs: a unique key for what it is about, its status, a
lease on its claim, the person it is for and when it stops meaning anything.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('holidays',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('holidays', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_holidays_cluster_id'), ['cluster_id'], unique=False)

    op.create_table('terms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('terms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_terms_cluster_id'), ['cluster_id'], unique=False)

    op.create_table('input_points',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], ),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], ),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('cluster_id', 'school_id', 'day')
    )
    with op.batch_alter_table('input_points', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_input_points_cluster_id'), ['cluster_id'], unique=False)

    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('work_days', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False, server_default='12345'))
        batch_op.add_column(sa.Column('work_start', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False, server_default='09:00'))
        batch_op.add_column(sa.Column('work_end', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False, server_default='18:00'))
        batch_op.add_column(sa.Column('rhythm_weeks', sa.Integer(), nullable=False, server_default='6'))
        batch_op.add_column(sa.Column('nudge_after_days', sa.Integer(), nullable=False, server_default='42'))

    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminders_paused_until', storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column('reminders_stopped', sa.Boolean(), nullable=False, server_default=sa.false())
        )

    # Nothing wrote reminders before this revision; the table is emptied so `key` can be required.
    op.execute('DELETE FROM reminders')
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False))
        batch_op.add_column(sa.Column('topic', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False))
        batch_op.add_column(sa.Column('person_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default='planned'))
        batch_op.add_column(sa.Column('expires_at', storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('lease_until', storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False, server_default=''))
        batch_op.drop_index(batch_op.f('ix_reminders_due'))
        batch_op.create_index('ix_reminders_due', ['status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminders_topic'), ['topic'], unique=False)
        batch_op.create_index('ix_reminders_person', ['person_id', 'due_at'], unique=False)
        batch_op.create_unique_constraint('uq_reminders_key', ['key'])
        batch_op.create_foreign_key('fk_reminders_person_id', 'people', ['person_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_constraint('fk_reminders_person_id', type_='foreignkey')
        batch_op.drop_constraint('uq_reminders_key', type_='unique')
        batch_op.drop_index('ix_reminders_person')
        batch_op.drop_index(batch_op.f('ix_reminders_topic'))
        batch_op.drop_index('ix_reminders_due')
        batch_op.create_index(batch_op.f('ix_reminders_due'), ['sent_at', 'due_at'], unique=False)
        batch_op.drop_column('outcome')
        batch_op.drop_column('lease_until')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('status')
        batch_op.drop_column('person_id')
        batch_op.drop_column('topic')
        batch_op.drop_column('key')

    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_column('reminders_stopped')
        batch_op.drop_column('reminders_paused_until')

    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.drop_column('nudge_after_days')
        batch_op.drop_column('rhythm_weeks')
        batch_op.drop_column('work_end')
        batch_op.drop_column('work_start')
        batch_op.drop_column('work_days')

    with op.batch_alter_table('input_points', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_input_points_cluster_id'))

    op.drop_table('input_points')
    with op.batch_alter_table('terms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_terms_cluster_id'))

    op.drop_table('terms')
    with op.batch_alter_table('holidays', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_holidays_cluster_id'))

    op.drop_table('holidays')
