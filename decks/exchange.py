"""Export and import of a learner's collection as Anki packages, and the learner's media.

Export: a legacy .apkg (decks.apkg.package_write) of the whole collection or a
deck with its subdecks, built from the learner's current file (the request's
cache file, which already holds every journal entry, compacted or not), with
the media its notes use, fetched from S3. Keys Javumbo keeps in `col.conf`
for itself (``javumbo*``: timezone, undo stack) are left out.

Import: the package is read by decks.apkg.package_read (which refuses bad
and hostile files before anything is changed) and merged into the request's
collection the way Anki's own importer merges a package (rslib/src/
import_export/package/apkg/import):

- note types: the same id with the same fields and templates is the same type
  (updated when the imported one is newer); otherwise a type with the same
  name, fields and templates; otherwise it is added, under a new id when its
  id is taken by a different type;
- decks by name (case-insensitive), missing parents created; filtered decks
  are not imported: their cards go back to their home deck, or the filtered
  deck becomes a normal one when the home deck is unknown;
- notes by guid: unknown guids are added; a known guid is updated when the
  imported note is newer (`mod`) and has the same note type, and skipped
  otherwise (the answer says why);
- cards by note and template: new ones are added with Anki's date shift for
  collections created on different days; with scheduling, an existing card is
  updated when the imported one is newer (`mod`), so that study done in Anki
  comes back; review history is added for the cards added or updated;
- without scheduling the package is first reduced exactly as Anki's "without
  scheduling" export does it (cards new again, no history).

Media files live in S3 under ``users/<username>/media/<name>`` (deleted with
the account). An imported file whose name is taken by different content is
stored under a new name and the imported notes are pointed at it, as Anki
does. Files go up after the merge has succeeded; a failure after that leaves
at most unused files behind, never a half-imported collection.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import hashlib
import html
import json
import mimetypes
import re
import secrets
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import connections

from decks import anki
from decks.apkg import (
    ExportSummary,
    NotAZip,
    PackageContents,
    PackageError,
    PackageLimits,
    PackageTooLarge,
    UnknownSchema,
    collection_snapshot,
    media_references,
    package_read,
    package_write,
)
from decks.selectors import CARD_COLUMNS, CollectionState, JsonDict, collection_load
from decks.services import collection_save
from javumbo import aws
from javumbo.errors import JavumboError, PayloadTooLarge, Unavailable
from review.scheduler import timing_for

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

OWN_CONF_PREFIX = "javumbo"  # col.conf keys Javumbo adds for itself
SKIPPED_LISTED_MAX = 100
MEDIA_UPLOAD_THREADS = 8
ID_BUMP = 999  # Anki bumps a taken note or card id by 999
EPOCH_SECONDS_FROM = 1_000_000_000
CLOZE_CARDS_MAX = 500

REASON_NEWER_HERE = "an existing note with this guid is as new or newer"
REASON_OTHER_TYPE = "an existing note with this guid has a different note type"
REASON_NO_CARDS = "none of its cards fit its note type"
REASON_NO_TYPE = "its note type is missing from the package"


# --- errors --------------------------------------------------------------------------


class PackageRefused(JavumboError):
    """A package we will not import: 415 for what is not an Anki package at all,
    413 for what is too big, 400 for a damaged one; the code says what is wrong."""

    def __init__(self, error: PackageError) -> None:
        super().__init__(f"The package cannot be imported: {error.message}.")
        self.status_code = _package_status(error)
        self.default_code = error.code


def _package_status(error: PackageError) -> int:
    if isinstance(error, PackageTooLarge):
        return 413
    if isinstance(error, NotAZip | UnknownSchema):
        return 415
    return 400


class MediaTooLarge(PayloadTooLarge):
    default_code = "media_quota"
    default_detail = "The media files would exceed your storage allowance."


# --- media in S3 -----------------------------------------------------------------------


@dataclass(frozen=True)
class StoredMedia:
    size: int
    md5: str


class MediaStore:
    """One learner's media files: ``users/<username>/media/<name>`` in the bucket."""

    def __init__(self, username: str) -> None:
        self.prefix = f"users/{username}/media/"

    def key(self, name: str) -> str:
        return self.prefix + name

    def listing(self) -> dict[str, StoredMedia]:
        """Every stored file with its size and MD5 (the ETag of a single-part upload)."""
        found: dict[str, StoredMedia] = {}
        with _s3_errors():
            pages = aws.s3().get_paginator("list_objects_v2")
            for page in pages.paginate(Bucket=settings.JAVUMBO_BUCKET, Prefix=self.prefix):
                for item in page.get("Contents", []):
                    name = item["Key"][len(self.prefix) :]
                    found[name] = StoredMedia(item["Size"], item["ETag"].strip('"'))
        return found

    def loader(self, name: str) -> Callable[[], bytes]:
        def load() -> bytes:
            with _s3_errors():
                response = aws.s3().get_object(Bucket=settings.JAVUMBO_BUCKET, Key=self.key(name))
                body: bytes = response["Body"].read()
            return body

        return load

    def put(self, name: str, path: Path) -> None:
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        with _s3_errors(), path.open("rb") as body:
            aws.s3().put_object(
                Bucket=settings.JAVUMBO_BUCKET, Key=self.key(name), Body=body, ContentType=kind
            )


@contextlib.contextmanager
def _s3_errors() -> Iterator[None]:
    try:
        yield
    except (BotoCoreError, ClientError) as error:
        raise Unavailable(f"Media storage is unreachable ({type(error).__name__}).") from error


# --- export ------------------------------------------------------------------------------


def collection_export(
    *,
    username: str,
    collection_path: Path,
    out: BinaryIO,
    deck_ids: set[int] | None = None,
    include_scheduling: bool = True,
) -> ExportSummary:
    """Write the learner's collection (or these decks) as a legacy .apkg into `out`.

    `collection_path` is the file the request has open; it is only read, through
    SQLite's backup API, so uncommitted changes of this request are not included.
    """
    store = MediaStore(username)
    with tempfile.TemporaryDirectory(prefix="javumbo-export-") as scratch:
        copy_path = Path(scratch) / "collection.anki2"
        collection_snapshot(collection_path, copy_path)
        _own_conf_remove(copy_path)
        media = {name: store.loader(name) for name in store.listing()}
        return package_write(
            copy_path, out, deck_ids=deck_ids, include_scheduling=include_scheduling, media=media
        )


def _own_conf_remove(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conf = json.loads(conn.execute("SELECT conf FROM col").fetchone()[0])
        kept = {k: v for k, v in conf.items() if not k.lower().startswith(OWN_CONF_PREFIX)}
        if kept != conf:
            conn.execute("UPDATE col SET conf = ?", (_compact_json(kept),))


def _compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class PublishedExport:
    download_url: str
    expires_at: int  # epoch ms
    filename: str
    bytes: int


def export_publish(*, username: str, package: Path, filename: str) -> PublishedExport:
    """Put a built package under ``exports/`` (the bucket expires it after a day) and
    answer a presigned download link that lives JAVUMBO_EXPORT_URL_SECONDS."""
    key = f"exports/{username}/{secrets.token_urlsafe(18)}.apkg"
    lifetime = settings.JAVUMBO_EXPORT_URL_SECONDS
    with _s3_errors():
        aws.s3().upload_file(
            str(package),
            settings.JAVUMBO_BUCKET,
            key,
            ExtraArgs={"ContentType": "application/octet-stream"},
        )
        url = aws.s3().generate_presigned_url(
            "get_object",
            Params={
                "Bucket": settings.JAVUMBO_BUCKET,
                "Key": key,
                "ResponseContentDisposition": f'attachment; filename="{filename}"',
            },
            ExpiresIn=lifetime,
        )
    expires_at = (int(time.time()) + lifetime) * 1000
    return PublishedExport(url, expires_at, filename, package.stat().st_size)


# --- staged uploads (packages too large for one Lambda request) ---------------------------


@dataclass(frozen=True)
class UploadTicket:
    upload_url: str
    form_fields: dict[str, str]
    upload_key: str
    expires_at: int  # epoch ms
    max_bytes: int


def staged_upload_prefix(username: str) -> str:
    return f"users/{username}/imports/"


def upload_ticket(*, username: str) -> UploadTicket:
    """A presigned POST for uploading one package straight to S3 (up to the import limit);
    the package is then imported by naming its key."""
    key = f"{staged_upload_prefix(username)}{secrets.token_urlsafe(18)}.apkg"
    lifetime = settings.JAVUMBO_EXPORT_URL_SECONDS
    limit = settings.JAVUMBO_IMPORT_MAX_BYTES
    with _s3_errors():
        _staged_uploads_expire(username)
        post = aws.s3().generate_presigned_post(
            settings.JAVUMBO_BUCKET,
            key,
            Conditions=[["content-length-range", 1, limit]],
            ExpiresIn=lifetime,
        )
    expires_at = (int(time.time()) + lifetime) * 1000
    return UploadTicket(post["url"], dict(post["fields"]), key, expires_at, limit)


def _staged_uploads_expire(username: str) -> None:
    # A staged package may be imported again when a request is retried, so it is not
    # deleted by the import; old ones go when the learner next asks for an upload.
    cutoff = time.time() - 86_400
    listed = aws.s3().list_objects_v2(
        Bucket=settings.JAVUMBO_BUCKET, Prefix=staged_upload_prefix(username)
    )
    old: list[ObjectIdentifierTypeDef] = [
        {"Key": item["Key"]}
        for item in listed.get("Contents", [])
        if item["LastModified"].timestamp() < cutoff
    ]
    if old:
        aws.s3().delete_objects(Bucket=settings.JAVUMBO_BUCKET, Delete={"Objects": old})


def staged_upload_fetch(*, username: str, key: str, target: IO[bytes]) -> None:
    """Copy a staged package into `target`, refusing one above the import limit."""
    prefix = staged_upload_prefix(username)
    if not key.startswith(prefix) or "/" in key[len(prefix) :]:
        raise PackageRefused(PackageError("that upload key is not one of yours"))
    try:
        head = aws.s3().head_object(Bucket=settings.JAVUMBO_BUCKET, Key=key)
        if head["ContentLength"] > settings.JAVUMBO_IMPORT_MAX_BYTES:
            raise PackageRefused(PackageTooLarge("the upload is larger than allowed"))
        aws.s3().download_fileobj(settings.JAVUMBO_BUCKET, key, target)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            raise PackageRefused(PackageError("there is no upload with that key")) from error
        raise Unavailable("Storage is unreachable; nothing was changed.") from error
    except BotoCoreError as error:
        raise Unavailable("Storage is unreachable; nothing was changed.") from error


# --- import: the answer -----------------------------------------------------------------


@dataclass
class ImportSummary:
    """What an import did, in the shape docs/contracts.md gives the answer."""

    notes: dict[str, int] = field(default_factory=lambda: _tally("added", "updated", "skipped"))
    cards: dict[str, int] = field(default_factory=lambda: _tally("added", "updated", "skipped"))
    revlog: dict[str, int] = field(default_factory=lambda: _tally("added"))
    decks: dict[str, int] = field(default_factory=lambda: _tally("added"))
    notetypes: dict[str, int] = field(default_factory=lambda: _tally("added", "matched"))
    media: dict[str, int] = field(default_factory=lambda: _tally("added", "skipped"))
    skipped: list[dict[str, str]] = field(default_factory=list)

    def note_skipped(self, guid: str, reason: str) -> None:
        self.notes["skipped"] += 1
        if len(self.skipped) < SKIPPED_LISTED_MAX:
            self.skipped.append({"guid": guid, "reason": reason})

    def as_dict(self) -> dict[str, Any]:
        return {
            "notes": self.notes,
            "cards": self.cards,
            "revlog": self.revlog,
            "decks": self.decks,
            "notetypes": self.notetypes,
            "media": self.media,
            "skipped": self.skipped,
        }


def _tally(*names: str) -> dict[str, int]:
    return dict.fromkeys(names, 0)


# --- import: the package ------------------------------------------------------------------


def import_limits() -> PackageLimits:
    """The zip-bomb guard, from settings."""
    expanded = settings.JAVUMBO_IMPORT_MAX_EXPANDED_BYTES
    return PackageLimits(
        max_upload_bytes=settings.JAVUMBO_IMPORT_MAX_BYTES,
        max_entries=settings.JAVUMBO_IMPORT_MAX_ENTRIES,
        max_collection_bytes=expanded,
        max_media_file_bytes=settings.JAVUMBO_MEDIA_MAX_FILE_BYTES,
        max_total_bytes=expanded,
    )


def _package_open(upload: BinaryIO | Path, workdir: Path) -> PackageContents:
    try:
        return package_read(upload, workdir=workdir / "package", limits=import_limits())
    except PackageError as error:
        raise PackageRefused(error) from error


def _scheduling_removed(contents: PackageContents, workdir: Path) -> Path:
    """The package's collection as Anki's "without scheduling" export would have it:
    written by package_write without scheduling, then read back."""
    reduced = workdir / "without-scheduling.apkg"
    with reduced.open("wb") as out:
        package_write(contents.collection_path, out, include_scheduling=False)
    # Written by us from a package already checked: only the overall size limits apply.
    limits = replace(import_limits(), max_upload_bytes=reduced.stat().st_size)
    try:
        return package_read(reduced, workdir=workdir / "reduced", limits=limits).collection_path
    except PackageError as error:
        raise PackageRefused(error) from error


# --- import: entry point --------------------------------------------------------------------


def collection_import(
    *,
    username: str,
    upload: BinaryIO | Path,
    timezone: str,
    include_scheduling: bool = True,
    now_ms: int | None = None,
) -> ImportSummary:
    """Merge an uploaded .apkg/.colpkg into the request's collection (``userdb``) and
    store its media. Raises PackageRefused (nothing changed) for a bad package.
    Safe to run again on the same upload: the storage engine re-runs a request whose
    journal append lost a race, after catching up."""
    now_ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    with tempfile.TemporaryDirectory(prefix="javumbo-import-") as scratch:
        workdir = Path(scratch)
        contents = _package_open(upload, workdir)
        collection_path = contents.collection_path
        if not include_scheduling:
            collection_path = _scheduling_removed(contents, workdir)
        summary = ImportSummary()
        with contextlib.closing(_source_connect(collection_path)) as source:
            store = MediaStore(username)
            stored = store.listing() if contents.media else {}
            plan = _media_plan(source, contents.media, stored, summary)
            target = _target_connection()
            merge = _Merge(
                source, target, collection_load(), summary, include_scheduling=include_scheduling
            )
            merge.run(renames=plan.renames, timezone=timezone, now_ms=now_ms)
        _media_upload(store, plan.uploads)
    return summary


def _source_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def _target_connection() -> sqlite3.Connection:
    """The request's own connection on the learner's file (one transaction, captured)."""
    wrapper = connections["userdb"]
    wrapper.ensure_connection()
    conn = wrapper.connection
    assert isinstance(conn, sqlite3.Connection)
    return conn


# --- import: media -------------------------------------------------------------------------


@dataclass
class MediaPlan:
    uploads: dict[str, Path] = field(default_factory=dict)  # stored name -> file
    renames: dict[str, str] = field(default_factory=dict)  # name in package -> stored name


def _media_plan(
    source: sqlite3.Connection,
    media: Mapping[str, Path],
    stored: Mapping[str, StoredMedia],
    summary: ImportSummary,
) -> MediaPlan:
    """Which package files to store and under which names, within the learner's
    allowance; files no note uses are skipped (a note type's `_` files are kept)."""
    plan = MediaPlan()
    if not media:
        return plan
    used = _media_used(source)
    for name, path in sorted(media.items()):
        if name not in used and not name.startswith("_"):
            summary.media["skipped"] += 1
            continue
        digest = _file_md5(path)
        stored_name = _media_name_for(name, digest, path, stored)
        if stored_name != name:
            plan.renames[name] = stored_name
        if stored.get(stored_name, StoredMedia(-1, "")).md5 == digest:
            summary.media["skipped"] += 1
        else:
            plan.uploads[stored_name] = path
    summary.media["added"] = len(plan.uploads)
    _media_allowance_check(plan.uploads, stored)
    return plan


def _media_used(source: sqlite3.Connection) -> set[str]:
    used: set[str] = set()
    for (flds,) in source.execute("SELECT flds FROM notes"):
        for text in anki.split_fields(flds):
            used |= media_references(text)
    return used


def _file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as data:
        while chunk := data.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _media_name_for(name: str, md5: str, path: Path, stored: Mapping[str, StoredMedia]) -> str:
    """The name a package file is kept under: its own, unless different content has it;
    then, as Anki does, the name with a hash of the content added before the extension."""
    existing = stored.get(name)
    if existing is None or existing.md5 == md5:
        return name
    stem, dot, extension = name.rpartition(".")
    if not stem:
        stem, dot, extension = name, "", ""
    sha1 = hashlib.sha1(path.read_bytes(), usedforsecurity=False).hexdigest()[:8]
    return f"{stem}-{sha1}{dot}{extension}"


def _media_allowance_check(uploads: Mapping[str, Path], stored: Mapping[str, StoredMedia]) -> None:
    adding = {name: path.stat().st_size for name, path in uploads.items()}
    kept = {name: item.size for name, item in stored.items() if name not in adding}
    if len(kept) + len(adding) > settings.JAVUMBO_MEDIA_MAX_FILES:
        raise MediaTooLarge(f"You may keep at most {settings.JAVUMBO_MEDIA_MAX_FILES} media files.")
    total = sum(kept.values()) + sum(adding.values())
    if total > settings.JAVUMBO_MEDIA_MAX_TOTAL_BYTES:
        limit_mib = settings.JAVUMBO_MEDIA_MAX_TOTAL_BYTES / 2**20
        raise MediaTooLarge(f"Your media files may take at most {limit_mib:.0f} MiB.")


def _media_upload(store: MediaStore, uploads: Mapping[str, Path]) -> None:
    if not uploads:
        return
    with ThreadPoolExecutor(max_workers=MEDIA_UPLOAD_THREADS) as pool:
        # Each upload runs in a copy of this request's context, so it is accounted for.
        futures = [
            pool.submit(contextvars.copy_context().run, store.put, name, path)
            for name, path in uploads.items()
        ]
        for future in futures:
            future.result()  # re-raises the first failure (Unavailable) here


_SRC_ATTRIBUTE = re.compile(r"""(\bsrc\s*=\s*)(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.I)
_SOUND_TAG = re.compile(r"\[sound:(.+?)\]", re.DOTALL)


def media_references_renamed(text: str, renames: Mapping[str, str]) -> str:
    """A field with its references to renamed media files pointed at the new names."""
    if not renames:
        return text

    def attribute(match: re.Match[str]) -> str:
        value = next(group for group in match.groups()[1:] if group is not None)
        new = renames.get(html.unescape(value))
        if new is None:
            return match.group(0)
        return f'{match.group(1)}"{html.escape(new)}"'

    def sound(match: re.Match[str]) -> str:
        new = renames.get(match.group(1))
        return match.group(0) if new is None else f"[sound:{new}]"

    return _SOUND_TAG.sub(sound, _SRC_ATTRIBUTE.sub(attribute, text))


# --- import: the merge ----------------------------------------------------------------------


def _col_json(conn: sqlite3.Connection) -> dict[str, Any]:
    row = conn.execute("SELECT crt, conf, models, decks, dconf FROM col").fetchone()
    return {
        "crt": row["crt"],
        "conf": json.loads(row["conf"] or "{}"),
        "models": json.loads(row["models"] or "{}"),
        "decks": json.loads(row["decks"] or "{}"),
        "dconf": json.loads(row["dconf"] or "{}"),
    }


def _schema_of(notetype: JsonDict) -> tuple[Any, ...]:
    """What makes two note types interchangeable: kind, field names, template names."""
    return (
        notetype.get("type", 0),
        tuple(str(f.get("name")) for f in notetype.get("flds", [])),
        tuple(str(t.get("name")) for t in notetype.get("tmpls", [])),
    )


def _ord_fits(notetype: JsonDict, ord: int) -> bool:
    if notetype.get("type") == 1:
        return 0 <= ord < CLOZE_CARDS_MAX
    return 0 <= ord < len(notetype.get("tmpls", []))


def _deck_level(deck: JsonDict) -> int:
    return len(str(deck.get("name", "")).split("::"))


def _queue_restored(card_type: int, due: int) -> int:
    """The queue of a card leaving a filtered deck (neither suspended nor buried)."""
    if card_type in (1, 3):
        return 1 if due > EPOCH_SECONDS_FROM else 3
    return 2 if card_type == 2 else 0


_CARD_COLUMNS = ", ".join(CARD_COLUMNS)
_CARD_SCHEDULING = (
    "did",
    "mod",
    "type",
    "queue",
    "due",
    "ivl",
    "factor",
    "reps",
    "lapses",
    "left",
    "odue",
    "odid",
    "flags",
    "data",
)


@dataclass
class _NoteTarget:
    id: int
    mod: int
    mid: int


class _Merge:
    """One package merged into the target collection (inside the request's transaction)."""

    def __init__(
        self,
        source: sqlite3.Connection,
        target: sqlite3.Connection,
        state: CollectionState,
        summary: ImportSummary,
        *,
        include_scheduling: bool,
    ) -> None:
        self.source, self.target, self.state, self.summary = source, target, state, summary
        self.include_scheduling = include_scheduling
        self.incoming = _col_json(source)
        self.notetype_map: dict[int, int] = {}
        self.deck_map: dict[int, int] = {}
        self.note_map: dict[int, int] = {}
        self.card_map: dict[int, int] = {}
        self.tags: dict[str, str] = {tag.casefold(): tag for tag in state.tags}
        self.source_mids: dict[int, int] = {}
        self.changed = dict.fromkeys(("conf", "notetypes", "decks", "dconf", "tags"), False)
        self.now = int(time.time())

    def run(self, *, renames: Mapping[str, str], timezone: str, now_ms: int) -> None:
        self.notetypes_merge()
        if self.include_scheduling:
            self.deck_configs_merge()
        self.decks_merge()
        self.notes_merge(renames)
        self.cards_merge(self._day_shift(timezone, now_ms))
        self.revlog_merge()
        self.collection_finish()

    # note types

    def notetypes_merge(self) -> None:
        for notetype in self.incoming["models"].values():
            incoming_id = int(notetype["id"])
            self.notetype_map[incoming_id] = self._notetype_target(notetype)

    def _notetype_target(self, notetype: JsonDict) -> int:
        incoming_id = int(notetype["id"])
        existing = self.state.notetype(incoming_id)
        if existing is not None and _schema_of(existing) == _schema_of(notetype):
            self.summary.notetypes["matched"] += 1
            if int(notetype.get("mod", 0)) > int(existing.get("mod", 0)):
                self._notetype_store(notetype, incoming_id, str(existing["name"]))
            return incoming_id
        for candidate in self.state.notetypes.values():
            same_name = str(candidate.get("name")) == str(notetype.get("name"))
            if same_name and _schema_of(candidate) == _schema_of(notetype):
                self.summary.notetypes["matched"] += 1
                return int(candidate["id"])
        new_id = incoming_id
        if existing is not None or incoming_id <= 0:
            new_id = anki.new_id(lambda candidate: self.state.notetype(candidate) is not None)
        self._notetype_store(notetype, new_id, self._notetype_name_free(str(notetype["name"])))
        self.summary.notetypes["added"] += 1
        return new_id

    def _notetype_name_free(self, name: str) -> str:
        taken = {str(nt.get("name")) for nt in self.state.notetypes.values()}
        while name in taken:
            name += "+"  # Anki's way of making an imported name unique
        return name

    def _notetype_store(self, notetype: JsonDict, notetype_id: int, name: str) -> None:
        stored = copy.deepcopy(notetype)
        stored.update(id=notetype_id, name=name, usn=-1)
        stored["did"] = None  # the deck it last added to is a deck of the other collection
        self.state.notetypes[str(notetype_id)] = stored
        self.changed["notetypes"] = True

    # deck options and decks

    def deck_configs_merge(self) -> None:
        for key, config in self.incoming["dconf"].items():
            if key not in self.state.dconf:
                self.state.dconf[key] = {**copy.deepcopy(config), "usn": -1}
                self.changed["dconf"] = True

    def decks_merge(self) -> None:
        decks = sorted(self.incoming["decks"].values(), key=_deck_level)
        stranded = self._filtered_decks_needed()
        for deck in decks:
            if deck.get("dyn") and int(deck["id"]) not in stranded:
                continue  # its cards go back to their home decks
            self.deck_map[int(deck["id"])] = self._deck_target(deck)

    def _filtered_decks_needed(self) -> set[int]:
        """Filtered decks holding cards whose home deck the package does not have."""
        normal = {int(d["id"]) for d in self.incoming["decks"].values() if not d.get("dyn")}
        rows = self.source.execute("SELECT DISTINCT did, odid FROM cards WHERE odid != 0")
        return {int(did) for did, odid in rows if int(odid) not in normal}

    def _deck_named(self, name: str) -> JsonDict | None:
        wanted = name.casefold()
        return next(
            (d for d in self.state.decks.values() if str(d["name"]).casefold() == wanted), None
        )

    def _deck_target(self, deck: JsonDict) -> int:
        if not str(deck.get("name", "")).strip():
            return 1
        name = self._deck_parents_ensured(str(deck["name"]))
        existing = self._deck_normal_named(name)
        if existing is not None:
            self._deck_update(existing, deck)
            return int(existing["id"])
        return self._deck_add(self._deck_name_beside_filtered(name), deck)

    def _deck_normal_named(self, name: str) -> JsonDict | None:
        found = self._deck_named(name) or self._deck_named(self._deck_name_beside_filtered(name))
        return found if found is not None and not found.get("dyn") else None

    def _deck_name_beside_filtered(self, name: str) -> str:
        # Anki's way around a filtered deck of the same name: add a timestamp.
        existing = self._deck_named(name)
        return f"{name} {self.now}" if existing is not None and existing.get("dyn") else name

    def _deck_parents_ensured(self, name: str) -> str:
        """The name spelt with its existing parents' case; missing parents are created."""
        parts = name.split("::")
        for depth in range(1, len(parts)):
            parent_name = "::".join(parts[:depth])
            parent = self._deck_normal_named(parent_name)
            if parent is None:
                label = self._deck_name_beside_filtered(parent_name)
                parent = self.state.decks[str(self._deck_add(label, None))]
            parts[:depth] = str(parent["name"]).split("::")
        return "::".join(parts)

    def _deck_update(self, existing: JsonDict, incoming: JsonDict) -> None:
        changed = False
        if incoming.get("desc") and incoming.get("desc") != existing.get("desc"):
            existing["desc"] = incoming["desc"]
            changed = True
        config = incoming.get("conf", 1)
        if config != 1 and str(config) in self.state.dconf and config != existing.get("conf"):
            existing["conf"] = config
            changed = True
        if changed:
            existing.update(mod=self.now, usn=-1)
            self.changed["decks"] = True

    def _deck_add(self, name: str, incoming: JsonDict | None) -> int:
        """A new normal deck: the imported one's settings (a filtered one becomes normal),
        or Anki's defaults for a parent the package does not have."""
        default = self.state.deck(1) or {}
        deck = copy.deepcopy(incoming if incoming and not incoming.get("dyn") else default)
        if incoming is None or incoming.get("dyn"):
            deck.update(desc=(incoming or {}).get("desc", ""), conf=1, dyn=0)
            for counter in ("newToday", "revToday", "lrnToday", "timeToday"):
                deck[counter] = [0, 0]
        if str(deck.get("conf", 1)) not in self.state.dconf:
            deck["conf"] = 1
        deck_id = anki.new_id(lambda candidate: self.state.deck(candidate) is not None)
        deck.update(id=deck_id, name=name, mod=self.now, usn=-1)
        self.state.decks[str(deck_id)] = deck
        self.changed["decks"] = True
        self.summary.decks["added"] += 1
        return deck_id

    # notes

    def notes_merge(self, renames: Mapping[str, str]) -> None:
        by_guid = {
            guid: _NoteTarget(note_id, mod, mid)
            for guid, note_id, mod, mid in self.target.execute(
                "SELECT guid, id, mod, mid FROM notes"
            )
        }
        taken = {note_id for (note_id,) in self.target.execute("SELECT id FROM notes")}
        card_ords = self._source_card_ords()
        notes = self.source.execute(
            "SELECT id, guid, mid, mod, tags, flds, flags, data FROM notes ORDER BY id"
        )
        for note in notes:
            self._note_merge(note, by_guid, taken, card_ords.get(note["id"], []), renames)

    def _source_card_ords(self) -> dict[int, list[int]]:
        self.source_mids = dict(self.source.execute("SELECT id, mid FROM notes").fetchall())
        ords: dict[int, list[int]] = {}
        for nid, ord in self.source.execute("SELECT nid, ord FROM cards"):
            ords.setdefault(nid, []).append(ord)
        return ords

    def _note_merge(
        self,
        note: sqlite3.Row,
        by_guid: dict[str, _NoteTarget],
        taken: set[int],
        ords: list[int],
        renames: Mapping[str, str],
    ) -> None:
        mid = self.notetype_map.get(note["mid"])
        notetype = self.state.notetype(mid) if mid is not None else None
        if mid is None or notetype is None:
            self.summary.note_skipped(note["guid"], REASON_NO_TYPE)
            return
        existing = by_guid.get(note["guid"])
        if existing is None:
            if not any(_ord_fits(notetype, ord) for ord in ords):
                self.summary.note_skipped(note["guid"], REASON_NO_CARDS)
                return
            note_id = note["id"]
            while note_id in taken:
                note_id += ID_BUMP
            taken.add(note_id)
            self._note_write(note, note_id, notetype, renames, insert=True)
            by_guid[note["guid"]] = _NoteTarget(note_id, note["mod"], mid)
            self.note_map[note["id"]] = note_id
            self.summary.notes["added"] += 1
        elif existing.mid != mid:
            self.summary.note_skipped(note["guid"], REASON_OTHER_TYPE)
        elif note["mod"] > existing.mod:
            self._note_write(note, existing.id, notetype, renames, insert=False)
            self.note_map[note["id"]] = existing.id
            self.summary.notes["updated"] += 1
        else:
            self.note_map[note["id"]] = existing.id  # its cards may still be newer
            self.summary.note_skipped(note["guid"], REASON_NEWER_HERE)

    def _note_write(
        self,
        note: sqlite3.Row,
        note_id: int,
        notetype: JsonDict,
        renames: Mapping[str, str],
        *,
        insert: bool,
    ) -> None:
        fields = self._fields_fitted(anki.split_fields(note["flds"]), notetype, renames)
        values = {
            "guid": note["guid"],
            "mid": int(notetype["id"]),
            # Anki keeps an added note's time and stamps an updated one with now.
            "mod": note["mod"] if insert else self.now,
            "usn": -1,
            "tags": self._tags_canonical(note["tags"]),
            "flds": anki.join_fields(fields),
            "sfld": anki.sort_field(fields, int(notetype.get("sortf", 0))),
            "csum": anki.field_checksum(fields[0]),
            "flags": note["flags"],
            "data": note["data"],
        }
        if insert:
            columns = ", ".join(["id", *values])
            marks = ", ".join("?" for _ in range(len(values) + 1))
            self.target.execute(
                f"INSERT INTO notes ({columns}) VALUES ({marks})", (note_id, *values.values())
            )
        else:
            assignments = ", ".join(f"{column} = ?" for column in values)
            self.target.execute(
                f"UPDATE notes SET {assignments} WHERE id = ?", (*values.values(), note_id)
            )

    @staticmethod
    def _fields_fitted(
        fields: list[str], notetype: JsonDict, renames: Mapping[str, str]
    ) -> list[str]:
        """Anki's repair of a field count that does not match the note type: missing
        fields are empty, extra ones are appended to the last field."""
        wanted = max(1, len(notetype.get("flds", [])))
        fields = fields + [""] * (wanted - len(fields))
        while len(fields) > wanted:
            extra = fields.pop()
            fields[-1] += extra
        return [anki.field_normalize(media_references_renamed(text, renames)) for text in fields]

    def _tags_canonical(self, text: str) -> str:
        """The note's tags spelt as the learner's collection already spells them."""
        tags = []
        for tag in anki.tags_from_text(text):
            spelled = self.tags.get(tag.casefold())
            if spelled is None:
                spelled = self.tags[tag.casefold()] = tag
                self.state.tags[tag] = -1
                self.changed["tags"] = True
            tags.append(spelled)
        return anki.tags_to_text(tags)

    # cards and review history

    def _day_shift(self, timezone: str, now_ms: int) -> int:
        """How many days the package's collection is ahead of the learner's (Anki shifts
        day-number due dates by this, so a card due in 3 days stays due in 3 days)."""
        rollover = self.incoming["conf"].get("rollover", 4)
        theirs = timing_for(
            collection_created=int(self.incoming["crt"]),
            now_ms=now_ms,
            timezone=timezone,
            rollover_hour=rollover if isinstance(rollover, int) else 4,
        )
        ours_rollover = self.state.conf.get("rollover", 4)
        ours = timing_for(
            collection_created=self.state.crt,
            now_ms=now_ms,
            timezone=timezone,
            rollover_hour=ours_rollover if isinstance(ours_rollover, int) else 4,
        )
        return theirs.days_elapsed - ours.days_elapsed

    def cards_merge(self, day_shift: int) -> None:
        existing = {
            (nid, ord): (card_id, mod)
            for card_id, nid, ord, mod in self.target.execute("SELECT id, nid, ord, mod FROM cards")
        }
        taken = {card_id for card_id, _ in existing.values()}
        max_position = 0
        for card in self.source.execute(f"SELECT {_CARD_COLUMNS} FROM cards ORDER BY id"):
            values = self._card_values(card, day_shift)
            if values is None:
                self.summary.cards["skipped"] += 1
                continue
            found = existing.get((values["nid"], values["ord"]))
            if found is None:
                values["id"] = self._card_add(values, taken)
                existing[(values["nid"], values["ord"])] = (values["id"], values["mod"])
                if values["type"] == 0:
                    max_position = max(max_position, values["due"])
            elif self.include_scheduling and values["mod"] > found[1]:
                self._card_update(values, found[0])
            else:
                self.summary.cards["skipped"] += 1
        self._next_position_after(max_position)

    def _card_values(self, card: sqlite3.Row, day_shift: int) -> dict[str, Any] | None:
        note_id = self.note_map.get(card["nid"])
        if note_id is None:
            return None
        mid = self.notetype_map.get(self.source_mids.get(card["nid"], 0))
        notetype = self.state.notetype(mid) if mid is not None else None
        if notetype is None or not _ord_fits(notetype, card["ord"]):
            return None
        values = dict(card)
        values.update(nid=note_id, usn=-1)
        self._card_home(values)
        values["did"] = self.deck_map.get(values["did"], 1)
        if values["queue"] in (2, 3) or values["type"] == 2:
            values["due"] -= day_shift
        if values["type"] == 2 and values["odue"]:
            values["odue"] -= day_shift
        return values

    def _card_home(self, values: dict[str, Any]) -> None:
        """Take a card out of a filtered deck: home when the package has its home deck,
        else it stays where it is, now a normal deck."""
        if not values["odid"]:
            return
        if values["odid"] in self.deck_map:
            values["did"] = values["odid"]
        if values["odue"]:
            values["due"] = values["odue"]
        if values["queue"] >= 0:
            values["queue"] = _queue_restored(values["type"], values["due"])
        values.update(odid=0, odue=0)

    def _card_add(self, values: dict[str, Any], taken: set[int]) -> int:
        source_id = values["id"]
        card_id = source_id
        while card_id in taken:
            card_id += ID_BUMP
        taken.add(card_id)
        values["id"] = card_id
        columns = _CARD_COLUMNS.split(", ")
        marks = ", ".join("?" for _ in columns)
        self.target.execute(
            f"INSERT INTO cards ({_CARD_COLUMNS}) VALUES ({marks})",
            tuple(values[column] for column in columns),
        )
        self.card_map[source_id] = card_id
        self.summary.cards["added"] += 1
        return card_id

    def _card_update(self, values: dict[str, Any], card_id: int) -> None:
        assignments = ", ".join(f"{column} = ?" for column in _CARD_SCHEDULING)
        self.target.execute(
            f"UPDATE cards SET {assignments}, usn = -1 WHERE id = ?",
            (*(values[column] for column in _CARD_SCHEDULING), card_id),
        )
        self.card_map[values["id"]] = card_id
        self.summary.cards["updated"] += 1

    def _next_position_after(self, max_position: int) -> None:
        current = self.state.conf.get("nextPos", 1)
        if isinstance(current, int) and max_position >= current:
            self.state.conf["nextPos"] = max_position + 1
            self.changed["conf"] = True

    def revlog_merge(self) -> None:
        # Counted, not taken from total_changes: the storage engine's capture triggers
        # make changes of their own.
        before = self._revlog_rows()
        rows = self.source.execute(
            "SELECT id, cid, ease, ivl, lastIvl, factor, time, type FROM revlog ORDER BY id"
        )
        self.target.executemany(
            "INSERT OR IGNORE INTO revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type)"
            " VALUES (?, ?, -1, ?, ?, ?, ?, ?, ?)",
            (
                (row[0], self.card_map[row[1]], *tuple(row)[2:])
                for row in rows
                if row[1] in self.card_map
            ),
        )
        self.summary.revlog["added"] = self._revlog_rows() - before

    def _revlog_rows(self) -> int:
        return int(self.target.execute("SELECT count() FROM revlog").fetchone()[0])

    def collection_finish(self) -> None:
        """Save the col JSON that changed, and bump col.mod if anything did."""
        rows = (self.summary.notes, self.summary.cards)
        if any(self.changed.values()) or any(row["added"] or row["updated"] for row in rows):
            collection_save(self.state, **self.changed)
