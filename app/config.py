"""Settings read from the environment (prefix LOTGATE_)."""

from datetime import date
from functools import lru_cache
from typing import Literal

from croniter import croniter
from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.auth.throttle import parse_rate

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./lotgate.db"
ADMIN_KEY_MIN_LENGTH = 32


class EquivalenceSetting(BaseModel):
    """A buyer's accepted stand-in, e.g. KN95 for FFP2 under Recommendation (EU) 2020/403."""

    delivered: str
    ordered: str
    legal_basis: str
    valid_until: date | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOTGATE_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    # PostgreSQL behind a pooler (docs/scaling.md): what needs a session of its own (LISTEN,
    # procrastinate's worker, migrations) connects here; unset: database_url.
    database_direct_url: str | None = None
    # "pgbouncer": database_url is a pooler in transaction mode, so no statement is prepared
    # under a name that outlives its transaction. "none": a PostgreSQL server (or a session
    # pooler).
    database_pooler: Literal["none", "pgbouncer"] = "none"
    # A streaming replica that dashboard lists, summaries, scorecards and exports read when
    # it has replayed the data version they answer for (app/replica.py); unset: none.
    database_read_url: str | None = None
    admin_key: SecretStr | None = None
    # How long a process trusts a key it has checked, so that each request does not cost a
    # database read. A revocation counts at once in the process that made it and within
    # this many seconds in the others. 0: every request reads the key.
    key_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    # Connections kept open per process: above it, each request that finds none free opens
    # and closes one (a PostgreSQL backend start, ~10 % of a small read measured), so size
    # it to the requests a process serves at once.
    db_pool_size: int = Field(default=20, ge=1, le=200)
    db_connect_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    db_command_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Bounds a whole streamed export on PostgreSQL (COPY), slow clients included.
    export_timeout_seconds: float = Field(default=3600.0, gt=0, le=86_400)
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    log_level: str = "INFO"
    idempotency_retention_hours: float = Field(default=48.0, ge=24.0)
    # How long a request holds its Idempotency-Key before a retry may take it over (the
    # first request died, or is that slow); until then a retry is answered 409.
    idempotency_lease_seconds: float = Field(default=30.0, gt=0, le=3600)
    # When expired idempotency records and the files of finished imports are purged: a cron
    # line (a 6th field counts seconds), run by a procrastinate periodic task on PostgreSQL
    # and by a loop in the API on SQLite.
    purge_schedule: str = "7 * * * *"
    # A finished (done or failed) import keeps its uploaded file this long, then the file
    # is cleared (the import's report and summary stay).
    import_file_retention_hours: float = Field(default=168.0, ge=0)
    # Failed authentications (a key that is unknown or revoked) per client address before
    # it is answered 429 with Retry-After; a `limits` rate such as "20/minute".
    auth_failure_rate: str = "20/minute"

    # The decision policy (see app/quality/facts.py Policy); its version is stamped on
    # every decision. Equivalences: a JSON list of EquivalenceSetting.
    policy_version: str = "2026-11-default"
    policy_inspection_level: str = "II"
    policy_major_aql: str = "2.5"
    policy_minor_aql: str = "4.0"
    policy_confirmation_required: bool = True
    policy_reduced_inspection_enabled: bool = False
    policy_wrong_category_means_return: bool = False
    policy_equivalences: list[EquivalenceSetting] = []
    # Complaints from this many different destinations make a lot suspect (app/quality/signals.py).
    policy_complaint_destinations: int = Field(default=2, ge=1, le=1000)
    concession_sweep_seconds: float = Field(default=60.0, gt=0)
    # Dashboard answers kept per process, keyed by their ETag (data version + query); 0: none.
    answer_cache_entries: int = Field(default=128, ge=0, le=100_000)
    # PostgreSQL: learn of data changes by LISTEN/NOTIFY (app/dashboard/version_watch.py)
    # instead of reading the data version on every dashboard request. Another process may
    # then answer from the previous version for the moment a notification takes.
    data_version_push: bool = True
    # PostgreSQL: GET /lots/{id} answered below FastAPI when it can be (app/lots/fast_read.py).
    lot_read_fast_path: bool = True
    lot_read_pool_size: int = Field(default=8, ge=1, le=100)

    # Bulk imports (app/imports): files up to import_sync_max_rows rows are imported inside
    # the request; larger ones become a job. import_worker_in_api: run the job worker inside
    # the API process (on PostgreSQL a separate `lotgate worker` can take its place).
    import_sync_max_rows: int = Field(default=1_000, ge=0, le=1_000_000)
    import_max_rows: int = Field(default=200_000, ge=1, le=5_000_000)
    # The whole upload request of POST /imports (its own body limit; every other route
    # keeps max_body_bytes).
    import_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    # An XLSX is a zip: refused before parsing when its members would expand beyond this.
    import_xlsx_max_uncompressed_bytes: int = Field(
        default=512 * 1024 * 1024, ge=1024 * 1024, le=8 * 1024 * 1024 * 1024
    )
    import_batch_rows: int = Field(default=5_000, ge=1, le=100_000)
    import_worker_in_api: bool = True

    @field_validator("admin_key")
    @classmethod
    def _admin_key_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < ADMIN_KEY_MIN_LENGTH:
            raise ValueError(
                f"LOTGATE_ADMIN_KEY must be at least {ADMIN_KEY_MIN_LENGTH} characters; make "
                "one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return value

    @field_validator("purge_schedule")
    @classmethod
    def _a_cron_line(cls, value: str) -> str:
        if not croniter.is_valid(value):
            raise ValueError("a cron line such as '7 * * * *' (minute hour day month weekday)")
        return value

    @field_validator("auth_failure_rate")
    @classmethod
    def _a_rate(cls, value: str) -> str:
        parse_rate(value)
        return value

    @property
    def direct_url(self) -> str:
        """Where sessions that outlive a transaction connect: never through a pooler."""
        return self.database_direct_url or self.database_url

    # Pages (app/ui): the key signing session cookies. Unset: each process makes one at
    # start, so sessions end when it restarts and work only with a single process (the
    # container makes one per start and hands it to all its workers).
    session_secret: SecretStr | None = None
    session_hours: float = Field(default=8.0, gt=0, le=24 * 30)


@lru_cache
def get_settings() -> Settings:
    return Settings()
