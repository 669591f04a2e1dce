"""Where the units of a lot are, and the movements that change it.

Conservation, always: received = on_hand + outstanding_at_sites + site_destroyed
+ site_consumed + returned_to_supplier. Units a site sends back land on hand again, so
they count towards what can be returned to the supplier.
"""

from dataclasses import dataclass, replace
from enum import StrEnum


class Movement(StrEnum):
    distributed = "distributed"  # warehouse -> sites
    site_returned = "site_returned"  # sites -> warehouse
    site_destroyed = "site_destroyed"  # destroyed at a site
    site_consumed = "site_consumed"  # used at a site
    returned_to_supplier = "returned_to_supplier"  # warehouse -> supplier


MOVEMENTS: tuple[str, ...] = tuple(Movement)


@dataclass(frozen=True)
class Quantities:
    received: int
    distributed: int = 0
    site_returned: int = 0
    site_destroyed: int = 0
    site_consumed: int = 0
    returned_to_supplier: int = 0

    def __post_init__(self) -> None:
        negative = {name: count for name, count in self._counts().items() if count < 0}
        if negative:
            raise ValueError(f"quantities cannot be negative: {negative}")
        if self.outstanding_at_sites < 0:
            at_sites_gone = self.distributed - self.outstanding_at_sites
            raise ValueError(
                f"sites returned, destroyed or consumed {at_sites_gone} units "
                f"but only {self.distributed} were distributed"
            )
        if self.on_hand < 0:
            raise ValueError(
                f"{self.distributed} distributed and {self.returned_to_supplier} returned to "
                f"the supplier exceed the {self.received + self.site_returned} units received "
                "or returned by sites"
            )

    def _counts(self) -> dict[str, int]:
        return {
            "received": self.received,
            "distributed": self.distributed,
            "site_returned": self.site_returned,
            "site_destroyed": self.site_destroyed,
            "site_consumed": self.site_consumed,
            "returned_to_supplier": self.returned_to_supplier,
        }

    @property
    def outstanding_at_sites(self) -> int:
        return self.distributed - self.site_returned - self.site_destroyed - self.site_consumed

    @property
    def on_hand(self) -> int:
        return self.received - self.distributed + self.site_returned - self.returned_to_supplier

    def available_for(self, movement: str) -> int:
        """How many units a movement may move now."""
        if movement in (Movement.distributed, Movement.returned_to_supplier):
            return self.on_hand
        if movement in (Movement.site_returned, Movement.site_destroyed, Movement.site_consumed):
            return self.outstanding_at_sites
        raise ValueError(f"movement {movement!r} is unknown; allowed: {', '.join(MOVEMENTS)}")

    def apply(self, movement: str, count: int) -> "Quantities":
        """The quantities after moving ``count`` units; ValueError if they are not there."""
        available = self.available_for(movement)
        if count < 1:
            raise ValueError(f"a movement moves at least 1 unit, got {count}")
        if count > available:
            raise ValueError(f"cannot move {count} units as {movement}: only {available} there")
        return replace(self, **{movement: getattr(self, movement) + count})
