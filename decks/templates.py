"""Anki's card text rules: HTML stripping, cloze deletions, template rendering, sanitising.

Everything here mirrors what Anki 26.9 does (rslib `text.rs`, `cloze.rs`, `template.rs`,
`template_filters.rs`, `notetype/render.rs`, plus the Python layer behind `card.question()`),
so that a card shown by Javumbo reads exactly like the same card in Anki. Known, deliberate
differences: `[sound:...]` tags are left in place (Anki's Python layer swaps them for
`[anki:play:...]` markers), LaTeX is not turned into images, and image-occlusion clozes are
not drawn. Nothing here touches a database or a framework.
"""

from __future__ import annotations

import html.entities
import re
import struct
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import nh3

# A note type in Anki's legacy (schema 11) JSON form, as stored in `col.models`
NotetypeDict = dict[str, Any]

# What Rust's `str::trim` removes (Unicode White_Space); Python's `str.strip()` would also
# eat \x1c-\x1f, and \x1f is Anki's field separator.
RUST_WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

# HTML stripping (rslib/src/text.rs)
# ---------------------------------------------------------------------------

_HTML = re.compile(
    r"(<!--.*?-->)|(<style.*?>.*?</style>)|(<script.*?>.*?</script>)|(<.*?>)",
    re.DOTALL | re.IGNORECASE,
)
_HTML_MEDIA_TAGS = re.compile(
    r"""
    <\b(?:img|audio|video|object|source)\b
    (?:[^>]|"[^"]+?"|'[^']+?')+?
    \b(?:src|data)\b=
    (?:
        "([^"]+?)"[^>]*>
    |   '([^']+?)'[^>]*>
    |   ([^ >]+?)(?:\x20[^>]*>|>)
    )
    """,
    re.DOTALL | re.IGNORECASE | re.VERBOSE,
)
_ENTITY = re.compile(r"&(?:#x([0-9a-fA-F]*);|#([0-9]+);|([^#][^;]*);)")


def strip_html_preserving_entities(html_text: str) -> str:
    """Remove tags, comments, styles and scripts, leaving entities such as `&amp;` alone."""
    return _HTML.sub("", html_text)


def decode_entities(text: str) -> str:
    """Decode HTML entities the way Anki does; a malformed entity leaves the text untouched."""
    if "&" not in text:
        return text
    decoded = _decode_entities_strictly(text)
    if decoded is None:
        return text
    return decoded.replace("\xa0", " ")


def strip_html(html_text: str) -> str:
    """Anki's `strip_html`: tags removed, entities decoded, non-breaking spaces made plain."""
    return decode_entities(strip_html_preserving_entities(html_text))


def strip_html_preserving_media_filenames(html_text: str) -> str:
    """What Anki checksums and sorts by: media tags become ` filename `, then `strip_html`."""
    with_names = _HTML_MEDIA_TAGS.sub(_media_filename_with_spaces, html_text)
    return strip_html(with_names)


def _media_filename_with_spaces(match: re.Match[str]) -> str:
    name = match.group(1) or match.group(2) or match.group(3) or ""
    return f" {name} "


def _decode_entities_strictly(text: str) -> str | None:
    # Anki's decoder (the htmlescape crate) rejects the whole string on any bad entity,
    # including a bare `&`, so this returns None instead of guessing.
    out: list[str] = []
    pos = 0
    while (amp := text.find("&", pos)) != -1:
        out.append(text[pos:amp])
        match = _ENTITY.match(text, amp)
        char = _entity_char(match) if match else None
        if match is None or char is None:
            return None
        out.append(char)
        pos = match.end()
    out.append(text[pos:])
    return "".join(out)


def _entity_char(match: re.Match[str]) -> str | None:
    hex_digits, dec_digits, name = match.groups()
    if name is not None:
        codepoint = html.entities.name2codepoint.get(name)
        return None if codepoint is None else chr(codepoint)
    digits, base = (hex_digits, 16) if hex_digits is not None else (dec_digits, 10)
    if not digits:
        return None
    value = int(digits, base)
    if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
        return None
    return chr(value)


def encode_attribute(text: str) -> str:
    """htmlescape's `encode_attribute`, which Anki uses for the `data-cloze` attribute."""
    out: list[str] = []
    for char in text:
        if char in _MINIMAL_ENTITIES:
            out.append(_MINIMAL_ENTITIES[char])
        elif ord(char) < 256 and (ord(char) > 127 or not (char.isascii() and char.isalnum())):
            out.append(f"&#x{ord(char):02X};")
        else:
            out.append(char)
    return "".join(out)


def encode_minimal(text: str) -> str:
    """htmlescape's `encode_minimal`: only `"&'<>` become entities."""
    return "".join(_MINIMAL_ENTITIES.get(char, char) for char in text)


_MINIMAL_ENTITIES = {'"': "&quot;", "&": "&amp;", "'": "&#x27;", "<": "&lt;", ">": "&gt;"}


def field_is_empty(text: str) -> bool:
    """Anki's test for an empty field: only whitespace and empty `<br>`/`<div>` tags."""
    return _EMPTY_FIELD.match(text) is not None


_EMPTY_FIELD = re.compile(r"^(?:[\t\n\x0b\x0c\r ]|</?(?:br|div) ?/?>)*$", re.IGNORECASE)


def field_normalize(text: str) -> str:
    """The form Anki stores a field in: ASCII control characters (bar tab, newline) removed, NFC."""
    cleaned = "".join(c for c in text if c in "\t\n" or not (ord(c) < 32 or c == "\x7f"))
    return unicodedata.normalize("NFC", cleaned)


# Cloze deletions (rslib/src/cloze.rs)
# ---------------------------------------------------------------------------

_CLOZE_MARKER = re.compile(r"\{\{c([0-9]+)::|\}\}")
_MAX_OPEN_CLOZES = 10


@dataclass
class Cloze:
    """One `{{cN::...}}` deletion; `nodes` holds text (str) and nested clozes."""

    ordinal: int
    nodes: list[str | Cloze] = field(default_factory=list)
    hint: str | None = None

    def clozed_text(self) -> str:
        return "".join(n if isinstance(n, str) else n.clozed_text() for n in self.nodes)


def _cloze_tokens(text: str) -> Iterator[str | int | None]:
    """Yield text runs (str), openings (the cloze number, int) and closings (None)."""
    pos = 0
    search_from = 0
    while (match := _CLOZE_MARKER.search(text, search_from)) is not None:
        number = match.group(1)
        if number is not None and int(number) > 0xFFFF:
            # Anki parses the number as u16; a bigger one is plain text
            search_from = match.start() + 1
            continue
        if match.start() > pos:
            yield text[pos : match.start()]
        yield None if number is None else int(number)
        pos = search_from = match.end()
    if pos < len(text):
        yield text[pos:]


def parse_clozes(text: str) -> list[str | Cloze]:
    """Split text into top-level text runs and (possibly nested) clozes, as Anki does."""
    open_clozes: list[Cloze] = []
    output: list[str | Cloze] = []
    for token in _cloze_tokens(text):
        if isinstance(token, int):
            if len(open_clozes) < _MAX_OPEN_CLOZES:
                open_clozes.append(Cloze(ordinal=token))
        elif isinstance(token, str):
            _add_text_node(open_clozes, output, token)
        elif open_clozes:
            closed = open_clozes.pop()
            (open_clozes[-1].nodes if open_clozes else output).append(closed)
        else:
            output.append("}}")
    # clozes still open at the end are dropped with their text, like Anki does
    return output


def _add_text_node(open_clozes: list[Cloze], output: list[str | Cloze], text: str) -> None:
    if not open_clozes:
        output.append(text)
        return
    cloze = open_clozes[-1]
    head, separator, tail = text.partition("::")
    if separator:
        text, cloze.hint = head, tail
    cloze.nodes.append(text)


def cloze_numbers_in_text(text: str) -> set[int]:
    """Cloze numbers used in one field (c0 is no cloze, but clozes nested in it count)."""
    numbers: set[int] = set()
    _collect_cloze_numbers(parse_clozes(text), numbers)
    return numbers


def _collect_cloze_numbers(nodes: list[str | Cloze], numbers: set[int]) -> None:
    for node in nodes:
        if isinstance(node, Cloze):
            if node.ordinal != 0:
                numbers.add(node.ordinal)
            _collect_cloze_numbers(node.nodes, numbers)


def cloze_numbers(fields: Iterable[str]) -> set[int]:
    """Every cloze number (`{{c1::...}}` -> 1) used in any of the fields."""
    numbers: set[int] = set()
    for text in fields:
        numbers |= cloze_numbers_in_text(text)
    return numbers


def reveal_cloze_text(text: str, cloze_ord: int, question: bool) -> str:
    """Render one field for cloze card `cloze_ord` (1-based); "" if that cloze is absent."""
    buf: list[str] = []
    found = [False]
    for node in parse_clozes(text):
        if isinstance(node, str):
            buf.append(node)
        else:
            _reveal_cloze(node, cloze_ord, question, found, buf)
    return "".join(buf) if found[0] else ""


def _reveal_cloze(
    cloze: Cloze, active_ord: int, question: bool, found: list[bool], buf: list[str]
) -> None:
    active = cloze.ordinal == active_ord
    found[0] |= active
    if question and active:
        inner: list[str] = []
        _reveal_children(cloze, active_ord, question, found, inner)
        buf.append(
            f'<span class="cloze" data-cloze="{encode_attribute("".join(inner))}" '
            f'data-ordinal="{cloze.ordinal}">[{cloze.hint or "..."}]</span>'
        )
        return
    css_class = "cloze" if active else "cloze-inactive"
    buf.append(f'<span class="{css_class}" data-ordinal="{cloze.ordinal}">')
    _reveal_children(cloze, active_ord, question, found, buf)
    buf.append("</span>")


def _reveal_children(
    cloze: Cloze, active_ord: int, question: bool, found: list[bool], buf: list[str]
) -> None:
    for node in cloze.nodes:
        if isinstance(node, str):
            buf.append(node)
        else:
            _reveal_cloze(node, active_ord, question, found, buf)


def reveal_cloze_text_only(text: str, cloze_ord: int, question: bool) -> str:
    """The `cloze-only` filter: just the active deletions (or their hints), comma-joined."""
    out: list[str] = []
    for node in parse_clozes(text):
        if isinstance(node, Cloze):
            _collect_active_texts(node, cloze_ord, question, out)
    return ", ".join(out)


def _collect_active_texts(cloze: Cloze, cloze_ord: int, question: bool, out: list[str]) -> None:
    if cloze.ordinal == cloze_ord:
        out.append((cloze.hint or "...") if question else cloze.clozed_text())
    for node in cloze.nodes:
        if isinstance(node, Cloze):
            _collect_active_texts(node, cloze_ord, question, out)


_MATHJAX = re.compile(r"(\\[(\[])(.*?)(\\[\])])", re.DOTALL | re.IGNORECASE)


def _strip_html_inside_mathjax(text: str) -> str:
    return _MATHJAX.sub(
        lambda m: m.group(1) + strip_html_preserving_entities(m.group(2)) + m.group(3), text
    )


# Template parsing (rslib/src/template.rs)
# ---------------------------------------------------------------------------


class TemplateError(Exception):
    """A card template that Anki refuses to render; `message` is Anki's English wording."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Replacement:
    key: str
    filters: list[str]  # in the order they are applied (innermost first)


@dataclass
class Conditional:
    key: str
    children: list[Node]
    negated: bool


@dataclass
class Comment:
    text: str


Node = str | Replacement | Conditional | Comment

_ALT_SYNTAX_DIRECTIVE = "{{=<% %>=}}"


def _template_tokens(template: str) -> Iterator[tuple[str, str]]:
    """Yield (kind, text) with kind in text/comment/handlebar, as Anki's lexer does."""
    start_tag, end_tag = "{{", "}}"
    if template.lstrip(RUST_WHITESPACE).startswith(_ALT_SYNTAX_DIRECTIVE):
        template = template.lstrip(RUST_WHITESPACE)
        while template.startswith(_ALT_SYNTAX_DIRECTIVE):
            template = template[len(_ALT_SYNTAX_DIRECTIVE) :]
        start_tag, end_tag = "<%", "%>"
    pos = 0
    while pos < len(template):
        kind, start, inner_end, end = _next_delimited(template, pos, start_tag, end_tag)
        if start > pos:
            yield "text", template[pos:start]
        if kind:
            yield kind, template[start + (2 if kind == "handlebar" else 4) : inner_end]
        pos = end


def _next_delimited(
    template: str, pos: int, start_tag: str, end_tag: str
) -> tuple[str, int, int, int]:
    """The next handlebar or comment after pos: (kind, start, inner end, end); kind "" if none."""
    candidates: list[tuple[int, str, int, int]] = []
    for kind, opening, closing in (("handlebar", start_tag, end_tag), ("comment", "<!--", "-->")):
        start = template.find(opening, pos)
        inner_end = template.find(closing, start + len(opening)) if start != -1 else -1
        if inner_end != -1:
            candidates.append((start, kind, inner_end, inner_end + len(closing)))
    if not candidates:
        return "", len(template), len(template), len(template)
    start, kind, inner_end, end = min(candidates)
    return kind, start, inner_end, end


def _classify_handlebar(content: str) -> tuple[str, str]:
    """('replace'|'open'|'open_negated'|'close', text) for the inside of `{{...}}`."""
    text = content.lstrip("{").strip(RUST_WHITESPACE)
    if len(text.encode()) < 2:
        return "replace", text
    kinds = {"#": "open", "/": "close", "^": "open_negated"}
    if text[0] in kinds:
        return kinds[text[0]], text[1:].lstrip(RUST_WHITESPACE)
    return "replace", text


def parse_template(template: str) -> list[Node]:
    """Parse a card template into nodes, raising TemplateError for unbalanced conditionals."""
    return _parse_nodes(_template_tokens(template), None)


def _parse_nodes(tokens: Iterator[tuple[str, str]], open_key: str | None) -> list[Node]:
    nodes: list[Node] = []
    for kind, text in tokens:
        if kind == "text":
            nodes.append(text)
        elif kind == "comment":
            nodes.append(Comment(text))
        else:
            handle, key = _classify_handlebar(text)
            if handle == "close":
                _check_closing(key, open_key)
                return nodes
            nodes.append(_handlebar_node(handle, key, tokens))
    if open_key is not None:
        raise TemplateError(_message("conditional_not_closed", tag=f"{{{{/{open_key}}}}}"))
    return nodes


def _handlebar_node(handle: str, key: str, tokens: Iterator[tuple[str, str]]) -> Node:
    if handle == "replace":
        *filters, name = key.split(":")
        return Replacement(key=name, filters=filters[::-1])
    return Conditional(
        key=key, children=_parse_nodes(tokens, key), negated=handle == "open_negated"
    )


def _check_closing(key: str, open_key: str | None) -> None:
    if open_key == key:
        return
    if open_key is None:
        raise TemplateError(
            _message(
                "conditional_not_open",
                found=f"{{{{/{key}}}}}",
                missing1=f"{{{{#{key}}}}}",
                missing2=f"{{{{^{key}}}}}",
            )
        )
    raise TemplateError(
        _message(
            "wrong_conditional_closed", found=f"{{{{/{key}}}}}", expected=f"{{{{/{open_key}}}}}"
        )
    )


def renders_with_fields(nodes: list[Node], nonempty_fields: set[str]) -> bool:
    """Anki's card-generation rule: does any non-empty field reach the rendered output?"""
    for node in nodes:
        if isinstance(node, Replacement) and node.key in nonempty_fields:
            return True
        if isinstance(node, Conditional):
            taken = (node.key in nonempty_fields) != node.negated
            if taken and renders_with_fields(node.children, nonempty_fields):
                return True
    return False


# Anki's English messages (from the anki package's en-US strings); \u2068/\u2069 are the
# Unicode isolation marks Fluent puts around every inserted value.
def _isolate(value: object) -> str:
    return f"\u2068{value}\u2069"


_MESSAGES = {
    "no_such_field": "Found '{field_ref}', but there is no field called '{name}'",
    "conditional_not_closed": "Missing '{tag}'",
    "conditional_not_open": "Found '{found}', but missing '{missing1}' or '{missing2}'",
    "wrong_conditional_closed": "Found '{found}', but expected '{expected}'",
}
_TEMPLATE_ERROR_LINK = "https://docs.ankiweb.net/templates/errors.html#template-syntax-error"
_BLANK_LINK = "https://docs.ankiweb.net/templates/errors.html#front-of-card-is-blank"
_BLANK_CLOZE_LINK = (
    "https://docs.ankiweb.net/templates/errors.html#no-cloze-filter-on-cloze-note-type"
)
_MORE_INFO = "More information"


def _message(kind: str, **values: str) -> str:
    return _MESSAGES[kind].format(**{k: _isolate(v) for k, v in values.items()})


def _template_error_html(message: str, question_side: bool) -> str:
    header = "Front template has a problem:" if question_side else "Back template has a problem:"
    link = f"<a href='{_TEMPLATE_ERROR_LINK}'>{_MORE_INFO}</a>"
    return f"{header}<br>{encode_minimal(message)}<br>{link}"


def _empty_front_html() -> str:
    return (
        f"<div>The front of this card is blank.<br><a href='{_BLANK_LINK}'>{_MORE_INFO}</a></div>"
    )


def _missing_cloze_html(cloze_number: int) -> str:
    return (
        f"<div>No cloze {_isolate(cloze_number)} found on card.\n"
        "Please either add a cloze deletion, or use the Empty Cards tool."
        f"<br><a href='{_BLANK_CLOZE_LINK}'>{_MORE_INFO}</a></div>"
    )


# Rendering (rslib/src/template.rs, template_filters.rs, notetype/render.rs)
# ---------------------------------------------------------------------------


@dataclass
class RenderContext:
    fields: Mapping[str, str]
    nonempty_fields: set[str]
    card_ord: int
    frontside: str | None  # None while rendering the question


def _is_cloze_conditional(key: str) -> bool:
    # Rust's u32 parser: optional "+", ASCII digits, and the value must fit
    match = re.fullmatch(r"c\+?([0-9]+)", key)
    return match is not None and int(match.group(1)) <= 0xFFFFFFFF


def _render_nodes(nodes: list[Node], context: RenderContext, out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, Comment):
            out.append(f"<!--{node.text}-->")
        elif isinstance(node, Replacement):
            out.append(_render_replacement(node, context))
        else:
            # a branch not taken is still rendered, so that its errors surface
            target = out if _conditional_is_true(node, context) else []
            _render_nodes(node.children, context, target)


def _conditional_is_true(node: Conditional, context: RenderContext) -> bool:
    if node.key in context.nonempty_fields:
        return not node.negated
    if node.key in context.fields or _is_cloze_conditional(node.key):
        return node.negated
    prefix = "^" if node.negated else "#"
    raise TemplateError(
        _message("no_such_field", field_ref=f"{{{{{prefix}{node.key}}}}}", name=node.key)
    )


def _render_replacement(node: Replacement, context: RenderContext) -> str:
    if node.key == "FrontSide":
        return context.frontside or ""
    if not node.key and node.filters:
        return ""
    if node.key not in context.fields:
        filters = "".join(f"{name}:" for name in reversed(node.filters))
        raise TemplateError(
            _message("no_such_field", field_ref=f"{{{{{filters}{node.key}}}}}", name=node.key)
        )
    return _apply_filters(context.fields[node.key], node.filters, node.key, context)


def _apply_filters(text: str, filters: list[str], field_name: str, context: RenderContext) -> str:
    if filters == ["cloze", "type"]:
        filters = ["type-cloze"]
    elif filters == ["nc", "type"]:
        filters = ["type-nc"]
    elif filters and filters[-1] == "type":
        filters = ["type"]
    for name in filters:
        result = _apply_filter(name, text, field_name, context)
        if result is None:
            # `card.question()` hands unknown filters to add-on hooks; with none installed
            # the text goes out as it is, and later filters are not applied either
            return text
        text = result
    return text


def _apply_filter(name: str, text: str, field_name: str, context: RenderContext) -> str | None:
    question = context.frontside is None
    simple: dict[str, Callable[[], str]] = {
        "text": lambda: strip_html(text),
        "furigana": lambda: _ruby_filter(text, _furigana),
        "kanji": lambda: _ruby_filter(text, lambda m: m.group(1)),
        "kana": lambda: _ruby_filter(text, lambda m: m.group(2)),
        "type": lambda: f"[[type:{field_name}]]",
        "type-cloze": lambda: f"[[type:cloze:{field_name}]]",
        "type-nc": lambda: f"[[type:nc:{field_name}]]",
        "hint": lambda: _hint_filter(text, field_name),
        "cloze": lambda: _strip_html_inside_mathjax(
            reveal_cloze_text(text, context.card_ord + 1, question)
        ),
        "cloze-only": lambda: reveal_cloze_text_only(text, context.card_ord + 1, question),
        "": lambda: text,
    }
    if name in simple:
        return simple[name]()
    if name.startswith("tts "):
        return f"[anki:tts lang={name[4:]}]{text}[/anki:tts]"
    return None


_FURIGANA = re.compile(r" ?([^ >]+?)\[(.+?)\]")


def _ruby_filter(text: str, replace: Callable[[re.Match[str]], str]) -> str:
    def keep_sound_tags(match: re.Match[str]) -> str:
        return match.group(0) if match.group(2).startswith("sound:") else replace(match)

    return _FURIGANA.sub(keep_sound_tags, text.replace("&nbsp;", " "))


def _furigana(match: re.Match[str]) -> str:
    return f"<ruby><rb>{match.group(1)}</rb><rt>{match.group(2)}</rt></ruby>"


def _hint_filter(text: str, field_name: str) -> str:
    if not text.strip(RUST_WHITESPACE):
        return text
    dom_id = blake3_digest((text + field_name).encode())[:8].hex()
    return (
        '\n<a class=hint href="#"\n'
        "onclick=\"this.style.display='none';\n"
        f"document.getElementById('hint{dom_id}').style.display='block';\n"
        'return false;" draggable=false>\n'
        f"{field_name}</a>\n"
        f'<div id="hint{dom_id}" class=hint style="display: none">{text}</div>\n'
    )


def render_card(
    notetype: NotetypeDict,
    fields: list[str],
    ord: int,
    *,
    tags: Iterable[str],
    deck_name: str,
    card_flag: int = 0,
    card_id: int = 0,
) -> tuple[str, str]:
    """(question_html, answer_html) for card `ord` of a note, as Anki's `card.question()` /
    `card.answer()` give them, minus the leading `<style>` block (the notetype's `css`).

    `tags` in stored order, `deck_name` with "::" between levels, `card_flag` the user
    flag (0-7). A template error or a blank front gives Anki's English explanation on
    both sides. Unlike Anki's Python layer, `[sound:...]` and `{{tts ...:Field}}` output
    are left as tags rather than swapped for play markers, and LaTeX stays as source.
    """
    is_cloze = notetype.get("type") == 1
    template = notetype["tmpls"][0 if is_cloze else ord]
    field_map = _field_map(
        notetype, fields, ord, template, list(tags), deck_name, card_flag, card_id
    )
    nonempty = {name for name, value in field_map.items() if not field_is_empty(value)}
    try:
        return _render_both_sides(template, field_map, nonempty, ord, is_cloze)
    except TemplateError as error:
        return error.message, error.message


def _field_map(
    notetype: NotetypeDict,
    fields: list[str],
    ord: int,
    template: NotetypeDict,
    tags: list[str],
    deck_name: str,
    card_flag: int,
    card_id: int,
) -> dict[str, str]:
    field_map = {f["name"]: value for f, value in zip(notetype["flds"], fields, strict=False)}
    specials = {
        "Tags": " ".join(tags),
        "Type": str(notetype["name"]),
        "Subdeck": deck_name.rsplit("::", 1)[-1],
        "Deck": deck_name,
        "CardFlag": f"flag{card_flag}",
        "Card": str(template["name"]),
        "CardID": str(card_id),
        f"c{ord + 1}": "1",
    }
    for name, value in specials.items():
        field_map.setdefault(name, value)  # a note field with the same name wins
    return field_map


def _render_both_sides(
    template: NotetypeDict,
    field_map: dict[str, str],
    nonempty: set[str],
    ord: int,
    is_cloze: bool,
) -> tuple[str, str]:
    context = RenderContext(
        fields=field_map, nonempty_fields=nonempty, card_ord=ord, frontside=None
    )
    question_nodes = _parsed_side(str(template["qfmt"]), question_side=True)
    question = _rendered_side(question_nodes, context, question_side=True)
    empty_message = _empty_card_message(question_nodes, field_map, nonempty, ord, is_cloze)
    if empty_message is not None:
        return question + empty_message, empty_message
    context.frontside = question
    answer_nodes = _parsed_side(str(template["afmt"]), question_side=False)
    return question, _rendered_side(answer_nodes, context, question_side=False)


def _parsed_side(template_text: str, question_side: bool) -> list[Node]:
    try:
        return parse_template(template_text)
    except TemplateError as error:
        raise TemplateError(_template_error_html(error.message, question_side)) from error


def _rendered_side(nodes: list[Node], context: RenderContext, question_side: bool) -> str:
    out: list[str] = []
    try:
        _render_nodes(nodes, context, out)
    except TemplateError as error:
        raise TemplateError(_template_error_html(error.message, question_side)) from error
    return "".join(out)


def _empty_card_message(
    question_nodes: list[Node],
    field_map: dict[str, str],
    nonempty: set[str],
    ord: int,
    is_cloze: bool,
) -> str | None:
    if is_cloze:
        if ord + 1 not in cloze_numbers(field_map.values()):
            return _missing_cloze_html(ord + 1)
        return None
    if not renders_with_fields(question_nodes, nonempty):
        return _empty_front_html()
    return None


# BLAKE3, for the `hint` filter's element id (Anki hashes with BLAKE3; hashlib has none)
# ---------------------------------------------------------------------------

_B3_IV = (
    0x6A09E667,
    0xBB67AE85,
    0x3C6EF372,
    0xA54FF53A,
    0x510E527F,
    0x9B05688C,
    0x1F83D9AB,
    0x5BE0CD19,
)
_B3_PERMUTATION = (2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8)
_B3_CHUNK_START, _B3_CHUNK_END, _B3_PARENT, _B3_ROOT = 1, 2, 4, 8
_B3_COLUMNS_THEN_DIAGONALS = (
    (0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15),
    (0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14),
)  # fmt: skip
_MASK32 = 0xFFFFFFFF

# (input chaining value, block words, counter, block length, flags) of a not-yet-compressed node
_B3Node = tuple[tuple[int, ...], tuple[int, ...], int, int, int]


def _rotr(value: int, bits: int) -> int:
    return ((value >> bits) | (value << (32 - bits))) & _MASK32


def _b3_compress(
    cv: tuple[int, ...], words: tuple[int, ...], counter: int, length: int, flags: int
) -> list[int]:
    state = [*cv, *_B3_IV[:4], counter & _MASK32, counter >> 32, length, flags]
    message = list(words)
    for round_index in range(7):
        for g, (a, b, c, d) in enumerate(_B3_COLUMNS_THEN_DIAGONALS):
            x, y = message[2 * g], message[2 * g + 1]
            state[a] = (state[a] + state[b] + x) & _MASK32
            state[d] = _rotr(state[d] ^ state[a], 16)
            state[c] = (state[c] + state[d]) & _MASK32
            state[b] = _rotr(state[b] ^ state[c], 12)
            state[a] = (state[a] + state[b] + y) & _MASK32
            state[d] = _rotr(state[d] ^ state[a], 8)
            state[c] = (state[c] + state[d]) & _MASK32
            state[b] = _rotr(state[b] ^ state[c], 7)
        if round_index < 6:
            message = [message[i] for i in _B3_PERMUTATION]
    return [state[i] ^ state[i + 8] for i in range(8)] + [state[i + 8] ^ cv[i] for i in range(8)]


def _b3_chunk(chunk: bytes, counter: int) -> _B3Node:
    blocks = [chunk[i : i + 64] for i in range(0, len(chunk), 64)] or [b""]
    cv: tuple[int, ...] = _B3_IV
    for index, block in enumerate(blocks):
        flags = (_B3_CHUNK_START if index == 0 else 0) | (
            _B3_CHUNK_END if index == len(blocks) - 1 else 0
        )
        words = struct.unpack("<16I", block.ljust(64, b"\0"))
        if index == len(blocks) - 1:
            return cv, words, counter, len(block), flags
        cv = tuple(_b3_compress(cv, words, counter, 64, flags)[:8])
    raise AssertionError("unreachable")


def _b3_chaining_value(node: _B3Node) -> tuple[int, ...]:
    return tuple(_b3_compress(*node)[:8])


def _b3_parent(left: tuple[int, ...], right: tuple[int, ...]) -> _B3Node:
    return _B3_IV, left + right, 0, 64, _B3_PARENT


def blake3_digest(data: bytes) -> bytes:
    """The 32-byte BLAKE3 hash of data (unkeyed), per the reference implementation."""
    chunks = [data[i : i + 1024] for i in range(0, len(data), 1024)] or [b""]
    stack: list[tuple[int, ...]] = []
    for index, chunk in enumerate(chunks[:-1]):
        cv = _b3_chaining_value(_b3_chunk(chunk, index))
        total = index + 1
        while total & 1 == 0:
            cv = _b3_chaining_value(_b3_parent(stack.pop(), cv))
            total >>= 1
        stack.append(cv)
    node = _b3_chunk(chunks[-1], len(chunks) - 1)
    while stack:
        node = _b3_parent(stack.pop(), _b3_chaining_value(node))
    cv, words, _, length, flags = node
    return struct.pack("<8I", *_b3_compress(cv, words, 0, length, flags | _B3_ROOT)[:8])


# Sanitising for display
# ---------------------------------------------------------------------------

_SAFE_TAGS = nh3.ALLOWED_TAGS | {"font", "rb", "audio", "video", "source", "track", "picture"}
_SAFE_ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"class", "style", "lang", "title", "dir"},
    "font": {"color", "face", "size"},
    "audio": {"src", "controls", "loop"},
    "video": {"src", "controls", "loop", "width", "height", "poster"},
    "source": {"src", "type"},
    "track": {"src", "kind", "srclang", "label"},
}
_SAFE_STYLE_PROPERTIES = {
    "color", "background", "background-color", "font", "font-family", "font-size", "font-style",
    "font-weight", "font-variant", "text-align", "text-decoration", "text-decoration-line",
    "text-transform", "vertical-align", "line-height", "letter-spacing", "white-space",
    "direction", "display", "width", "height", "max-width", "max-height", "margin", "margin-left",
    "margin-right", "margin-top", "margin-bottom", "padding", "padding-left", "padding-right",
    "padding-top", "padding-bottom", "border", "border-collapse", "border-color",
    "border-style", "border-width", "list-style-type",
}  # fmt: skip


def sanitize_html(html_text: str) -> str:
    """Card HTML made safe to put in a web page.

    Removes scripts, `<style>` blocks (a notetype's CSS is served separately), iframes,
    objects, embeds, forms, event-handler attributes (on*) and `javascript:` URLs; keeps
    ordinary formatting, images with relative media names, lists, tables, ruby text,
    audio/video, `class`/`style` (style limited to harmless properties), `data-*`
    attributes (Anki's cloze markup) and `<hr id=answer>` (no other ids, which could
    clobber the page's own elements).
    """
    return nh3.clean(
        html_text,
        tags=_SAFE_TAGS,
        clean_content_tags={"script", "style"},
        attributes=_SAFE_ATTRIBUTES,
        generic_attribute_prefixes={"data-"},
        filter_style_properties=_SAFE_STYLE_PROPERTIES,
        tag_attribute_values={"hr": {"id": {"answer"}}},
        link_rel="noopener noreferrer",
    )
