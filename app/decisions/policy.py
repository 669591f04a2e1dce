from app.config import Settings
from app.quality.facts import Policy
from app.quality.products import Equivalence


def policy_from_settings(settings: Settings) -> Policy:
    """The decision policy in force; a bad setting stops the service at start-up."""
    return Policy(
        version=settings.policy_version,
        inspection_level=settings.policy_inspection_level,
        major_aql=settings.policy_major_aql,
        minor_aql=settings.policy_minor_aql,
        confirmation_required=settings.policy_confirmation_required,
        reduced_inspection_enabled=settings.policy_reduced_inspection_enabled,
        wrong_category_means_return=settings.policy_wrong_category_means_return,
        complaint_destinations=settings.policy_complaint_destinations,
        equivalences=tuple(
            Equivalence(e.delivered, e.ordered, e.legal_basis, e.valid_until)
            for e in settings.policy_equivalences
        ),
    )
