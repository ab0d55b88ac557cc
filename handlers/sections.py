"""The diary template's shape: its sections, each section's guiding questions, reflection themes.

Only keys live here; the wording of every question is in the prompt files
(`questions.<section>.<key>` and the short label `labels.<section>.<key>`).
"""

from __future__ import annotations

from storage.models import Section

QUESTIONS: dict[str, tuple[str, ...]] = {
    Section.ISSUE: ("why", "rationale", "challenges", "progress", "learning", "discussion"),
    Section.ACTION: ("plan", "actions", "helped", "barriers", "support", "examples"),
    Section.IMPACT: ("results", "evaluation", "effects", "aware", "changed", "surprises"),
    Section.NEXT_STEPS: ("steps", "organisation", "reasons", "who", "expected", "spread"),
    Section.MEETING_NOTES: ("feedback", "reflections"),
}

# Sections a school's own staff write; coordinators also write the meeting notes.
CONTRIBUTOR_SECTIONS = (Section.ISSUE, Section.ACTION, Section.IMPACT, Section.NEXT_STEPS)
COORDINATOR_SECTIONS = (*CONTRIBUTOR_SECTIONS, Section.MEETING_NOTES)

REFLECTION_THEMES = (
    "why_important",
    "knowledge_gap",
    "support_feelings",
    "collaboration",
    "learning_style",
    "practice_change",
    "motivation",
    "targets",
    "support_sources",
    "hardest",
    "expectations",
    "building_on",
)


def themes_for(seed: int, count: int = 3) -> tuple[str, ...]:
    """A few reflection themes, rotated by `seed` so each entry suggests different ones."""
    start = (seed * count) % len(REFLECTION_THEMES)
    return tuple(REFLECTION_THEMES[(start + i) % len(REFLECTION_THEMES)] for i in range(count))
