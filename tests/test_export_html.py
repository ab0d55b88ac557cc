"""The Cluster Diary as web pages and as Markdown, drawn from the same record as every export.

The seeded cluster of `tests.test_export` (entries of every fate, and a second cluster that must
not leak in), its record read with `storage.export_data`, then the renderers run on it. The pages
are parsed (lxml) and shown by headless Chromium at a phone's and a desktop's width; Debian's
`chromium` is installed by `.ci/run`, and without it the browser test is skipped, or fails
under CI. DIARYBOT_KEEP_SCREENSHOTS=<folder> keeps the screenshots, to look at them.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import lxml.html
import pytest
from babel.dates import format_date
from PIL import Image
from sqlmodel import col, select

from bot.export_html import PHOTO_PX, _shrink, write_html
from bot.export_md import write_markdown
from bot.settings import Settings
from storage.export_data import cluster_record, export_header
from storage.media import MediaStore
from storage.models import Cluster, DiaryEntry, Meeting, MeetingAnswer
from storage.types import utcnow
from tests.helpers import Harness
from tests.test_export import seeded

SCRIPT = "<script>alert('x')</script>"
MEETING = datetime(2027, 1, 15, 14, 0, tzinfo=UTC)
MET = "15 January 2027, Library: coming 1, maybe 0, not coming 0; present 1"
SECTIONS = ("The issue", "Action taken", "Impact", "Next steps", "Cluster meeting notes")
LEFT_OUT = ("North's secret", "unfinished thought", "withdrawn from view")
# A scheme ("https:", "javascript:", "data:") or a host ("//cdn"): anything not in the folder.
ELSEWHERE = re.compile(r"^([a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)


async def diary(bot: Harness, tmp_path: Path) -> dict[str, Any]:
    """The seeded clusters, an answer holding markup and a second paragraph; their record."""
    await seeded(bot, tmp_path)
    async with bot.app.db.session() as session:
        first = (await session.exec(select(DiaryEntry).order_by(col(DiaryEntry.id)))).first()
        assert first is not None
        why = f"{first.activity['why']}\n\n{SCRIPT} & *not bold*"
        first.activity = {**first.activity, "why": why}
        session.add(first)
        demo = (await session.exec(select(Cluster).where(Cluster.name == "Demo Cluster"))).one()
        meeting = Meeting(
            cluster_id=demo.id, scheduled_at=MEETING, ends_at=MEETING, place="Library"
        )
        session.add(meeting)
        await session.flush()
        assert meeting.id is not None
        session.add(
            MeetingAnswer(
                meeting_id=meeting.id, person_id=first.author_id, answer="coming", attended=True
            )
        )
    async with bot.app.db.session() as session:
        export = export_header(now=utcnow(), scope="all")
        clusters = (await session.exec(select(Cluster).order_by(col(Cluster.id)))).all()
        export["clusters"] = [await cluster_record(session, cluster=c) for c in clusters]
    return export


def only(export: dict[str, Any], name: str) -> dict[str, Any]:
    """The record narrowed to one cluster, as `--cluster` gathers it."""
    return {**export, "clusters": [c for c in export["clusters"] if c["name"] == name]}


def day(moment: str, cluster: dict[str, Any]) -> str:
    when = datetime.fromisoformat(moment.replace("Z", "+00:00")).astimezone(
        ZoneInfo(cluster["timezone"])
    )
    return format_date(when.date(), format="long", locale="en_GB")


def page(path: Path) -> Any:
    return lxml.html.fromstring(path.read_bytes())


def words(tree: Any) -> str:
    """The page's text as it reads, whitespace collapsed."""
    return " ".join(tree.text_content().split())


async def test_the_pages_hold_the_submitted_diary_and_nothing_else(
    harness: Harness, settings: Settings, tmp_path: Path
) -> None:
    export = only(await diary(harness, tmp_path), "Demo Cluster")
    media = MediaStore(settings.resolved_media_dir)
    site = tmp_path / "out" / "site"
    assert await write_html(export, media=media, destination=site) == 0

    for path in [site, *site.rglob("*")]:
        assert path.stat().st_mode & 0o777 == (0o700 if path.is_dir() else 0o600), path
    assert not [p for p in site.parent.iterdir() if p.name.startswith(".export-")]
    (cluster,) = export["clusters"]
    hillview = next(s for s in cluster["schools"] if s["entries"])
    evidence = [i for e in hillview["entries"] for i in e["evidence"]]
    expected = {f"school-{s['id']}.html" for s in cluster["schools"] if s["kind"] == "mentee"}
    pages = {p.name for p in site.glob("*.html")}
    assert pages == {"index.html", *expected}
    shown = {Path(i["file"]).name for i in evidence if i["kind"] != "photo"}
    shown |= {Path(i["file"]).stem + ".jpg" for i in evidence if i["kind"] == "photo"}
    assert {p.name for p in (site / "media").iterdir()} == shown

    index = page(site / "index.html")
    text = words(index)
    assert index.get("lang") == "en" and index.findtext(".//title") == "Cluster Diary: Demo Cluster"
    assert "Demo Cluster" in text and "Cora (cluster coordinator)" in text
    assert f"Entries submitted from {day(cluster['period']['first'], cluster)}" in text
    assert f"Made on {day(export['generated'], cluster)}" in text
    assert "Riverside Mentor School (mentor school)" in text
    assert f"Cluster meetings {MET}" in text
    links = {a.get("href"): a.text_content() for a in index.iter("a")}
    assert links[f"school-{hillview['id']}.html"] == "Hillview Primary (mentee school)"

    school = page(site / f"school-{hillview['id']}.html")
    text = words(school)
    rows = school.xpath("//table[@class='template']/tbody/tr/th")
    assert [th.text_content() for th in rows] == list(SECTIONS)
    for label in (
        "Mentoring focus: Reading for pleasure",
        "Reading aloud (replaced)",
        "Illustrative material and evidence",
        "Why it matters: Pupils read aloud to each other",
        "The reading plan",
        "document: Plano de leitura.pdf",
        "audio, 0:02",
        "Transcript: We read for ten minutes every morning.",
        "It worked better than we hoped.",
        f"{SCRIPT} & *not bold*",  # shown as typed: text, not markup
    ):
        assert label in text, label
    bylines = [p.text_content() for p in school.xpath("//p[@class='byline']")]
    assert set(bylines) == {f"Ana, {day(e['submitted'], cluster)}" for e in hillview["entries"]}
    assert len(bylines) == 2 + 2 + 1  # activity of each, evidence of each, one reflection

    everything = "\n".join(p.read_text() for p in site.glob("*.html"))
    assert "&lt;script&gt;" in everything
    for left_out in LEFT_OUT:
        assert left_out not in everything, left_out
    for path in site.glob("*.html"):
        tree = page(path)
        assert not tree.xpath(
            "//script | //iframe | //object | //embed | //@*[starts-with(name(), 'on')]"
        )
        for address in tree.xpath("//@href | //@src"):
            assert not ELSEWHERE.match(address), (path.name, address)
            assert (site / unquote(address)).is_file(), (path.name, address)

    (img,) = school.iter("img")
    with Image.open(site / img.get("src")) as photo:
        assert photo.format == "JPEG" and not dict(photo.getexif())
        assert photo.size == (int(img.get("width")), int(img.get("height")))
    document = next(i for i in evidence if i["kind"] == "document")
    href = next(a.get("href") for a in school.iter("a") if "Plano" in a.text_content())
    assert hashlib.sha256((site / href).read_bytes()).hexdigest() == document["sha256"]


async def test_a_new_export_replaces_an_earlier_folder_but_nothing_else(
    harness: Harness, settings: Settings, tmp_path: Path
) -> None:
    export = await diary(harness, tmp_path)
    media = MediaStore(settings.resolved_media_dir)
    site = tmp_path / "site"
    await write_html(export, media=media, destination=site)
    await write_html(export, media=media, destination=site, language="pt")
    index = page(site / "index.html")
    assert index.get("lang") == "pt" and "Diário" in words(index)
    assert [s.get("lang") for s in index.xpath("//section")] == ["pt", "pt"]

    mine = tmp_path / "my documents"
    mine.mkdir()
    (mine / "letter.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        await write_html(export, media=media, destination=mine)
    assert [p.name for p in mine.iterdir()] == ["letter.txt"]
    assert not [p for p in mine.parent.iterdir() if p.name.startswith(".export-")]

    # For sending as one file: the same folder, zipped.
    packed = tmp_path / "diary.zip"
    await write_html(export, media=media, destination=packed)
    assert packed.stat().st_mode & 0o777 == 0o600
    with zipfile.ZipFile(packed) as archive:
        names = archive.namelist()
        north = lxml.html.fromstring(archive.read("diary/index.html"))
    assert "diary/style.css" in names and any(n.startswith("diary/media/") for n in names)
    assert [s.get("lang") for s in north.xpath("//section")] == ["en", "pt"]
    assert "North" in words(north) and "Escola do Norte (escola mentorada)" in words(north)


async def test_a_file_gone_from_the_media_folder_is_named_and_a_pseudonym_shown(
    harness: Harness, settings: Settings, tmp_path: Path
) -> None:
    export = only(await diary(harness, tmp_path), "Demo Cluster")
    school = next(s for s in export["clusters"][0]["schools"] if s["entries"])
    first, second = school["entries"]
    first["author"] = {"name": None, "pseudonym": "T7Q2"}  # as an entry kept without a name
    media = MediaStore(settings.resolved_media_dir)
    document = next(i for i in second["evidence"] if i["kind"] == "document")
    media.path_for(document["sha256"]).unlink()

    site = tmp_path / "site"
    assert await write_html(export, media=media, destination=site) == 1
    text = words(page(site / f"school-{school['id']}.html"))
    assert "document: Plano de leitura.pdf (the file is no longer kept)" in text
    assert "participant T7Q2, " in text and text.count("Ana, ") == 2
    assert not [p for p in (site / "media").iterdir() if "Plano" in p.name]

    out = tmp_path / "diary.zip"
    assert await write_markdown(export, media=media, destination=out) == 1
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        markdown = archive.read("cluster-diary.md").decode()
    assert document["file"] not in names and len(names) == 3
    assert "    - document: Plano de leitura.pdf (the file is no longer kept)" in markdown
    assert "- *participant T7Q2, " in markdown


def test_photos_are_turned_upright_shrunk_and_stripped(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the camera was held on its side
    exif[0x010F] = "TestCam"
    Image.new("RGB", (3000, 2000), (30, 90, 200)).save(tmp_path / "big.jpg", exif=exif)
    # Decoded at a quarter of its size (the smallest that keeps 640 pixels), then turned.
    assert _shrink(tmp_path / "big.jpg", tmp_path / "small.jpg") == (500, 750)
    with Image.open(tmp_path / "small.jpg") as small:
        assert small.format == "JPEG" and not dict(small.getexif())
    assert (tmp_path / "small.jpg").stat().st_mode & 0o777 == 0o600
    Image.new("RGB", (2400, 1800), (30, 90, 200)).save(tmp_path / "big.png")
    assert _shrink(tmp_path / "big.png", tmp_path / "png.jpg") == (PHOTO_PX, 768)
    Image.new("RGB", (300, 200)).save(tmp_path / "tiny.jpg")
    assert _shrink(tmp_path / "tiny.jpg", tmp_path / "tiny-out.jpg") == (300, 200)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not a photo")
    assert _shrink(tmp_path / "broken.jpg", tmp_path / "none.jpg") is None
    assert not (tmp_path / "none.jpg").exists()


async def test_the_markdown_has_the_same_diary_and_the_files_it_names(
    harness: Harness, settings: Settings, tmp_path: Path
) -> None:
    export = only(await diary(harness, tmp_path), "Demo Cluster")
    out = tmp_path / "diary.zip"
    media = MediaStore(settings.resolved_media_dir)
    assert await write_markdown(export, media=media, destination=out) == 0
    assert out.stat().st_mode & 0o777 == 0o600
    with zipfile.ZipFile(out) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    text = files.pop("cluster-diary.md").decode()
    (cluster,) = export["clusters"]
    evidence = [i for s in cluster["schools"] for e in s["entries"] for i in e["evidence"]]
    # Named as the JSON export names them, with the bytes the media store keeps.
    assert sorted(files) == sorted(i["file"] for i in evidence)
    for item in evidence:
        assert hashlib.sha256(files[item["file"]]).hexdigest() == item["sha256"]

    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings[:5] == [
        "# Cluster Diary",
        "## Demo Cluster",
        "### Schools",
        "### Coordinators",
        "### Hillview Primary",
    ]
    assert headings[5:11] == ["#### How the focus was chosen", *(f"#### {s}" for s in SECTIONS)]
    assert "**Mentoring focus: Reading for pleasure**" in text
    hillview = next(s for s in cluster["schools"] if s["entries"])
    for entry in hillview["entries"]:
        assert f"- *Ana, {day(entry['submitted'], cluster)}*" in text
    for line in (
        "  - **Why it matters:** Pupils read aloud to each other",
        "    \\<script\\>alert('x')\\</script\\> \\& \\*not bold\\*",
        "    - ![photo: a.jpg](files/",
        "    - [document: Plano de leitura.pdf](files/",
        "      Transcript: We read for ten minutes every morning.",
        "  - **Reflection:** It worked better than we hoped.",
        f"### Cluster meetings\n\n- {MET}",
    ):
        assert line in text, line
    for left_out in LEFT_OUT:
        assert left_out not in text, left_out


async def test_the_markdown_shows_what_people_typed_as_text(
    harness: Harness, settings: Settings, tmp_path: Path
) -> None:
    markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py renders the check")
    export = only(await diary(harness, tmp_path), "Demo Cluster")
    out = tmp_path / "diary.zip"
    await write_markdown(export, media=MediaStore(settings.resolved_media_dir), destination=out)
    with zipfile.ZipFile(out) as archive:
        html = markdown_it.MarkdownIt("commonmark").render(
            archive.read("cluster-diary.md").decode()
        )
    tree = lxml.html.fromstring(html)
    assert not tree.xpath("//script") and "<em>not bold" not in html
    assert f"{SCRIPT} & *not bold*" in tree.text_content()


CHROMIUM = shutil.which("chromium")


def screenshot(url: str, png: Path, size: tuple[int, int]) -> Image.Image:
    """What headless Chromium shows of `url` in a window of `size`, offline."""
    profile = png.parent / f"profile-{png.stem}"  # its own, so parallel runs never share one
    command = [
        CHROMIUM or "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--window-size={size[0]},{size[1]}",
        f"--screenshot={png}",
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0 and png.is_file(), done.stderr[-2000:]
    if keep := os.environ.get("DIARYBOT_KEEP_SCREENSHOTS"):
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, keep)
    with Image.open(png) as image:
        return image.convert("RGB")


def count(image: Image.Image, test: Any) -> int:
    return sum(
        n for n, colour in image.getcolors(maxcolors=image.width * image.height) if test(colour)
    )


async def test_the_pages_show_in_a_browser_on_a_phone_and_a_desktop(
    harness: Harness, settings: Settings, tmp_path: Path
) -> None:
    if CHROMIUM is None:
        message = "needs chromium (Debian's chromium package, installed by .ci/run)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    export = only(await diary(harness, tmp_path), "Demo Cluster")
    site = tmp_path / "site"
    await write_html(export, media=MediaStore(settings.resolved_media_dir), destination=site)
    school = next(s for s in export["clusters"][0]["schools"] if s["entries"])
    shots = tmp_path / "shots"
    shots.mkdir()
    for name in ("index.html", f"school-{school['id']}.html"):
        for width, height in ((390, 844), (1280, 900)):
            png = shots / f"{Path(name).stem}-{width}.png"
            image = await asyncio.to_thread(
                screenshot, (site / name).as_uri(), png, (width, height)
            )
            assert image.size == (width, height)
            assert len(image.getcolors(maxcolors=1 << 20) or ()) > 1, f"{png.name} is blank"
            dark = count(image, lambda c: sum(c) < 200)
            assert dark > 500, f"{png.name}: hardly any text ({dark} dark pixels)"
            if name.startswith("school"):
                # The photo came through (re-encoded, so near its red, not exactly).
                red = count(image, lambda c: c[0] > 150 and c[1] < 90 and c[2] < 90)
                assert red > 1000, f"{png.name}: the photo is not shown"
                # The table's header row shows on a desktop; a phone gets stacked blocks.
                header = count(image, lambda c: c == (230, 237, 244))
                assert (header > 1000) == (width > 700), f"{png.name}: {header} header pixels"
