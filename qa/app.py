"""The web chat (``qa serve``): a Gradio app that answers with cited, highlighted passages.

It calls the :mod:`qa` facade only: :meth:`qa.Index.search` ranks, :meth:`qa.Index.add_documents`
indexes uploads, :meth:`qa.Index.save` persists them (the same methods of
:class:`qa.milvus_store.MilvusIndex` when the app starts on a Milvus store). What lives here
is presentation (the chat, the passage cards, the documents panel), the "not found"
judgement, and the rules that keep the server safe: every piece of document text is
escaped before it reaches the page, uploads are checked, given safe names and written one
at a time, and the bundled report's index is never modified.

Python callers can use the ``/ask`` endpoint through Gradio's own client::

    from gradio_client import Client
    hits = Client("http://127.0.0.1:7860/").predict(
        "2020年乐平市的地区生产总值是多少？", 5, "hybrid", api_name="/ask"
    )
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from qa.bundled import default_index, default_index_dir, index_root
from qa.chunking import SECTION_SEPARATOR
from qa.encoders import DEFAULT_ENCODER, E5_SMALL_ENCODERS, load_encoder
from qa.errors import QAError, QueryError
from qa.index import AddReport, Index
from qa.ingest import SUPPORTED_SUFFIXES, Document, read_document
from qa.milvus_store import DEFAULT_COLLECTION, MilvusIndex, parse_store_uri
from qa.search import MODES, Hit, check_mode, check_question
from qa.store import is_index_folder

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
# Hybrid scores are min-max fused per question, so the best one is close to 1 whatever was
# asked. The confidence of an answer is instead the best raw dense score (the mean cosine of
# passage and best sentence window) plus a small bonus for the best raw BM25 score, capped:
#     confidence = dense + 0.006 * min(bm25, 10)
# Measured with the default encoder on the bundled report (README.md has the table):
# the 59 Chinese development questions score 0.901 to 0.993, 20 off-topic questions
# ("法国的首都是哪里？", "How do I bake bread?", ...) 0.715 to 0.887, and 12 further
# off-topic questions, not used to choose the numbers, 0.737 to 0.876. The threshold sits
# between the two groups. English questions about the Chinese report score like off-topic
# ones (cross-lingual cosines are lower and BM25 finds no words), so they are answered with
# the "not found" wording too, still followed by the closest passages. Other encoders have
# other score scales: for them no judgement is made.
CONFIDENCE_KEYWORD_WEIGHT = 0.006
CONFIDENCE_KEYWORD_CAP = 10.0
CONFIDENCE_THRESHOLD = 0.894

NOT_FOUND = "Not found"
NOT_FOUND_TEXT = (
    "Nothing in this index answers that well enough (未找到可靠的答案). "
    "The closest passages are listed below."
)

EXAMPLES = [
    "2020年乐平市的地区生产总值是多少？",
    "2021年规模以上工业增加值预期增长多少？",
    "什么是三讲一评？",
    "如何改善医院条件？",
    "乡下婚礼和丧事铺张浪费怎么办？",
]

CSS = """
#qa-chat .qa-verdict { margin: 0 0 .5em 0; }
#qa-chat .qa-notfound { color: #9a3412; }
#qa-chat .qa-hit { border-left: 3px solid #d1d5db; padding: .2em 0 .2em .7em;
                   margin: .6em 0; }
#qa-chat .qa-crumb { font-weight: 600; }
#qa-chat .qa-where { font-size: .85em; opacity: .8; }
#qa-chat .qa-score { font-variant-numeric: tabular-nums; }
#qa-chat mark.qa-sentence { background: #fde68a; color: inherit; padding: 0 .1em; }
#qa-chat .qa-text { margin: .3em 0 0 0; }
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


@dataclass(frozen=True)
class Answer:
    """The hits for a question and how confident the app is that they answer it."""

    question: str
    hits: list[Hit]
    confidence: float | None  # None: no judgement (another encoder, or an empty index)

    @property
    def found(self) -> bool:
        """False when the best passages are judged not to answer the question."""
        if not self.hits:
            return False
        return self.confidence is None or self.confidence >= CONFIDENCE_THRESHOLD


def check_k(k: object) -> int:
    """Return k as an int between 1 and MAX_K, or raise QueryError."""
    if isinstance(k, bool) or not isinstance(k, int | float):
        raise QueryError(f"k must be a whole number, not {k!r}")
    if k != int(k) or not 1 <= k <= MAX_K:
        raise QueryError(f"k must be a whole number from 1 to {MAX_K}, not {k!r}")
    return int(k)


def confidence(index: AnyIndex, question: str, hits: Sequence[Hit], mode: str) -> float | None:
    """How well the index answers the question, on the calibrated scale (see the constants).

    Returns None when the index's encoder was not calibrated or the index is empty.
    """
    if index.encoder.name not in E5_SMALL_ENCODERS or not hits:
        return None
    dense_hits = hits if mode == "dense" else index.search(question, k=1, mode="dense")
    keyword_hits = hits if mode == "keyword" else index.search(question, k=1, mode="keyword")
    if not dense_hits or not keyword_hits:
        return None
    bonus = min(max(keyword_hits[0].score, 0.0), CONFIDENCE_KEYWORD_CAP)
    return round(dense_hits[0].score + CONFIDENCE_KEYWORD_WEIGHT * bonus, 6)


def answer(index: AnyIndex, question: str, k: int = DEFAULT_K, mode: str = "hybrid") -> Answer:
    """Search the index and judge the result; raises QueryError for a bad question, k or mode."""
    question = check_question(question)
    check_mode(mode)
    hits = index.search(question, k=check_k(k), mode=mode)
    return Answer(question, hits, confidence(index, question, hits, mode))


def render_hit(hit: Hit) -> str:
    """One passage as HTML: breadcrumb, file and paragraph, score, highlighted sentence."""
    start = max(0, min(hit.sentence_start, len(hit.text)))
    end = max(start, min(hit.sentence_end, len(hit.text)))
    crumbs = [part for part in hit.section.split(SECTION_SEPARATOR) if part.strip()]
    crumb = " &#8250; ".join(escape(part) for part in crumbs) or "&#8212;"
    name = escape(Path(hit.source).name)
    return (
        '<div class="qa-hit">'
        f'<div class="qa-crumb">{hit.rank}&#46; {crumb}</div>'
        f'<div class="qa-where">{name} &#183; &#182;{hit.paragraph} &#183; '
        f'<span class="qa-score">score {hit.score:.3f}</span></div>'
        f'<p class="qa-text">{escape(hit.text[:start])}'
        f'<mark class="qa-sentence">{escape(hit.text[start:end])}</mark>'
        f"{escape(hit.text[end:])}</p>"
        "</div>"
    )


def render_answer(result: Answer) -> str:
    """The chat message for an answer: a verdict line, then the passages, as one HTML block.

    The whole message is one line of HTML starting with a block tag, so Markdown leaves it
    alone; all text from documents is escaped.
    """
    if not result.hits:
        return (
            '<div class="qa-answer"><p class="qa-verdict">'
            "No passage of this index matches the question (or the index is empty).</p></div>"
        )
    shown = "" if result.confidence is None else f" (confidence {result.confidence:.3f})"
    if result.found:
        count = len(result.hits)
        verdict = (
            f'<p class="qa-verdict">{count} passage{"s" if count != 1 else ""}, '
            f"best first{shown}; the answering sentence is highlighted.</p>"
        )
    else:
        verdict = (
            f'<p class="qa-verdict qa-notfound"><strong>{NOT_FOUND}</strong>: '
            f"{escape(NOT_FOUND_TEXT)}{shown}</p>"
        )
    body = "".join(render_hit(hit) for hit in result.hits)
    return f'<div class="qa-answer">{verdict}{body}</div>'


def render_notice(text: str) -> str:
    """A warning message for the chat (bad input and the like), escaped."""
    return f'<div class="qa-notice"><p>&#9888;&#65039; {escape(text)}</p></div>'


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
    index opened from outside the root are read-only. Writes are serialised by one lock.

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
                "(at most 64, starting with a letter or digit)"
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
                index = Index.load(folder)
            else:
                raise QAError(f"there is no index called {name!r}")
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
    ) -> UploadResult:
        """Add uploaded files to the user index ``name``; each problem becomes a line.

        Files are checked (type, size, readable text) before anything is written. The index
        is saved atomically; if saving fails, the index on disk is the previous one.
        """
        name = (name or "").strip()
        if not name:
            raise QAError("give the index a name first")
        folder = self.folder(name)
        if self.read_only(name):
            raise QAError(
                f"{name!r} is read-only (the bundled report or an index outside "
                f"{self.root}); upload into another index name"
            )
        if not paths:
            raise QAError("choose one or more files to upload first")
        if len(paths) > MAX_UPLOAD_FILES:
            raise QAError(f"too many files at once ({len(paths)}); the limit is {MAX_UPLOAD_FILES}")
        files_dir = folder / "files"
        lines: list[str] = []
        accepted: list[tuple[Path, Document]] = []
        seen: set[str] = set()
        for raw in paths:
            path = Path(raw)
            shown = path.name
            target_name = safe_file_name(shown)
            problem = _check_upload(path, shown)
            if problem is None and target_name in seen:
                problem = f"{shown}: another file in this upload has the same name"
            if problem is None:
                try:
                    document = read_document(path)
                except QAError as exc:
                    problem = _without_paths(str(exc), {str(path): shown})
                except Exception as exc:  # a reader library's own error: still the file's fault
                    log.warning("cannot read upload %s: %r", shown, exc)
                    problem = (
                        f"{shown}: cannot be read as {path.suffix.lower()} ({type(exc).__name__})"
                    )
            if problem is not None:
                lines.append(f"Skipped {problem}")
                continue
            seen.add(target_name)
            target = (files_dir / target_name).resolve()
            accepted.append((path, Document(str(target), document.text, document.sha256)))
        if not accepted:
            return UploadResult(lines or ["Nothing to add."])

        with self._write_lock:
            try:
                index = self._writable(name, folder)
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
        lines = _report_lines(report, counts, names) + lines
        return UploadResult(lines, report.changed)

    def _writable(self, name: str, folder: Path) -> AnyIndex:
        with self._cache_lock:
            index = self._cache.get(name)
        if index is not None:
            return index
        if self._is_store(name):
            return MilvusIndex.load(str(self.store))
        if is_index_folder(folder):
            return Index.load(folder)
        if folder.exists() and any(not c.name.startswith(".") for c in folder.iterdir()):
            raise QAError(f"{folder} exists and is not a qa index; choose another name")
        return Index(load_encoder(DEFAULT_ENCODER))


def _same_path(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _check_upload(path: Path, shown: str) -> str | None:
    """Why an uploaded file cannot be indexed, or None."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        return (
            f"{shown}: unsupported file type {suffix or '(none)'}; "
            f"supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"{shown}: cannot read the upload ({exc.strerror or exc})"
    if size == 0:
        return f"{shown}: the file is empty (0 bytes)"
    if size > MAX_UPLOAD_BYTES:
        return f"{shown}: too large ({size:,} bytes; the limit is {MAX_UPLOAD_BYTES:,})"
    return None


def _without_paths(message: str, names: dict[str, str]) -> str:
    """Replace full paths in a message by file names (temporary and index paths alike)."""
    for path in sorted(names, key=len, reverse=True):
        message = message.replace(path, names[path])
    return message


def _report_lines(report: AddReport, counts: dict[str, int], names: dict[str, str]) -> list[str]:
    lines = [f"Added {names[s]} ({_passages(counts.get(s, 0))})" for s in report.added]
    lines += [f"Replaced {names[s]} ({_passages(counts.get(s, 0))})" for s in report.replaced]
    lines += [f"{names[s]} is already in this index, unchanged" for s in report.unchanged]
    lines += [
        f"Skipped {names.get(s.source, Path(s.source).name)}: {_without_paths(s.reason, names)}"
        for s in report.skipped
    ]
    return lines


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


def _index_info(library: Library, name: str) -> str:
    index = library.get(name)
    sources = len(index.sources)
    note = " · read-only" if library.read_only(name) else ""
    if isinstance(index, MilvusIndex):
        note += " · Milvus store"
    return (
        f"**{escape(name)}**: {_passages(len(index))} from {sources} "
        f"document{'s' if sources != 1 else ''}{note}"
    )


def _passages(count: int) -> str:
    return f"{count} passage{'s' if count != 1 else ''}"


def _status(lines: Sequence[str]) -> str:
    """Upload status: plain text (a Textbox shows it as is, nothing is rendered)."""
    return "\n".join(lines)


def build_app(
    index_dir: str | os.PathLike[str] | None = None, store: str | None = None
) -> gr.Blocks:
    """Build the web chat over ``index_dir`` (default: the bundled report's index), or over
    the Milvus store at URI ``store``.

    The index is loaded (or, for the bundled report, built) here, so the first question is
    fast. Launch the result with ``css=qa.app.CSS`` for the passage styling, or use
    :func:`serve`.
    """
    library = Library(Path(index_dir) if index_dir is not None else None, store=store)
    library.get(library.start_name)  # load now: fail early, answer fast

    def respond(
        message: str | None, history: list[Any] | None, k: float, mode: str, index_name: str
    ) -> tuple[str, list[Any]]:
        """Answer a chat message; bad input gets a visible notice instead."""
        history = list(history or [])
        text = message if isinstance(message, str) else ""
        if not text.strip():
            history.append(_message("assistant", render_notice("Type a question first.")))
            return "", history
        history.append(_message("user", escape(_shorten(text))))
        try:
            result = answer(library.get(index_name), text, check_k(k), mode)
            history.append(_message("assistant", render_answer(result)))
        except QAError as exc:
            history.append(_message("assistant", render_notice(f"Cannot search: {exc}.")))
        except Exception:  # keep serving; the log has the details
            log.exception("search failed")
            history.append(_message("assistant", render_notice("Search failed (see the log).")))
        return "", history

    def ask(
        question: str, k: int = DEFAULT_K, mode: str = "hybrid", index: str = ""
    ) -> list[dict[str, Any]]:
        """Search an index (default: the one the app started with).

        Returns the hits, best first, as dicts with rank, score, text, source, section,
        paragraph, sentence, sentence_start and sentence_end.
        """
        try:
            result = answer(library.get(index or None), question, k, mode)
        except QAError as exc:
            raise gr.Error(str(exc)) from exc
        return [hit.to_dict() for hit in result.hits]

    def show_index(name: str) -> tuple[str, list[list[Any]]]:
        """Describe an index and list its documents."""
        try:
            return _index_info(library, name), library.documents(name)
        except QAError as exc:
            return escape(f"⚠️ {exc}"), []

    def refresh(name: str) -> tuple[Any, str, list[list[Any]]]:
        """Re-read the list of indexes (another session may have made one)."""
        names = library.names()
        chosen = name if name in names else library.start_name
        info, rows = show_index(chosen)
        return gr.update(choices=names, value=chosen), info, rows

    def upload(
        files: list[str] | None,
        name: str,
        current: str,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - how Gradio injects a progress bar
    ) -> tuple[str, Any, str, list[list[Any]], Any]:
        """Add uploaded files to a user index and switch to it."""

        def embedding(done: int, total: int) -> None:
            progress(done / max(total, 1), desc=f"embedding {done}/{total}")

        progress(0, desc="reading files")
        target = (name or "").strip()
        try:
            result = library.upload(target, [str(f) for f in files or []], embedding)
        except QAError as exc:
            info, rows = show_index(current)
            return _status([f"⚠️ {exc}"]), gr.update(), info, rows, gr.update()
        except Exception:
            log.exception("upload failed")
            info, rows = show_index(current)
            return _status(["⚠️ The upload failed (see the log)."]), gr.update(), info, rows, None
        names = library.names()
        chosen = target if target in names else current
        info, rows = show_index(chosen)
        mark = "✅ " if result.changed else "ℹ️ "
        return (
            _status([mark + result.lines[0], *result.lines[1:]]),
            gr.update(choices=names, value=chosen),
            info,
            rows,
            None,
        )

    start_info, start_rows = show_index(library.start_name)
    with gr.Blocks(
        title="qa · ask your documents",
        analytics_enabled=False,
        delete_cache=UPLOAD_CACHE_LIFETIME,
    ) as demo:
        gr.Markdown(
            "## qa — ask your documents\n"
            "Ask a question; each answer lists the passages that answer it, with their "
            "section, file and paragraph, and the answering sentence highlighted."
        )
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Chat",
                    elem_id="qa-chat",
                    height=600,
                    latex_delimiters=[],
                    sanitize_html=True,
                    feedback_options=None,
                    buttons=["copy"],
                    placeholder="Ask about the documents of the selected index.",
                )
                with gr.Row():
                    question = gr.Textbox(
                        label="Question",
                        show_label=False,
                        placeholder="Ask a question, e.g. 2020年乐平市的地区生产总值是多少？",
                        elem_id="qa-question",
                        scale=5,
                        autofocus=True,
                    )
                    send = gr.Button("Send", variant="primary", elem_id="qa-send", scale=1)
                examples = gr.Examples(EXAMPLES, inputs=[question], label="Example questions")
            with gr.Column(scale=2):
                k = gr.Slider(1, MAX_K, value=DEFAULT_K, step=1, label="Passages (k)")
                mode = gr.Radio(list(MODES), value="hybrid", label="Search mode")
                index_name = gr.Dropdown(
                    choices=library.names(),
                    value=library.start_name,
                    label="Index",
                    allow_custom_value=True,
                    elem_id="qa-index",
                )
                info = gr.Markdown(start_info, label="Index summary", elem_id="qa-index-info")
                documents = gr.Dataframe(
                    value=start_rows,
                    headers=["document", "passages"],
                    datatype=["str", "number"],
                    interactive=False,
                    max_height=240,
                    column_widths=["78%", "22%"],
                    label="Documents in this index",
                    elem_id="qa-documents",
                )
                files = gr.File(
                    label="Upload .txt, .md, .pdf or .docx",
                    file_count="multiple",
                    elem_id="qa-upload",
                )
                target = gr.Textbox(
                    value="my-documents", label="Upload into index", elem_id="qa-target"
                )
                add = gr.Button("Add to index", elem_id="qa-add")
                status = gr.Textbox(
                    label="Upload status",
                    interactive=False,
                    lines=2,
                    max_lines=12,
                    elem_id="qa-upload-status",
                )

        chat_inputs = [question, chatbot, k, mode, index_name]
        gr.on(
            [send.click, question.submit],
            respond,
            inputs=chat_inputs,
            outputs=[question, chatbot],
            api_name="chat",
        )
        examples.load_input_event.then(
            respond, inputs=chat_inputs, outputs=[question, chatbot], api_visibility="private"
        )
        index_name.change(show_index, index_name, [info, documents], api_name="documents")
        add.click(
            upload,
            inputs=[files, target, index_name],
            outputs=[status, index_name, info, documents, files],
            api_name="upload",
            concurrency_limit=1,
        )
        demo.load(refresh, index_name, [index_name, info, documents], api_visibility="private")
        gr.api(ask, api_name="ask")
    demo.queue(default_concurrency_limit=CONCURRENCY_LIMIT, max_size=QUEUE_MAX_SIZE)
    return demo


# ---- serving ----------------------------------------------------------------------------


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


def serve(
    index_dir: str | os.PathLike[str] | None = None,
    host: str = "127.0.0.1",
    port: int = 7860,
    share: bool = False,
    auth: str | None = None,
    no_auth: bool = False,
    store: str | None = None,
) -> None:
    """Serve the web chat until interrupted, printing its address.

    The app starts on ``index_dir`` (default: the bundled report), or on the Milvus store
    at URI ``store`` (see :mod:`qa.milvus_store`).

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
    demo = build_app(index_dir, store)
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
            css=CSS,
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
