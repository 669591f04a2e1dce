import pytest

from app.quality.quantities import Quantities


def test_dutch_lot_after_distribution() -> None:
    q = Quantities(received=1_300_000, distributed=600_000)
    assert q.on_hand == 700_000
    assert q.outstanding_at_sites == 600_000


def test_site_returns_land_on_hand_and_other_site_movements_do_not() -> None:
    q = Quantities(received=100).apply("distributed", 60).apply("site_returned", 10)
    q = q.apply("site_destroyed", 5).apply("site_consumed", 15)
    assert (q.on_hand, q.outstanding_at_sites) == (50, 30)
    q = q.apply("returned_to_supplier", 50)
    assert q.on_hand == 0
    assert q.received == q.on_hand + q.outstanding_at_sites + 5 + 15 + 50


def test_movements_cannot_take_units_that_are_not_there() -> None:
    q = Quantities(received=10, distributed=4)
    with pytest.raises(ValueError, match="only 6 there"):
        q.apply("distributed", 7)
    with pytest.raises(ValueError, match="only 4 there"):
        q.apply("site_consumed", 5)
    with pytest.raises(ValueError, match="at least 1"):
        q.apply("site_returned", 0)
    with pytest.raises(ValueError, match="unknown"):
        q.apply("stolen", 1)


def test_impossible_quantities_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        Quantities(received=-1)
    with pytest.raises(ValueError, match="only 5 were distributed"):
        Quantities(received=10, distributed=5, site_returned=6)
    with pytest.raises(ValueError, match="exceed"):
        Quantities(received=10, distributed=8, returned_to_supplier=3)
