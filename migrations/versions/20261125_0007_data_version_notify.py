"""data versions announced by NOTIFY

On PostgreSQL a trigger on data_versions sends NOTIFY lotgate_data_version with a row's
name and new value ("lots/FFP2 1764000000000123"; the name and 0 when the row is deleted,
"*" when the table is emptied), so that each API process learns of a change without
reading versions per request (app/dashboard/version_watch.py). SQLite has no NOTIFY:
nothing to do there.

Revision ID: 0007
Revises: 0004
Create Date: 2026-11-25 18:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = """
CREATE FUNCTION lotgate_announce_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('lotgate_data_version', '*');
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('lotgate_data_version', OLD.name || ' 0');
    ELSE
        PERFORM pg_notify('lotgate_data_version', NEW.name || ' ' || NEW.value);
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    op.execute(
        "CREATE TRIGGER data_versions_announce AFTER INSERT OR UPDATE OR DELETE "
        "ON data_versions FOR EACH ROW EXECUTE FUNCTION lotgate_announce_data_version()"
    )
    op.execute(
        "CREATE TRIGGER data_versions_announce_truncate AFTER TRUNCATE "
        "ON data_versions FOR EACH STATEMENT EXECUTE FUNCTION lotgate_announce_data_version()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER data_versions_announce_truncate ON data_versions")
    op.execute("DROP TRIGGER data_versions_announce ON data_versions")
    op.execute("DROP FUNCTION lotgate_announce_data_version()")
