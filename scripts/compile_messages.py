"""Compile dvxl's message catalogues: every ``dvxl/locale/*/LC_MESSAGES/*.po`` to its ``.mo``.

    python scripts/compile_messages.py

Standard library only (GNU msgfmt is not on a Windows PC). The same ``.po`` gives the
same bytes; ``tests/test_clivi.py`` checks that each committed ``.mo`` is its ``.po``
compiled. Fuzzy entries and empty translations are left out, as msgfmt does.
"""

from __future__ import annotations

import ast
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "dvxl" / "locale"
MAGIC = 0x950412DE


@dataclass
class Entry:
    """One message of a ``.po`` file: ``msgid`` "" is the header."""

    msgid: str = ""
    plural: str | None = None
    context: str | None = None
    strings: dict[int, str] = field(default_factory=dict)
    fuzzy: bool = False


def read_po(text: str) -> list[Entry]:
    """The entries of a ``.po`` file, in order."""
    entries: list[Entry] = []
    entry = Entry()
    key: tuple[str, int] | None = None
    started = False

    def finish() -> None:
        nonlocal entry, started, key
        if started:
            entries.append(entry)
        entry, started, key = Entry(), False, None

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if key is not None and key[0] == "msgstr":
                finish()
            if line.startswith("#,") and "fuzzy" in line:
                entry.fuzzy = True
            continue
        if line.startswith('"'):
            if key is None:
                raise ValueError(f"line {number}: a string with no keyword")
            _append(entry, key, _unquote(line, number))
            continue
        word, _, rest = line.partition(" ")
        if word in ("msgctxt", "msgid") and key is not None and key[0] == "msgstr":
            finish()
        if word == "msgctxt":
            key = ("msgctxt", 0)
        elif word == "msgid":
            key = ("msgid", 0)
        elif word == "msgid_plural":
            key = ("msgid_plural", 0)
        elif word == "msgstr":
            key = ("msgstr", 0)
        elif word.startswith("msgstr[") and word.endswith("]"):
            key = ("msgstr", int(word[7:-1]))
        else:
            raise ValueError(f"line {number}: unknown keyword {word!r}")
        started = True
        _append(entry, key, _unquote(rest.strip(), number))
    finish()
    return entries


def _unquote(text: str, number: int) -> str:
    if not (len(text) >= 2 and text[0] == text[-1] == '"'):
        raise ValueError(f"line {number}: not a quoted string: {text}")
    value = ast.literal_eval(text)
    assert isinstance(value, str)
    return value


def _append(entry: Entry, key: tuple[str, int], text: str) -> None:
    kind, index = key
    if kind == "msgctxt":
        entry.context = (entry.context or "") + text
    elif kind == "msgid":
        entry.msgid += text
    elif kind == "msgid_plural":
        entry.plural = (entry.plural or "") + text
    else:
        entry.strings[index] = entry.strings.get(index, "") + text


def compile_po(text: str) -> bytes:
    """The GNU ``.mo`` bytes of a ``.po`` file's text (no hash table, keys sorted)."""
    pairs: dict[bytes, bytes] = {}
    for entry in read_po(text):
        strings = [entry.strings.get(i, "") for i in range(max(entry.strings, default=-1) + 1)]
        if (entry.fuzzy and entry.msgid) or not any(strings):
            continue
        key = entry.msgid if entry.plural is None else f"{entry.msgid}\0{entry.plural}"
        if entry.context is not None:
            key = f"{entry.context}\x04{key}"
        pairs[key.encode("utf-8")] = "\0".join(strings).encode("utf-8")
    keys = sorted(pairs)
    count = len(keys)
    originals_at = 7 * 4
    translations_at = originals_at + count * 8
    data_at = translations_at + count * 8
    table: list[int] = []
    blob = b""
    for key in keys:
        table += [len(key), data_at + len(blob)]
        blob += key + b"\0"
    for key in keys:
        value = pairs[key]
        table += [len(value), data_at + len(blob)]
        blob += value + b"\0"
    header = struct.pack("<7I", MAGIC, 0, count, originals_at, translations_at, 0, data_at)
    return header + struct.pack(f"<{len(table)}I", *table) + blob


def main() -> int:
    for po in sorted(LOCALE.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        mo.write_bytes(compile_po(po.read_text(encoding="utf-8")))
        print(mo.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
