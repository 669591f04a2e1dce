"""The garbage collector pause used while imports build their rows."""

import gc

import pytest

from app import collector


def test_the_collector_runs_again_after_the_last_overlapping_pause() -> None:
    assert gc.isenabled()
    first = collector.paused()
    second = collector.paused()
    first.__enter__()
    assert not gc.isenabled()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()  # the other import still builds its rows
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_an_error_inside_a_pause_leaves_the_collector_running() -> None:
    with pytest.raises(RuntimeError), collector.paused():
        raise RuntimeError("the import failed")
    assert gc.isenabled()


def test_a_pause_leaves_a_collector_disabled_before_it_disabled() -> None:
    gc.disable()
    try:
        with collector.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
