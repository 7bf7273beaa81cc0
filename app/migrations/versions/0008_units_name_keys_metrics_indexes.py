"""units of police organisations, normalised name keys, metrics indexes

- `unit`: the units of a police organisation. Users and cases pointed at a unit by free text
  (`user_account.unit`, `case_file.unit`), so an investigator could open a case under a unit
  nobody supervises. Each distinct (organisation, unit text) becomes a row; users and cases
  point at it by `unit_id`. Units of users of a ward (or of no organisation) are dropped:
  only police belong to units.
- `organisation.name_key`: the name NFC-normalised, case-folded and with spaces collapsed,
  unique, so two organisations cannot differ only in normalisation or case. Names existing
  already that collide get their id appended to the key (the names stay as they were).
- `ix_job_kind_state_id`, `ix_segment_ingested_at`: what /metrics reads at every scrape.

SQLite recreates the altered tables (batch mode); `app.db.run_migrations` turns foreign keys
off for the migration and checks them afterwards, as SQLite's ALTER TABLE guide prescribes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 09:00:00
"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POLICE_ROLES = ("officer", "investigator", "supervisor")


def _key(value: str) -> str:
    """app.text.name_key, frozen here as it was when this migration was written."""
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", value).casefold())
    return " ".join(folded.split())


def upgrade() -> None:
    conn = op.get_bind()
    op.create_table(
        "unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "name_key", name="uq_unit_org_name"),
    )
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unit_org_id"), ["org_id"], unique=False)

    # Organisation names: a unique normalised key.
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(length=400), nullable=True))
    seen: set[str] = set()
    for org_id, name in conn.execute(sa.text("SELECT id, name FROM organisation ORDER BY id")):
        key = _key(name)
        if key in seen:
            key = f"{key} #{org_id}"
        seen.add(key)
        conn.execute(
            sa.text("UPDATE organisation SET name_key = :k WHERE id = :i"), {"k": key, "i": org_id}
        )
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.alter_column("name_key", existing_type=sa.String(length=400), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_organisation_name_key"), ["name_key"])

    # Units from the free text of users and cases.
    police = sa.text(
        "SELECT DISTINCT u.org_id, u.unit FROM user_account u JOIN organisation o "
        "ON o.id = u.org_id WHERE u.unit IS NOT NULL AND o.kind = 'police' "
        "AND u.role IN ('officer', 'investigator', 'supervisor') "
        "UNION SELECT DISTINCT org_id, unit FROM case_file"
    )
    units: dict[tuple[int, str], int] = {}
    now = app.db.utcnow().replace(tzinfo=None)
    for org_id, text in conn.execute(police).all():
        name = unicodedata.normalize("NFC", text).strip()[:100] or "default"
        unit_key = (org_id, _key(name))
        if unit_key in units:
            continue
        conn.execute(
            sa.text(
                "INSERT INTO unit (org_id, name, name_key, created_at) VALUES (:o, :n, :k, :t)"
            ),
            {"o": org_id, "n": name, "k": unit_key[1], "t": now},
        )
        units[unit_key] = conn.execute(
            sa.text("SELECT id FROM unit WHERE org_id = :o AND name_key = :k"),
            {"o": org_id, "k": unit_key[1]},
        ).scalar_one()

    def unit_of(org_id: int | None, text: str | None) -> int | None:
        if org_id is None or text is None:
            return None
        name = unicodedata.normalize("NFC", text).strip()[:100] or "default"
        return units.get((org_id, _key(name)))

    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_id", sa.Integer(), nullable=True))
    rows = conn.execute(sa.text("SELECT id, org_id, unit, role FROM user_account")).all()
    for user_id, org_id, text, role in rows:
        unit_id = unit_of(org_id, text) if role in POLICE_ROLES else None
        if unit_id is not None:
            conn.execute(
                sa.text("UPDATE user_account SET unit_id = :u WHERE id = :i"),
                {"u": unit_id, "i": user_id},
            )
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("unit")
        batch_op.create_index(batch_op.f("ix_user_account_unit_id"), ["unit_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_user_account_unit_id_unit"), "unit", ["unit_id"], ["id"]
        )

    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_id", sa.Integer(), nullable=True))
    for case_id, org_id, text in conn.execute(
        sa.text("SELECT id, org_id, unit FROM case_file")
    ).all():
        conn.execute(
            sa.text("UPDATE case_file SET unit_id = :u WHERE id = :i"),
            {"u": unit_of(org_id, text), "i": case_id},
        )
    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.drop_index("ix_case_file_unit")
        batch_op.drop_column("unit")
        batch_op.alter_column("unit_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f("ix_case_file_unit_id"), ["unit_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_case_file_unit_id_unit"), "unit", ["unit_id"], ["id"]
        )

    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_index("ix_job_kind_state_id", ["kind", "state", "id"], unique=False)
    with op.batch_alter_table("segment", schema=None) as batch_op:
        batch_op.create_index("ix_segment_ingested_at", ["ingested_at"], unique=False)


def downgrade() -> None:
    conn = op.get_bind()
    with op.batch_alter_table("segment", schema=None) as batch_op:
        batch_op.drop_index("ix_segment_ingested_at")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index("ix_job_kind_state_id")
    for table in ("case_file", "user_account"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("unit", sa.String(length=100), nullable=True))
        conn.execute(
            sa.text(
                f"UPDATE {table} SET unit = (SELECT name FROM unit WHERE unit.id = {table}.unit_id)"
            )
        )
    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_case_file_unit_id_unit"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_case_file_unit_id"))
        batch_op.drop_column("unit_id")
        batch_op.alter_column("unit", existing_type=sa.String(length=100), nullable=False)
        batch_op.create_index("ix_case_file_unit", ["unit"], unique=False)
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_user_account_unit_id_unit"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_user_account_unit_id"))
        batch_op.drop_column("unit_id")
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_organisation_name_key"), type_="unique")
        batch_op.drop_column("name_key")
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_org_id"))
    op.drop_table("unit")
