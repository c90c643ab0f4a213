"""The scheme-independent vocabulary: activity kinds, providers and reflection fields."""

KINDS: tuple[str, ...] = (
    "training",
    "conference",
    "exhibition",
    "reading",
    "article",
    "book",
    "teaching",
    "examining",
    "work_project",
    "mentoring",
    "committee",
    "volunteering",
    "qualification",
    "site_visit",
    "other",
)

PROVIDERS: tuple[str, ...] = ("institute", "external")

REFLECTION_FIELDS: tuple[str, ...] = ("new_knowledge", "behaviour", "impact")

STATUSES: tuple[str, ...] = (
    "draft",
    "pending",
    "accepted",
    "declined",
    "withdrawn",
    "unverified",
)
