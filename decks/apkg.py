"""Anki packages in and out: read any .apkg/.colpkg Anki writes (legacy
`collection.anki2`, `collection.anki21`, or the zstd/schema-18
`collection.anki21b`) into a schema-11 collection plus media files, and write
a legacy .apkg that every Anki version imports.

Uploads are untrusted. Sizes are checked from the zip directory before
anything is extracted and again while bytes stream out (declared sizes can
lie), media names may not leave the work directory, and the collection handed
back is always a fresh file built from our own schema-11 DDL: rows are copied
out of the upload, its schema (triggers, views, indexes) never is.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import re
import shutil
import sqlite3
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

import zstandard

from decks.anki import SCHEMA_SQL
from decks.anki21b import ProtoError, ProtoMessage, legacy_col_json, unicase_collation

MiB = 1024 * 1024
_CHUNK = 256 * 1024
_ZSTD_MAX_WINDOW = 1 << 27

_COLLECTION_NAMES = {1: "collection.anki2", 2: "collection.anki21", 3: "collection.anki21b"}
_SOURCE_FORMATS = {1: "legacy-anki2", 2: "legacy-anki21", 3: "latest-anki21b"}
_LATEST_VERSION = 3
_META_MAX_BYTES = 1024
_NOTE_FIELD_SEPARATOR = "\x1f"

# Row tables are identical in schemas 11 and 18 except for the order of the
# graves columns, so rows are copied by column name.
_ROW_COLUMNS = {
    "notes": "id, guid, mid, mod, usn, tags, flds, sfld, csum, flags, data",
    "cards": "id, nid, did, ord, mod, usn, type, queue, due, ivl, factor, reps, lapses, "
    "left, odue, odid, flags, data",
    "revlog": "id, cid, usn, ease, ivl, lastIvl, factor, time, type",
    "graves": "usn, oid, type",
}
_COL_COLUMNS = "id, crt, mod, scm, ver, dty, usn, ls, conf, models, decks, dconf, tags"
_COL_JSON_COLUMNS = ("conf", "models", "decks", "dconf", "tags")
_SCHEMA18_TABLES = frozenset(
    {"notetypes", "fields", "templates", "decks", "deck_config", "config", "tags"}
)


# --- public types ------------------------------------------------------------


@dataclass(frozen=True)
class PackageLimits:
    """The zip-bomb guard: what an uploaded package may hold."""

    max_upload_bytes: int = 200 * MiB
    max_entries: int = 20_000
    max_collection_bytes: int = 500 * MiB
    max_media_file_bytes: int = 100 * MiB
    max_total_bytes: int = 1024 * MiB
    # An entry may expand at most max_ratio times its stored size, once it
    # is bigger than ratio_exempt_bytes (tiny files compress absurdly well).
    max_ratio: int = 200
    ratio_exempt_bytes: int = 1 * MiB


class PackageError(Exception):
    """A package we cannot read; `code` is for machines, the message for people."""

    code = "bad_package"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAZip(PackageError):
    code = "not_a_zip"


class NoCollection(PackageError):
    code = "no_collection"


class UnknownSchema(PackageError):
    code = "unknown_schema"


class CorruptCollection(PackageError):
    code = "corrupt_collection"


class PackageTooLarge(PackageError):
    code = "package_too_large"


class BadMedia(PackageError):
    code = "bad_media"


@dataclass
class PackageContents:
    """What package_read unpacked: `media` maps real file names to files."""

    collection_path: Path
    media: dict[str, Path]
    source_format: str
    schema_version: int


@dataclass(frozen=True)
class ExportSummary:
    """What package_write put in the package; `bytes` is the package size."""

    notes: int
    cards: int
    revlog: int
    media_files: int
    bytes: int


# --- reading -----------------------------------------------------------------


class _Budget:
    """Bytes written so far across every entry of one package."""

    def __init__(self, limits: PackageLimits) -> None:
        self.limits = limits
        self.total = 0

    def spend(self, size: int) -> None:
        self.total += size
        if self.total > self.limits.max_total_bytes:
            raise PackageTooLarge("the package expands to more than the allowed total size")


def package_read(
    source: BinaryIO | Path, *, workdir: Path, limits: PackageLimits = PackageLimits()
) -> PackageContents:
    """Unpack an .apkg or .colpkg into `workdir`: `collection.anki2` (schema 11,
    converted from schema 18 when the package is in the latest format) and the
    media files under `media/`. Raises PackageError; after an error the work
    directory holds leftovers for the caller to remove.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    with _upload_stream(source, workdir, limits) as stream, _open_zip(stream) as archive:
        _check_directory(archive, limits)
        version = _package_version(archive)
        budget = _Budget(limits)
        collection_path, schema = _extract_collection(archive, version, workdir, budget)
        media = _extract_media(archive, version, workdir, budget)
    return PackageContents(
        collection_path=collection_path,
        media=media,
        source_format=_SOURCE_FORMATS[version],
        schema_version=schema,
    )


@contextlib.contextmanager
def _upload_stream(
    source: BinaryIO | Path, workdir: Path, limits: PackageLimits
) -> Iterator[IO[bytes]]:
    if isinstance(source, Path):
        if source.stat().st_size > limits.max_upload_bytes:
            raise PackageTooLarge("the upload is larger than allowed")
        with source.open("rb") as stream:
            yield stream
        return
    size = _remaining_size(source)
    if size is not None:
        if size > limits.max_upload_bytes:
            raise PackageTooLarge("the upload is larger than allowed")
        yield source
        return
    # zipfile needs to seek: spool a one-way stream to disk, within the limit.
    with tempfile.TemporaryFile(dir=workdir) as spooled:
        _copy_capped(source, spooled, limits.max_upload_bytes)
        spooled.seek(0)
        yield spooled


def _remaining_size(stream: BinaryIO) -> int | None:
    try:
        if not stream.seekable():
            return None
        start = stream.tell()
        end = stream.seek(0, 2)
        stream.seek(start)
    except (AttributeError, OSError):
        return None
    return end - start


def _copy_capped(source: IO[bytes], target: IO[bytes], cap: int) -> None:
    copied = 0
    while chunk := source.read(_CHUNK):
        copied += len(chunk)
        if copied > cap:
            raise PackageTooLarge("the upload is larger than allowed")
        target.write(chunk)


@contextlib.contextmanager
def _open_zip(stream: IO[bytes]) -> Iterator[zipfile.ZipFile]:
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as error:
        raise NotAZip("the file is not a zip archive") from error
    with archive:
        yield archive


def _entry_limit(name: str, limits: PackageLimits) -> int:
    if name in _COLLECTION_NAMES.values():
        return limits.max_collection_bytes
    return limits.max_media_file_bytes


def _check_directory(archive: zipfile.ZipFile, limits: PackageLimits) -> None:
    entries = archive.infolist()
    if len(entries) > limits.max_entries:
        raise PackageTooLarge(f"the package has more than {limits.max_entries} files")
    if len({entry.filename for entry in entries}) != len(entries):
        raise NotAZip("the zip archive lists a file twice")
    declared_total = 0
    for entry in entries:
        if entry.flag_bits & 0x1:
            raise NotAZip("the zip archive is encrypted")
        if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            # Anki writes nothing else; other codecs only widen what can go wrong.
            raise NotAZip(f"{entry.filename!r} uses an unsupported compression method")
        if entry.file_size > _entry_limit(entry.filename, limits):
            raise PackageTooLarge(f"{entry.filename!r} is larger than allowed")
        if _ratio_exceeded(entry.file_size, entry.compress_size, limits):
            raise PackageTooLarge(f"{entry.filename!r} is compressed suspiciously well")
        declared_total += entry.file_size
    if declared_total > limits.max_total_bytes:
        raise PackageTooLarge("the package expands to more than the allowed total size")


def _ratio_exceeded(size: int, stored_size: int, limits: PackageLimits) -> bool:
    return size > limits.ratio_exempt_bytes and size > limits.max_ratio * max(stored_size, 1)


def _package_version(archive: zipfile.ZipFile) -> int:
    """The package format, decided the way Anki decides it."""
    names = set(archive.namelist())
    if "meta" not in names:
        return 2 if "collection.anki21" in names else 1
    with _zip_errors(), archive.open("meta") as stream:
        data = stream.read(_META_MAX_BYTES + 1)
    if len(data) > _META_MAX_BYTES:
        raise UnknownSchema("the package metadata is not Anki's")
    try:
        version = ProtoMessage(data).uint(1)
    except ProtoError as error:
        raise UnknownSchema("the package metadata is unreadable") from error
    if version not in _COLLECTION_NAMES:
        raise UnknownSchema(f"unknown package version {version}; is this from a newer Anki?")
    return version


@contextlib.contextmanager
def _zip_errors() -> Iterator[None]:
    try:
        yield
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
        raise NotAZip(f"the zip archive is damaged: {error}") from error


def _extract_entry(
    archive: zipfile.ZipFile,
    name: str,
    out: IO[bytes],
    *,
    zstd: bool,
    limit: int,
    budget: _Budget,
) -> None:
    """Stream one entry into `out`, enforcing the limits on the real bytes."""
    entry = archive.getinfo(name)
    with _zip_errors(), archive.open(entry) as stored:
        reader: IO[bytes] = stored
        if zstd:
            decompressor = zstandard.ZstdDecompressor(max_window_size=_ZSTD_MAX_WINDOW)
            reader = decompressor.stream_reader(stored, read_across_frames=True)
        written = 0
        while chunk := reader.read(_CHUNK):
            written += len(chunk)
            if written > limit or _ratio_exceeded(written, entry.compress_size, budget.limits):
                raise PackageTooLarge(f"{name!r} expands to more than allowed")
            budget.spend(len(chunk))
            out.write(chunk)


def _extract_collection(
    archive: zipfile.ZipFile, version: int, workdir: Path, budget: _Budget
) -> tuple[Path, int]:
    name = _COLLECTION_NAMES[version]
    if name not in archive.namelist():
        raise NoCollection(f"the package has no {name}")
    upload = workdir / f"upload-{name}"
    target = workdir / "collection.anki2"
    schema = 18 if version == _LATEST_VERSION else 11
    try:
        _extract_collection_file(archive, name, upload, version, budget)
        _check_collection(upload, schema)
        _rebuild_schema11(upload, target, schema)
    finally:
        _remove_database(upload)
    return target, schema


def _extract_collection_file(
    archive: zipfile.ZipFile, name: str, target: Path, version: int, budget: _Budget
) -> None:
    try:
        with target.open("wb") as out:
            _extract_entry(
                archive,
                name,
                out,
                zstd=version == _LATEST_VERSION,
                limit=budget.limits.max_collection_bytes,
                budget=budget,
            )
    except zstandard.ZstdError as error:
        raise CorruptCollection(f"{name} is not valid zstd data") from error


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    conn.create_collation("unicase", unicase_collation)
    conn.execute("PRAGMA trusted_schema = OFF")
    return conn


def _check_collection(path: Path, schema: int) -> None:
    """Reject files that are not intact Anki collections of the expected schema."""
    required = {"col", "notes", "cards", "revlog", "graves"}
    if schema == 18:
        required |= _SCHEMA18_TABLES
    try:
        with contextlib.closing(_connect(path)) as conn:
            # integrity_check would compare schema 18's name indexes with our
            # stand-in for Anki's unicase collation; quick_check does not.
            check = "quick_check" if schema == 18 else "integrity_check"
            result = [tuple(row) for row in conn.execute(f"PRAGMA {check}")]
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            version_row = (
                conn.execute("SELECT ver FROM col").fetchone() if "col" in tables else None
            )
    except sqlite3.DatabaseError as error:
        raise CorruptCollection(f"the collection is not a readable SQLite file: {error}") from error
    if result != [("ok",)]:
        raise CorruptCollection("the collection fails SQLite's integrity check")
    if missing := required - tables:
        raise CorruptCollection(f"the collection lacks tables {sorted(missing)}")
    if version_row is None:
        raise CorruptCollection("the collection has no col row")
    if version_row[0] != schema:
        raise UnknownSchema(f"collection schema {version_row[0]} where {schema} was expected")


def _rebuild_schema11(upload: Path, target: Path, schema: int) -> None:
    """Write `target` from our DDL, copying the upload's rows and col JSON."""
    try:
        col = _uploaded_col_row(upload, schema)
        _remove_database(target)
        with contextlib.closing(_connect(target)) as conn:
            conn.executescript(SCHEMA_SQL)
            conn.execute("ATTACH DATABASE ? AS upload", (str(upload),))
            with conn:
                for table, columns in _ROW_COLUMNS.items():
                    conn.execute(
                        f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM upload.{table}"
                    )
                conn.execute(
                    f"INSERT INTO main.col ({_COL_COLUMNS}) VALUES ({_placeholders(13)})", col
                )
            conn.execute("DETACH DATABASE upload")
    except sqlite3.DatabaseError as error:
        raise CorruptCollection(f"the collection's rows cannot be copied: {error}") from error


def _placeholders(count: int) -> str:
    return ", ".join("?" * count)


def _uploaded_col_row(upload: Path, schema: int) -> list[Any]:
    with contextlib.closing(_connect(upload)) as conn:
        rows = conn.execute(f"SELECT {_COL_COLUMNS} FROM col").fetchall()
        if len(rows) != 1:
            raise CorruptCollection("the collection must have exactly one col row")
        col = dict(rows[0])
        if schema == 18:
            try:
                col.update(legacy_col_json(conn))
            except (ProtoError, ValueError) as error:
                raise CorruptCollection(
                    f"the collection's settings are unreadable: {error}"
                ) from error
    for column in _COL_JSON_COLUMNS:
        _require_json_object(col[column], column)
    col["ver"] = 11
    return [col[name] for name in _COL_COLUMNS.split(", ")]


def _require_json_object(text: Any, column: str) -> None:
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as error:
        raise CorruptCollection(f"col.{column} is not JSON") from error
    if not isinstance(value, dict):
        raise CorruptCollection(f"col.{column} is not a JSON object")


# --- media -------------------------------------------------------------------


def media_name_is_safe(name: str) -> bool:
    """True for a plain file name that stays inside the media folder."""
    return (
        bool(name)
        and name not in (".", "..")
        and not any(char in name for char in "/\\\x00")
        and len(name.encode("utf-8")) <= 255
    )


def _media_entries(
    archive: zipfile.ZipFile, version: int, budget: _Budget
) -> list[tuple[str, str]]:
    """(zip entry, real file name) for each media file, from the `media` map."""
    if "media" not in archive.namelist():
        return []
    data = _read_media_map(archive, zstd=version == _LATEST_VERSION, budget=budget)
    if version == _LATEST_VERSION:
        entries = _latest_media_entries(data)
    else:
        entries = _legacy_media_entries(data)
    names = [name for _, name in entries]
    if unsafe := [name for name in names if not media_name_is_safe(name)]:
        raise BadMedia(f"unsafe media file names: {unsafe[:5]}")
    if len(set(names)) != len(names):
        raise BadMedia("the media map lists a file name twice")
    return entries


def _read_media_map(archive: zipfile.ZipFile, *, zstd: bool, budget: _Budget) -> bytes:
    buffer = io.BytesIO()
    try:
        _extract_entry(
            archive,
            "media",
            buffer,
            zstd=zstd,
            limit=budget.limits.max_media_file_bytes,
            budget=budget,
        )
    except zstandard.ZstdError as error:
        raise BadMedia("the media map is not valid zstd data") from error
    return buffer.getvalue()


def _legacy_media_entries(data: bytes) -> list[tuple[str, str]]:
    try:
        mapping = json.loads(data.decode("utf-8")) if data.strip() else {}
    except (UnicodeDecodeError, ValueError) as error:
        raise BadMedia("the media map is not JSON") from error
    if not isinstance(mapping, dict) or not all(
        isinstance(key, str) and key.isdigit() and isinstance(value, str)
        for key, value in mapping.items()
    ):
        raise BadMedia('the media map must look like {"0": "file name"}')
    return [(key, unicodedata.normalize("NFC", value)) for key, value in mapping.items()]


def _latest_media_entries(data: bytes) -> list[tuple[str, str]]:
    try:
        entries = ProtoMessage(data).messages(1)
        return [
            (str(entry.uint(255)) if entry.has(255) else str(index), entry.text(1))
            for index, entry in enumerate(entries)
        ]
    except ProtoError as error:
        raise BadMedia("the media map is not a valid MediaEntries message") from error


def _extract_media(
    archive: zipfile.ZipFile, version: int, workdir: Path, budget: _Budget
) -> dict[str, Path]:
    entries = _media_entries(archive, version, budget)
    media_dir = workdir / "media"
    media_dir.mkdir(exist_ok=True)
    present = set(archive.namelist())
    media: dict[str, Path] = {}
    for zip_name, name in entries:
        if zip_name not in present:
            raise BadMedia(f"media file {name!r} is missing from the package")
        target = media_dir / name
        try:
            with target.open("wb") as out:
                _extract_entry(
                    archive,
                    zip_name,
                    out,
                    zstd=version == _LATEST_VERSION,
                    limit=budget.limits.max_media_file_bytes,
                    budget=budget,
                )
        except zstandard.ZstdError as error:
            raise BadMedia(f"media file {name!r} is not valid zstd data") from error
        media[name] = target
    return media


# --- media references --------------------------------------------------------

_MEDIA_TAG = re.compile(
    r"""<\s*(?:img|audio|video|source|object)\b((?:[^>"']|"[^"]*"|'[^']*')*)>""",
    re.IGNORECASE | re.DOTALL,
)
_ATTRIBUTE = re.compile(
    r"""(?:^|(?<=\s))([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.DOTALL
)
_SOUND_TAG = re.compile(r"\[sound:(.+?)\]", re.DOTALL)
_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)
# Note types may use files whose names start with "_" (fonts, scripts);
# Anki exports those with the note type, as these patterns find them.
_UNDERSCORED_CSS = re.compile(
    r"""@import\s+(?:"(_[^"]*\.css)"|'(_[^']*\.css)')
        |url\(\s*(?:"(_[^"]+)"|'(_[^']+)'|(_.+?))\s*\)""",
    re.IGNORECASE | re.VERBOSE,
)
_UNDERSCORED_TEMPLATE = re.compile(
    r"""\[sound:(_[^\]]+)\]|"(_[^"]+)"|'(_[^']+)'|\b(?:src|data)=(_[^ >]+)"""
)


def _decoded_entities(name: str) -> str:
    return html.unescape(name).replace("\xa0", " ") if "&" in name else name


def _tag_sources(tag_body: str) -> list[str]:
    # data-src (lazy loading) counts too: Anki's own pattern matches it.
    return [
        value
        for name, *values in _ATTRIBUTE.findall(tag_body)
        if name.lower() in ("src", "data") or name.lower().endswith("-src")
        for value in values
        if value
    ]


def media_references(field_text: str) -> set[str]:
    """Local media files a note field uses: `<img src=...>` (any quoting) and
    the src/data of audio, video, source and object tags, plus `[sound:...]`.
    Remote URLs, data: URIs and names that would leave the media folder are
    not files of ours and are left out."""
    found = [src for body in _MEDIA_TAG.findall(field_text) for src in _tag_sources(body)]
    found += _SOUND_TAG.findall(field_text)
    names = {_decoded_entities(name) for name in found}
    return {name for name in names if not _URL.match(name) and media_name_is_safe(name)}


def _notetype_media(model: Mapping[str, Any]) -> set[str]:
    found: list[str] = []
    for match in _UNDERSCORED_CSS.finditer(str(model.get("css", ""))):
        found.append(next(g for g in match.groups() if g))
    for template in model.get("tmpls", []):
        for side in (template.get("qfmt", ""), template.get("afmt", "")):
            for match in _UNDERSCORED_TEMPLATE.finditer(str(side)):
                found.append(next(g for g in match.groups() if g))
    return {name for name in found if media_name_is_safe(name)}


# --- writing -----------------------------------------------------------------


@dataclass
class _ColJson:
    """The parsed JSON columns of a schema-11 `col` row."""

    conf: dict[str, Any]
    models: dict[str, Any]
    decks: dict[str, Any]
    dconf: dict[str, Any]
    tags: dict[str, Any]

    @classmethod
    def load(cls, conn: sqlite3.Connection) -> _ColJson:
        row = conn.execute("SELECT conf, models, decks, dconf, tags FROM col").fetchone()
        return cls(*(json.loads(row[column] or "{}") for column in _COL_JSON_COLUMNS))

    def save(self, conn: sqlite3.Connection) -> None:
        values = [_compact(getattr(self, column)) for column in _COL_JSON_COLUMNS]
        conn.execute("UPDATE col SET conf = ?, models = ?, decks = ?, dconf = ?, tags = ?", values)


def package_write(
    collection_path: Path,
    out: BinaryIO,
    *,
    deck_ids: set[int] | None = None,
    include_scheduling: bool = True,
    media: Mapping[str, Callable[[], bytes]] | None = None,
) -> ExportSummary:
    """Write a legacy .apkg (schema-11 `collection.anki2`, JSON `media` map,
    media files named 0, 1, ...) of the whole collection or of `deck_ids`
    (pass a deck together with its children). `collection_path` is only read.

    Without scheduling, cards become new cards as in Anki's "without
    scheduling" export, and revlog is left out. Only media in `media` that
    the exported notes (or their note types' `_` files) use is written.
    """
    if not collection_path.is_file():
        raise FileNotFoundError(collection_path)
    with tempfile.TemporaryDirectory(prefix="javumbo-apkg-") as scratch:
        work = Path(scratch) / "collection.anki2"
        collection_snapshot(collection_path, work)
        with contextlib.closing(_connect(work)) as conn:
            with conn:
                wanted_media = _reduce_collection(conn, deck_ids, include_scheduling)
            counts = [
                conn.execute(f"SELECT count() FROM {t}").fetchone()[0]
                for t in ("notes", "cards", "revlog")
            ]
            # Deleted rows must not survive in free pages of the export.
            conn.execute("VACUUM")
        package = Path(scratch) / "package.apkg"
        media_files = _write_zip(package, work, wanted_media, media or {})
        with package.open("rb") as data:
            shutil.copyfileobj(data, out)
        size = package.stat().st_size
    return ExportSummary(counts[0], counts[1], counts[2], media_files, size)


def collection_snapshot(source: Path, target: Path) -> None:
    """Copy a consistent snapshot with SQLite's backup API, reading only."""
    with (
        contextlib.closing(
            sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        ) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)
        dst.execute("PRAGMA journal_mode = DELETE")


def _reduce_collection(
    conn: sqlite3.Connection, deck_ids: set[int] | None, include_scheduling: bool
) -> set[str]:
    """Cut the copy down to what is exported; returns the media names it uses."""
    col = _ColJson.load(conn)
    if deck_ids is not None:
        _keep_cards_of_decks(conn, deck_ids)
    conn.execute("DELETE FROM notes WHERE id NOT IN (SELECT nid FROM cards)")
    conn.execute("DELETE FROM graves")
    if include_scheduling:
        conn.execute("DELETE FROM revlog WHERE cid NOT IN (SELECT id FROM cards)")
    else:
        conn.execute("DELETE FROM revlog")
        _reset_cards(conn, int(col.conf.get("nextPos", 0) or 0))
        _remove_system_tags(conn)
    requested = set(col.decks) if deck_ids is None else {str(d) for d in deck_ids}
    _reduce_col_json(conn, col, requested, include_scheduling)
    col.save(conn)
    _clear_statistics(conn)
    return _used_media(conn, col.models)


def _keep_cards_of_decks(conn: sqlite3.Connection, deck_ids: set[int]) -> None:
    conn.execute("CREATE TEMP TABLE export_decks (id integer PRIMARY KEY)")
    conn.executemany("INSERT OR IGNORE INTO export_decks VALUES (?)", [(d,) for d in deck_ids])
    # Cards borrowed by a filtered deck still belong to their home deck.
    conn.execute(
        "DELETE FROM cards WHERE did NOT IN (SELECT id FROM export_decks)"
        " AND odid NOT IN (SELECT id FROM export_decks)"
    )
    conn.execute("DROP TABLE export_decks")


def _reset_cards(conn: sqlite3.Connection, next_position: int) -> None:
    """Anki's "without scheduling": every card new again, at its old position
    when it has one (new cards keep theirs; others remember it in data.pos)."""
    rows = conn.execute(
        "SELECT id, did, type, due, odue, odid, data FROM cards ORDER BY id"
    ).fetchall()
    for row in rows:
        data = _card_data(row["data"])
        position = _original_position(row, data)
        if position is None:
            position, next_position = next_position, next_position + 1
        for key in ("pos", "s", "d"):
            data.pop(key, None)
        conn.execute(
            "UPDATE cards SET did = ?, type = 0, queue = 0, due = ?, ivl = 0, factor = 0,"
            " reps = 0, lapses = 0, odue = 0, odid = 0, flags = 0, data = ? WHERE id = ?",
            (row["odid"] or row["did"], position, _compact(data), row["id"]),
        )


def _card_data(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _original_position(row: sqlite3.Row, data: dict[str, Any]) -> int | None:
    if row["type"] == 0:
        return int(row["odue"] if row["odid"] else row["due"])
    position = data.get("pos")
    return position if isinstance(position, int) and position >= 0 else None


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _remove_system_tags(conn: sqlite3.Connection) -> None:
    for note_id, tags in conn.execute("SELECT id, tags FROM notes").fetchall():
        kept = [tag for tag in tags.split() if tag.lower() not in ("marked", "leech")]
        if len(kept) != len(tags.split()):
            conn.execute("UPDATE notes SET tags = ? WHERE id = ?", (_tag_string(kept), note_id))


def _tag_string(tags: Iterable[str]) -> str:
    joined = " ".join(tags)
    return f" {joined} " if joined else ""


def _reduce_col_json(
    conn: sqlite3.Connection, col: _ColJson, requested: set[str], include_scheduling: bool
) -> None:
    deck_keys = _exported_decks(conn, col.decks, requested, include_scheduling)
    col.decks = {key: col.decks[key] for key in sorted(deck_keys, key=int)}
    if not include_scheduling:
        for deck in col.decks.values():
            _reset_deck(deck)
    used_models = {str(mid) for (mid,) in conn.execute("SELECT DISTINCT mid FROM notes")}
    col.models = {key: value for key, value in col.models.items() if key in used_models}
    used_configs = {str(deck.get("conf")) for deck in col.decks.values() if not deck.get("dyn")}
    col.dconf = {key: value for key, value in col.dconf.items() if key in used_configs | {"1"}}
    note_tags = {tag for (tags,) in conn.execute("SELECT tags FROM notes") for tag in tags.split()}
    col.tags = {tag: col.tags.get(tag, 0) for tag in sorted(note_tags)}


def _exported_decks(
    conn: sqlite3.Connection, decks: dict[str, Any], requested: set[str], include_scheduling: bool
) -> set[str]:
    """Requested decks, decks holding exported cards (and their home decks),
    their parents, and Default, as Anki exports them."""
    used = {
        str(deck_id)
        for (deck_id,) in conn.execute(
            "SELECT did FROM cards UNION SELECT odid FROM cards WHERE odid"
        )
    }
    keys = {key for key in requested | used | {"1"} if key in decks}
    by_name = {deck.get("name"): key for key, deck in decks.items()}
    for key in list(keys):
        name = str(decks[key].get("name", ""))
        while "::" in name:
            name = name.rsplit("::", 1)[0]
            if name in by_name:
                keys.add(by_name[name])
    if not include_scheduling:
        # Cards went back to their home decks; filtered decks are left empty.
        keys = {key for key in keys if not decks[key].get("dyn")}
    return keys


def _reset_deck(deck: dict[str, Any]) -> None:
    """Drop the day's counters, options and limits, as Anki does without scheduling."""
    for counter in ("lrnToday", "revToday", "newToday", "timeToday"):
        deck[counter] = [0, 0]
    deck["conf"] = 1
    for limit in ("reviewLimit", "newLimit", "reviewLimitToday", "newLimitToday"):
        if limit in deck:
            deck[limit] = None


def _clear_statistics(conn: sqlite3.Connection) -> None:
    """sqlite_stat4 samples real index keys, of rows that were not exported too."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for table in ("sqlite_stat1", "sqlite_stat2", "sqlite_stat3", "sqlite_stat4"):
        if table in tables:
            conn.execute(f"DELETE FROM {table}")


def _used_media(conn: sqlite3.Connection, models: Mapping[str, Any]) -> set[str]:
    names: set[str] = set()
    for (fields,) in conn.execute("SELECT flds FROM notes"):
        for text in fields.split(_NOTE_FIELD_SEPARATOR):
            names |= media_references(text)
    for model in models.values():
        names |= _notetype_media(model)
    return names


def _zip_info(name: str) -> zipfile.ZipInfo:
    # A fixed timestamp keeps the same export byte-for-byte the same.
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _write_zip(
    package: Path, collection: Path, wanted: set[str], media: Mapping[str, Callable[[], bytes]]
) -> int:
    """Lay out the package as legacy Anki does; returns the media files written."""
    names = sorted(name for name in wanted if name in media)
    with zipfile.ZipFile(package, "w") as archive:
        with (
            collection.open("rb") as data,
            archive.open(_zip_info("collection.anki2"), "w") as entry,
        ):
            shutil.copyfileobj(data, entry)
        for index, name in enumerate(names):
            archive.writestr(_zip_info(str(index)), media[name]())
        media_map = {str(index): name for index, name in enumerate(names)}
        archive.writestr(_zip_info("media"), json.dumps(media_map, ensure_ascii=False))
    return len(names)
