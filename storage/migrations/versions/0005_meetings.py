"""meetings: RSVPs, hub posts, calendar-file identity, reminder offsets, notes linked to a meeting

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

A meeting gains what announcing, changing and recording it needs: a calendar UID and sequence,
a status (planned or cancelled), an end, the invited schools and when it was last changed.
People's answers (and, afterwards, their attendance) and the meeting's posts in hub chats are
tables of their own; a cluster names how long before a meeting its reminders go; a diary entry
can belong to a meeting (the meeting-notes entries recorded after it). Meetings made before this
revision get a UID from their id and an end two hours after their start.
"""

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('meeting_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('answer', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('attended', sa.Boolean(), nullable=True),
    sa.Column('updated_at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('meeting_id', 'person_id')
    )
    with op.batch_alter_table('meeting_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_answers_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_answers_person_id'), ['person_id'], unique=False)

    op.create_table('meeting_posts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('hub_id', sa.Integer(), nullable=False),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('chat_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['hub_id'], ['hub_chats.id'], ),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('platform', 'chat_id', 'message_id')
    )
    with op.batch_alter_table('meeting_posts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_posts_meeting_id'), ['meeting_id'], unique=False)

    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('meeting_reminders', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False, server_default='7d,1d,1h'))

    with op.batch_alter_table('diary_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('meeting_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_diary_entries_meeting_id', 'meetings', ['meeting_id'], ['id'])

    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uid', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.add_column(sa.Column('sequence', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default='planned'))
        batch_op.add_column(sa.Column('ends_at', storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('invited', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('updated_at', storage.types.UTCDateTime(), nullable=True))

    # Existing meetings: a UID from the id, two hours long, every school invited.
    meetings = sa.table(
        'meetings',
        sa.column('id', sa.Integer()),
        sa.column('uid', sa.String()),
        sa.column('scheduled_at', storage.types.UTCDateTime()),
        sa.column('ends_at', storage.types.UTCDateTime()),
        sa.column('invited', sa.JSON()),
        sa.column('created_at', storage.types.UTCDateTime()),
        sa.column('updated_at', storage.types.UTCDateTime()),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(meetings.c.id, meetings.c.scheduled_at, meetings.c.created_at)).all()
    for meeting_id, start, created in rows:
        connection.execute(
            meetings.update()
            .where(meetings.c.id == meeting_id)
            .values(
                uid=f"meeting-{meeting_id}@cluster-diary",
                ends_at=start + timedelta(hours=2),
                invited=[],
                updated_at=created,
            )
        )

    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.alter_column('uid', existing_type=sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False)
        batch_op.alter_column('ends_at', existing_type=storage.types.UTCDateTime(), nullable=False)
        batch_op.alter_column('invited', existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column('updated_at', existing_type=storage.types.UTCDateTime(), nullable=False)
        batch_op.create_unique_constraint('uq_meetings_uid', ['uid'])


def downgrade() -> None:
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_constraint('uq_meetings_uid', type_='unique')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('invited')
        batch_op.drop_column('ends_at')
        batch_op.drop_column('status')
        batch_op.drop_column('sequence')
        batch_op.drop_column('uid')

    with op.batch_alter_table('diary_entries', schema=None) as batch_op:
        batch_op.drop_constraint('fk_diary_entries_meeting_id', type_='foreignkey')
        batch_op.drop_column('meeting_id')

    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.drop_column('meeting_reminders')

    with op.batch_alter_table('meeting_posts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_posts_meeting_id'))

    op.drop_table('meeting_posts')
    with op.batch_alter_table('meeting_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_answers_person_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_answers_meeting_id'))

    op.drop_table('meeting_answers')
