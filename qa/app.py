"""The web chat (``qa serve``): a Gradio app that answers with cited, highlighted passages.

An answer shows the verdict and the answer line first, then the passage cards; each card
opens its passage in its document (the source viewer, :mod:`qa.viewer` does the work). The
page speaks Chinese or English: labels through Gradio's i18n, what is written at event time
by the request's Accept-Language header, both from :data:`MESSAGES`; ``--lang`` forces one.

It calls the :mod:`qa` facade only: :meth:`qa.Index.ask` ranks and judges,
:meth:`qa.Index.add_documents` indexes uploads, :meth:`qa.Index.save` persists them (the
same methods of
:class:`qa.milvus_store.MilvusIndex` when the app starts on a Milvus store). What lives here
is presentation (the chat, the passage cards, the documents panel, the verdict in
words), and the rules that keep the server safe: every piece of document text is
escaped before it reaches the page, uploads are checked, given safe names and written one
at a time, and the bundled report's index is never modified.

Python callers can use the ``/ask`` endpoint through Gradio's own client::

    from gradio_client import Client
    answer = Client("http://127.0.0.1:7860/").predict(
        "2020年乐平市的地区生产总值是多少？", 5, "hybrid", api_name="/ask"
    )
    answer["found"], answer["answer"]["sentence"], answer["hits"]
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import hashlib
import ipaddress
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from qa.answers import Answer, Hit
from qa.bundled import default_index, default_index_dir, index_root
from qa.chunking import SECTION_SEPARATOR, Passage
from qa.encoders import DEFAULT_ENCODER, load_encoder
from qa.errors import IndexStoreError, QAError, QueryError
from qa.index import AddReport, Index
from qa.ingest import SUPPORTED_SUFFIXES, Document, read_document
from qa.milvus_store import DEFAULT_COLLECTION, MilvusIndex, parse_store_uri
from qa.pages import PAGE_PROBLEM_WORDS, PageProblem
from qa.question import MAX_QUESTION_CHARS, MODES, check_mode, check_question
from qa.store import is_index_folder, writing
from qa.viewer import last_page_of, page_of, passage_context, render_marked_page

log = logging.getLogger(__name__)

AnyIndex = Index | MilvusIndex

DEFAULT_K = 5
MAX_K = 20
# Searches are short and CPU-bound (the encoder runs one question at a time); a few at once
# lets BM25, FAISS and the page work overlap with the encoder without piling up threads.
CONCURRENCY_LIMIT = 4
QUEUE_MAX_SIZE = 256
# Gradio keeps a per-session copy of the page's component settings for every browser tab and
# API client it has seen (about 70 KB each, measured), up to 10,000 sessions by default:
# memory grew by 143 MB over 2,000 API calls that each opened a session. Nothing this app
# needs lives there (the chat history comes with each request; the index list is re-read
# on page load and the index box takes any name), so a forgotten session costs nothing.
SESSION_CAPACITY = 1000
# Gradio keeps every uploaded file in its cache for good; the app copies what it indexes into
# the index folder, so cached uploads are removed once they are an hour old (checked hourly).
UPLOAD_CACHE_LIFETIME = (3600, 3600)
MAX_UPLOAD_FILES = 20
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
# A user message longer than this is shortened in the chat history (the search still sees
# all of it, and refuses it if it is over qa's limit).
SHOWN_QUESTION_CHARS = 500

# ---- the "not found" judgement ---------------------------------------------------------
# The library judges (qa.Index.ask: found, confidence, from the one search; calibrated per
# encoder in qa.ranking, README "Found or not found"). An encoder without a calibration
# gets found=None: no judgement, and the page shows the passages without a verdict.

# ---- the interface's words ---------------------------------------------------------------
# One table for both languages. The page's labels go through Gradio's i18n (the browser's
# language picks them); what Python writes at event time (answers, notices, upload statuses)
# picks the language of the request (its Accept-Language header). ``qa serve --lang`` forces
# one for both.
LANGUAGES = ("zh", "en")
MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "title": "## qa — ask your documents",
        "intro": (
            "Ask a question: the answer comes first, with its citation; below it the "
            "passages, each with its section, file, paragraph and page. "
            "Open a citation to see the passage in its document."
        ),
        "chat": "Chat",
        "chat_placeholder": "Ask about the documents of the selected index.",
        "question": "Question",
        "question_placeholder": "Ask a question, e.g. 2020年乐平市的地区生产总值是多少？",
        "send": "Send",
        "examples": "Example questions",
        "k": "Passages (k)",
        "mode": "Search mode",
        "index": "Index",
        "index_summary": "Index summary",
        "documents": "Documents in this index",
        "upload_files": "Upload .txt, .md, .pdf or .docx",
        "upload_target": "Upload into index",
        "add": "Add to index",
        "upload_status": "Upload status",
        "viewer_title": "### Source",
        "mode_hybrid": "hybrid",
        "mode_dense": "dense",
        "mode_keyword": "keyword",
        "column_document": "document",
        "column_passages": "passages",
        "colon": ": ",
        "close_viewer": "Close",
        "found": "Found",
        "found_text": "the answer is the highlighted sentence of the first passage",
        "not_found": "Not found",
        "not_found_text": (
            "nothing in this index answers that well enough. The closest passages are listed below."
        ),
        "no_judgement": "No judgement",
        "no_judgement_text": (
            "this index's encoder has no calibration, so whether this answers is not judged"
        ),
        "confidence": " (confidence {value})",
        "answer": "Answer",
        "closest": "Closest passages",
        "no_hits": "No passage of this index matches the question (or the index is empty).",
        "score": "score",
        "page": "p. {page}",
        "show_source": "Show in document",
        "type_first": "Type a question first.",
        "cannot_search": "Cannot search: {error}.",
        "search_failed": "Search failed (see the log).",
        "viewer_more_before": "{count} earlier passages not shown",
        "viewer_more_after": "{count} later passages not shown",
        "viewer_page": "Page {page} of {pages}",
        "viewer_page_unmarked": "the passage could not be located on this page",
        "viewer_gone": (
            "This passage is no longer in the index (the document was changed): ask again."
        ),
        "viewer_failed": "Cannot show the source: {error}.",
        "viewer_file_gone": "{name} is no longer where it was indexed: its page cannot be shown.",
        "viewer_file_changed": "{name} changed since it was indexed: its page is not shown.",
        "passage_count": "{count} passage",
        "passages_count": "{count} passages",
        "document_count": "{count} document",
        "documents_count": "{count} documents",
        "index_info": "**{name}**: {passages} from {documents}{note}",
        "read_only": " · read-only",
        "milvus_store": " · Milvus store",
        "added": "Added {name} ({passages})",
        "replaced": "Replaced {name} ({passages})",
        "unchanged": "{name} is already in this index, unchanged",
        "skipped": "Skipped {problem}",
        "nothing_to_add": "Nothing to add.",
        "upload_failed": "The upload failed (see the log).",
        "reading_files": "reading files",
        "embedding": "embedding {done}/{total}",
        "file_unsupported": "{name}: unsupported file type {suffix}; supported: {supported}",
        "file_unreadable": "{name}: cannot read the upload ({error})",
        "file_empty": "{name}: the file is empty (0 bytes)",
        "file_too_large": "{name}: too large ({size:,} bytes; the limit is {limit:,})",
        "file_same_name": "{name}: another file in this upload has the same name",
        "file_changed": "{name}: changed while being read",
        "file_binary": "{name}: looks like a binary file, not text",
        "file_encoding": "{name}: not UTF-8 or GB18030 text",
        "file_no_text": "{name}: no text found",
        "file_damaged": "{name}: damaged or not a readable file of its type",
        "file_encrypted": "{name}: the PDF is encrypted with a password",
        "file_duplicate": "{name}: the same content as a file already in this index",
        # The library's own words (qa.pages), so that the CLI and the page say the same.
        **{
            f"page_{kind}": f"{{name}}: page {{page}}: {words}"
            for kind, words in PAGE_PROBLEM_WORDS.items()
        },
        "page_detail": " ({detail})",
        "error_not_text": "the question must be text",
        "error_empty": "the question is empty",
        "error_too_long": "the question is too long (the limit is {limit} characters)",
        "error_no_words": "the question has no words in it (only punctuation or symbols)",
        "error_mode": "unknown search mode",
        "error_k": "the number of passages must be a whole number from 1 to {max_k}",
        "error_no_such_index": "there is no index of that name",
        "error_no_name": "give the index a name first",
        "error_read_only": (
            "this index is read-only (the bundled report or an index outside the index "
            "folder); upload into another index name"
        ),
        "error_no_files": "choose one or more files to upload first",
        "error_too_many_files": "too many files at once; the limit is {max_files}",
        "error_index_name": (
            "not a valid index name: use letters, digits, '-' and '_' (at most 64, starting "
            "with a letter or digit)"
        ),
        "error_not_an_index": (
            "a folder of that name exists and is not a qa index; choose another name"
        ),
    },
    "zh": {
        "title": "## qa — 向文档提问",
        "intro": (
            "输入问题：先给出答案及其出处，下面列出相关段落，注明章节、文件、段落和页码。"
            "点击出处可在原文中查看该段落。"
        ),
        "chat": "对话",
        "chat_placeholder": "就所选索引中的文档提问。",
        "question": "问题",
        "question_placeholder": "输入问题，例如：2020年乐平市的地区生产总值是多少？",
        "send": "发送",
        "examples": "示例问题",
        "k": "段落数（k）",
        "mode": "检索方式",
        "index": "索引",
        "index_summary": "索引概况",
        "documents": "本索引中的文档",
        "upload_files": "上传 .txt、.md、.pdf 或 .docx 文件",
        "upload_target": "上传到索引",
        "add": "加入索引",
        "upload_status": "上传状态",
        "viewer_title": "### 原文",
        "mode_hybrid": "混合",
        "mode_dense": "语义",
        "mode_keyword": "关键词",
        "column_document": "文档",
        "column_passages": "段落数",
        "colon": "：",
        "close_viewer": "关闭",
        "found": "找到答案",
        "found_text": "答案是第一段中高亮的句子",
        "not_found": "未找到可靠的答案",
        "not_found_text": "本索引中没有足够好地回答该问题的内容。下面列出最接近的段落。",
        "no_judgement": "无法判断",
        "no_judgement_text": "本索引的编码器没有校准数据，因此不判断是否找到答案",
        "confidence": "（置信度 {value}）",
        "answer": "答案",
        "closest": "最接近的段落",
        "no_hits": "本索引中没有与问题匹配的段落（或索引为空）。",
        "score": "得分",
        "page": "第{page}页",
        "show_source": "在原文中查看",
        "type_first": "请先输入问题。",
        "cannot_search": "无法检索：{error}。",
        "search_failed": "检索失败（详见日志）。",
        "viewer_more_before": "前面还有 {count} 段未显示",
        "viewer_more_after": "后面还有 {count} 段未显示",
        "viewer_page": "第 {page} 页，共 {pages} 页",
        "viewer_page_unmarked": "未能在本页定位该段落",
        "viewer_gone": "该段落已不在索引中（文档已更改）：请重新提问。",
        "viewer_failed": "无法显示原文：{error}。",
        "viewer_file_gone": "{name} 已不在建立索引时的位置，无法显示其页面。",
        "viewer_file_changed": "{name} 在建立索引后已被修改，不显示其页面。",
        "passage_count": "{count} 段",
        "passages_count": "{count} 段",
        "document_count": "{count} 个文档",
        "documents_count": "{count} 个文档",
        "index_info": "**{name}**：{documents}，共 {passages}{note}",
        "read_only": " · 只读",
        "milvus_store": " · Milvus 存储",
        "added": "已加入 {name}（{passages}）",
        "replaced": "已替换 {name}（{passages}）",
        "unchanged": "{name} 已在本索引中，未改变",
        "skipped": "已跳过 {problem}",
        "nothing_to_add": "没有可加入的内容。",
        "upload_failed": "上传失败（详见日志）。",
        "reading_files": "正在读取文件",
        "embedding": "正在编码 {done}/{total}",
        "file_unsupported": "{name}：不支持的文件类型 {suffix}；支持：{supported}",
        "file_unreadable": "{name}：无法读取上传的文件",
        "file_empty": "{name}：文件为空（0 字节）",
        "file_too_large": "{name}：文件过大（{size:,} 字节；上限为 {limit:,}）",
        "file_same_name": "{name}：本次上传中有另一个同名文件",
        "file_changed": "{name}：读取过程中文件被修改",
        "file_binary": "{name}：看起来是二进制文件，不是文本",
        "file_encoding": "{name}：不是 UTF-8 或 GB18030 编码的文本",
        "file_no_text": "{name}：未找到文字",
        "file_damaged": "{name}：文件已损坏或无法按其类型读取",
        "file_encrypted": "{name}：该 PDF 已用密码加密",
        "file_duplicate": "{name}：与本索引中已有的文件内容相同",
        "page_no_text": "{name}：第{page}页没有读出文字（OCR 未识别到文字）",
        "page_render": "{name}：第{page}页无法渲染以进行 OCR",
        "page_unreadable": "{name}：第{page}页无法读取",
        "page_detail": "（{detail}）",
        "error_not_text": "问题必须是文本",
        "error_empty": "问题为空",
        "error_too_long": "问题太长（上限为 {limit} 个字符）",
        "error_no_words": "问题中没有文字（只有标点或符号）",
        "error_mode": "未知的检索方式",
        "error_k": "段落数必须是 1 到 {max_k} 之间的整数",
        "error_no_such_index": "没有这个名称的索引",
        "error_no_name": "请先为索引命名",
        "error_read_only": "该索引为只读（内置报告或索引目录之外的索引）；请上传到另一个索引名",
        "error_no_files": "请先选择一个或多个要上传的文件",
        "error_too_many_files": "一次上传的文件过多；上限为 {max_files} 个",
        "error_index_name": (
            "索引名无效：只能使用字母、数字、“-”和“_”（最多 64 个字符，以字母或数字开头）"
        ),
        "error_not_an_index": "已有同名文件夹且不是 qa 索引；请换一个名称",
    },
}
NOT_FOUND = MESSAGES["en"]["not_found"]

EXAMPLES = {
    "zh": [
        "2020年乐平市的地区生产总值是多少？",
        "2021年规模以上工业增加值预期增长多少？",
        "什么是三讲一评？",
        "如何改善医院条件？",
        "乡下婚礼和丧事铺张浪费怎么办？",
    ],
    "en": [
        "How many nucleic acid tests were done?",
        "How much did fiscal revenue grow in 2020?",
        "What is 三讲一评?",
        "2020年乐平市的地区生产总值是多少？",
        "如何改善医院条件？",
    ],
}


def say(language: str, key: str, **values: object) -> str:
    """The message ``key`` in ``language`` (English for an unknown one), filled in."""
    table = MESSAGES.get(language, MESSAGES["en"])
    return table[key].format(**values) if values else table[key]


def language_of(accept_language: str | None) -> str:
    """The interface language for an Accept-Language header: "zh" when Chinese is preferred
    over English, else "en"."""
    best, best_q = "en", 0.0
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        base = tag.strip().lower().split("-")[0]
        if base not in LANGUAGES:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        q -= position * 1e-6  # equal weights: the first listed wins
        if q > best_q:
            best, best_q = base, q
    return best


def request_language(request: gr.Request | None, forced: str | None = None) -> str:
    """The language to answer a request in: ``forced`` (``--lang``), else the browser's."""
    if forced is not None:
        return forced
    headers = getattr(request, "headers", None)
    return language_of(headers.get("accept-language") if headers is not None else None)


CSS = """
#qa-chat { height: calc(100vh - 210px) !important; min-height: 360px; }
#qa-chat .qa-verdict { margin: 0 0 .4em 0; }
#qa-chat .qa-found { color: #166534; }
#qa-chat .qa-notfound { color: #9a3412; }
#qa-chat .qa-unjudged { color: #4b5563; }
#qa-chat .qa-answer-line { font-size: 1.08em; margin: .2em 0 .6em 0; }
#qa-chat .qa-answer-line mark { background: #fde68a; color: inherit; padding: 0 .1em; }
#qa-chat .qa-cite { font-size: .85em; vertical-align: super; text-decoration: none; }
#qa-chat .qa-hit { border-left: 3px solid #d1d5db; padding: .2em 0 .2em .7em;
                   margin: .5em 0; }
#qa-chat .qa-hit > summary { cursor: pointer; }
#qa-chat .qa-hit:target, #qa-chat .qa-hit.qa-flash { border-left-color: #f59e0b; }
#qa-chat .qa-crumb { font-weight: 600; }
#qa-chat .qa-where { font-size: .85em; opacity: .8; }
#qa-chat .qa-score { font-variant-numeric: tabular-nums; }
#qa-chat mark.qa-sentence { background: #fde68a; color: inherit; padding: 0 .1em; }
#qa-chat .qa-text { margin: .3em 0 0 0; }
#qa-chat .qa-source { font-size: .85em; }
.qa-hidden { display: none !important; }
#qa-viewer-body .qa-ctx { margin: .5em 0; }
#qa-viewer-body .qa-ctx-where { font-size: .8em; opacity: .7; }
#qa-viewer-body .qa-focus { background: #fef3c7; outline: 2px solid #f59e0b;
                            padding: .3em .5em; border-radius: 4px; }
#qa-viewer-body .qa-more { font-size: .85em; opacity: .7; font-style: italic; }
#qa-viewer-body img.qa-page { max-width: 100%; border: 1px solid #d1d5db; margin-top: .5em; }
"""

# Every character that HTML or Markdown (including Gradio's GFM, tables and KaTeX) could
# read as markup becomes a numeric character reference: html.escape's five characters
# plus Markdown's. Browsers and Markdown parsers show a reference as the character itself,
# so document text is displayed exactly and can never become a tag, a link or a script.
_ESCAPED = "&<>\"'`\\*_{}[]()#+-.!|~$:=@^%/"
_ESCAPE_TABLE = str.maketrans({c: f"&#{ord(c)};" for c in _ESCAPED})
_SAFE_NAME_CHAR = re.compile(r"[^\w\-. ()（）]+")
_INDEX_NAME = re.compile(r"\w[\w\-]{0,63}")


def escape(text: str) -> str:
    """Escape text for the page: HTML and Markdown are shown as text, never interpreted.

    A superset of :func:`html.escape`: ``html.unescape(escape(s)) == s``. Line breaks
    become ``<br>`` so that no blank line can end the HTML block an answer is written in.
    """
    return text.translate(_ESCAPE_TABLE).replace("\r\n", "\n").replace("\n", "<br>")


# ---- answering --------------------------------------------------------------------------


def check_k(k: object) -> int:
    """Return k as an int between 1 and MAX_K, or raise QueryError."""
    if isinstance(k, bool) or not isinstance(k, int | float):
        raise QueryError(f"k must be a whole number, not {k!r}", kind="k")
    if k != int(k) or not 1 <= k <= MAX_K:
        raise QueryError(f"k must be a whole number from 1 to {MAX_K}, not {k!r}", kind="k")
    return int(k)


def answer(index: AnyIndex, question: str, k: int = DEFAULT_K, mode: str = "hybrid") -> Answer:
    """Ask the index (one search, with the verdict); raises QueryError for a bad question,
    k or mode."""
    question = check_question(question)
    check_mode(mode)
    return index.ask(question, k=check_k(k), mode=mode)


# How many passage cards of an answer are open; the rest are folded.
OPEN_CARDS = 3


def hit_page(hit: Hit) -> int | None:
    """The hit's first PDF page (1-based), or None."""
    page = getattr(hit, "page", None)
    return int(page) if page else None


def source_token(index_name: str, hit: Hit) -> str:
    """An opaque, URL-safe reference to a hit's passage for the source viewer.

    It names the index and the passage (a digest of its source, its paragraph and a digest
    of its text), never a path: the server finds the passage among the index's own.
    """
    raw = json.dumps(
        [index_name, _digest(hit.source), hit.paragraph, _digest(hit.text)], ensure_ascii=False
    )
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def parse_source_token(token: str) -> tuple[str, str, int, str]:
    """(index name, source digest, paragraph, text digest) of a token; QAError if malformed."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        index_name, source, paragraph, text_digest = json.loads(raw.decode("utf-8"))
        if not all(isinstance(v, str) for v in (index_name, source, text_digest)):
            raise ValueError("not text")
        if isinstance(paragraph, bool) or not isinstance(paragraph, int):
            raise ValueError("not a paragraph number")
    except (ValueError, TypeError, UnicodeDecodeError, binascii.Error) as exc:
        raise QAError("not a passage reference") from exc
    return index_name, source, paragraph, text_digest


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _pages(page: int, last_page: int | None) -> str:
    return f"{page}\u2013{last_page}" if last_page and last_page != page else str(page)


def render_where(hit: Hit, language: str = "en") -> str:
    """File, paragraph, page (for PDFs) and score of a hit, escaped."""
    parts = [escape(Path(hit.source).name), f"&#182;{hit.paragraph}"]
    page = hit_page(hit)
    if page is not None:
        pages = _pages(page, getattr(hit, "last_page", None))
        parts.append(escape(say(language, "page", page=pages)))
    parts.append(f'<span class="qa-score">{say(language, "score")} {hit.score:.3f}</span>')
    return " &#183; ".join(parts)


def render_hit(
    hit: Hit,
    language: str = "en",
    card_id: str | None = None,
    open_card: bool = True,
    token: str | None = None,
) -> str:
    """One passage card as HTML: breadcrumb, where it is, the text with its answering
    sentence highlighted, and a link that opens it in its document (when ``token`` is given).

    A ``<details>`` element: ``open_card=False`` folds it. All document text is escaped.
    """
    start = max(0, min(hit.sentence_start, len(hit.text)))
    end = max(start, min(hit.sentence_end, len(hit.text)))
    crumbs = [part for part in hit.section.split(SECTION_SEPARATOR) if part.strip()]
    crumb = " &#8250; ".join(escape(part) for part in crumbs) or "&#8212;"
    ident = f' id="{card_id}"' if card_id else ""
    source_link = (
        f'<a class="qa-source" href="#qa-src-{token}">{escape(say(language, "show_source"))}</a>'
        if token
        else ""
    )
    return (
        f'<details class="qa-hit"{ident}{" open" if open_card else ""}>'
        f'<summary><span class="qa-crumb">{hit.rank}&#46; {crumb}</span> '
        f'<span class="qa-where">{render_where(hit, language)}</span></summary>'
        f'<p class="qa-text">{escape(hit.text[:start])}'
        f'<mark class="qa-sentence">{escape(hit.text[start:end])}</mark>'
        f"{escape(hit.text[end:])}</p>"
        f"{source_link}"
        "</details>"
    )


def render_verdict(result: Any, language: str = "en") -> str:
    """The verdict in plain words: found, not found, or no judgement (with the confidence)."""
    found = result.found
    key, css = {True: ("found", "qa-found"), False: ("not_found", "qa-notfound")}.get(
        found, ("no_judgement", "qa-unjudged")
    )
    shown = (
        ""
        if result.confidence is None
        else say(language, "confidence", value=f"{result.confidence:.3f}")
    )
    return (
        f'<p class="qa-verdict {css}"><strong>{escape(say(language, key))}</strong>'
        f"{escape(say(language, 'colon'))}"
        f"{escape(say(language, key + '_text'))}{escape(shown)}</p>"
    )


def render_answer(
    result: Any, language: str = "en", index_name: str | None = None, answer_id: str | None = None
) -> str:
    """The chat message for an answer, as one HTML block.

    The verdict, then the answer line (the best hit's answering sentence, with a citation
    linked to its card), then the cards: the first :data:`OPEN_CARDS` open, the rest
    folded. ``result`` has ``found``, ``confidence``, ``answer`` and ``hits`` (qa.Answer's
    fields). With ``index_name`` each card links to the source viewer.

    The whole message is one line of HTML starting with a block tag, so Markdown leaves it
    alone; all text from documents is escaped.
    """
    if not result.hits:
        verdict = escape(say(language, "no_hits"))
        return f'<div class="qa-answer"><p class="qa-verdict">{verdict}</p></div>'
    answer_id = answer_id or uuid.uuid4().hex[:8]
    cards = []
    for number, hit in enumerate(result.hits):
        token = source_token(index_name, hit) if index_name is not None else None
        card_id = f"qa-card-{answer_id}-{hit.rank}"
        cards.append(render_hit(hit, language, card_id, number < OPEN_CARDS, token))
    best = result.answer
    answer_line = ""
    if best is not None and result.found is not False:
        sentence = best.sentence or best.text
        page = hit_page(best)
        page_note = f" &#183; {escape(say(language, 'page', page=page))}" if page else ""
        answer_line = (
            f'<p class="qa-answer-line"><strong>{escape(say(language, "answer"))}</strong>'
            f"{escape(say(language, 'colon'))}"
            f"<mark>{escape(sentence)}</mark> "
            f'<a class="qa-cite" href="#qa-card-{answer_id}-{best.rank}">'
            f"[{best.rank}{page_note}]</a></p>"
        )
    return (
        f'<div class="qa-answer">{render_verdict(result, language)}{answer_line}'
        f"{''.join(cards)}</div>"
    )


def render_notice(text: str) -> str:
    """A warning message for the chat (bad input and the like), escaped."""
    return f'<div class="qa-notice"><p>&#9888;&#65039; {escape(text)}</p></div>'


# ---- the source viewer ---------------------------------------------------------------

# Clicks on the chat's links: a citation ("#qa-card-…") opens and shows its card; "Show in
# document" ("#qa-src-<reference>") hands the reference to the hidden viewer button.
CLICK_JS = """
() => {
  document.addEventListener("click", (event) => {
    const link = event.target.closest ? event.target.closest("a[href^='#qa-']") : null;
    if (!link) return;
    const href = link.getAttribute("href");
    if (href.startsWith("#qa-src-")) {
      event.preventDefault();
      event.stopPropagation();
      window.qaViewToken = href.slice("#qa-src-".length);
      document.querySelector("#qa-view-open").click();
    } else if (href.startsWith("#qa-card-")) {
      event.preventDefault();
      event.stopPropagation();
      const card = document.getElementById(href.slice(1));
      if (!card) return;
      card.open = true;
      card.classList.add("qa-flash");
      card.scrollIntoView({block: "nearest"});
      setTimeout(() => card.classList.remove("qa-flash"), 2000);
    }
  }, true);
}
"""
SCROLL_TO_FOCUS_JS = """
() => {
  const show = () => {
    const focus = document.querySelector("#qa-viewer-body .qa-focus");
    if (focus) focus.scrollIntoView({block: "center"});
  };
  setTimeout(show, 50);
  setTimeout(show, 400);
}
"""
# The answer comes first in its message: show the message's top, not the chat's bottom.
SCROLL_TO_ANSWER_JS = """
() => {
  setTimeout(() => {
    const answers = document.querySelectorAll("#qa-chat .qa-answer, #qa-chat .qa-notice");
    const last = answers[answers.length - 1];
    const log = document.querySelector("#qa-chat [role=log]");
    if (!last || !log) return;
    // Scroll the chat only (scrollIntoView would scroll the page too).
    log.scrollTop += last.getBoundingClientRect().top - log.getBoundingClientRect().top - 40;
  }, 100);
}
"""
# A passage spanning more pages than this shows its first ones only.
MAX_VIEWER_PAGES = 2


def render_source(library: Library, token: str, language: str = "en") -> str:
    """The source viewer's HTML for the passage a :func:`source_token` names.

    The paragraphs around the passage come from the index's own passages
    (:func:`qa.viewer.passage_context`); for a PDF passage with a page, the page is rendered
    with the passage marked (:func:`qa.viewer.render_marked_page`) and embedded as a PNG data
    URL. Only a source the index records is opened. All document text is escaped.
    """
    index_name, source_digest, paragraph, text_digest = parse_source_token(token)
    index = library.get(index_name)
    recorded = [info for info in index.sources if _digest(info.source) == source_digest]
    if not recorded:
        raise QAError(say(language, "viewer_gone"))
    source = recorded[0].source
    passages = index.passages
    candidates = [
        n for n, p in enumerate(passages) if p.source == source and p.paragraph == paragraph
    ]
    if not candidates:
        raise QAError(say(language, "viewer_gone"))
    position = next(
        (n for n in candidates if _digest(passages[n].text) == text_digest), candidates[0]
    )
    context = passage_context(passages, position)
    parts = [
        f'<div class="qa-viewer" data-source="{escape(Path(source).name)}">',
        f'<p class="qa-viewer-file"><strong>{escape(Path(source).name)}</strong></p>',
    ]
    if context.before:
        more = escape(say(language, "viewer_more_before", count=context.before))
        parts.append(f'<p class="qa-more">{more}</p>')
    for shown in context.paragraphs:
        where = [f"&#182;{shown.paragraph}"]
        if shown.page is not None:
            where.append(escape(say(language, "page", page=_pages(shown.page, shown.last_page))))
        crumbs = [c for c in shown.section.split(SECTION_SEPARATOR) if c.strip()]
        if crumbs:
            where.insert(0, escape(crumbs[-1]))
        css, ident = ("qa-ctx qa-focus", ' id="qa-focus"') if shown.focus else ("qa-ctx", "")
        body = f"<mark>{escape(shown.text)}</mark>" if shown.focus else escape(shown.text)
        parts.append(
            f'<div class="{css}"{ident}><div class="qa-ctx-where">{" &#183; ".join(where)}</div>'
            f"<p>{body}</p></div>"
        )
    if context.after:
        more = escape(say(language, "viewer_more_after", count=context.after))
        parts.append(f'<p class="qa-more">{more}</p>')
    focus = passages[position]
    first_page = page_of(focus)
    if first_page is not None and Path(source).suffix.lower() == ".pdf":
        parts += _render_pages(source, recorded[0].sha256, focus, first_page, language)
    parts.append("</div>")
    return "".join(parts)


def _render_pages(
    source: str, sha256: str, focus: Passage, first_page: int, language: str
) -> list[str]:
    """The focus passage's PDF page(s) with the passage marked, as HTML figures; a file that
    is gone, changed since it was indexed, or unreadable gets a line saying so instead."""
    name = Path(source).name
    try:
        digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()
    except OSError:
        return [render_notice(say(language, "viewer_file_gone", name=name))]
    if digest != sha256:
        return [render_notice(say(language, "viewer_file_changed", name=name))]
    last = min(last_page_of(focus) or first_page, first_page + MAX_VIEWER_PAGES - 1)
    figures = []
    for page in range(first_page, last + 1):
        try:
            marked = render_marked_page(source, page, focus.text)
        except QAError as exc:
            figures.append(render_notice(_without_paths(str(exc), {source: name})))
            continue
        caption = say(language, "viewer_page", page=page, pages=marked.pages)
        if not marked.regions:
            caption += " · " + say(language, "viewer_page_unmarked")
        figures.append(
            f'<figure class="qa-page-figure" data-page="{page}" '
            f'data-regions="{len(marked.regions)}">'
            f"<figcaption>{escape(caption)}</figcaption>"
            f'<img class="qa-page" alt="{escape(caption)}" src="{marked.png_data_url()}">'
            "</figure>"
        )
    return figures


# ---- indexes ----------------------------------------------------------------------------


def safe_file_name(name: str) -> str:
    """A file name that is safe to create in an index's ``files/`` folder.

    Only the last path component is kept; characters other than letters, digits and
    ``-_. ()`` become ``_``; leading dots are dropped (no hidden files, no ``..``).
    """
    base = re.split(r"[\\/]", name.strip())[-1]
    base = _SAFE_NAME_CHAR.sub("_", base).strip(" .")
    base = re.sub(r"\.{2,}", ".", base)
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem[:100].strip(" .") or "document"
    suffix = suffix[:10]
    return f"{stem}.{suffix.lower()}" if suffix else stem


@dataclass
class UploadResult:
    """What an upload did: lines to show and whether the index changed."""

    lines: list[str]
    changed: bool = False


class Library:
    """The indexes the app can search: the one it starts with plus user indexes under a root.

    User indexes are folders ``<root>/<name>``, created by the first upload to that name;
    uploaded files are kept in ``<root>/<name>/files/``. The bundled report's index and an
    index opened from outside the root are read-only. Uploads are serialised by one lock
    in the process and by the index folder's write lock across processes; the indexes
    follow their folders, so what `qa build` or another server saves there is searched
    and listed within about a second.

    With ``store`` (a Milvus store URI) the app starts on that store instead, named after
    its collection (a milvus-lite file's name for its default collection); uploads go into
    the store and their files are kept in ``<root>/<name>-uploads/files/``.
    """

    def __init__(
        self, start_dir: Path | None = None, root: Path | None = None, store: str | None = None
    ) -> None:
        self.root = (root or index_root()).expanduser()
        self.bundled_dir = default_index_dir()
        self.start_dir = Path(start_dir).expanduser() if start_dir else self.bundled_dir
        self.start_name = self.start_dir.name or "index"
        self.store = store
        if store is not None:
            if start_dir is not None:
                raise QAError("give --index or --store, not both")
            location = parse_store_uri(store)
            self.start_name = location.collection
            if location.lite_path is not None and location.collection == DEFAULT_COLLECTION:
                self.start_name = location.lite_path.stem or location.collection
            self.start_dir = self.root / f"{self.start_name}-uploads"
        self._cache: dict[str, AnyIndex] = {}
        self._cache_lock = threading.Lock()
        self._write_lock = threading.Lock()

    def _is_bundled(self, folder: Path) -> bool:
        return _same_path(folder, self.bundled_dir)

    def _in_root(self, folder: Path) -> bool:
        return _same_path(folder.parent, self.root)

    def folder(self, name: str) -> Path:
        """The folder of the index called ``name`` (which need not exist yet)."""
        if name == self.start_name:
            return self.start_dir
        if not _INDEX_NAME.fullmatch(name):
            raise QAError(
                f"{name!r} is not a valid index name: use letters, digits, '-' and '_' "
                "(at most 64, starting with a letter or digit)",
                kind="index_name",
            )
        return self.root / name

    def _is_store(self, name: str) -> bool:
        return self.store is not None and name == self.start_name

    def read_only(self, name: str) -> bool:
        """True when uploads to ``name`` are refused (the bundled report, outside indexes)."""
        if self._is_store(name):
            return False
        folder = self.folder(name)
        return self._is_bundled(folder) or not self._in_root(folder)

    def names(self) -> list[str]:
        """The start index first, then every index folder under the root, sorted."""
        found: list[str] = []
        if self.root.is_dir():
            for child in sorted(self.root.iterdir()):
                if child.is_dir() and _INDEX_NAME.fullmatch(child.name) and is_index_folder(child):
                    found.append(child.name)
        return [self.start_name] + [n for n in found if n != self.start_name]

    def get(self, name: str | None) -> AnyIndex:
        """Load (once) and return the index called ``name``; the start index when empty."""
        name = name or self.start_name
        with self._cache_lock:
            index = self._cache.get(name)
            if index is not None:
                return index
            folder = self.folder(name)
            if self._is_store(name):
                index = MilvusIndex.load(str(self.store))
            elif self._is_bundled(folder):
                index = default_index()
            elif is_index_folder(folder):
                # Follow the folder: what `qa build` or another server saves there shows.
                index = Index.load(folder, follow=True)
            else:
                raise QAError(f"there is no index called {name!r}", kind="no_such_index")
            self._cache[name] = index
            return index

    def documents(self, name: str | None) -> list[list[Any]]:
        """Rows (file name, passages) for the documents of an index."""
        return [[Path(s.source).name, s.passages] for s in self.get(name).sources]

    def upload(
        self,
        name: str,
        paths: Sequence[str | os.PathLike[str]],
        progress: Callable[[int, int], None] | None = None,
        language: str = "en",
    ) -> UploadResult:
        """Add uploaded files to the user index ``name``; each problem becomes a line
        (in ``language``, "zh" or "en", apart from the problems' own explanations).

        Files are checked (type, size, readable text) before anything is written. The index
        is saved atomically; if saving fails, the index on disk is the previous one.
        """
        name = (name or "").strip()
        if not name:
            raise QAError("give the index a name first", kind="no_name")
        folder = self.folder(name)
        if self.read_only(name):
            raise QAError(
                f"{name!r} is read-only (the bundled report or an index outside "
                f"{self.root}); upload into another index name",
                kind="read_only",
            )
        if not paths:
            raise QAError("choose one or more files to upload first", kind="no_files")
        if len(paths) > MAX_UPLOAD_FILES:
            raise QAError(
                f"too many files at once ({len(paths)}); the limit is {MAX_UPLOAD_FILES}",
                kind="too_many_files",
            )
        files_dir = folder / "files"
        lines: list[str] = []
        accepted: list[tuple[Path, Document]] = []
        seen: set[str] = set()
        for raw in paths:
            path = Path(raw)
            shown = path.name
            target_name = safe_file_name(shown)
            problem = _check_upload(path, shown, language)
            if problem is None and target_name in seen:
                problem = say(language, "file_same_name", name=shown)
            if problem is None:
                try:
                    document = read_document(path)
                except QAError as exc:
                    problem = _document_problem(exc, shown, str(path), language)
                except Exception as exc:  # a reader library's own error: still the file's fault
                    log.warning("cannot read upload %s: %r", shown, exc)
                    problem = (
                        f"{shown}: cannot be read as {path.suffix.lower()} ({type(exc).__name__})"
                        if language == "en"
                        else say(language, "file_damaged", name=shown)
                    )
            if problem is not None:
                lines.append(say(language, "skipped", problem=problem))
                continue
            seen.add(target_name)
            target = (files_dir / target_name).resolve()
            # The same document (text, pages) under the name of the copy kept in files/.
            kept = copy.copy(document)
            kept.source = str(target)
            accepted.append((path, kept))
        if not accepted:
            return UploadResult(lines or [say(language, "nothing_to_add")])

        if not self._is_store(name):
            _check_index_folder(folder)
        with self._write_lock:
            try:
                # Other processes may write this folder too: hold its lock from reading the
                # newest generation to saving (a Milvus store orders its own writes).
                locked = writing(folder) if not self._is_store(name) else contextlib.nullcontext()
                with locked:
                    index = self._writable(name, folder)
                    if isinstance(index, Index):
                        try:
                            index.refresh()
                        except IndexStoreError:  # rebuilt with other settings meanwhile
                            index = Index.load(folder, follow=True)
                    report = index.add_documents(
                        [doc for _, doc in accepted], progress=progress or False
                    )
                    if report.changed:
                        if isinstance(index, MilvusIndex):
                            index.save()  # rows are in Milvus already: flush them
                        else:
                            index.save(folder)
                        _copy_files(accepted, report)
            except Exception:
                with self._cache_lock:  # the in-memory index may hold unsaved passages
                    self._cache.pop(name, None)
                raise
            with self._cache_lock:
                self._cache[name] = index
        counts = {info.source: info.passages for info in index.sources}
        names = {doc.source: Path(doc.source).name for _, doc in accepted}
        names.update({source: Path(source).name for source in counts})
        lines = _report_lines(report, counts, names, language) + lines
        return UploadResult(lines, report.changed)

    def _writable(self, name: str, folder: Path) -> AnyIndex:
        with self._cache_lock:
            index = self._cache.get(name)
        if index is not None:
            return index
        if self._is_store(name):
            return MilvusIndex.load(str(self.store))
        if is_index_folder(folder):
            return Index.load(folder, follow=True)
        _check_index_folder(folder)
        index = Index(load_encoder(DEFAULT_ENCODER))
        index.follow = True
        return index


def _check_index_folder(folder: Path) -> None:
    """Refuse a folder that holds something other than a qa index."""
    if is_index_folder(folder) or not folder.is_dir():
        return
    if any(not c.name.startswith(".") for c in folder.iterdir()):
        raise QAError(
            f"{folder} exists and is not a qa index; choose another name", kind="not_an_index"
        )


def _same_path(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _check_upload(path: Path, shown: str, language: str = "en") -> str | None:
    """Why an uploaded file cannot be indexed (in the page's language), or None."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        supported = ", ".join(SUPPORTED_SUFFIXES)
        return say(
            language, "file_unsupported", name=shown, suffix=suffix or "(none)", supported=supported
        )
    try:
        size = path.stat().st_size
    except OSError as exc:
        return say(language, "file_unreadable", name=shown, error=exc.strerror or exc)
    if size == 0:
        return say(language, "file_empty", name=shown)
    if size > MAX_UPLOAD_BYTES:
        return say(language, "file_too_large", name=shown, size=size, limit=MAX_UPLOAD_BYTES)
    return None


def error_text(exc: QAError, language: str) -> str:
    """What a QAError says on the page: its own (English) message in English, the message
    of its kind (``error_<kind>`` in MESSAGES) in another language when there is one."""
    key = f"error_{exc.kind}"
    if language == "en" or key not in MESSAGES.get(language, {}):
        return str(exc)
    return say(language, key, limit=MAX_QUESTION_CHARS, max_k=MAX_K, max_files=MAX_UPLOAD_FILES)


def _document_problem(exc: QAError, shown: str, path: str, language: str) -> str:
    """Why a file cannot be read, for the page: the library's own (English) message in
    English, the message of the error's kind in another language; named by ``shown``."""
    if language == "en" or f"file_{exc.kind}" not in MESSAGES.get(language, {}):
        return _without_paths(str(exc), {path: shown})
    return say(language, f"file_{exc.kind}", name=shown)


def _without_paths(message: str, names: dict[str, str]) -> str:
    """Replace full paths in a message by file names (temporary and index paths alike)."""
    for path in sorted(names, key=len, reverse=True):
        message = message.replace(path, names[path])
    return message


def _report_lines(
    report: AddReport, counts: dict[str, int], names: dict[str, str], language: str = "en"
) -> list[str]:
    def passages(source: str) -> str:
        return _passages(counts.get(source, 0), language)

    lines = [say(language, "added", name=names[s], passages=passages(s)) for s in report.added]
    lines += [
        say(language, "replaced", name=names[s], passages=passages(s)) for s in report.replaced
    ]
    lines += [say(language, "unchanged", name=names[s]) for s in report.unchanged]
    for skipped in report.skipped:
        name = names.get(skipped.source, Path(skipped.source).name)
        key = f"file_{skipped.kind}"
        if skipped.page_problem is not None:
            problem = _page_problem(skipped.page_problem, name, language)
        elif language == "en" or key not in MESSAGES.get(language, {}):
            problem = f"{name}: {_without_paths(skipped.reason, names)}"
        else:
            problem = say(language, key, name=name)
        lines.append(say(language, "skipped", problem=problem))
    return lines


def _page_problem(problem: PageProblem, name: str, language: str) -> str:
    """A page that could not be read, for the page: named by ``name`` (not the path it was
    read from), in ``language``; the reader library's own explanation stays as it is."""
    line = say(language, f"page_{problem.kind}", name=name, page=problem.page)
    if problem.detail:
        line += say(language, "page_detail", detail=problem.detail)
    return line


def _copy_files(accepted: Sequence[tuple[Path, Document]], report: AddReport) -> None:
    """Keep a copy of each added or replaced upload beside the index (atomic per file)."""
    wanted = set(report.added) | set(report.replaced)
    for upload, document in accepted:
        if document.source not in wanted:
            continue
        target = Path(document.source)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=target.parent)
        os.close(fd)
        try:
            shutil.copyfile(upload, tmp)
            os.replace(tmp, target)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            log.warning("could not keep a copy of %s: %s", target.name, exc)


# ---- the app ----------------------------------------------------------------------------


def _message(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


def _shorten(text: str) -> str:
    if len(text) <= SHOWN_QUESTION_CHARS:
        return text
    return f"{text[:SHOWN_QUESTION_CHARS]}… ({len(text):,} characters)"


def _index_info(library: Library, name: str, language: str = "en") -> str:
    index = library.get(name)
    sources = len(index.sources)
    note = say(language, "read_only") if library.read_only(name) else ""
    if isinstance(index, MilvusIndex):
        note += say(language, "milvus_store")
    key = "document_count" if sources == 1 else "documents_count"
    documents = say(language, key, count=sources)
    return say(
        language,
        "index_info",
        name=escape(name),
        passages=_passages(len(index), language),
        documents=documents,
        note=note,
    )


def _passages(count: int, language: str = "en") -> str:
    return say(language, "passage_count" if count == 1 else "passages_count", count=count)


def _status(lines: Sequence[str]) -> str:
    """Upload status: plain text (a Textbox shows it as is, nothing is rendered)."""
    return "\n".join(lines)


def build_app(
    index_dir: str | os.PathLike[str] | None = None,
    store: str | None = None,
    lang: str | None = None,
) -> gr.Blocks:
    """Build the web chat over ``index_dir`` (default: the bundled report's index), or over
    the Milvus store at URI ``store``.

    The page speaks the browser's language (Chinese or English) unless ``lang`` ("zh" or
    "en") forces one. The index is loaded (or, for the bundled report, built) here, so the
    first question is fast. Launch the result with :func:`launch_options` (the passage
    styling, the citation links and the translations), or use :func:`serve`.
    """
    check_lang(lang)
    library = Library(Path(index_dir) if index_dir is not None else None, store=store)
    library.get(library.start_name)  # load now: fail early, answer fast
    i18n = gr.I18n(**MESSAGES)

    def label(key: str) -> Any:
        """A static text of the page: translated by the browser unless --lang forces one."""
        return say(lang, key) if lang is not None else i18n(key)

    def respond(
        message: str | None,
        history: list[Any] | None,
        k: float,
        mode: str,
        index_name: str,
        request: gr.Request,
    ) -> tuple[str, list[Any]]:
        """Answer a chat message; bad input gets a visible notice instead."""
        language = request_language(request, lang)
        history = list(history or [])
        text = message if isinstance(message, str) else ""
        if not text.strip():
            history.append(_message("assistant", render_notice(say(language, "type_first"))))
            return "", history
        history.append(_message("user", escape(_shorten(text))))
        try:
            name = index_name or library.start_name
            result = answer(library.get(name), text, check_k(k), mode)
            history.append(_message("assistant", render_answer(result, language, name)))
        except QAError as exc:
            notice = say(language, "cannot_search", error=error_text(exc, language))
            history.append(_message("assistant", render_notice(notice)))
        except Exception:  # keep serving; the log has the details
            log.exception("search failed")
            history.append(_message("assistant", render_notice(say(language, "search_failed"))))
        return "", history

    def view(token: str, request: gr.Request) -> tuple[Any, str]:
        """Open the source viewer on the passage a citation refers to."""
        language = request_language(request, lang)
        try:
            body = render_source(library, token, language)
        except QAError as exc:
            body = render_notice(say(language, "viewer_failed", error=error_text(exc, language)))
        except Exception:  # keep serving; the log has the details
            log.exception("source viewer failed")
            body = render_notice(say(language, "viewer_failed", error="see the log"))
        return gr.Sidebar(open=True), body

    def ask(
        question: str, k: int = DEFAULT_K, mode: str = "hybrid", index: str = ""
    ) -> dict[str, Any]:
        """Answer a question from an index (default: the one the app started with).

        Returns the answer as a dict (:meth:`qa.Answer.to_dict`): question, found (true,
        false, or null: no judgement), confidence, answer (the best hit, whose sentence
        is the answer line) and hits, best first, each with rank, score, text, source,
        section, paragraph, sentence, sentence_start and sentence_end.
        """
        try:
            result = answer(library.get(index or None), question, k, mode)
        except QAError as exc:
            raise gr.Error(str(exc)) from exc
        return result.to_dict()

    def describe(name: str, language: str) -> tuple[str, Any]:
        """Describe an index and list its documents (a table with headers in ``language``:
        Gradio's i18n does not reach a table's headers)."""
        headers = [say(language, "column_document"), say(language, "column_passages")]
        try:
            info, rows = _index_info(library, name, language), library.documents(name)
        except QAError as exc:
            info, rows = escape(f"⚠️ {exc}"), []
        return info, {"headers": headers, "data": rows}

    def show_index(name: str, request: gr.Request) -> tuple[str, Any]:
        """Describe an index and list its documents."""
        return describe(name, request_language(request, lang))

    def refresh(name: str, request: gr.Request) -> tuple[Any, str, Any]:
        """Re-read the list of indexes (another session may have made one)."""
        names = library.names()
        chosen = name if name in names else library.start_name
        info, rows = describe(chosen, request_language(request, lang))
        return gr.update(choices=names, value=chosen), info, rows

    def upload(
        files: list[str] | None,
        name: str,
        current: str,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - how Gradio injects a progress bar
    ) -> tuple[str, Any, str, Any, Any]:
        """Add uploaded files to a user index and switch to it."""
        language = request_language(request, lang)

        def embedding(done: int, total: int) -> None:
            progress(done / max(total, 1), desc=say(language, "embedding", done=done, total=total))

        progress(0, desc=say(language, "reading_files"))
        target = (name or "").strip()
        try:
            result = library.upload(target, [str(f) for f in files or []], embedding, language)
        except QAError as exc:
            info, rows = describe(current, language)
            problem = error_text(exc, language)
            return _status([f"⚠️ {problem}"]), gr.update(), info, rows, gr.update()
        except Exception:
            log.exception("upload failed")
            info, rows = describe(current, language)
            failed = "⚠️ " + say(language, "upload_failed")
            return _status([failed]), gr.update(), info, rows, None
        names = library.names()
        chosen = target if target in names else current
        info, rows = describe(chosen, language)
        mark = "✅ " if result.changed else "ℹ️ "
        return (
            _status([mark + result.lines[0], *result.lines[1:]]),
            gr.update(choices=names, value=chosen),
            info,
            rows,
            None,
        )

    start_language = lang or "en"
    start_info, _ = describe(library.start_name, start_language)
    start_rows = library.documents(library.start_name)
    with gr.Blocks(
        title="qa · ask your documents",
        analytics_enabled=False,
        delete_cache=UPLOAD_CACHE_LIFETIME,
    ) as demo:
        gr.Markdown(label("title"), elem_id="qa-title")
        gr.Markdown(label("intro"), elem_id="qa-intro")
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label=label("chat"),
                    elem_id="qa-chat",
                    latex_delimiters=[],
                    sanitize_html=True,
                    feedback_options=None,
                    buttons=["copy"],
                    autoscroll=False,
                    placeholder=label("chat_placeholder"),
                )
                with gr.Row():
                    question = gr.Textbox(
                        label=label("question"),
                        show_label=False,
                        placeholder=label("question_placeholder"),
                        elem_id="qa-question",
                        scale=5,
                        autofocus=True,
                    )
                    send = gr.Button(label("send"), variant="primary", elem_id="qa-send", scale=1)
            with gr.Column(scale=2):
                example_sets: dict[str, Any] = {}
                example_groups: dict[str, Any] = {}
                for language in [lang] if lang is not None else list(LANGUAGES):
                    with gr.Column(
                        visible=lang is not None or language == "en",
                        elem_id=f"qa-examples-{language}",
                    ) as group:
                        example_sets[language] = gr.Examples(
                            EXAMPLES[language], inputs=[question], label=label("examples")
                        )
                    example_groups[language] = group
                k = gr.Slider(1, MAX_K, value=DEFAULT_K, step=1, label=label("k"))
                mode = gr.Radio(
                    [(label(f"mode_{name}"), name) for name in MODES],
                    value="hybrid",
                    label=label("mode"),
                )
                index_name = gr.Dropdown(
                    choices=library.names(),
                    value=library.start_name,
                    label=label("index"),
                    allow_custom_value=True,
                    elem_id="qa-index",
                )
                info = gr.Markdown(
                    start_info, label=label("index_summary"), elem_id="qa-index-info"
                )
                documents = gr.Dataframe(
                    value=start_rows,
                    headers=[
                        say(lang or "en", "column_document"),
                        say(lang or "en", "column_passages"),
                    ],
                    datatype=["str", "number"],
                    interactive=False,
                    max_height=240,
                    column_widths=["78%", "22%"],
                    label=label("documents"),
                    elem_id="qa-documents",
                )
                files = gr.File(
                    label=label("upload_files"),
                    file_count="multiple",
                    elem_id="qa-upload",
                )
                target = gr.Textbox(
                    value="my-documents", label=label("upload_target"), elem_id="qa-target"
                )
                add = gr.Button(label("add"), elem_id="qa-add")
                status = gr.Textbox(
                    label=label("upload_status"),
                    interactive=False,
                    lines=2,
                    max_lines=12,
                    elem_id="qa-upload-status",
                )
        with gr.Sidebar(open=False, position="right", width="46%", elem_id="qa-viewer") as viewer:
            gr.Markdown(label("viewer_title"))
            viewer_body = gr.HTML("", elem_id="qa-viewer-body")
        # The citation links of the chat put their passage reference here and press the
        # hidden button (see CLICK_JS): the reference, not a path, goes to the server.
        view_token = gr.Textbox(elem_id="qa-view-token", elem_classes=["qa-hidden"])
        view_open = gr.Button(elem_id="qa-view-open", elem_classes=["qa-hidden"])

        chat_inputs = [question, chatbot, k, mode, index_name]
        gr.on(
            [send.click, question.submit],
            respond,
            inputs=chat_inputs,
            outputs=[question, chatbot],
            api_name="chat",
        ).then(None, js=SCROLL_TO_ANSWER_JS)
        for examples in example_sets.values():
            examples.load_input_event.then(
                respond, inputs=chat_inputs, outputs=[question, chatbot], api_visibility="private"
            ).then(None, js=SCROLL_TO_ANSWER_JS)
        view_open.click(
            view,
            inputs=[view_token],
            outputs=[viewer, viewer_body],
            js="(token) => window.qaViewToken || token",
            api_name="view",
        ).then(None, js=SCROLL_TO_FOCUS_JS)
        index_name.change(show_index, index_name, [info, documents], api_name="documents")
        add.click(
            upload,
            inputs=[files, target, index_name],
            outputs=[status, index_name, info, documents, files],
            api_name="upload",
            concurrency_limit=1,
        )
        demo.load(refresh, index_name, [index_name, info, documents], api_visibility="private")
        if lang is None:

            def show_examples(request: gr.Request) -> list[Any]:
                """Show the example questions of the browser's language."""
                language = request_language(request)
                return [gr.Column(visible=name == language) for name in example_groups]

            demo.load(show_examples, None, list(example_groups.values()), api_visibility="private")
        gr.api(ask, api_name="ask")
    demo.queue(default_concurrency_limit=CONCURRENCY_LIMIT, max_size=QUEUE_MAX_SIZE)
    return demo


# ---- serving ----------------------------------------------------------------------------


def check_lang(lang: str | None) -> str | None:
    """Return lang if it is None or a language of the interface, else raise QAError."""
    if lang is not None and lang not in LANGUAGES:
        raise QAError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    return lang


def launch_options() -> dict[str, Any]:
    """What ``Blocks.launch`` needs for this app: its CSS, its link handling and its
    translations (Gradio 6 takes them at launch)."""
    return {"css": CSS, "js": CLICK_JS, "i18n": gr.I18n(**MESSAGES)}


def is_loopback(host: str) -> bool:
    """True for a host name or address that only this machine can reach."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_auth(auth: str | None) -> tuple[str, str] | None:
    """Split ``USER:PASSWORD``; raise QAError when either part is missing."""
    if auth is None:
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise QAError("--auth must be USER:PASSWORD, both non-empty")
    return user, password


def quiet_gradio_queue_warning() -> None:
    """Silence the deprecation warning pandas 3 gives when Gradio's queue builds its
    statistics (``gradio/queueing.py`` passes ``infer_objects(copy=False)``): under load it
    came up in the server log with nothing for a user or operator to act on."""
    warnings.filterwarnings(
        "ignore", message="The copy keyword is deprecated", module=r"gradio\.queueing"
    )


def serve(
    index_dir: str | os.PathLike[str] | None = None,
    host: str = "127.0.0.1",
    port: int = 7860,
    share: bool = False,
    auth: str | None = None,
    no_auth: bool = False,
    store: str | None = None,
    lang: str | None = None,
) -> None:
    """Serve the web chat until interrupted, printing its address.

    The app starts on ``index_dir`` (default: the bundled report), or on the Milvus store
    at URI ``store`` (see :mod:`qa.milvus_store`). ``lang`` ("zh" or "en") forces the
    interface's language; by default it follows the browser.

    It listens on 127.0.0.1 unless told otherwise; another host, or a public share link,
    needs ``auth`` ("USER:PASSWORD") or an explicit ``no_auth=True`` (logged as a warning).
    """
    credentials = parse_auth(auth)
    exposed = [f"host {host}"] if not is_loopback(host) else []
    if share:
        exposed.append("a public share link")
    if exposed and credentials is None:
        if not no_auth:
            raise QAError(
                f"refusing to serve on {' and '.join(exposed)} without --auth USER:PASSWORD "
                "(pass --no-auth to allow anyone who can reach it)"
            )
        log.warning("serving on %s with no authentication", " and ".join(exposed))
    check_lang(lang)
    quiet_gradio_queue_warning()
    demo = build_app(index_dir, store, lang)
    try:
        _, local_url, share_url = demo.launch(
            server_name=host,
            server_port=port,
            share=share,
            auth=credentials,
            prevent_thread_lock=True,
            quiet=True,
            show_error=True,
            ssr_mode=False,
            max_file_size=MAX_UPLOAD_BYTES,
            state_session_capacity=SESSION_CAPACITY,
            **launch_options(),
        )
    except OSError as exc:
        raise QAError(f"cannot listen on {host}:{port}: {exc}") from exc
    name = Path(index_dir).name if index_dir is not None else store or "the bundled report"
    print(f"qa: web chat on {name} at {local_url}", flush=True)
    if share_url:
        print(f"qa: public link {share_url}", flush=True)
    try:
        demo.block_thread()
    finally:
        demo.close()
