"""Issue 3's scripted console session, in English and in Portuguese, checked against the database.

Four people take turns in `diarybot console` processes on one data folder: a school lead proposes
the focus, a coordinator confirms it, a contributor adds an entry to each section with a photo
and a sound file, reviews, edits and deletes one; the coordinator adds the meeting notes.
Choices are made by number, so the same script runs in every language.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import LANGUAGES
from prompts import Translator
from tests.builders import photo_with_gps, voice_note


def console(user: str, lines: list[str], data_dir: Path) -> str:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DIARYBOT_")}
    environment["DIARYBOT_DATA_DIR"] = str(data_dir)
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "console", "--as", user],
        input="".join(f"{line}\n" for line in lines),
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def onboarding(code: str, language: str) -> list[str]:
    # The consent text comes in the cluster's language (English in the demo): options 1 and 2
    # answer it, then the other languages follow in order, each showing the text in it.
    if language == "en":
        return [f"/join {code}", "1"]
    return [f"/join {code}", str(2 + LANGUAGES.index(language)), "1"]


@pytest.mark.parametrize("language", ["en", "pt"])
def test_scripted_console_session(tmp_path: Path, language: str) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DIARYBOT_")}
    environment["DIARYBOT_DATA_DIR"] = str(tmp_path)
    demo = json.loads(
        subprocess.run(
            [sys.executable, "-m", "bot.cli", "demo", "--json"],
            capture_output=True,
            text=True,
            env=environment,
            check=True,
        ).stdout
    )
    codes = demo["invites"]
    t = Translator(language)
    assert t.language == language  # no silent fallback to English
    photo = photo_with_gps(tmp_path / "board.jpg")
    sound = voice_note(tmp_path / "voice.wav")

    out = console(
        "lena",
        [
            *onboarding(codes["school_lead"], language),
            "/propose",
            "Peer observation",
            "We want to learn from each other.",
        ],
        tmp_path,
    )
    assert t("focus.proposed", title="Peer observation") in out

    out = console(
        "cora", [*onboarding(codes["coordinator"], language), "/confirm", "1", "1"], tmp_path
    )
    assert t("focus.confirmed_done", title="Peer observation") in out
    # The lead is told in their own chat, which the console prints with that chat's name.
    notice = t("focus.notify_confirmed", title="Peer observation", school="Hillview Primary")
    assert f"[dm-lena] {notice}" in out

    script = onboarding(codes["contributor"], language)
    for number in ("1", "2", "3", "4"):
        # "2" is a typed answer here, not the second shortcut: free-text questions are not numbered.
        second = "2" if number == "1" else f"answer {number}b"
        script += ["/add", number, f"answer {number}a", second]
        script += [f"/attach {photo}", f"/attach {sound}", t("entry.enough")]
        script += [f"reflection {number}", "1", "1"]
    script += ["/mine", "1", "1", "1", "rewritten answer", "5", "1", "/focus"]
    out = console("ana", script, tmp_path)
    assert t("entry.focus_is", school="Hillview Primary", focus="Peer observation") in out
    assert (
        out.count(t("entry.submitted", section=t("sections.issue"), school="Hillview Primary")) == 1
    )
    assert t("review.saved") in out and t("review.deleted") in out
    assert "Peer observation" in out

    notes = ["Schools liked the rota.", "Share videos next term.", t("entry.skip")]
    out = console("cora", ["/add", "1", "5", *notes, "1", "1"], tmp_path)
    assert (
        t("entry.submitted", section=t("sections.meeting_notes"), school="Hillview Primary") in out
    )

    with sqlite3.connect(tmp_path / "diary.sqlite3") as db:
        entries = db.execute(
            "SELECT section, status, activity, reflection FROM diary_entries ORDER BY id"
        ).fetchall()
        evidence = db.execute(
            "SELECT e.section, i.kind FROM evidence_items i"
            " JOIN diary_entries e ON e.id = i.entry_id WHERE i.removed_at IS NULL ORDER BY i.id"
        ).fetchall()
        languages = dict(db.execute("SELECT display_name, language FROM people").fetchall())
        focus = db.execute("SELECT title, status FROM school_focus").fetchall()

    sections = [(section, status) for section, status, _, _ in entries]
    # /mine lists the newest first, so "1" picked the next-steps entry, rewrote it, then deleted it.
    assert sections == [
        ("issue", "submitted"),
        ("action", "submitted"),
        ("impact", "submitted"),
        ("next_steps", "deleted"),
        ("meeting_notes", "submitted"),
    ]
    assert json.loads(entries[0][2]) == {"why": "answer 1a", "rationale": "2"}
    assert entries[4][3] == ""  # the coordinator skipped the reflection
    assert json.loads(entries[3][2])["steps"] == "rewritten answer"
    assert entries[2][3] == "reflection 3"
    assert json.loads(entries[4][2]) == {
        "feedback": "Schools liked the rota.",
        "reflections": "Share videos next term.",
    }
    assert evidence == [(s, k) for s in ("issue", "action", "impact") for k in ("photo", "audio")]
    assert set(languages.values()) == {language}
    assert focus == [("Peer observation", "confirmed")]
