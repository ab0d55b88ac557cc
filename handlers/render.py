"""How an entry reads back to its author: the preview before submitting and the /mine view."""

from __future__ import annotations

from collections import Counter

from bot.messages import Reply
from handlers.context import Context, say
from handlers.sections import QUESTIONS
from storage.models import DiaryEntry, EvidenceItem, Visibility

SNIPPET = 60


def snippet(entry: DiaryEntry) -> str:
    """The first words of an entry, for lists."""
    text = next((v for v in entry.activity.values() if v), entry.reflection) or "…"
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET else text[: SNIPPET - 1].rstrip() + "…"


def evidence_summary(ctx: Context, items: list[EvidenceItem]) -> str:
    """'photo × 2, voice note × 1' in the reader's language (or 'none')."""
    if not items:
        return ctx.t("entry.no_evidence")
    counts = Counter(item.kind for item in items)
    return ", ".join(
        f"{ctx.t(f'evidence.kind.{kind}')} × {n}" for kind, n in sorted(counts.items())
    )


def render_entry(ctx: Context, entry: DiaryEntry, items: list[EvidenceItem]) -> str:
    """The whole entry: section, each answered question, reflection, evidence, visibility."""
    lines = [f"{ctx.t(f'sections.{entry.section}')}"]
    for key in QUESTIONS[entry.section]:
        answer = entry.activity.get(key)
        if answer:
            lines.append(f"• {ctx.t(f'labels.{entry.section}.{key}')}: {answer}")
    if entry.reflection:
        lines.append(f"• {ctx.t('entry.reflection_label')}: {entry.reflection}")
    lines.append(f"{ctx.t('entry.evidence_label')}: {evidence_summary(ctx, items)}")
    for item in items:
        described = " ".join(part for part in (item.url, item.caption) if part)
        if described:
            lines.append(f"   – {described}")
    lines.append(f"{ctx.t('entry.visibility_label')}: {ctx.t(f'visibility.{entry.visibility}')}")
    return "\n".join(lines)


def visibility_question(ctx: Context) -> Reply:
    """Who may see an entry: the three choices."""
    buttons = (ctx.choice(f"visibility.{v}", v) for v in Visibility)
    return say(ctx.t("entry.visibility_question"), *buttons)
