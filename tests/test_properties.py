"""Property-based tests of the chunker and the search facade (hypothesis).

The chunker promise, made exact: after ``normalize_text`` (the documented normalisation)
and removing the ``#`` marks of markdown headings, the non-whitespace characters of the
input are, in order and each exactly once, the non-whitespace characters of the stream
"headings opened before a passage, then the passage", passage after passage. The page-break
join, the CJK space removal and the stripping of lines change only whitespace, so the
comparison ignores whitespace and nothing else.

The output does not say when a heading is closed and re-opened with the same text
(``# A`` / x / ``# A`` / y gives two passages under ``A``), so before each passage the
stream may re-open any suffix of the section path it shares with the passage before; the
check accepts the output when some such reading reproduces the input exactly.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from pathlib import Path
from unittest import mock

import docx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import qa
from qa import ingest
from qa.chunking import (
    ChunkingSettings,
    PageText,
    Passage,
    chunk_text,
    iter_passages,
    normalize_text,
    sentence_windows,
)
from qa.encoders import DEFAULT_ENCODER, load_encoder
from qa.ingest import _TEXT_ENCODINGS, Document, _looks_binary, read_document
from tests.test_ingest import write_pdf

# The "#" marks of a markdown heading line (up to six, then whitespace): documented as
# removed by the normalisation.
MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+")

# Every code point, including lone surrogates, controls, unassigned and private use.
ANY_CHAR = st.characters(exclude_categories=())

# Pieces that exercise the chunker's rules: headings of every kind, sentence ends, page
# breaks, markup, odd whitespace and controls, emoji, other scripts, combining marks.
FRAGMENTS = [
    "一、",
    "二、经济",
    "（一）",
    "(三)民生",
    "第一章",
    "第2节",
    "【名词解释】",
    "【",
    "】",
    "# ",
    "## ",
    "###### ",
    "####### ",
    "#",
    "**",
    "__",
    "*",
    "。",
    "！",
    "？",
    "；",
    ".",
    ". ",
    "…",
    "……",
    "，",
    ",",
    "：",
    "”",
    "」",
    "）",
    "\n",
    "\n\n",
    "\r\n",
    "\r",
    "\t",
    " ",
    "   ",
    "\u3000",
    "\u00a0",
    "\u2003",
    "\u200b",
    "\ufeff",
    "\x00",
    "\x1f",
    "\x7f",
    "\x85",
    "\u2028",
    "\ud800",
    "\udfff",
    "\ufffd",
    "😀",
    "👨\u200d👩\u200d👧",
    "🇨🇳",
    "增长",
    "3.6%",
    "353.26亿元",
    "乐平市",
    "Run it",
    "ünïcödé",
    "مرحبا",
    "עברית",
    "русский",
    "ไทย",
    "𝕏𝔸",
    "e\u0301",
]

LONG_RUN = st.builds(
    lambda piece, count: piece * count,
    st.sampled_from(["中", "ab", "发展经济", "x y ", "😀", "，"]),
    st.integers(min_value=100, max_value=4000),
)

DOCUMENTS = st.one_of(
    st.text(ANY_CHAR, max_size=400),
    st.lists(
        st.one_of(
            st.sampled_from(FRAGMENTS),
            st.text(ANY_CHAR, max_size=12),
            LONG_RUN,
        ),
        max_size=80,
    ).map("".join),
)

CHUNK_SETTINGS = st.one_of(
    st.just(ChunkingSettings()),
    st.builds(ChunkingSettings, max_chars=st.integers(min_value=20, max_value=300)),
)


def nonspace(text: str) -> str:
    return "".join(ch for ch in text if not ch.isspace())


def expected_characters(text: str) -> str:
    """The input as the chunker must render it: normalised, heading marks gone."""
    lines = (line.strip() for line in normalize_text(text).split("\n"))
    return nonspace("".join(MARKDOWN_HEADING.sub("", line, count=1) for line in lines))


def stream_matches(passages: list[Passage], expected: str) -> bool:
    """True when some reading of re-opened headings turns the passages into ``expected``."""
    positions = {0}
    previous: tuple[str, ...] = ()
    previous_paragraph = None
    for passage in passages:
        section = passage.section
        shared = 0
        while shared < min(len(previous), len(section)) and previous[shared] == section[shared]:
            shared += 1
        if passage.paragraph == previous_paragraph:
            # Pieces of one split paragraph: no heading can stand between them.
            starts = [len(section)] if section == previous else []
        else:
            starts = list(range(shared + 1))
        body = nonspace(passage.text)
        candidates = {nonspace("".join(section[start:])) + body for start in starts}
        positions = {
            position + len(candidate)
            for position in positions
            for candidate in candidates
            if expected.startswith(candidate, position)
        }
        if not positions:
            return False
        previous, previous_paragraph = section, passage.paragraph
    return len(expected) in positions


def naive_stream(passages: list[Passage]) -> str:
    """Headings when the section path changes, then the passage: for failure messages."""
    out: list[str] = []
    previous: tuple[str, ...] = ()
    for passage in passages:
        shared = 0
        while (
            shared < min(len(previous), len(passage.section))
            and previous[shared] == passage.section[shared]
        ):
            shared += 1
        out.extend(passage.section[shared:])
        out.append(passage.text)
        previous = passage.section
    return nonspace("".join(out))


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=DOCUMENTS, chunking=CHUNK_SETTINGS)
@example(text="一、A\n二、B\n正文。", chunking=ChunkingSettings())
@example(text="# A\n## B\n# C\nx", chunking=ChunkingSettings())
@example(text="# A\nx\n# A\ny", chunking=ChunkingSettings())
@example(text="正文\n# 结尾", chunking=ChunkingSettings())
@example(text="【abc\n】\n增长\n3.6%。", chunking=ChunkingSettings())
@example(text="a\ud800b\x00c**d__e\r\nf", chunking=ChunkingSettings())
@example(text="中" * 5000, chunking=ChunkingSettings(max_chars=20))
def test_chunking_loses_and_duplicates_nothing(text, chunking, reliability: Counter[str]):
    reliability["chunker inputs tried"] += 1
    passages = chunk_text(text, "doc.txt", chunking)
    expected = expected_characters(text)
    assert stream_matches(passages, expected), (expected[:300], naive_stream(passages)[:300])
    if not expected:
        assert passages == []
    paragraphs = [p.paragraph for p in passages]
    assert paragraphs == sorted(paragraphs)
    for passage in passages:
        assert passage.text and passage.text == passage.text.strip()
        assert len(passage.text) <= chunking.max_chars
        assert passage.source == "doc.txt"
        assert all(name and name == name.strip() for name in passage.section)
        assert not re.search(r"[\ud800-\udfff]", passage.text + "".join(passage.section))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=DOCUMENTS, chunking=CHUNK_SETTINGS, cuts=st.lists(st.integers(min_value=0)))
def test_a_text_cut_into_pages_gives_its_passages_with_their_pages(
    text, chunking, cuts, reliability: Counter[str]
):
    """Pages cut at line breaks: the passages of the whole text, each with the pages of its
    first and last character."""
    reliability["texts cut into pages and chunked"] += 1
    breaks = [m.start() for m in re.finditer("\n", text)]
    chosen = sorted({breaks[c % len(breaks)] for c in cuts}) if breaks else []
    starts = [0, *(b + 1 for b in chosen)]
    ends = [*chosen, len(text)]
    pages = [PageText(n, text[a:b]) for n, (a, b) in enumerate(zip(starts, ends, strict=True), 1)]
    paged = list(iter_passages(pages, "doc.pdf", chunking))
    whole = chunk_text(text, "doc.pdf", chunking)
    assert [(p.text, p.section, p.paragraph, p.sentences) for p in paged] == [
        (p.text, p.section, p.paragraph, p.sentences) for p in whole
    ]
    numbers = [(p.page, p.last_page) for p in paged]
    assert all(1 <= a <= b <= len(pages) for a, b in numbers)
    assert [a for a, _ in numbers] == sorted(a for a, _ in numbers)
    for passage in paged:  # its first and last characters are on those pages
        assert passage.text[0] in normalize_text(pages[passage.page - 1].text)
        assert passage.text[-1] in normalize_text(pages[passage.last_page - 1].text)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=DOCUMENTS, chunking=CHUNK_SETTINGS)
def test_sentence_offsets_cover_each_passage_in_order(text, chunking, reliability):
    reliability["sentence-offset inputs tried"] += 1
    for passage in chunk_text(text, "doc.txt", chunking):
        spans = passage.sentences
        assert spans, passage
        assert spans[0][0] == 0 and spans[-1][1] == len(passage.text)
        for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False):
            assert end == next_start
        for start, end in spans:
            assert start < end and passage.text[start:end].strip()
        # Sentence windows are views into the passage's sentences, not extra text.
        size = chunking.window_sentences
        windows = sentence_windows(passage, size)
        assert len(windows) == (len(spans) - size + 1 if len(spans) > size else 0)
        for first, end in windows:
            assert 0 <= first < end <= len(spans) and end - first == size


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=DOCUMENTS,
    chunking=CHUNK_SETTINGS,
    cuts=st.lists(st.integers(min_value=0), max_size=30),
)
@example(text="a\r\nb", chunking=ChunkingSettings(), cuts=[2])
@example(text="增长\r\n3.6%。\r\n一、标题", chunking=ChunkingSettings(), cuts=[3, 4, 5])
def test_the_text_in_any_pieces_gives_the_same_passages(
    text, chunking, cuts, reliability: Counter[str]
):
    """The streaming chunker does not depend on where the text is cut into pieces."""
    reliability["chunker inputs cut into pieces"] += 1
    points = sorted({cut % (len(text) + 1) for cut in cuts})
    pieces = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    assert list(iter_passages(pieces, "doc.txt", chunking)) == chunk_text(text, "doc.txt", chunking)


TINY_CORPUS = {
    "gdp.txt": "一、经济\n\n全年地区生产总值完成353.26亿元，增长3.6%。财政总收入完成47.26亿元。\n",
    "guide.md": "# Guide\n\nInstall it first. Then run the tool. It answers questions.\n",
    "mixed.txt": "乐平市 Leping 😀 有 12 个镇。\n\n（一）交通\n新建农村公路120公里",
}


@pytest.fixture(scope="module")
def tiny_index() -> qa.Index:
    """A small index over three short texts, built once with the real default encoder."""
    index = qa.Index(load_encoder(DEFAULT_ENCODER))
    documents = [
        Document(source=name, text=text, sha256=hashlib.sha256(text.encode()).hexdigest())
        for name, text in TINY_CORPUS.items()
    ]
    index.add_documents(documents)
    return index


QUESTIONS = st.one_of(
    st.text(ANY_CHAR, max_size=60),
    st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join),
    st.text(st.sampled_from("？！。，…😀🎉 \t\n\u3000-_*#"), max_size=30),
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    question=QUESTIONS,
    k=st.integers(min_value=1, max_value=8),
    mode=st.sampled_from(qa.MODES),
)
@example(question="", k=5, mode="hybrid")
@example(question=" \t\n\u3000", k=5, mode="hybrid")
@example(question="x" * 100_000, k=5, mode="hybrid")
@example(question="问" * 2001, k=5, mode="hybrid")
@example(question="问" * 2000, k=5, mode="hybrid")
@example(question="？！。……", k=5, mode="hybrid")
@example(question="😀🎉👍", k=5, mode="dense")
@example(question="a\ud800b", k=5, mode="hybrid")
@example(question="\udcff\udcfe", k=5, mode="hybrid")
@example(question="\x00生产总值", k=5, mode="hybrid")
@example(question="地区生产总值是多少？", k=3, mode="hybrid")
def test_search_returns_hits_or_raises_query_error(
    tiny_index, question, k, mode, reliability: Counter[str]
):
    reliability["search questions tried"] += 1
    try:
        hits = tiny_index.search(question, k=k, mode=mode)
    except qa.QueryError:
        reliability["search questions refused with QueryError"] += 1
        return
    assert isinstance(hits, list)
    assert 1 <= len(hits) <= min(k, len(tiny_index))
    texts = {p.text for p in tiny_index.passages}
    scores = [hit.score for hit in hits]
    assert all(math.isfinite(score) for score in scores)
    assert scores == sorted(scores, reverse=True)
    assert [hit.rank for hit in hits] == list(range(1, len(hits) + 1))
    for hit in hits:
        assert hit.text in texts
        assert hit.sentence == hit.text[hit.sentence_start : hit.sentence_end]
        assert hit.sentence.strip()


# ---- damaged and random document files ---------------------------------------------------


@pytest.fixture(scope="module")
def sample_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """A valid PDF, .docx, .md and .txt file, as bytes to damage."""
    folder = tmp_path_factory.mktemp("samples")
    write_pdf(folder / "a.pdf", ["Total output 353.26 yuan", "Second page, growth 3.6%"])
    document = docx.Document()
    document.add_heading("一、经济", 1)
    document.add_paragraph("全年地区生产总值完成353.26亿元，增长3.6%。")
    document.add_table(rows=1, cols=2).rows[0].cells[0].text = "指标"
    document.save(str(folder / "a.docx"))
    text = "# 标题\n\n全年地区生产总值完成353.26亿元。\n\nGrowth was 3.6%.\n"
    page = (
        "<html><body><nav>首页</nav><h1>标题</h1>"
        "<p>全年地区生产总值完成353.26亿元。</p></body></html>"
    )
    return {
        ".html": page.encode("utf-8"),
        ".pdf": (folder / "a.pdf").read_bytes(),
        ".docx": (folder / "a.docx").read_bytes(),
        ".md": text.encode("utf-8"),
        ".txt": text.encode("gb18030"),
    }


DAMAGE = st.lists(
    st.one_of(
        st.tuples(st.just("flip"), st.integers(min_value=0)),
        st.tuples(st.just("cut"), st.integers(min_value=0)),
        st.tuples(st.just("overwrite"), st.integers(min_value=0), st.binary(max_size=40)),
    ),
    min_size=1,
    max_size=4,
)


def damaged(data: bytes, operations: list[tuple]) -> bytes:
    out = bytearray(data)
    for operation in operations:
        if not out:
            break
        where = operation[1] % len(out)
        if operation[0] == "flip":
            out[where] ^= 1 << (operation[1] % 8)
        elif operation[0] == "cut":
            del out[where:]
        else:
            out[where : where + len(operation[2])] = operation[2]
    return bytes(out)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    suffix=st.sampled_from([".pdf", ".docx", ".md", ".txt", ".html"]),
    operations=DAMAGE,
)
def test_damaged_files_read_or_raise_document_error(
    sample_files, tmp_path_factory, suffix, operations, reliability: Counter[str]
):
    path = Path(tmp_path_factory.getbasetemp()) / f"damaged{suffix}"
    path.write_bytes(damaged(sample_files[suffix], operations))
    reliability["damaged document files read"] += 1
    try:
        document = read_document(path)
    except qa.DocumentError as exc:
        assert str(path) in str(exc)
        reliability["damaged document files refused with DocumentError"] += 1
        return
    chunk_text(document.text, document.source)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(max_size=3000),
    suffix=st.sampled_from([".txt", ".md", ".pdf", ".docx", ".html", ".png", ".jpg", ".tif"]),
)
def test_random_bytes_read_or_raise_document_error(
    tmp_path_factory, data, suffix, reliability: Counter[str]
):
    path = Path(tmp_path_factory.getbasetemp()) / f"random{suffix}"
    path.write_bytes(data)
    reliability["random-byte files read"] += 1
    try:
        document = read_document(path)
    except qa.DocumentError:
        return
    chunk_text(document.text, document.source)


ENCODED_FILES = st.one_of(
    st.binary(max_size=3000),
    st.builds(
        lambda text, encoding: text.encode(encoding, "replace"),
        DOCUMENTS,
        st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
    ),
)


def decode_text(data: bytes, name: str) -> str:
    """The reference: the file's bytes decoded at once, with the reader's rules."""
    if b"\x00" in data[:65536]:
        raise qa.DocumentError(f"{name}: looks like a binary file, not text")
    for encoding in _TEXT_ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_binary(text):
            raise qa.DocumentError(f"{name}: looks like a binary file, not text")
        return text
    raise qa.DocumentError(f"{name}: not UTF-8 or GB18030 text")


def read_whole(path: Path, data: bytes) -> tuple:
    """What reading the file at once gives: decode_text's verdict, its text and checksum."""
    try:
        text = decode_text(data, str(path))
    except qa.DocumentError as exc:
        return ("refused", str(exc))
    if not text.strip():
        return ("refused", f"{path}: no text found")
    return ("read", str(path.resolve()), hashlib.sha256(data).hexdigest(), text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=ENCODED_FILES,
    block=st.sampled_from([1, 2, 3, 5, 64, 1 << 20]),
    suffix=st.sampled_from([".txt", ".md"]),
)
@example(data=("乐" * 40).encode() + "平".encode("gb18030"), block=7, suffix=".txt")
@example(data=b"\xef\xbb\xbf" + "标题\r\n正文。".encode(), block=1, suffix=".md")
@example(data=b"\xef\xbb", block=1, suffix=".txt")
def test_a_text_file_streamed_in_blocks_reads_as_when_read_whole(
    tmp_path_factory, data, block, suffix, reliability: Counter[str]
):
    """Same verdict, checksum, text and passages as decoding the whole file at once."""
    path = Path(tmp_path_factory.getbasetemp()) / f"streamed{suffix}"
    path.write_bytes(data)
    reliability["text files streamed and compared with reading them whole"] += 1
    expected = read_whole(path, data)
    with mock.patch.object(ingest, "_BLOCK_BYTES", block):
        try:
            document = read_document(path)
        except qa.DocumentError as exc:
            assert expected == ("refused", str(exc))
            return
        streamed = list(iter_passages(document.pieces(), document.source))
        assert expected == ("read", document.source, document.sha256, document.text)
    assert streamed == chunk_text(expected[3], document.source)
