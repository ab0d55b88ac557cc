"""First contact: the consent text comes in the cluster's language, the others one tap away.

Through the whole bot behind the in-memory channel, on SQLite and PostgreSQL. The code a
newcomer sends says which cluster they join, so its language is spoken from the first reply;
agreeing keeps the language the text was read in, and joining ends with the menu.
"""

from __future__ import annotations

from sqlmodel import select

from storage.clusters import add_school, create_cluster, create_invite
from storage.models import AuditEvent, Person, RoleName
from tests.builders import person_id
from tests.helpers import Harness, text_of

OTHERS_THAN_PT = ["English", "Nederlands", "Hrvatski", "Čeština", "Magyar", "Italiano"]


async def _portuguese_code(bot: Harness) -> str:
    async with bot.app.db.session() as session:
        cluster = await create_cluster(
            session, name="Agrupamento Sul", language="pt", timezone="Europe/Lisbon"
        )
        assert cluster.id is not None
        school = await add_school(session, cluster_id=cluster.id, name="Escola do Sul")
        invite = await create_invite(
            session, cluster_id=cluster.id, school_id=school.id, role=RoleName.CONTRIBUTOR
        )
        return invite.code


async def test_a_newcomer_reads_the_consent_in_the_clusters_language_and_joins_in_one_tap(
    harness: Harness,
) -> None:
    code = await _portuguese_code(harness)
    said = await harness.say("ana", f"/join {code}")
    assert "Aceita participar nestes termos?" in text_of(said)
    assert [b.label for b in said[-1].buttons] == ["Aceito", "Não aceito", *OTHERS_THAN_PT]

    joined = await harness.press("ana", "Aceito")
    text = text_of(joined)
    assert "Vou escrever-lhe em português" in text and "Escola do Sul" in text
    assert [b.data for b in joined[-1].buttons][:1] == ["/add"]  # the menu, no more questions
    async with harness.app.db.session() as session:
        person = await session.get(Person, await person_id(harness, "ana"))
        assert person is not None and person.language == "pt"


async def test_one_tap_shows_the_text_in_another_language_which_is_then_kept(
    harness: Harness,
) -> None:
    code = await _portuguese_code(harness)
    await harness.say("bia", f"/join {code}")
    english = await harness.press("bia", "English")
    assert "Do you agree to take part" in text_of(english)
    labels = [b.label for b in english[-1].buttons]
    assert labels[:2] == ["I agree", "No, thanks"] and "Português" in labels
    assert "English" not in labels

    joined = await harness.press("bia", "I agree")
    assert "I'll speak English with you" in text_of(joined)
    assert "You're in" in text_of(joined)
    bia = await person_id(harness, "bia")
    async with harness.app.db.session() as session:
        person = await session.get(Person, bia)
        assert person is not None and person.language == "en"
        changes = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "language"))
        ).all()
    assert [(a.person_id, a.detail) for a in changes] == [(bia, {"to": "en"})]


async def test_someone_who_chose_a_language_keeps_it_and_is_offered_no_other(
    harness: Harness,
) -> None:
    code = await _portuguese_code(harness)
    await harness.say("cai", "/language")
    await harness.press("cai", "Italiano")
    said = await harness.say("cai", f"/join {code}")
    assert [b.label for b in said[-1].buttons] == ["Accetto", "No, grazie"]
    joined = await harness.press("cai", "Accetto")
    assert "Ti scriverò in italiano" in text_of(joined)


async def test_declining_keeps_nothing_but_the_refusal(harness: Harness) -> None:
    code = await _portuguese_code(harness)
    await harness.say("dia", f"/join {code}")
    await harness.press("dia", "English")
    said = await harness.press("dia", "No, thanks")
    assert "declined" in text_of(said)
    async with harness.app.db.session() as session:
        person = await session.get(Person, await person_id(harness, "dia"))
        assert person is not None and person.language is None
