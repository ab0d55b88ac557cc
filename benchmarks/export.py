"""Benchmark: the analysts' export of a whole network, per format: wall time and peak memory.

Run: .venv/bin/python -m benchmarks.export [--repeat 3] [--postgres URL] [--media DIR]
     [--formats json,csv,docx,html] [--profile docx] [--workers N]

The network (issue #14, "Speed"): 24 clusters of a mentor and four mentee schools (120 schools),
their people, roles, focus histories and meetings from `benchmarks.network`, then, with Core
inserts, 12,000 submitted entries (mentor schools write about half as much; a few people much
more than most) over the five sections, each answering two to five guiding questions in a few
sentences and most with a reflection; 2,400 photos on them (real JPEG files of 1-2 megapixels,
gradients, shapes and noise, 80 kB-1 MB and 400 kB on average, as phone photos sent through a
chat), 500 documents, 1,000 voice notes (85% transcribed), 300 links; and, not to be exported,
500 drafts, 700 deleted entries and 250 evidence items taken off or on those. The media files
(about 1.2 GB) are made once, in parallel, into a content-addressed store
(`storage.media.MediaStore`) under the run's temporary folder, or under `--media DIR`, kept
there and reused while its manifest matches.

Each export is `diarybot export`'s own code (`bot.cli_export.export_work`: every cluster's
`storage.export_data.cluster_record` in one session, then the file written) run in a fresh
process (`--child`, uvloop as the command uses), so its peak RSS (`os.wait4`) is that run's
alone. Measured: the export's wall time (read + write; the time inside `cluster_record` shown as
"read"), the process's whole wall time (interpreter start and imports included) and its peak
RSS; `--repeat` runs of each, printed as min / median / max beside the issue's targets (DOCX and
HTML: 20 s and 500 MB each) and the ratio median/target; JSON and CSV have none. DOCX is also
run for the busiest cluster alone. HTML runs once `diarybot export --format` offers it. The
outputs are checked (entries read, files in the zip or pictures in the document) and deleted.
`--profile FORMAT` runs one more export of every cluster under cProfile (the writing thread's
work run inline, so the profile sees it) and prints the top functions. SQLite always;
PostgreSQL with `--postgres URL` (a scratch database made there, dropped afterwards). Nothing is
asserted; the network is never used.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import io
import json
import os
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlmodel import SQLModel

from benchmarks.network import YEAR_DAYS, YEAR_START, Shape, generate
from handlers.sections import QUESTIONS
from storage.db import Database, hide_password
from storage.media import MediaStore, make_private_dirs
from storage.models import EntryStatus, Section, Visibility

ROOT = Path(__file__).resolve().parent.parent
CLUSTERS, SCHOOLS, ENTRIES = 24, 5, 12_000
MEDIA = {"photo": 2_400, "document": 500, "voice": 1_000}
LINKS, DRAFTS, DELETED, REMOVED = 300, 500, 700, 250
TARGETS = {"docx": (20.0, 500.0), "html": (20.0, 500.0)}  # seconds, MB of peak RSS
MEDIA_VERSION = "export-bench-media/1"
MANIFEST = "bench-manifest.json"
SIZES = ((1200, 900), (1280, 960), (1440, 1080), (1600, 1200), (1632, 1224), (1920, 1080))
DOCUMENTS = (
    ("Lesson plan week {n}.pdf", "application/pdf", b"%PDF-1.7\n"),
    ("Peer observation form {n}.docx", "application/vnd.openxmlformats-officedocument."
     "wordprocessingml.document", b"PK\x03\x04"),
    ("Reading test results – term {n}.xlsx", "application/vnd.openxmlformats-officedocument."
     "spreadsheetml.sheet", b"PK\x03\x04"),
    ("Plan rada – {n}. razred.pdf", "application/pdf", b"%PDF-1.4\n"),
    ("Feedback from pupils {n}.txt", "text/plain", b""),
)  # fmt: skip
OPENERS = (
    "This week", "In the second lesson", "During the project day", "After the mentor visit",
    "With the year 5 class", "In our maths team", "At the staff meeting", "Before the holidays",
    "On Tuesday", "In the school library", "Over the last month", "During the open lesson",
)  # fmt: skip
SUBJECTS = (
    "the pupils", "two colleagues from the mentor school", "our reading group",
    "the learners who struggle most", "Ana and Marko's class", "the science teachers",
    "Zsófia's group", "the pupils in Čakovec", "a colleague from São Brás", "the whole staff",
    "the parents who came", "our school lead", "the year 7 tutors", "Nguyễn's study group",
)  # fmt: skip
VERBS = (
    "tried", "discussed", "compared", "planned", "observed", "recorded", "shared", "evaluated",
    "practised", "questioned", "rewrote", "presented",
)  # fmt: skip
OBJECTS = (
    "a new routine for group work", "peer feedback on written tasks",
    "short formative quizzes at the start of each lesson", "the reading-for-pleasure corner",
    "how we give instructions to mixed classes", "a rubric for oral presentations",
    "the results of the first reading test", "exit tickets in every subject",
    "a shared plan for co-teaching", "the ideas from the cluster meeting",
    "how often pupils ask their own questions", "a project on the town's old bridge",
)  # fmt: skip
TAILS = (
    "and it worked better than we expected.", "but we need more time to see results.",
    "so we will repeat it next month.", "which the parents also noticed.",
    "and the quieter pupils spoke up more often.", "although the timetable made it hard.",
    "and we wrote down what to change.", "with help from the mentor school.",
    "because last term's attempt was too rushed.", "and three colleagues want to join in.",
)  # fmt: skip


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def _sentences(rng: random.Random, n: int) -> str:
    return " ".join(
        f"{rng.choice(OPENERS)}, {rng.choice(SUBJECTS)} {rng.choice(VERBS)} "
        f"{rng.choice(OBJECTS)} {rng.choice(TAILS)}"
        for _ in range(n)
    )


# -- media files: made once, in worker processes, straight into a content-addressed store ----

_NOISE: list[Any] = []  # a noise tile per worker process, cropped differently for each photo


def _photo(rng: random.Random) -> tuple[bytes, str]:
    from PIL import Image, ImageDraw, ImageOps

    if not _NOISE:
        _NOISE.append(Image.effect_noise((2048, 2048), 40))
    w, h = rng.choice(SIZES)
    if rng.random() < 0.25:
        w, h = h, w  # portrait

    def colour() -> tuple[int, int, int]:
        return (rng.randrange(256), rng.randrange(256), rng.randrange(256))

    lines = Image.linear_gradient("L").rotate(rng.uniform(0, 360)).resize((w, h))
    circle = Image.radial_gradient("L").resize((w, h))
    image = Image.blend(
        ImageOps.colorize(lines, colour(), colour()),
        ImageOps.colorize(circle, colour(), colour()),
        rng.uniform(0.2, 0.6),
    )
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randrange(8, 30)):
        x, y = rng.randrange(w), rng.randrange(h)
        box = (x, y, x + rng.randrange(20, w // 3), y + rng.randrange(20, h // 3))
        (draw.rectangle if rng.random() < 0.5 else draw.ellipse)(box, fill=colour())
    crops = []
    for _ in range(3):
        x, y = rng.randrange(2048 - w + 1), rng.randrange(2048 - h + 1)
        crops.append(_NOISE[0].crop((x, y, x + w, y + h)))
    image = Image.blend(image, Image.merge("RGB", crops), rng.uniform(0.1, 0.45))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=rng.choice((80, 85, 90)))
    return out.getvalue(), "image/jpeg"


def _make_media(job: tuple[str, int, str]) -> dict[str, Any]:
    """One media file of `kind`, written into the store at `root`; its manifest record."""
    kind, seed, root = job
    rng = random.Random(f"{kind}-{seed}")
    record: dict[str, Any] = {"kind": kind, "filename": None, "duration_s": None}
    if kind == "photo":
        data, record["mime"] = _photo(rng)
    elif kind == "document":
        name, record["mime"], head = rng.choice(DOCUMENTS)
        record["filename"] = name.format(n=rng.randrange(1, 13))
        data = head + rng.randbytes(int(rng.lognormvariate(11.8, 0.8)))  # about 130 kB
    else:  # a voice note: Opus at about 2 kB a second
        record["mime"], record["duration_s"] = "audio/ogg", round(rng.uniform(5, 180), 1)
        data = b"OggS" + rng.randbytes(int(record["duration_s"] * 2000))
    digest = hashlib.sha256(data).hexdigest()
    path = MediaStore(Path(root)).path_for(digest)
    make_private_dirs(path.parent)
    path.write_bytes(data)
    return {**record, "sha256": digest, "size": len(data)}


def media_store(root: Path, workers: int) -> list[dict[str, Any]]:
    """The store's files (made now unless its manifest says they are there already)."""
    manifest, wanted = root / MANIFEST, {"version": MEDIA_VERSION, "counts": MEDIA}
    if manifest.is_file():
        found = json.loads(manifest.read_text())
        if {k: found.get(k) for k in wanted} == wanted:
            print(f"media: {len(found['files']):,} files reused from {root}", flush=True)
            return found["files"]
    began = time.perf_counter()
    make_private_dirs(root)
    jobs = [(kind, n, str(root)) for kind, count in MEDIA.items() for n in range(count)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        files = list(pool.map(_make_media, jobs, chunksize=16))
    manifest.write_text(json.dumps({**wanted, "files": files}))
    sizes = [f["size"] for f in files if f["kind"] == "photo"]
    print(
        f"media: {len(files):,} files made in {time.perf_counter() - began:.0f} s "
        f"({workers} processes) into {root}; photos {min(sizes) // 1024}-"
        f"{max(sizes) // 1024} kB, {sum(sizes) / 2**20:,.0f} MB together",
        flush=True,
    )
    return files


# -- the database: the network's skeleton, then the entries, evidence and meeting answers ----


async def _rows_of(db: Database, sql: str) -> list[Any]:
    async with db.engine.connect() as conn:
        return list((await conn.execute(text(sql))).all())


def _entries_and_evidence(
    rng: random.Random,
    schools: list[Any],
    writers: dict[int, list[int]],
    coordinators: dict[int, int],
    meetings: dict[int, list[int]],
    files: list[dict[str, Any]],
    first_id: dict[str, int],
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    """The rows to insert and what the export must hold (entries and files, per cluster)."""
    entries: list[dict[str, Any]] = []
    evidence: list[dict[str, Any]] = []
    cluster_of = {sid: cid for sid, cid, _ in schools}
    weights = {pid: rng.lognormvariate(0.0, 1.0) for pids in writers.values() for pid in pids}
    school_weights = [0.5 if kind == "mentor" else 1.0 for _, _, kind in schools]

    def entry(status: str) -> dict[str, Any]:
        sid = rng.choices(schools, school_weights)[0][0]
        section = rng.choices(list(Section), (3, 4, 3, 3, 1))[0]
        if section == Section.MEETING_NOTES:
            author = coordinators[cluster_of[sid]]
            keys = QUESTIONS[section][: rng.randrange(1, 3)]
        else:
            staff = writers[sid]
            author = rng.choices(staff, [weights[p] for p in staff])[0]
            keys = tuple(rng.sample(QUESTIONS[section], rng.randrange(2, 6)))
        created = YEAR_START + timedelta(seconds=rng.randrange(YEAR_DAYS * 86400))
        submitted = None if status == EntryStatus.DRAFT else created + timedelta(minutes=20)
        anonymised = rng.random() < 0.03
        row = {
            "id": first_id["diary_entries"] + len(entries),
            "school_id": sid,
            "section": section,
            "author_id": author,
            "activity": {k: _sentences(rng, rng.randrange(1, 5)) for k in keys},
            "reflection": _sentences(rng, rng.randrange(1, 5)) if rng.random() < 0.65 else "",
            "status": status,
            "visibility": Visibility.CLUSTER
            if anonymised
            else rng.choices(list(Visibility), (6, 3, 1))[0],
            "language": "en",
            "created_at": created,
            "updated_at": submitted or created,
            "submitted_at": submitted,
            "deleted_at": created + timedelta(days=3) if status == EntryStatus.DELETED else None,
            "meeting_id": rng.choice(meetings[cluster_of[sid]])
            if section == Section.MEETING_NOTES
            else None,
            "anonymised": anonymised,
        }
        entries.append(row)
        return row

    submitted = [entry(EntryStatus.SUBMITTED) for _ in range(ENTRIES)]
    hidden = [entry(EntryStatus.DRAFT) for _ in range(DRAFTS)]
    hidden += [entry(EntryStatus.DELETED) for _ in range(DELETED)]
    expect: dict[str, Any] = {
        "entries": Counter(cluster_of[e["school_id"]] for e in submitted),
        "files": Counter(),
        "photos": Counter(),
    }

    def item(on: dict[str, Any], media: dict[str, Any] | None, removed: bool = False) -> None:
        at = on["created_at"] + timedelta(minutes=rng.randrange(1, 20))
        said = None
        if media and media["kind"] == "voice" and rng.random() < 0.85:
            said = _sentences(rng, max(1, round(media["duration_s"] / 8)))
        evidence.append(
            {
                "id": first_id["evidence_items"] + len(evidence),
                "entry_id": on["id"],
                "kind": media["kind"] if media else "link",
                "media_hash": media and media["sha256"],
                "url": None if media else f"https://school{rng.randrange(99)}.example/lesson",
                "mime": media["mime"] if media else "",
                "size": media and media["size"],
                "filename": media and media["filename"],
                "caption": _sentences(rng, 1) if rng.random() < 0.4 else "",
                "duration_s": media and media["duration_s"],
                "transcript": said,
                "created_at": at,
                "removed_at": at + timedelta(days=1) if removed else None,
            }
        )
        if media and not removed and on["status"] == EntryStatus.SUBMITTED:
            cluster = cluster_of[on["school_id"]]
            expect["files"][cluster] += 1
            expect["photos"][cluster] += media["kind"] == "photo"

    # About one entry in ten has photos (one to four); documents and voice notes fall anywhere.
    with_photos = rng.sample(submitted, 1_100)
    for n, media in enumerate(f for f in files if f["kind"] == "photo"):
        item(with_photos[n] if n < len(with_photos) else rng.choice(with_photos), media)
    for media in (f for f in files if f["kind"] != "photo"):
        item(rng.choice(submitted), media)
    for _ in range(LINKS):
        item(rng.choice(submitted), None)
    for _ in range(REMOVED):  # taken off a submitted entry, or on a draft or a deleted one
        on = rng.choice(submitted) if rng.random() < 0.5 else rng.choice(hidden)
        item(on, rng.choice(files), removed=on["status"] == EntryStatus.SUBMITTED)
    evidence.sort(key=lambda row: (row["entry_id"], row["created_at"]))
    for n, row in enumerate(evidence):  # ids in the order the items were added
        row["id"] = first_id["evidence_items"] + n
    return {"diary_entries": entries, "evidence_items": evidence}, expect


async def fill(db: Database, files: list[dict[str, Any]]) -> dict[str, Any]:
    """The network in a migrated database; what its export must hold."""
    rng = random.Random(14)
    shape = Shape(clusters=CLUSTERS, schools_per_cluster=SCHOOLS, entries=1, evidence=0)
    await generate(db, shape=shape, seed=14)
    async with db.engine.begin() as conn:  # the generator's one entry (it cannot make none)
        await conn.execute(text("DELETE FROM audit_log WHERE target LIKE 'entry:%'"))
        await conn.execute(text("DELETE FROM diary_entries"))
    schools = await _rows_of(db, "SELECT id, cluster_id, kind FROM schools ORDER BY id")
    writers: dict[int, list[int]] = defaultdict(list)
    coordinators, members, meetings = {}, defaultdict(set), defaultdict(list)
    for pid, cid, sid, role in await _rows_of(
        db, "SELECT person_id, cluster_id, school_id, role FROM roles ORDER BY id"
    ):
        members[cid].add(pid)
        if sid is not None:
            writers[sid].append(pid)
        elif role == "cluster_coordinator":
            coordinators[cid] = pid
    for mid, cid in await _rows_of(db, "SELECT id, cluster_id FROM meetings ORDER BY id"):
        meetings[cid].append(mid)
    first_id = {"diary_entries": 1, "evidence_items": 1}
    rows, expect = _entries_and_evidence(
        rng, schools, writers, coordinators, meetings, files, first_id
    )
    rows["meeting_answers"] = answers = []
    for cid, mids in meetings.items():
        for mid in mids:
            for pid in sorted(rng.sample(sorted(members[cid]), len(members[cid]) * 3 // 5)):
                answer = rng.choices(("coming", "maybe", "not_coming"), (6, 2, 2))[0]
                attended = answer != "not_coming" and rng.random() < 0.9
                answers.append(
                    {
                        "id": len(answers) + 1,
                        "meeting_id": mid,
                        "person_id": pid,
                        "answer": answer,
                        "attended": attended,
                        "updated_at": YEAR_START,
                    }
                )
    async with db.engine.begin() as conn:
        for name, table_rows in rows.items():
            table = SQLModel.metadata.tables[name]
            for start in range(0, len(table_rows), 2000):
                await conn.execute(insert(table), table_rows[start : start + 2000])
            if db.dialect == "postgresql":  # explicit ids leave the sequence behind
                await conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), {len(table_rows)})"
                    )
                )
        if db.dialect == "postgresql":
            await conn.execute(text("ANALYZE"))  # as autovacuum would
    expect["busiest"] = expect["entries"].most_common(1)[0][0]
    expect["evidence"] = len(rows["evidence_items"])
    return expect


# -- one export in a process of its own ------------------------------------------------------


async def _export(spec: dict[str, Any]) -> dict[str, Any]:
    import bot.cli_export as cli_export
    from bot.cli_args import parser
    from bot.settings import Settings
    from storage.export_data import cluster_record as real

    scope = ["--cluster", str(spec["cluster"])] if spec["cluster"] else ["--all"]
    argv = ["export", *scope, "--format", spec["format"], "-o", spec["output"]]
    args = parser().parse_args(argv)
    settings = Settings(database_url=spec["url"], media_dir=Path(spec["media"]))
    read = {"seconds": 0.0, "entries": 0}

    async def timed_record(session: Any, *, cluster: Any, **options: Any) -> dict[str, Any]:
        start = time.perf_counter()
        record = await real(session, cluster=cluster, **options)
        read["seconds"] += time.perf_counter() - start
        read["entries"] += sum(len(school["entries"]) for school in record["schools"])
        return record

    for module in list(sys.modules.values()):  # wherever the export imported it from
        if getattr(module, "cluster_record", None) is real:
            module.cluster_record = timed_record  # type: ignore[attr-defined]
    db = Database(settings.resolved_database_url)
    try:
        await db.upgrade()  # as `diarybot` does first: a version check
        start = time.perf_counter()
        await cli_export.export_work(args, settings)(db)
        return {"export_s": time.perf_counter() - start, **read}
    finally:
        await db.close()


def child(spec: dict[str, Any]) -> None:
    """Run one export as `diarybot export` would (uvloop if installed) and print its timing."""
    try:
        import uvloop

        factory: Any = uvloop.new_event_loop
    except ImportError:
        factory = None
    if spec.get("profile"):

        async def inline(func: Any, /, *args: Any, **kwargs: Any) -> Any:
            return func(*args, **kwargs)

        asyncio.to_thread = inline  # cProfile sees only the thread that enabled it
        profile = cProfile.Profile()
        with asyncio.Runner(loop_factory=factory) as runner:
            result = profile.runcall(runner.run, _export(spec))
        stats = pstats.Stats(profile, stream=sys.stdout)
        for order in ("tottime", "cumulative"):
            print(f"\n-- top functions by {order} (under the profiler, so slower)")
            stats.sort_stats(order).print_stats(22)
    else:
        with asyncio.Runner(loop_factory=factory) as runner:
            result = runner.run(_export(spec))
    print("RESULT " + json.dumps(result), flush=True)


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    """One export in a fresh process: its timing, whole wall time and peak RSS (MB)."""
    command = [sys.executable, "-m", "benchmarks.export", "--child", json.dumps(spec)]
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        said = out.read()
    lines = said.splitlines()
    if proc.returncode or not lines or not lines[-1].startswith("RESULT "):
        raise RuntimeError(f"export failed ({proc.returncode}):\n{said[-3000:]}")
    result = json.loads(lines[-1].removeprefix("RESULT "))
    result.update(process_s=wall, rss_mb=usage.ru_maxrss / 1024, said="\n".join(lines[:-1]))
    return result


def check(path: Path, fmt: str, expected: tuple[int, int], entries: int) -> str:
    """What the output holds beside what it must: entries read, files or pictures in it.

    A zip of JSON or CSV holds a file per exported media item under `files/`, a Word document
    a picture per photo; another format (a folder, or a zip of one) is counted, not judged.
    """
    want_entries, want_files = expected
    if path.is_dir():
        found = [f for f in path.rglob("*") if f.is_file()]
        names, size = (
            [str(f.relative_to(path)) for f in found],
            sum(f.stat().st_size for f in found),
        )
    else:
        with zipfile.ZipFile(path) as archive:
            names, size = archive.namelist(), path.stat().st_size
    prefix = {"docx": "word/media/", "json": "files/", "csv": "files/"}.get(fmt)
    what = "pictures" if fmt == "docx" else "files"
    files = sum(name.startswith(prefix or "") for name in names)
    ok = entries == want_entries and (prefix is None or files == want_files)
    verdict = "ok" if ok else f"EXPECTED {want_entries:,} entries, {want_files:,} {what}"
    verdict += "" if prefix else "; files not checked"
    return f"{entries:,} entries, {files:,} {what}, {size / 2**20:,.0f} MB ({verdict})"


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def export_formats() -> tuple[str, ...]:
    """The formats `diarybot export --format` accepts today."""
    from bot.cli_args import parser

    commands = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    export = commands.choices["export"]
    return tuple(next(a.choices or () for a in export._actions if a.dest == "format"))


def cells(values: list[float], target: float | None, fmt: str) -> str:
    mid = statistics.median(values)
    shown = "".join(f"{v:{fmt}}" for v in (min(values), mid, max(values)))
    if target is None:
        return f"{shown}{'—':>7}{'':>6}"
    return f"{shown}{target:7.0f}{mid / target:6.2f}"


def bench(kind: str, url: str, media: Path, expect: dict[str, Any], args: Any) -> None:
    """Every export of one database, `--repeat` times each, and its table."""
    offered = export_formats()
    one = expect["busiest"]
    jobs = [(fmt, scope) for fmt in args.formats if fmt in offered for scope in (None, one)]
    jobs = [(fmt, scope) for fmt, scope in jobs if scope is None or fmt == "docx"]
    print(
        f"{'':24}{'export (read + write), s':^34}{'peak RSS, MB':^34}{'median s':^17}"
        f"{'load':>6}\n{'format, scope':24}"
        + f"{'min':>7}{'median':>7}{'max':>7}{'target':>7}{'ratio':>6}" * 2
        + f"{'read':>8}{'process':>9}{'1 min':>6}"
    )
    notes = []
    for fmt, cluster in jobs:
        spec = {"url": url, "media": str(media), "format": fmt, "cluster": cluster}
        suffix = {"json": ".zip", "csv": ".zip", "docx": ".docx"}.get(fmt, "")  # html: a folder
        spec["output"] = str(Path(args.tmp) / f"export-{uuid.uuid4().hex[:8]}{suffix}")
        runs = []
        for _ in range(args.repeat):
            runs.append(run_child(spec))
            entries = expect["entries"][cluster] if cluster else sum(expect["entries"].values())
            counted = expect["photos" if fmt == "docx" else "files"]
            files = counted[cluster] if cluster else sum(counted.values())
            note = check(Path(spec["output"]), fmt, (entries, files), runs[-1]["entries"])
            remove(Path(spec["output"]))
        seconds, memory = TARGETS.get(fmt, (None, None))
        label = f"{fmt}, " + (f"one cluster ({cluster})" if cluster else f"all {CLUSTERS} clusters")
        median = [statistics.median(r[k] for r in runs) for k in ("seconds", "process_s")]
        print(
            f"{label:24}{cells([r['export_s'] for r in runs], seconds, '7.1f')}"
            f"{cells([r['rss_mb'] for r in runs], memory, '7.0f')}"
            f"{median[0]:8.1f}{median[1]:9.1f}{os.getloadavg()[0]:6.1f}",
            flush=True,
        )
        notes.append(f"{label}: {note}")
    for fmt in args.formats:
        if fmt not in offered:
            seconds, memory = TARGETS.get(fmt, (0, 0))
            label = f"{fmt}, all {CLUSTERS} clusters"
            print(
                f"{label:24}not built yet: no `diarybot export --format {fmt}` (target "
                f"{seconds:.0f} s, {memory:.0f} MB)"
            )
    print("\n".join(notes))
    if args.profile:
        spec = {"url": url, "media": str(media), "format": args.profile, "cluster": None}
        spec.update(output=str(Path(args.tmp) / f"profile-{args.profile}"), profile=True)
        result = run_child(spec)
        remove(Path(spec["output"]))
        print(f"\n== profile of {args.profile}, all clusters ({kind}): {result['export_s']:.1f} s")
        print(result["said"])


async def prepare(url: str, files: list[dict[str, Any]]) -> dict[str, Any]:
    db = Database(url)
    try:
        await db.upgrade()
        began = time.perf_counter()
        expect = await fill(db, files)
        entries, photos = sum(expect["entries"].values()), sum(expect["photos"].values())
        print(
            f"filled in {time.perf_counter() - began:.1f} s: {entries:,} submitted entries, "
            f"{expect['evidence']:,} evidence items ({photos:,} photos exported); {load()}",
            flush=True,
        )
        return expect
    finally:
        await db.close()


async def postgres_database(admin_url: str, action: str, name: str) -> bool:
    import asyncpg

    try:
        admin = await asyncpg.connect(admin_url, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"\nPostgreSQL not reachable at {hide_password(admin_url)}: {exc}; skipped")
        return False
    try:
        if action == "create":
            await admin.execute(f'CREATE DATABASE "{name}"')
        else:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
    return True


def main(args: argparse.Namespace) -> None:
    print(
        f"export benchmark: {CLUSTERS} clusters, {CLUSTERS * SCHOOLS} schools, {ENTRIES:,} "
        f"entries, {MEDIA['photo']:,} photos; repeat {args.repeat}; start {load()}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="export-bench-") as tmp:
        args.tmp = tmp
        media = args.media or Path(tmp) / "media"
        files = media_store(media, args.workers)
        url = f"sqlite:///{tmp}/export.sqlite3"
        print("\n== sqlite")
        expect = asyncio.run(prepare(url, files))
        bench("sqlite", url, media, expect, args)
        if args.postgres:
            plain = args.postgres.replace("postgresql+asyncpg://", "postgresql://")
            name = f"export_{uuid.uuid4().hex[:12]}"
            if asyncio.run(postgres_database(plain, "create", name)):
                try:
                    url = f"{plain.rsplit('/', 1)[0]}/{name}"
                    print("\n== postgresql")
                    expect = asyncio.run(prepare(url, files))
                    bench("postgresql", url, media, expect, args)
                finally:
                    asyncio.run(postgres_database(plain, "drop", name))
    print(f"\nend {load()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", metavar="URL", help="also on PostgreSQL (a scratch db)")
    parser.add_argument("--media", type=Path, help="keep the media files here, reused next time")
    parser.add_argument(
        "--formats", type=lambda s: s.split(","), default=["json", "csv", "docx", "html"]
    )
    parser.add_argument("--profile", metavar="FORMAT", help="also one export under cProfile")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--child", metavar="JSON", help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.child:
        child(json.loads(parsed.child))
    else:
        main(parsed)
