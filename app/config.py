"""Settings read from the environment (prefix LOTGATE_)."""

from datetime import date
from functools import lru_cache

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./lotgate.db"


class EquivalenceSetting(BaseModel):
    """A buyer's accepted stand-in, e.g. KN95 for FFP2 under Recommendation (EU) 2020/403."""

    delivered: str
    ordered: str
    legal_basis: str
    valid_until: date | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOTGATE_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
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
    max_upload_bytes: int = Field(default=64 * 1_048_576, ge=1024)
    log_level: str = "INFO"
    idempotency_retention_hours: float = Field(default=48.0, ge=24.0)

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
    concession_sweep_seconds: float = Field(default=60.0, gt=0)
    # Dashboard answers kept per process, keyed by their ETag (data version + query); 0: none.
    answer_cache_entries: int = Field(default=128, ge=0, le=100_000)
    # PostgreSQL: learn of data changes by LISTEN/NOTIFY (app/dashboard/version_watch.py)
    # instead of reading the data version on every dashboard request. Another process may
    # then answer from the previous version for the moment a notification takes.
    data_version_push: bool = True

    # Bulk imports (app/imports): files up to import_sync_max_rows rows are imported inside
    # the request; larger ones become a job. import_worker_in_api: run the job worker inside
    # the API process (on PostgreSQL a separate `lotgate worker` can take its place).
    import_sync_max_rows: int = Field(default=1_000, ge=0, le=1_000_000)
    import_max_rows: int = Field(default=200_000, ge=1, le=5_000_000)
    import_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    import_batch_rows: int = Field(default=5_000, ge=1, le=100_000)
    import_worker_in_api: bool = True

    # Pages (app/ui): the key signing session cookies. Unset: each process makes one at
    # start, so sessions end when it restarts and work only with a single process (the
    # container makes one per start and hands it to all its workers).
    session_secret: SecretStr | None = None
    session_hours: float = Field(default=8.0, gt=0, le=24 * 30)


@lru_cache
def get_settings() -> Settings:
    return Settings()
