import pytest

from app.quality.sampling import (
    AQL_VALUES,
    INSPECTION_LEVELS,
    SEVERITIES,
    SamplingPlan,
    code_letter,
    normalize_aql,
    plan_for,
)


def test_worked_example_lot_of_1_3_million_uses_the_arrow_not_letter_q_size() -> None:
    assert plan_for(1_300_000, "II", "2.5", "normal") == SamplingPlan("Q", 500, 21, 22, False)


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ("normal", (500, 21, 22)),
        ("tightened", (500, 18, 19)),
        ("reduced", (200, 10, 13)),
    ],
)
def test_every_severity_for_the_worked_example(
    severity: str, expected: tuple[int, int, int]
) -> None:
    plan = plan_for(1_300_000, "II", 2.5, severity)
    assert (plan.sample_size, plan.acceptance_number, plan.rejection_number) == expected


@pytest.mark.parametrize(
    ("lot_size", "letter"),
    [
        (1, "A"), (2, "A"), (8, "A"), (9, "B"), (15, "B"), (16, "C"), (25, "C"), (26, "D"),
        (50, "D"), (51, "E"), (90, "E"), (91, "F"), (150, "F"), (151, "G"), (280, "G"),
        (281, "H"), (500, "H"), (501, "J"), (1200, "J"), (1201, "K"), (3200, "K"),
        (3201, "L"), (10_000, "L"), (10_001, "M"), (35_000, "M"), (35_001, "N"),
        (150_000, "N"), (150_001, "P"), (500_000, "P"), (500_001, "Q"), (10**9, "Q"),
    ],
)  # fmt: skip
def test_code_letters_at_level_ii_follow_table_1(lot_size: int, letter: str) -> None:
    assert code_letter(lot_size, "II") == letter


def test_code_letters_across_levels_for_a_large_lot() -> None:
    letters = [code_letter(1_300_000, level) for level in INSPECTION_LEVELS]
    assert letters == ["D", "E", "H", "K", "N", "Q", "R"]


def test_tightened_reaches_sample_size_3150_only_through_arrows() -> None:
    plan = plan_for(1_300_000, "III", "0.025", "tightened")
    assert (plan.code_letter, plan.sample_size, plan.acceptance_number) == ("R", 3150, 1)


@pytest.mark.parametrize(
    ("lot_size", "aql", "expected"),
    [
        (2_000, "1.0", (50, 1, 4)),  # reduced K: the 1/4 gap cell
        (2_000, "10", (50, 10, 13)),
        (30, "4.0", (5, 0, 2)),  # reduced D: arrow down to n=5 with 0/2
    ],
)
def test_reduced_gap_cells(lot_size: int, aql: str, expected: tuple[int, int, int]) -> None:
    plan = plan_for(lot_size, "II", aql, "reduced")
    assert (plan.sample_size, plan.acceptance_number, plan.rejection_number) == expected
    assert plan.rejection_number - plan.acceptance_number > 1


def test_normal_arrow_down_from_letter_a() -> None:
    # Letter A (n=2) has no plan at AQL 1.0: the arrow leads to n=13, Ac 0, Re 1.
    plan = plan_for(50, "S-1", "1.0", "normal")
    assert plan.code_letter == "A"
    assert (plan.sample_size, plan.acceptance_number, plan.rejection_number) == (13, 0, 1)


def test_a_plan_larger_than_the_lot_means_inspect_every_unit() -> None:
    plan = plan_for(3, "II", "2.5", "normal")  # arrow leads to n=5
    assert plan.inspect_all
    assert plan.sample_size == 3
    single = plan_for(1, "II", "0.65", "normal")
    assert single.inspect_all and single.sample_size == 1
    assert not plan_for(10_000, "II", "2.5", "normal").inspect_all


@pytest.mark.parametrize("severity", SEVERITIES)
@pytest.mark.parametrize("aql", AQL_VALUES)
def test_every_table_cell_is_a_sound_plan(severity: str, aql: str) -> None:
    for lot_size in (2, 20, 200, 2_000, 20_000, 200_000, 2_000_000):
        plan = plan_for(lot_size, "III", aql, severity)
        assert 1 <= plan.sample_size <= lot_size
        assert 0 <= plan.acceptance_number < plan.rejection_number
        if severity != "reduced":
            assert plan.rejection_number == plan.acceptance_number + 1


def test_tightened_is_never_more_lenient_than_normal() -> None:
    for aql in AQL_VALUES:
        for lot_size in (50, 5_000, 500_000):
            normal = plan_for(lot_size, "II", aql, "normal")
            tight = plan_for(lot_size, "II", aql, "tightened")
            # Same or larger sample with the same or fewer defects allowed per unit sampled.
            assert tight.acceptance_number * normal.sample_size <= (
                normal.acceptance_number * tight.sample_size
            )


@pytest.mark.parametrize(
    ("given", "spelling"),
    [
        ("0.10", "0.10"), ("0.1", "0.10"), (0.1, "0.10"), ("1", "1.0"), ("1.0", "1.0"),
        (1, "1.0"), ("10", "10"), ("10.0", "10"), (2.5, "2.5"), ("2.50", "2.5"),
        (" 4 ", "4.0"), ("0.010", "0.010"), (1000, "1000"),
    ],
)  # fmt: skip
def test_aql_spellings(given: str | float, spelling: str) -> None:
    assert normalize_aql(given) == spelling


@pytest.mark.parametrize("bad", ["3", "2,5", "", "abc", "nan", float("inf"), -2.5, 0, True])
def test_bad_aql_lists_the_allowed_values(bad: str | float) -> None:
    with pytest.raises(ValueError, match=r"allowed: 0\.010, 0\.015.*1000"):
        normalize_aql(bad)


def test_bad_inputs_name_what_is_allowed() -> None:
    with pytest.raises(ValueError, match="allowed: S-1, S-2, S-3, S-4, I, II, III"):
        plan_for(100, "IV", "2.5", "normal")
    with pytest.raises(ValueError, match="allowed: normal, tightened, reduced"):
        plan_for(100, "II", "2.5", "strict")
    with pytest.raises(ValueError, match="allowed"):
        plan_for(100, "II", "3.0", "normal")
    for lot_size in (0, -5):
        with pytest.raises(ValueError, match=">= 1"):
            plan_for(lot_size, "II", "2.5", "normal")
