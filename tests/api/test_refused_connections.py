"""A server that refuses new connections (too many clients, starting up) is a 503 to retry,
not a 500: the classification the error handler asks."""

from sqlalchemy.exc import DBAPIError

from app.errors import is_connection_error


class Refusal(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"refused ({sqlstate})")
        self.sqlstate = sqlstate


def test_refused_connections_count_as_the_database_being_unavailable() -> None:
    for sqlstate in ("53300", "57P03"):  # too_many_connections, cannot_connect_now
        error = DBAPIError("connect", None, Refusal(sqlstate))
        assert is_connection_error(error), sqlstate


def test_other_database_errors_do_not() -> None:
    assert not is_connection_error(DBAPIError("SELECT 1", None, Refusal("42P01")))
