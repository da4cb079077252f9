"""Anki's schema-11 tables as unmanaged models on the learner's database (``userdb``).

The columns are Anki's own names and meanings (see ../shared/ANKI.md); the
database router sends these models to ``userdb``. Decks, note types and deck
options are JSON inside the single ``col`` row: read and write them through the
services, which keep that JSON consistent.
"""

from __future__ import annotations

from django.db import models


class Collection(models.Model):
    id = models.IntegerField(primary_key=True)
    crt = models.IntegerField(help_text="creation day start, epoch seconds")
    mod = models.IntegerField(help_text="last modified, epoch ms")
    scm = models.IntegerField(help_text="schema modified, epoch ms")
    ver = models.IntegerField()
    dty = models.IntegerField()
    usn = models.IntegerField()
    ls = models.IntegerField()
    conf = models.TextField()
    notetypes = models.TextField(db_column="models", help_text="note types, JSON")
    decks = models.TextField()
    dconf = models.TextField()
    tags = models.TextField()

    class Meta:
        managed = False
        db_table = "col"


class Note(models.Model):
    id = models.IntegerField(primary_key=True)
    guid = models.TextField()
    mid = models.IntegerField(help_text="note type id")
    mod = models.IntegerField(help_text="epoch seconds")
    usn = models.IntegerField()
    tags = models.TextField(help_text="space-separated, with a leading and trailing space")
    flds = models.TextField(help_text="fields joined with \\x1f")
    sfld = models.TextField(help_text="sort field, HTML stripped")
    csum = models.IntegerField(help_text="first 8 hex digits of SHA-1 of the first field")
    flags = models.IntegerField()
    data = models.TextField()

    class Meta:
        managed = False
        db_table = "notes"


class Card(models.Model):
    id = models.IntegerField(primary_key=True)
    nid = models.IntegerField(help_text="note id")
    did = models.IntegerField(help_text="deck id")
    ord = models.IntegerField(help_text="template (or cloze number - 1)")
    mod = models.IntegerField(help_text="epoch seconds")
    usn = models.IntegerField()
    type = models.IntegerField(help_text="0 new, 1 learning, 2 review, 3 relearning")
    queue = models.IntegerField(
        help_text="-3 buried by hand, -2 buried by the scheduler (siblings), -1 suspended, "
        "0 new, 1 learning, 2 review, 3 day learning"
    )
    due = models.IntegerField()
    ivl = models.IntegerField()
    factor = models.IntegerField()
    reps = models.IntegerField()
    lapses = models.IntegerField()
    left = models.IntegerField()
    odue = models.IntegerField()
    odid = models.IntegerField()
    flags = models.IntegerField()
    data = models.TextField()

    class Meta:
        managed = False
        db_table = "cards"


class Revlog(models.Model):
    id = models.IntegerField(primary_key=True, help_text="answer time, epoch ms")
    cid = models.IntegerField()
    usn = models.IntegerField()
    ease = models.IntegerField()
    ivl = models.IntegerField()
    last_ivl = models.IntegerField(db_column="lastIvl")
    factor = models.IntegerField()
    time = models.IntegerField(help_text="ms")
    type = models.IntegerField(help_text="0 learn, 1 review, 2 relearn, 3 filtered, 4 manual")

    class Meta:
        managed = False
        db_table = "revlog"


class Grave(models.Model):
    """Deletions, so that a sync or an import knows what was removed (no key of its own)."""

    rowid = models.AutoField(primary_key=True, db_column="rowid")
    usn = models.IntegerField()
    oid = models.IntegerField()
    type = models.IntegerField(help_text="0 card, 1 note, 2 deck")

    class Meta:
        managed = False
        db_table = "graves"
