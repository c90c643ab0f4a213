"""What a channel needs to know of a scheme, as plain values read from its file.

Channels never hold a scheme id or a scheme number: the bot asks for :class:`SchemeFacts`
and draws the reflection buttons (with their credits), the test toggle, the category
question and the diploma texts from them. Adding a scheme file changes what the buttons say
with no code change.
"""

from __future__ import annotations

from dataclasses import dataclass

from cpd import rules
from cpd.rules import Evaluation, Scheme

# Channels may name these engine types (in annotations) through here, never import rules.
__all__ = [
    "DiplomaFacts",
    "Evaluation",
    "ReflectionChoice",
    "Scheme",
    "SchemeFacts",
    "every_scheme",
    "scheme_facts",
]


@dataclass(frozen=True, slots=True)
class ReflectionChoice:
    """A reflection button: the field it fills, its label, the credit it adds (0: none)."""

    field: str
    label: str
    credit: float


@dataclass(frozen=True, slots=True)
class DiplomaFacts:
    """A scheme's diploma: its target and the texts that describe where it stands."""

    target: float
    min_categories: int
    status_text: str
    ready_text: str
    not_ready_text: str

    def describe(self, start: object, counted: object, categories: str, ready: bool) -> str:
        """The member's diploma status in the scheme's words."""
        return self.status_text.format(
            start=start,
            counted=counted,
            target=f"{self.target:g}",
            categories=categories,
            ready=self.ready_text if ready else self.not_ready_text,
        )


@dataclass(frozen=True, slots=True)
class SchemeFacts:
    """A scheme as a channel shows it."""

    scheme_id: str
    short_name: str
    unit: str
    reflections: tuple[ReflectionChoice, ...]
    test_credit: float
    test_label: str | None  # None: the scheme gives nothing for a test
    no_test_label: str
    member_chooses_category: bool
    category_question: str
    diploma: DiplomaFacts | None
    dispensations: bool = False
    annual_declaration: bool = False


def scheme_facts(scheme_id: str) -> SchemeFacts:
    """The facts of the scheme with this id (``rules.SchemeError`` for an unknown one)."""
    scheme = rules.load_scheme(scheme_id)
    extras, buttons = scheme.extras, scheme.buttons
    credits: dict[str, float] = {str(name): value for name, value in extras.reflections.items()}
    reflections = tuple(
        ReflectionChoice(b.field, b.label, float(credits.get(b.field, 0)))
        for b in buttons.reflections
    )
    diploma = (
        None
        if scheme.diploma is None
        else DiplomaFacts(
            target=scheme.target,
            min_categories=scheme.diploma.min_categories,
            status_text=scheme.diploma.status_text,
            ready_text=scheme.diploma.ready_text,
            not_ready_text=scheme.diploma.not_ready_text,
        )
    )
    return SchemeFacts(
        scheme_id=scheme.id,
        short_name=scheme.short_name,
        unit=scheme.unit,
        reflections=reflections,
        test_credit=float(extras.test),
        test_label=buttons.test if extras.test > 0 else None,
        no_test_label=buttons.no_test,
        member_chooses_category=scheme.member_may_choose_category,
        category_question=buttons.category_question,
        diploma=diploma,
        dispensations=scheme.dispensations,
        annual_declaration=scheme.declaration == "annual",
    )


def every_scheme() -> tuple[SchemeFacts, ...]:
    """The facts of every scheme that has a file, in id order."""
    return tuple(scheme_facts(scheme_id) for scheme_id in rules.scheme_ids())
