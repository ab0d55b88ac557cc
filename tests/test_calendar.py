"""/calendar end to end through the dispatcher, on SQLite and PostgreSQL, on a fixed clock.

The handlers read "today" from the context's clock; the `clock` fixture gives every message of
a test the same moment (Thursday 20 August 2026, 11:00 in the demo cluster's Lisbon), so "next
Monday" is always Monday 24 August 2026 whatever the machine's date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import col, select

from bot.messages import Reply
from storage.clusters import add_school, create_cluster, create_invite
from storage.models import (
    AuditEvent,
    ConversationState,
    Holiday,
    Identity,
    InputPoint,
    Role,
    School,
    Term,
)
from tests.builders import demo_codes, member
from tests.helpers import Harness, text_of

NOW = datetime(2026, 8, 20, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock(harness: Harness) -> None:
    """Every message is handled at `NOW` (the dispatcher's clock)."""
    harness.app.dispatcher.clock = lambda: NOW


async def rows(bot: Harness, model: type) -> list:
    async with bot.app.db.session() as session:
        return list((await session.exec(select(model).order_by(model.id))).all())


async def audited(bot: Harness, prefix: str) -> list[AuditEvent]:
    return [e for e in await rows(bot, AuditEvent) if e.action.startswith(prefix)]


def labels(replies: list[Reply]) -> list[str]:
    return [button.label for reply in replies for button in reply.buttons]


def rev_of(replies: list[Reply]) -> str:
    """The state revision stamped on the buttons just offered (to forge a press with it)."""
    return next(b.data for r in replies for b in r.buttons).partition(":")[0]


async def add_span(bot: Harness, user: str, kind: str, name: str, first: str, last: str) -> str:
    """Add a term or holiday through the flow in English, confirming both days."""
    await bot.say(user, "/calendar")
    await bot.press(user, f"Add a {kind}")
    await bot.say(user, name)
    await bot.say(user, first)
    await bot.press(user, "Yes")
    await bot.say(user, last)
    return text_of(await bot.press(user, "Yes"))


async def test_coordinator_adds_terms_typed_in_portuguese_and_in_english(harness: Harness) -> None:
    codes = await demo_codes(harness)
    await member(harness, "rita", codes["coordinator"], "Português")
    await member(harness, "cora", codes["coordinator"])

    replies = await harness.say("rita", "/calendar")
    shown = text_of(replies)
    assert "Calendário de Demo Cluster" in shown
    assert "Fuso horário: Europe/Lisbon" in shown
    assert "segunda-feira – sexta-feira, 09:00–18:00" in shown
    assert "Acrescentar um período" in labels(replies)
    await harness.press("rita", "Acrescentar um período")
    assert "primeiro dia de 1.º período" in text_of(await harness.say("rita", "1.º período"))
    replies = await harness.say("rita", "14 setembro 2026")
    assert "segunda-feira, 14 de setembro de 2026. Está certo?" in text_of(replies)
    assert labels(replies) == ["Sim", "Não, escrever de novo"]
    assert "último dia de 1.º período" in text_of(await harness.press("rita", "Sim"))
    replies = await harness.say("rita", "18/12/2026")
    assert "sexta-feira, 18 de dezembro de 2026" in text_of(replies)
    replies = await harness.press("rita", "Sim")
    assert "Guardado: período 1.º período: segunda-feira, 14 de setembro" in text_of(replies)
    assert "Acrescentar um período" in labels(replies)  # back at the calendar, to add more

    replies = await harness.say("cora", "/calendar")
    assert "• 1.º período: Monday, 14 September 2026 – Friday, 18 December 2026" in text_of(replies)
    await harness.press("cora", "Add a term")
    await harness.say("cora", "Summer school")
    replies = await harness.say("cora", "next Monday")
    assert "First day of Summer school: Monday, 24 August 2026. Is that right?" in text_of(replies)
    await harness.press("cora", "Yes")
    assert "Friday, 4 September 2026" in text_of(await harness.say("cora", "2026-09-04"))
    assert "Saved: term Summer school" in text_of(await harness.press("cora", "Yes"))

    terms = [(t.name, t.first_day, t.last_day) for t in await rows(harness, Term)]
    assert terms == [
        ("1.º período", date(2026, 9, 14), date(2026, 12, 18)),
        ("Summer school", date(2026, 8, 24), date(2026, 9, 4)),
    ]
    events = await audited(harness, "calendar.")
    assert [e.action for e in events] == ["calendar.term_added", "calendar.term_added"]
    assert events[0].detail == {"name": "1.º período", "first": "2026-09-14", "last": "2026-12-18"}


async def test_a_bad_date_is_explained_and_the_draft_stays(harness: Harness) -> None:
    codes = await demo_codes(harness)
    await member(harness, "cora", codes["coordinator"])
    await harness.say("cora", "/calendar")
    await harness.press("cora", "Add a term")
    await harness.say("cora", "Autumn term")
    await harness.say("cora", "14/09/2026")
    await harness.press("cora", "Yes")

    replies = await harness.say("cora", "when pigs fly")
    assert "can't read “when pigs fly” as a date" in text_of(replies)
    assert "last day of Autumn term" in text_of(replies)
    replies = await harness.say("cora", "18/12/2026")
    assert "Last day of Autumn term: Friday, 18 December 2026" in text_of(replies)
    assert "last day of Autumn term" in text_of(await harness.press("cora", "No, type it again"))
    replies = await harness.say("cora", "17/12/2026")
    assert "Thursday, 17 December 2026" in text_of(replies)
    await harness.press("cora", "Yes")

    terms = [(t.name, t.first_day, t.last_day) for t in await rows(harness, Term)]
    assert terms == [("Autumn term", date(2026, 9, 14), date(2026, 12, 17))]


async def test_a_term_ending_before_it_starts_is_refused(harness: Harness) -> None:
    codes = await demo_codes(harness)
    await member(harness, "cora", codes["coordinator"])
    await harness.say("cora", "/calendar")
    await harness.press("cora", "Add a term")
    await harness.say("cora", "Autumn term")
    await harness.say("cora", "14/09/2026")
    await harness.press("cora", "Yes")
    replies = await harness.say("cora", "01/09/2026")
    assert "The last day (Tuesday, 1 September 2026) comes before the first day" in text_of(replies)
    assert labels(replies) == []  # asked again, nothing to confirm
    assert await rows(harness, Term) == []
    await harness.say("cora", "18/12/2026")
    await harness.press("cora", "Yes")
    assert len(await rows(harness, Term)) == 1


async def test_an_overlapping_term_is_refused_and_its_name_kept(harness: Harness) -> None:
    codes = await demo_codes(harness)
    await member(harness, "cora", codes["coordinator"])
    await add_span(harness, "cora", "term", "Autumn term", "14/09/2026", "18/12/2026")
    await harness.press("cora", "Done")

    replies = await add_span(harness, "cora", "term", "Winter term", "01/12/2026", "20/01/2027")
    assert "overlap another term" in replies
    assert "first day of Winter term" in replies
    assert len(await rows(harness, Term)) == 1
    await harness.say("cora", "4 January 2027")
    await harness.press("cora", "Yes")
    await harness.say("cora", "26/03/2027")
    assert "Saved: term Winter term" in text_of(await harness.press("cora", "Yes"))
    assert [t.name for t in await rows(harness, Term)] == ["Autumn term", "Winter term"]


async def test_a_holiday_is_added_and_shown(harness: Harness) -> None:
    codes = await demo_codes(harness)
    await member(harness, "cora", codes["coordinator"])
    said = await add_span(
        harness, "cora", "holiday", "Christmas holidays", "21/12/2026", "1 January 2027"
    )
    assert (
        "Saved: holiday Christmas holidays: Monday, 21 December 2026 – Friday, 1 January 2027"
        in (said)
    )
    holidays = [(h.name, h.first_day, h.last_day) for h in await rows(harness, Holiday)]
    assert holidays == [("Christmas holidays", date(2026, 12, 21), date(2027, 1, 1))]
    assert [e.action for e in await audited(harness, "calendar.")] == ["calendar.holiday_added"]

    await member(harness, "ana", (await demo_codes(harness))["contributor"])
    shown = text_of(await harness.say("ana", "/calendar"))
    assert "Holidays:\n• Christmas holidays: Monday, 21 December 2026" in shown


async def test_cluster_input_points_set_by_hand_and_back_to_default(harness: Harness) -> None:
    codes = await demo_codes(harness)
    await member(harness, "cora", codes["coordinator"])
    await add_span(harness, "cora", "term", "Autumn term", "14/09/2026", "18/12/2026")
    await harness.press("cora", "Done")
    shown = text_of(await harness.say("cora", "/calendar"))
    assert "Coming input points of the cluster (two in each term):" in shown
    assert "• Friday, 16 October 2026\n• Tuesday, 17 November 2026" in shown

    await harness.press("cora", "Set the input points")
    replies = await harness.press("cora", "The whole cluster")
    assert "Input points for all schools of the cluster" in text_of(replies)
    replies = await harness.say("cora", "15/10/2026, someday")
    assert "can't read these as dates: “someday”" in text_of(replies)
    replies = await harness.say("cora", "15/10/2026, 20 November 2026\n2027-01-12")
    listed = "• Thursday, 15 October 2026\n• Friday, 20 November 2026\n• Tuesday, 12 January 2027"
    assert listed in text_of(replies)
    replies = await harness.press("cora", "Yes")
    assert "Saved: the input points for all schools of the cluster" in text_of(replies)
    assert "(dates set by a coordinator)" in text_of(replies)
    points = await rows(harness, InputPoint)
    assert [(p.school_id, p.day) for p in points] == [
        (None, date(2026, 10, 15)),
        (None, date(2026, 11, 20)),
        (None, date(2027, 1, 12)),
    ]

    await harness.press("cora", "Set the input points")
    await harness.press("cora", "The whole cluster")
    replies = await harness.say("cora", "default")
    assert "Go back to the computed input points for all schools" in text_of(replies)
    replies = await harness.press("cora", "Yes")
    assert "the computed input points apply again" in text_of(replies)
    assert "(two in each term)" in text_of(replies)
    assert await rows(harness, InputPoint) == []
    events = await audited(harness, "calendar.points")
    assert [e.detail["days"] for e in events] == [["2026-10-15", "2026-11-20", "2027-01-12"], []]


async def test_school_lead_sets_the_school_points_but_cannot_add_a_term(harness: Harness) -> None:
    codes = await demo_codes(harness)
    await member(harness, "lena", codes["school_lead"])
    await member(harness, "ana", codes["contributor"])
    await member(harness, "cora", codes["coordinator"])

    replies = await harness.say("lena", "/calendar")
    assert labels(replies) == ["Set my school's input points", "Done"]
    replies = await harness.press("lena", "Set my school's input points")
    assert "Input points for Hillview Primary" in text_of(replies)
    await harness.say("lena", "05/10/2026, 9 November 2026")
    replies = await harness.press("lena", "Yes")
    assert "Saved: the input points for Hillview Primary" in text_of(replies)

    school = next(s for s in await rows(harness, School) if s.name == "Hillview Primary")
    points = [(p.school_id, p.day) for p in await rows(harness, InputPoint)]
    assert points == [(school.id, date(2026, 10, 5)), (school.id, date(2026, 11, 9))]
    shown = text_of(await harness.say("ana", "/calendar"))
    assert "Coming input points of Hillview Primary (the school's own dates):" in shown
    assert "• Monday, 5 October 2026" in shown
    shown = text_of(await harness.say("cora", "/calendar"))
    assert "Schools with their own dates: Hillview Primary" in shown

    # A press the lead was never offered, with the current revision: refused, nothing added.
    replies = await harness.say("lena", "/calendar")
    replies = await harness.send("lena", button=f"{rev_of(replies)}:term")
    assert "only the cluster's coordinators can change the calendar" in text_of(replies)
    assert await rows(harness, Term) == []


async def test_a_contributor_sees_the_calendar_without_change_buttons(harness: Harness) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    replies = await harness.say("ana", "/calendar")
    shown = text_of(replies)
    assert "Calendar of Demo Cluster" in shown
    assert "Working days: Monday – Friday, 09:00–18:00" in shown
    assert "Terms:\n• none yet" in shown
    assert "Coming input points of Hillview Primary (every 6 weeks):" in shown
    assert labels(replies) == []
    states = await rows(harness, ConversationState)
    assert all(s.flow == "" for s in states)


async def forge_state(bot: Harness, user: str, **fields: object) -> int:
    """Put a person's private-chat state wherever a test wants it; returns its revision."""
    async with bot.app.db.session() as session:
        identity = (await session.exec(select(Identity).where(Identity.external_id == user))).one()
        state = (
            await session.exec(
                select(ConversationState).where(
                    ConversationState.identity_id == identity.id,
                    ConversationState.chat_key == bot.chat(user).key,
                )
            )
        ).one()
        for name, value in fields.items():
            setattr(state, name, value)
        session.add(state)
        return state.rev


async def test_stale_and_forged_presses_from_a_contributor_change_nothing(
    harness: Harness,
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await harness.say("ana", "/calendar")
    cluster_id = (await rows(harness, Role))[0].cluster_id

    for data in ("1:term", "7:yes", "term", "999999:points"):
        replies = await harness.send("ana", button=data)
        assert "earlier message" in text_of(replies)

    draft = {
        "cluster_id": cluster_id,
        "action": "term",
        "name": "Forged term",
        "first": "2026-09-14",
        "typed": "2026-12-18",
    }
    rev = await forge_state(harness, "ana", flow="calendar", step="last_ok", data=draft, rev=40)
    replies = await harness.send("ana", button=f"{rev}:yes")
    assert "only the cluster's coordinators can change the calendar" in text_of(replies)
    rev = await forge_state(harness, "ana", flow="calendar", step="menu", data=draft)
    replies = await harness.send("ana", button=f"{rev}:holiday")
    assert "Nothing has been changed" in text_of(replies)
    points = {**draft, "action": "points", "school_id": None, "days": ["2026-10-01"]}
    rev = await forge_state(harness, "ana", flow="calendar", step="points_ok", data=points)
    replies = await harness.send("ana", button=f"{rev}:yes")
    assert "Nothing has been changed" in text_of(replies)

    assert await rows(harness, Term) == []
    assert await rows(harness, Holiday) == []
    assert await rows(harness, InputPoint) == []
    assert await audited(harness, "calendar.") == []
    assert [s.flow for s in await rows(harness, ConversationState)] == [""]


async def test_a_coordinator_whose_role_ends_mid_change_saves_nothing(harness: Harness) -> None:
    codes = await demo_codes(harness)
    await member(harness, "cora", codes["coordinator"])
    await harness.say("cora", "/calendar")
    await harness.press("cora", "Add a holiday")
    await harness.say("cora", "Carnival")
    await harness.say("cora", "15/02/2027")
    await harness.press("cora", "Yes")
    await harness.say("cora", "17/02/2027")
    async with harness.app.db.session() as session:
        for role in (await session.exec(select(Role).where(col(Role.revoked_at).is_(None)))).all():
            role.revoked_at = NOW
            session.add(role)
    replies = await harness.press("cora", "Yes")
    assert "only the cluster's coordinators" in text_of(replies)
    assert await rows(harness, Holiday) == []


async def test_removing_a_term_asks_first_and_is_audited(harness: Harness) -> None:
    codes = await demo_codes(harness)
    await member(harness, "cora", codes["coordinator"])
    await add_span(harness, "cora", "term", "Autumn term", "14/09/2026", "18/12/2026")
    await add_span(harness, "cora", "holiday", "Carnival", "15/02/2027", "17/02/2027")
    await harness.press("cora", "Done")
    await harness.say("cora", "/calendar")
    replies = await harness.press("cora", "Remove a term or holiday")
    assert labels(replies) == ["Term: Autumn term", "Holiday: Carnival", "Back"]
    replies = await harness.press("cora", "Term: Autumn term")
    assert "Remove Autumn term: Monday, 14 September 2026 – Friday, 18 December 2026?" in text_of(
        replies
    )
    replies = await harness.press("cora", "Yes")
    assert "Removed: Autumn term" in text_of(replies)
    assert await rows(harness, Term) == []
    assert [h.name for h in await rows(harness, Holiday)] == ["Carnival"]
    removed = await audited(harness, "calendar.term_removed")
    assert [e.detail["name"] for e in removed] == ["Autumn term"]


async def test_a_person_in_two_clusters_picks_one_first(harness: Harness) -> None:
    codes = await demo_codes(harness)
    async with harness.app.db.session() as session:
        north = await create_cluster(
            session, name="North Cluster", language="hr", timezone="Europe/Zagreb"
        )
        assert north.id is not None
        school = await add_school(session, cluster_id=north.id, name="OŠ Jedan")
        invite = await create_invite(
            session, cluster_id=north.id, school_id=school.id, max_uses=None, valid_for=None
        )
    await member(harness, "cora", codes["coordinator"])
    await harness.say("cora", f"/join {invite.code}")

    replies = await harness.say("cora", "/calendar")
    assert "Which cluster's calendar" in text_of(replies)
    assert labels(replies) == ["Demo Cluster", "North Cluster"]
    replies = await harness.press("cora", "North Cluster")
    assert "Calendar of North Cluster\nTime zone: Europe/Zagreb" in text_of(replies)
    assert labels(replies) == []  # a contributor there
    await harness.say("cora", "/calendar")
    replies = await harness.press("cora", "Demo Cluster")
    assert "Calendar of Demo Cluster" in text_of(replies)
    assert "Add a term" in labels(replies)  # a coordinator here
