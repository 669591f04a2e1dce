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
    server = start_server(live_database, tmp_path_factory.mktemp("live"))
    yield server
    server.stop()
