"""The card search language of `?q=`, a small subset of Anki's, and its translation to SQL.

A query is terms separated by spaces, all of which must hold (AND); `-term` negates one.
Double quotes group words into one term (`"the capital"`, `deck:"My Deck"`,
`"deck:My Deck"`). Terms, as Anki reads them:

- free text: a case-insensitive substring of the note's fields, HTML stripped
  (Anki matches the raw HTML; matching what the learner sees is deliberate);
- `tag:x`: notes tagged x or any x::child, ignoring case; `tag:none` for untagged notes;
- `deck:x`: cards in deck x or its subdecks (a filtered deck's cards count for their
  home deck too); `deck:current` for the current deck;
- `is:new|learn|review|due|suspended|buried`; `note:x` (note type name); `flag:0-7`.

In text, tag, deck and note type patterns `*` matches any run of characters, `_` any one
character, and a backslash makes the next character literal (`\\*`, `\\_`, `\\"`).
Parentheses and `or` are not supported: they are searched for as text.

The SQL is a WHERE clause over `cards c JOIN notes n ON n.id = c.nid` with `%s`
placeholders (the DB-API style Django's cursors take). Text and tag terms call the
SQLite functions in SQL_FUNCTIONS, which the caller registers on its connection.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from decks.anki import split_fields, strip_html, tags_from_text

STATES = ("new", "learn", "review", "due", "suspended", "buried")
KEYS = ("tag", "deck", "is", "note", "flag")
QUERY_MAX_CHARS = 1000

# Queue and type numbers (Anki's CardQueue / CardType)
_STATE_SQL = {
    "new": "c.type = 0",
    "learn": "c.queue IN (1, 3)",
    "review": "c.type IN (2, 3)",
    "suspended": "c.queue = -1",
    "buried": "c.queue IN (-2, -3)",
}


class SearchError(ValueError):
    """The query cannot be understood; the message says why, for the learner."""


@dataclass(frozen=True)
class Term:
    """One condition of a query. `kind` is "text" or one of KEYS; `value` keeps its
    backslash escapes (they matter to wildcard matching)."""

    kind: str
    value: str
    negated: bool = False


@dataclass(frozen=True)
class SearchContext:
    """What translating a query needs from the collection.

    `deck_ids(pattern)` gives the ids of the decks whose name matches the pattern, with
    their subdecks; `notetype_ids(pattern)` the ids of matching note types. `today` is
    the collection's day number and `day_ends_at` (epoch seconds) the next rollover:
    intraday learning cards due before it are due today.
    """

    deck_ids: Callable[[str], list[int]]
    notetype_ids: Callable[[str], list[int]]
    today: int
    day_ends_at: int


# Parsing
# ---------------------------------------------------------------------------


def parse(query: str) -> list[Term]:
    """The terms of a query, in order; SearchError when it is malformed."""
    if len(query) > QUERY_MAX_CHARS:
        raise SearchError(f"Use at most {QUERY_MAX_CHARS} characters.")
    return [_term(token) for token in _tokens(query)]


def _tokens(query: str) -> Iterator[str]:
    """Whitespace-separated tokens with unescaped double quotes removed."""
    token: list[str] = []
    in_quotes = False
    chars = iter(query)
    for char in chars:
        if char == "\\":
            token.append(char + next(chars, "\\"))
        elif char == '"':
            in_quotes = not in_quotes
            token.append("")  # so that `""` still counts as a (empty) token
        elif char.isspace() and not in_quotes:
            if token:
                yield "".join(token)
            token = []
        else:
            token.append(char)
    if in_quotes:
        raise SearchError("A double quote is not closed.")
    if token:
        yield "".join(token)


def _term(token: str) -> Term:
    negated = token.startswith("-")
    body = token[1:] if negated else token
    if not body:
        raise SearchError("Nothing follows a '-'." if negated else "An empty search term.")
    key, separator, value = _split_key(body)
    if not separator or key.lower() not in KEYS:
        return Term("text", body, negated)
    key = key.lower()
    _check_value(key, value)
    return Term(key, value.lower() if key in ("is", "flag") else value, negated)


def _split_key(body: str) -> tuple[str, str, str]:
    # the first colon that is not escaped separates a key from its value
    index = 0
    while index < len(body):
        if body[index] == "\\":
            index += 2
            continue
        if body[index] == ":":
            return body[:index], ":", body[index + 1 :]
        index += 1
    return body, "", ""


def _check_value(key: str, value: str) -> None:
    if not value:
        raise SearchError(f"'{key}:' needs a value.")
    if key == "is" and value.lower() not in STATES:
        raise SearchError(f"'is:{value}' is not one of is:{', is:'.join(STATES)}.")
    if key == "flag" and value not in {str(n) for n in range(8)}:
        raise SearchError("'flag:' takes a number from 0 to 7.")


# Wildcards
# ---------------------------------------------------------------------------


def wildcard_regex(pattern: str, any_char: str = ".") -> str:
    """A regular expression for a pattern with `*`, `_` and backslash escapes."""
    out: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            out.append(re.escape(next(chars, "\\")))
        elif char == "*":
            out.append(f"{any_char}*")
        elif char == "_":
            out.append(any_char)
        else:
            out.append(re.escape(char))
    return "".join(out)


@functools.lru_cache(maxsize=256)
def _compiled(regex: str) -> re.Pattern[str]:
    return re.compile(regex, re.IGNORECASE | re.DOTALL)


def name_matches(name: str, pattern: str) -> bool:
    """A deck or note type name against a pattern: whole name, ignoring case."""
    return _compiled(f"(?:{wildcard_regex(pattern)})").fullmatch(name) is not None


def text_matches(flds: str, pattern: str) -> bool:
    """Whether the note's fields, HTML stripped, contain the pattern (ignoring case)."""
    visible = "\x1f".join(strip_html(field) for field in split_fields(flds))
    return _compiled(wildcard_regex(pattern)).search(visible) is not None


def tags_match(tags: str, pattern: str) -> bool:
    """Whether one of the note's tags is the pattern, or a `::` child of it."""
    regex = _compiled(f"(?:{wildcard_regex(pattern, any_char=r'[^ ]')})(?:::.*)?")
    return any(regex.fullmatch(tag) for tag in tags_from_text(tags))


SQL_FUNCTIONS: dict[str, Callable[[str, str], bool]] = {
    "javumbo_text_matches": text_matches,
    "javumbo_tags_match": tags_match,
}


def register_functions(connection: sqlite3.Connection) -> None:
    """Make the functions the generated SQL calls available on this connection."""
    for name, function in SQL_FUNCTIONS.items():
        connection.create_function(name, 2, function, deterministic=True)


# SQL
# ---------------------------------------------------------------------------


def where_sql(terms: list[Term], context: SearchContext) -> tuple[str, list[object]]:
    """A WHERE clause (without the word) for the terms, and its parameters."""
    clauses: list[str] = []
    params: list[object] = []
    for term in terms:
        clause, term_params = _term_sql(term, context)
        clauses.append(f"NOT ({clause})" if term.negated else f"({clause})")
        params.extend(term_params)
    return (" AND ".join(clauses) or "1"), params


def _term_sql(term: Term, context: SearchContext) -> tuple[str, list[object]]:
    if term.kind == "text":
        return "javumbo_text_matches(n.flds, %s)", [term.value]
    if term.kind == "tag":
        return _tag_sql(term.value)
    if term.kind == "deck":
        ids = _id_list(context.deck_ids(term.value))
        return (f"c.did IN ({ids}) OR c.odid IN ({ids})" if ids else "0"), []
    if term.kind == "note":
        ids = _id_list(context.notetype_ids(term.value))
        return (f"n.mid IN ({ids})" if ids else "0"), []
    if term.kind == "flag":
        return "(c.flags & 7) = %s", [int(term.value)]
    return _state_sql(term.value, context)


def _tag_sql(pattern: str) -> tuple[str, list[object]]:
    if pattern.lower() == "none":
        return "trim(n.tags) = ''", []
    return "javumbo_tags_match(n.tags, %s)", [pattern]


def _state_sql(state: str, context: SearchContext) -> tuple[str, list[object]]:
    if state == "due":
        return (
            "(c.queue IN (2, 3) AND c.due <= %s) OR (c.queue = 1 AND c.due < %s)",
            [context.today, context.day_ends_at],
        )
    return _STATE_SQL[state], []


def _id_list(ids: list[int]) -> str:
    # ids come from the collection's own JSON, never from the query text
    return ", ".join(str(int(i)) for i in ids)
