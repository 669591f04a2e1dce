"""Settings read from the environment (prefix LOTGATE_)."""

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./lotgate.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOTGATE_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    admin_key: SecretStr | None = None
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_connect_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    db_command_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0)


@lru_cache
def get_settings() -> Settings:
    return Settings()
