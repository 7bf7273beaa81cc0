"""job.announced_at: when a broker message last named the job

The Celery sweeper re-sent every due job every 5 s, so a backlog waiting in the broker
filled with duplicates. It now sends a job only if it was not announced since it came due,
or if its last message is older than the broker's visibility timeout. Existing jobs start
unannounced: a due one is sent once more.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("announced_at", app.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_column("announced_at")
