"""fact kinds (name, preference, open_case, other)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 10:40:00

Turn audio needs no change here: `turns.audio_path` exists since 0001, and a user turn and its
reply are separate rows, so each keeps its own file.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('facts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('facts', schema=None) as batch_op:
        batch_op.drop_column('kind')
