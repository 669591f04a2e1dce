from collections.abc import Iterator

import pytest

from tests.conftest import fresh_database, migrate
from tests.live.server import LiveServer, start_server


@pytest.fixture(scope="module")
def live_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database(tmp_path_factory) as url:
        yield migrate(url)


@pytest.fixture(scope="module")
def live_server(
    live_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    # Fuzzing sends requests without a valid key on purpose: not to be throttled for it.
    server = start_server(
        live_database,
        tmp_path_factory.mktemp("live"),
        extra_env={"LOTGATE_AUTH_FAILURE_RATE": "100000/minute"},
    )
    yield server
    server.stop()
