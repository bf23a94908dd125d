"""Document loaders: Markdown, plain text, HTML, PDF and DOCX → title, metadata and heading-structured blocks.

Every loader produces the same thing: a list of `Block`s (a paragraph, list or table) each carrying the section path
(the chain of headings above it) and, for PDF and DOCX, the page it starts on. Chunking works on blocks only, so it
is the same for every format.

Headings come from the format where it has them (Markdown `#`/setext, HTML `h1`–`h6`, DOCX "Heading n" styles, the
PDF outline) and from conservative line patterns in plain text and PDF text ("Section 2: …", "Part 1 - …", "1.2
Title", ALL-CAPS lines, underlined lines). Lines that only look like headings — table-of-contents entries ending in a
page number, long clause openings formatted as headings — stay body text.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import yaml

from core.errors import invalid_input

FORMATS: dict[str, str] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}
SUPPORTED_SUFFIXES = frozenset(FORMATS)

BlockKind = Literal["text", "table"]

MAX_TITLE_CHARS = 200
# A "heading" longer than this is a sentence formatted as a heading (e.g. a statute's clause lead-in): body text.
MAX_HEADING_CHARS = 120
MAX_HEADING_WORDS = 18


@dataclass(frozen=True)
class Block:
    text: str
    section_path: tuple[str, ...]
    page: int | None = None
    kind: BlockKind = "text"


@dataclass
class ParsedDocument:
    path: Path
    fmt: str
    doc_id: str
    title: str
    version: str
    effective_date: str
    sha256: str
    blocks: list[Block] = field(default_factory=list)
    internal: bool = False  # our own policy (front matter `internal: true`), not a reference document

    @property
    def label(self) -> str:
        """The title plus the words of the file name the title lacks (e.g. the municipality of a by-law whose own
        title is generic). Indexed with every chunk so lexical and vector search can tell near-duplicates apart."""
        return document_label(self.title, self.path)


@dataclass
class _Meta:
    title: str | None = None
    doc_id: str | None = None
    version: str | None = None
    effective_date: str | None = None
    internal: bool = False

    def update(self, values: dict[str, Any]) -> None:
        def text(*keys: str) -> str | None:
            for key in keys:
                value = values.get(key)
                if isinstance(value, datetime):
                    return value.date().isoformat()
                if isinstance(value, date):
                    return value.isoformat()
                if value is not None and str(value).strip():
                    return " ".join(str(value).split())
            return None

        self.title = text("title") or self.title
        self.doc_id = text("document_id", "doc_id", "document-id", "id") or self.doc_id
        self.version = text("version") or self.version
        self.effective_date = text("effective_date", "effective-date", "effective") or self.effective_date
        internal = values.get("internal")
        if internal is not None:
            self.internal = internal is True or str(internal).strip().lower() in ("true", "yes", "1")


# --- shared helpers ------------------------------------------------------------------------------------------------

_WS = re.compile(r"[ \t\u00a0]+")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_INLINE_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
_LIST_MARKER = re.compile(r"^(?:[-*+•]|\d+[.)]|\([a-zA-Z0-9]{1,4}\)|[a-zA-Z]{1,3}\))\s*")


def squash(text: str) -> str:
    return " ".join(text.split())


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "document"


def document_label(title: str, path: Path) -> str:
    title_words = {w.lower() for w in re.findall(r"\w+", title)}
    extra: list[str] = []
    for word in re.split(r"[\W_]+", path.stem):
        lowered = word.lower()
        if not word or lowered in title_words or re.fullmatch(r"\d{1,3}[a-z]?", lowered) or lowered in extra:
            continue
        extra.append(lowered)
    return f"{title} ({' '.join(extra)})" if extra else title


def _clean_inline(text: str) -> str:
    text = _MD_IMAGE.sub(r"\1", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _INLINE_TAG.sub("", text)
    return html.unescape(text)


def _looks_like_body(heading: str) -> bool:
    """A clause lead-in or sentence formatted as a heading ('###### (a) The head of an agency …')."""
    words = heading.split()
    if len(heading) > MAX_HEADING_CHARS or len(words) > MAX_HEADING_WORDS:
        return True
    return bool(re.match(r"^\(?[a-zA-Z0-9]{1,4}\)\s", heading)) and len(words) > 5


def _join_lines(lines: Iterable[str]) -> str:
    """Join wrapped lines into one paragraph; list items keep their own line; 'cash-' + 'flow' → 'cash-flow'."""
    out = ""
    for raw in lines:
        line = squash(raw)
        if not line:
            continue
        if not out:
            out = line
        elif _LIST_MARKER.match(line) and not _LIST_MARKER.fullmatch(line):
            out += "\n" + line
        elif out.endswith("-") and len(out) > 1 and out[-2].isalpha() and line[:1].islower():
            out += line
        else:
            out += " " + line
    return out


class _Sections:
    """The chain of headings above the current position."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, str]] = []

    def enter(self, level: int, title: str) -> None:
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        self.stack.append((level, title))

    def reset(self) -> None:
        self.stack.clear()

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(title for _, title in self.stack)


def _same(a: str, b: str) -> bool:
    return squash(a).casefold() == squash(b).casefold()


# --- Markdown ------------------------------------------------------------------------------------------------------

_ATX = re.compile(r"^\s{0,3}(#{1,6})(?:\s+(.*?))?\s*#*\s*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_PSEUDO_HEADING = re.compile(r"^(?:\*\*|__)([^*_:]{2,80}?)\.?\s*(?:\*\*|__)$")
PSEUDO_HEADING_LEVEL = 7
_HR = re.compile(r"^\s{0,3}(?:(?:-\s*){3,}|(?:\*\s*){3,}|(?:_\s*){3,})$")


def _split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---", 4)
    if end < 0:
        return {}, text
    try:
        values = yaml.safe_load(text[4:end])
    except yaml.YAMLError:
        return {}, text
    if not isinstance(values, dict):
        return {}, text
    rest = text[end + 4 :]
    return values, rest[rest.find("\n") + 1 :] if "\n" in rest else ""


def _parse_markdown(text: str, meta: _Meta) -> list[Block]:
    front, body = _split_front_matter(text)
    meta.update(front)
    body = _HTML_COMMENT.sub("", body)
    sections = _Sections()
    blocks: list[Block] = []
    para: list[str] = []
    table: list[str] = []
    fence: list[str] | None = None
    title_pending = False

    def flush() -> None:
        nonlocal title_pending
        if table:
            rows = [squash(_clean_inline(row)) for row in table]
            blocks.append(Block("\n".join(rows), sections.path, kind="table"))
            table.clear()
        if para:
            joined = _join_lines(_clean_inline(line) for line in para)
            para.clear()
            if title_pending and meta.title is None and len(joined) <= MAX_TITLE_CHARS:
                meta.title = squash(joined)
                title_pending = False
            elif joined:
                blocks.append(Block(joined, sections.path))

    for line in body.split("\n"):
        if fence is not None:
            if _FENCE.match(line):
                if fence:
                    blocks.append(Block("\n".join(fence), sections.path))
                fence = None
            else:
                fence.append(line.rstrip())
            continue
        if _FENCE.match(line):
            flush()
            fence = []
            continue
        stripped = line.strip()
        if not stripped:
            flush()
            continue
        setext = _SETEXT.match(line)
        if setext and len(para) == 1 and not table and len(para[0].strip()) <= MAX_HEADING_CHARS:
            heading = squash(_clean_inline(para.pop()))
            level = 1 if setext.group(1).startswith("=") else 2
            title_pending = _markdown_heading(level, heading, meta, sections, blocks, para, title_pending)
            continue
        if _HR.match(line):
            flush()
            continue
        atx = _ATX.match(line)
        if atx:
            flush()
            heading = squash(_clean_inline(atx.group(2) or "")).strip("*_ ")
            title_pending = _markdown_heading(len(atx.group(1)), heading, meta, sections, blocks, para, title_pending)
            continue
        if stripped.startswith("|"):
            if para:
                flush()
            table.append(stripped)
            continue
        if table:
            flush()
        pseudo = _PSEUDO_HEADING.match(stripped)
        if pseudo and not para:
            # A paragraph that is only bold text ("**Delegation Rules**") is a heading below the current one.
            sections.enter(PSEUDO_HEADING_LEVEL, squash(_clean_inline(pseudo.group(1))).rstrip(". "))
            continue
        para.append(re.sub(r"^\s*(?:>\s?|#{7,}\s+)", "", line))
    flush()
    if fence:
        blocks.append(Block("\n".join(fence), sections.path))
    return blocks


def _markdown_heading(
    level: int,
    heading: str,
    meta: _Meta,
    sections: _Sections,
    blocks: list[Block],
    para: list[str],
    title_pending: bool,
) -> bool:
    """Apply one heading; returns whether the document title is still expected from the next paragraph."""
    if not heading:
        # '# ' with the title on the following lines (as in some HTML-to-Markdown conversions).
        return level == 1 and meta.title is None and not blocks
    if meta.title is None and level == 1 and not blocks:
        meta.title = heading
        return False
    if level == 1 and meta.title is not None and _same(heading, meta.title):
        sections.reset()
        return title_pending
    if _looks_like_body(heading):
        para.append(heading)
        return title_pending
    sections.enter(level, heading)
    return False


# --- plain text (also PDF page text) -------------------------------------------------------------------------------

_KEYWORD_HEADING = re.compile(
    r"^(?P<kw>section|part|chapter|article|schedule|annex|appendix)\s+(?P<num>\d+[a-z]?|[ivxlc]+|[a-z])\s*"
    r"(?P<sep>[:\-–—.])\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_NUMBERED_HEADING = re.compile(r"^(?P<num>\d+\.|\d+(?:\.\d+)+\.?)\s+(?P<rest>[A-Z].*)$")
_TOC_PAGE = re.compile(r"\s\d{1,3}$")
_UNDERLINE = re.compile(r"^(=+|-+)$")
_CONNECTOR_WORDS = "a an and as at by for from in into of on or the to with without whose which that late"
_CONNECTORS = frozenset(_CONNECTOR_WORDS.split())


@dataclass
class _TextState:
    sections: _Sections = field(default_factory=_Sections)
    blocks: list[Block] = field(default_factory=list)
    para: list[str] = field(default_factory=list)
    para_page: int | None = None
    keyword_levels: dict[str, int] = field(default_factory=dict)
    pending: list[Any] | None = None  # [level, text, continuation lines taken]
    outline: dict[str, int] = field(default_factory=dict)
    seen_text: bool = False

    def flush(self) -> None:
        if self.para:
            joined = _join_lines(self.para)
            if joined:
                self.blocks.append(Block(joined, self.sections.path, self.para_page))
                self.seen_text = True
            self.para = []
        self.para_page = None

    def add_line(self, line: str, page: int | None) -> None:
        if not self.para:
            self.para_page = page
        self.para.append(line)


def _keyword_level(state: _TextState, keyword: str) -> int:
    keyword = keyword.lower()
    if keyword not in state.keyword_levels:
        state.keyword_levels[keyword] = len(state.keyword_levels) + 1
    return state.keyword_levels[keyword]


def _heading_for_line(state: _TextState, line: str) -> tuple[int, str, bool] | None:
    """(level, heading text, expects continuation) when the line is a heading."""
    outline_level = state.outline.get(squash(line).casefold())
    if outline_level is not None:
        return outline_level, squash(line), False
    if len(line) > MAX_HEADING_CHARS:
        return None
    match = _KEYWORD_HEADING.match(line)
    if match and not _TOC_PAGE.search(line):
        rest = match.group("rest").strip()
        if rest or match.group("sep") == ":":
            return _keyword_level(state, match.group("kw")), squash(line), True
        return None
    match = _NUMBERED_HEADING.match(line)
    if match:
        rest = match.group("rest")
        if len(rest.split()) <= 10 and not re.search(r"[.,;:]$", rest) and not _TOC_PAGE.search(line):
            depth = match.group("num").rstrip(".").count(".") + 1
            return depth + len(state.keyword_levels), squash(line), False
        return None
    tokens = line.split()
    words = [token for token in tokens if re.fullmatch(r"[A-Za-z&'’-]{2,}[:,]?", token)]
    if (
        len(words) >= 2
        and len(words) >= 0.7 * len(tokens)
        and len(line) <= 60
        and line.upper() == line
        and not line.endswith(".")
    ):
        return 1 + len(state.keyword_levels), squash(line), False
    return None


def _continues_heading(pending: list[Any], line: str) -> bool:
    heading: str = pending[1]
    if pending[2] >= 2 or _heading_for_line(_TextState(), line) is not None:
        return False
    if heading.endswith(":"):
        return True
    last = heading.split()[-1].lower() if heading.split() else ""
    if last in _CONNECTORS or heading.endswith("-"):
        return True
    return line[:1].islower() and len(line.split()) <= 3


def _text_line(state: _TextState, raw: str, page: int | None, meta: _Meta) -> None:
    line = squash(raw)
    if state.pending is not None:
        if line and _continues_heading(state.pending, line):
            state.pending[1] = squash(f"{state.pending[1]} {line}")
            state.pending[2] += 1
            return
        level, heading, _ = state.pending
        state.pending = None
        state.sections.enter(level, heading)
    if not line:
        state.flush()
        return
    atx = _ATX.match(line)
    if atx and (atx.group(2) or "").strip():
        state.flush()
        heading = squash(atx.group(2))
        level = len(atx.group(1))
        if meta.title is None and level == 1 and not state.seen_text:
            meta.title = heading
        elif meta.title is not None and level == 1 and _same(heading, meta.title):
            state.sections.reset()
        else:
            state.sections.enter(level, heading)
        return
    if _UNDERLINE.match(line) and len(line) >= 3 and len(state.para) == 1:
        heading = squash(state.para.pop())
        state.para_page = None
        state.flush()
        state.sections.enter(1 if line.startswith("=") else 2, heading)
        return
    found = _heading_for_line(state, line)
    if found is not None:
        state.flush()
        level, heading, continues = found
        if continues:
            state.pending = [level, heading, 0]
        else:
            state.sections.enter(level, heading)
        return
    state.add_line(line, page)


def _finish_text(state: _TextState) -> None:
    if state.pending is not None:
        level, heading, _ = state.pending
        state.pending = None
        state.sections.enter(level, heading)
    state.flush()


def _parse_text(text: str, meta: _Meta) -> list[Block]:
    text = _HTML_COMMENT.sub("", text)
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and meta.title is None and not lines[first].lstrip().startswith("#"):
        candidate = squash(lines[first])
        following = lines[first + 1].strip() if first + 1 < len(lines) else ""
        if (
            len(candidate) <= MAX_TITLE_CHARS
            and not candidate.endswith(".")
            and (not following or _UNDERLINE.match(following))
        ):
            meta.title = candidate
            lines = lines[first + 1 :]
            if following and _UNDERLINE.match(following):
                lines = lines[1:]
    state = _TextState()
    page = 1 if "\f" in text else None
    for raw in lines:
        parts = raw.split("\f")
        for index, part in enumerate(parts):
            if index and page is not None:
                state.flush()
                page += 1
            _text_line(state, part, page, meta)
    _finish_text(state)
    return state.blocks


# --- PDF -----------------------------------------------------------------------------------------------------------


def _pdf_outline(reader: Any) -> dict[str, int]:
    levels: dict[str, int] = {}

    def walk(items: Any, depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
                continue
            title = getattr(item, "title", None)
            if title and squash(str(title)):
                levels.setdefault(squash(str(title)).casefold(), depth)

    try:
        walk(reader.outline, 1)
    except Exception:  # a broken outline is not worth refusing the document for
        return {}
    return levels


def _parse_pdf(path: Path, meta: _Meta) -> list[Block]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        info = reader.metadata
        if info is not None and info.title and squash(str(info.title)):
            meta.title = meta.title or squash(str(info.title))
        state = _TextState(outline=_pdf_outline(reader))
        for number, page in enumerate(reader.pages, start=1):
            text = page.extract_text() or ""
            if meta.title is None and not state.blocks and not state.para:
                lines = [squash(line) for line in text.split("\n") if line.strip()]
                if lines and len(lines[0]) <= MAX_TITLE_CHARS and not lines[0].endswith("."):
                    meta.title = lines[0]
                    text = text.split(lines[0], 1)[1] if lines[0] in text else text
            for line in text.split("\n"):
                _text_line(state, line, number, meta)
            state.flush()
    except (PdfReadError, ValueError, KeyError) as error:
        raise invalid_input(f"{path.name} is not a readable PDF ({type(error).__name__})") from None
    _finish_text(state)
    return state.blocks


# --- HTML ----------------------------------------------------------------------------------------------------------

_HTML_SKIP = frozenset({"script", "style", "noscript", "template", "nav", "svg", "head", "form", "button"})
_HTML_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_HTML_BLOCK_NAMES = """
    p div section article main body header footer aside ul ol li dl dt dd blockquote pre figure figcaption address
    details summary html br hr
"""
_HTML_BLOCKS = frozenset(_HTML_BLOCK_NAMES.split())


def _parse_html(text: str, meta: _Meta) -> list[Block]:
    from bs4 import BeautifulSoup
    from bs4.element import Comment, NavigableString, Tag

    soup = BeautifulSoup(text, "html.parser")
    for element in soup.find_all("meta"):
        name = str(element.get("name") or element.get("property") or "").lower().replace("og:", "")
        content = element.get("content")
        if name and content:
            meta.update({name.replace("-", "_"): str(content)})
    if soup.title and soup.title.get_text(strip=True) and meta.title is None:
        meta.title = squash(soup.title.get_text(" "))
    sections = _Sections()
    blocks: list[Block] = []
    buffer: list[str] = []

    def flush() -> None:
        joined = squash(" ".join(buffer))
        buffer.clear()
        if joined:
            blocks.append(Block(joined, sections.path))

    def table(tag: Tag) -> None:
        rows = []
        for row in tag.find_all("tr"):
            cells = [squash(cell.get_text(" ")) for cell in row.find_all(["th", "td"])]
            if any(cells):
                rows.append("| " + " | ".join(cells) + " |")
        if rows:
            blocks.append(Block("\n".join(rows), sections.path, kind="table"))

    def walk(node: Tag) -> None:
        for child in node.children:
            if isinstance(child, Comment):
                continue
            if isinstance(child, NavigableString):
                buffer.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name.lower()
            if name in _HTML_SKIP:
                continue
            if name in _HTML_HEADINGS:
                flush()
                heading = squash(child.get_text(" "))
                level = _HTML_HEADINGS[name]
                if not heading:
                    continue
                if meta.title is None and level == 1 and not blocks:
                    meta.title = heading
                elif level == 1 and meta.title is not None and _same(heading, meta.title):
                    sections.reset()
                elif _looks_like_body(heading):
                    buffer.append(heading)
                    flush()
                else:
                    sections.enter(level, heading)
            elif name == "table":
                flush()
                table(child)
            elif name in _HTML_BLOCKS:
                flush()
                walk(child)
                flush()
            else:
                walk(child)

    walk(soup.body if soup.body is not None else soup)
    flush()
    return blocks


# --- DOCX ----------------------------------------------------------------------------------------------------------


def _parse_docx(path: Path, meta: _Meta) -> list[Block]:
    import docx
    from docx.oxml.ns import qn
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(str(path))
    except Exception as error:  # python-docx raises several unrelated types for a broken package
        raise invalid_input(f"{path.name} is not a readable DOCX file ({type(error).__name__})") from None
    props = document.core_properties
    meta.update({"title": props.title, "version": props.version, "document_id": props.identifier})
    sections = _Sections()
    blocks: list[Block] = []
    page = 1
    for element in document.element.body.iterchildren():
        if element.tag == qn("w:tbl"):
            rows = []
            for row in Table(element, document).rows:
                cells = [squash(cell.text) for cell in row.cells]
                if any(cells):
                    rows.append("| " + " | ".join(cells) + " |")
            if rows:
                blocks.append(Block("\n".join(rows), sections.path, page, kind="table"))
            continue
        if element.tag != qn("w:p"):
            continue
        paragraph = Paragraph(element, document)
        # Explicit page breaks, or the breaks Word rendered when it last saved the file (never both for one break).
        explicit = sum(1 for br in element.iter(qn("w:br")) if br.get(qn("w:type")) == "page")
        breaks = max(explicit, len(list(element.iter(qn("w:lastRenderedPageBreak")))))
        text = squash(paragraph.text)
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        if text:
            heading = re.fullmatch(r"Heading (\d)", style)
            if style == "Title":
                if meta.title is None:
                    meta.title = text
                else:
                    sections.reset()
            elif heading and not _looks_like_body(text):
                sections.enter(int(heading.group(1)), text)
            else:
                blocks.append(Block(text, sections.path, page))
        page += breaks
    return blocks


# --- entry point ---------------------------------------------------------------------------------------------------


def load_document(path: Path, *, version: str | None = None) -> ParsedDocument:
    """Read one file into a `ParsedDocument`. `version` overrides the version found in the file's metadata."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise invalid_input(
            f"{path.name}: unsupported file type {path.suffix or '(none)'}",
            supported=sorted(SUPPORTED_SUFFIXES),
        )
    data = path.read_bytes()
    meta = _Meta()
    if fmt in ("markdown", "text", "html"):
        text = data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
        parse = {"markdown": _parse_markdown, "text": _parse_text, "html": _parse_html}[fmt]
        blocks = parse(text, meta)
    elif fmt == "pdf":
        blocks = _parse_pdf(path, meta)
    else:
        blocks = _parse_docx(path, meta)
    title = squash(meta.title or "") or path.stem.replace("_", " ").replace("-", " ")
    return ParsedDocument(
        path=path,
        fmt=fmt,
        doc_id=slugify(meta.doc_id or path.stem),
        title=title[:MAX_TITLE_CHARS],
        version=squash(version or meta.version or ""),
        effective_date=meta.effective_date or "",
        sha256=hashlib.sha256(data).hexdigest(),
        blocks=[block for block in blocks if block.text.strip()],
        internal=meta.internal,
    )


def iter_supported_files(directory: Path) -> Iterator[Path]:
    """Supported files under a directory, sorted, skipping hidden files and folders."""
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES:
            yield path
