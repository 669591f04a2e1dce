from app.quality.sampling import (
    LotOutcome,
    Reinstatement,
    SwitchingEvent,
    SwitchingState,
    advance,
    replay,
)

OK = LotOutcome(accepted=True)
FAIL = LotOutcome(accepted=False)
BETWEEN = LotOutcome(accepted=True, between_ac_and_re=True)


def test_a_new_source_starts_on_normal() -> None:
    assert replay([], reduced_enabled=False) == SwitchingState()
    assert SwitchingState().severity == "normal"


def test_one_lot_not_accepted_keeps_normal() -> None:
    assert replay([FAIL, OK, OK, OK, OK], False).severity == "normal"


def test_two_not_accepted_in_five_consecutive_lots_tightens() -> None:
    assert replay([FAIL, FAIL], False).severity == "tightened"
    assert replay([FAIL, OK, OK, OK, FAIL], False).severity == "tightened"


def test_two_not_accepted_six_lots_apart_do_not_tighten() -> None:
    assert replay([FAIL, OK, OK, OK, OK, FAIL], False).severity == "normal"


def test_tightened_returns_to_normal_after_five_consecutive_accepted() -> None:
    tightened = replay([FAIL, FAIL], False)
    assert replay([OK] * 4, False, start=tightened).severity == "tightened"
    back = replay([OK] * 5, False, start=tightened)
    assert back == SwitchingState(severity="normal")


def test_a_failure_restarts_the_run_of_accepted_lots_on_tightened() -> None:
    state = replay([FAIL, FAIL, OK, OK, OK, OK, FAIL, OK, OK, OK, OK], False)
    assert state.severity == "tightened"
    assert state.consecutive_accepted == 4
    assert state.not_accepted_on_tightened == 1


def test_after_returning_to_normal_old_failures_are_forgotten() -> None:
    state = replay([FAIL, FAIL, *[OK] * 5, FAIL], False)
    assert state.severity == "normal"


def test_reduced_only_when_the_buyer_enables_it_after_ten_accepted() -> None:
    assert replay([OK] * 9, True).severity == "normal"
    assert replay([OK] * 10, True).severity == "reduced"
    assert replay([OK] * 30, False).severity == "normal"
    assert replay([OK] * 5 + [FAIL] + [OK] * 9, True).severity == "normal"


def test_reduced_returns_to_normal_on_one_lot_not_accepted() -> None:
    reduced = replay([OK] * 10, True)
    assert advance(reduced, OK, True).severity == "reduced"
    assert advance(reduced, FAIL, True) == SwitchingState(severity="normal")


def test_reduced_returns_to_normal_on_a_count_between_ac_and_re() -> None:
    reduced = replay([OK] * 10, True)
    assert advance(reduced, BETWEEN, True).severity == "normal"


def test_five_lots_not_accepted_on_tightened_discontinue_the_source() -> None:
    tightened = replay([FAIL, FAIL], False)
    # Cumulative: accepted lots in between do not reset the count (fewer than 5 in a row).
    events = [FAIL, OK, FAIL, OK, OK, FAIL, FAIL]
    almost = replay(events, False, start=tightened)
    assert not almost.discontinued
    assert almost.not_accepted_on_tightened == 4
    stopped = advance(almost, FAIL, False)
    assert stopped.discontinued
    assert stopped.severity == "tightened"


def test_discontinued_source_ignores_lot_outcomes() -> None:
    stopped = replay([FAIL, FAIL, *[FAIL] * 5], False)
    assert stopped.discontinued
    assert replay([OK] * 20, True, start=stopped) == stopped


def test_reinstatement_clears_discontinued_and_resumes_at_tightened() -> None:
    stopped = replay([FAIL] * 7, False)
    resumed = advance(stopped, Reinstatement("new filter supplier"), False)
    assert resumed == SwitchingState(severity="tightened")
    assert replay([OK] * 5, False, start=resumed).severity == "normal"


def test_reinstating_a_source_in_good_standing_changes_nothing() -> None:
    state = replay([OK, OK, FAIL], False)
    assert advance(state, Reinstatement(), False) == state


def test_replay_is_a_fold_of_advance() -> None:
    events: list[SwitchingEvent] = [OK, FAIL, OK, FAIL, OK, OK, OK, OK, OK, FAIL, FAIL]
    events += [FAIL, FAIL, FAIL, FAIL, Reinstatement(), OK]
    state = SwitchingState()
    for event in events:
        state = advance(state, event, True)
    assert replay(events, True) == state
