"""Who is acting: built by the web layer from an API key, read by services, jobs and the CLI.

Plain data, so the service layer never depends on FastAPI.
"""

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    inspector = "inspector"
    returns = "returns"
    viewer = "viewer"


@dataclass(frozen=True)
class Actor:
    key_id: int
    name: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin
