"""Heading-aware chunking with stable ids.

A chunk never crosses a section boundary: consecutive blocks under the same heading path are packed into chunks of at
most `MAX_CHARS` characters, split at paragraph, then sentence, then word boundaries, with about `OVERLAP_CHARS` of
trailing sentences repeated at the start of the next chunk of the same section. A table too large for one chunk is
split by rows and every part repeats the header row.

The text that is embedded and BM25-indexed is the chunk text prefixed with "document label › section path", so a
passage that does not repeat its document's name (two near-identical municipal by-laws) still carries it.

Chunk id = sha256(doc id, version, position, indexed text): re-ingesting an unchanged file yields the same ids, and
any change to the text, its heading path, the document's title or version gives new ones.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from knowledge.loaders import Block, ParsedDocument

MAX_CHARS = 900
OVERLAP_CHARS = 200
PATH_SEPARATOR = " › "

_SENTENCE = re.compile(r"(?<=[.!?;])\s+(?=[\"'“‘(\[]?[A-Z0-9£$€])|\n+")
_TABLE_SEPARATOR = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$")


@dataclass(frozen=True)
class Chunk:
    id: str
    doc_id: str
    version: str
    position: int
    section_path: tuple[str, ...]
    page: int | None
    page_end: int | None
    text: str
    indexed_text: str

    @property
    def section(self) -> str:
        return PATH_SEPARATOR.join(self.section_path)


@dataclass(frozen=True)
class _Unit:
    text: str
    page: int | None
    block: int
    kind: str  # "sentence" (may overlap into the next chunk) or "whole" (paragraph, table part)


def indexed_text(label: str, section_path: str, text: str) -> str:
    head = PATH_SEPARATOR.join(part for part in (label, section_path) if part)
    return f"{head}\n{text}"


def chunk_id(doc_id: str, version: str, position: int, text: str) -> str:
    payload = "\x1f".join((doc_id, version, str(position), text))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def _split_long(text: str, limit: int) -> list[str]:
    """Sentences of a paragraph; a sentence longer than the limit is cut at word boundaries."""
    pieces: list[str] = []
    for sentence in (s.strip() for s in _SENTENCE.split(text)):
        if not sentence:
            continue
        while len(sentence) > limit:
            cut = sentence.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            pieces.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if sentence:
            pieces.append(sentence)
    return pieces


def _table_units(block: Block, index: int, limit: int) -> list[_Unit]:
    if len(block.text) <= limit:
        return [_Unit(block.text, block.page, index, "whole")]
    rows = block.text.split("\n")
    header = rows[:2] if len(rows) > 2 and _TABLE_SEPARATOR.match(rows[1]) else rows[:1]
    body = rows[len(header) :]
    header_text = "\n".join(header)
    units: list[_Unit] = []
    current: list[str] = []
    for row in body:
        room = limit - len(header_text) - 1
        for piece in _split_long(row, room) if len(row) > room else [row]:
            if current and len(header_text) + sum(len(r) + 1 for r in current) + len(piece) + 1 > limit:
                units.append(_Unit("\n".join([header_text, *current]), block.page, index, "whole"))
                current = []
            current.append(piece)
    if current:
        units.append(_Unit("\n".join([header_text, *current]), block.page, index, "whole"))
    return units


def _units(blocks: list[tuple[int, Block]], limit: int) -> list[_Unit]:
    units: list[_Unit] = []
    for index, block in blocks:
        if block.kind == "table":
            units.extend(_table_units(block, index, limit))
        elif len(block.text) <= limit:
            units.append(_Unit(block.text, block.page, index, "whole"))
        else:
            units.extend(_Unit(piece, block.page, index, "sentence") for piece in _split_long(block.text, limit))
    return units


def _join(units: list[_Unit]) -> str:
    text = ""
    for i, unit in enumerate(units):
        if i == 0:
            text = unit.text
        elif unit.block == units[i - 1].block and unit.kind == "sentence":
            text += " " + unit.text
        else:
            text += "\n" + unit.text
    return text


def _pack(units: list[_Unit], limit: int, overlap: int) -> list[list[_Unit]]:
    groups: list[list[_Unit]] = []
    current: list[_Unit] = []
    fresh = 0  # units in `current` that are not overlap from the previous chunk
    for unit in units:
        if current and len(_join([*current, unit])) > limit:
            tail: list[_Unit] = []
            if fresh:
                groups.append(current)
                if unit.kind == "sentence":
                    for previous in reversed(current):
                        if previous.kind != "sentence" or previous.block != unit.block:
                            break
                        if len(_join([previous, *tail, unit])) > limit or len(_join([previous, *tail])) > overlap:
                            break
                        tail.insert(0, previous)
            current, fresh = tail, 0
        current.append(unit)
        fresh += 1
    if current and fresh:
        groups.append(current)
    return groups


def chunk_document(
    document: ParsedDocument, *, max_chars: int = MAX_CHARS, overlap_chars: int = OVERLAP_CHARS
) -> list[Chunk]:
    sections: list[tuple[tuple[str, ...], list[tuple[int, Block]]]] = []
    for index, block in enumerate(document.blocks):
        if sections and sections[-1][0] == block.section_path:
            sections[-1][1].append((index, block))
        else:
            sections.append((block.section_path, [(index, block)]))
    label = document.label
    chunks: list[Chunk] = []
    for path, blocks in sections:
        section = PATH_SEPARATOR.join(path)
        for group in _pack(_units(blocks, max_chars), max_chars, overlap_chars):
            text = _join(group).strip()
            if not text:
                continue
            position = len(chunks)
            indexed = indexed_text(label, section, text)
            pages = [unit.page for unit in group if unit.page is not None]
            chunks.append(
                Chunk(
                    id=chunk_id(document.doc_id, document.version, position, indexed),
                    doc_id=document.doc_id,
                    version=document.version,
                    position=position,
                    section_path=path,
                    page=min(pages) if pages else None,
                    page_end=max(pages) if pages else None,
                    text=text,
                    indexed_text=indexed,
                )
            )
    return chunks
