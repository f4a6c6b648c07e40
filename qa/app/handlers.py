"""What the page's events do: answer, open a source, list an index, upload.

:class:`Handlers` holds the :class:`~qa.app.library.Library` and the forced language
(``--lang``) and has one method per event; :mod:`qa.app.page` lays the page out and wires
them. Each method answers in the request's language (:func:`qa.app.language.request_language`)
and turns bad input into a message on the page, never an exception in the browser.
Nothing lives in Gradio's per-session state: the chat history, the index shown and the
previous index come with each request.
"""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr

from qa.app.core import (
    Answer,
    AnyIndex,
    MilvusIndex,
    QAError,
    QueryError,
    check_mode,
    check_question,
)
from qa.app.language import MAX_K, documents_text, error_text, passages_text, request_language, say
from qa.app.library import Library, UploadProgress
from qa.app.render import (
    escape,
    render_answer,
    render_notice,
    render_status,
    render_switch,
    shorten,
)
from qa.app.source_view import render_source
from qa.app.texts import BUNDLED_EXAMPLES
from qa.app.uploads import UploadLine

log = logging.getLogger(__name__)

DEFAULT_K = 5
# Shares of an upload's progress bar taken by the steps before and after embedding.
_READING, _EMBEDDING_START, _SAVING = 0.1, 0.2, 0.95


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


def chat_message(role: str, content: str) -> dict[str, str]:
    """A chat message as Gradio's Chatbot takes it."""
    return {"role": role, "content": content}


class Handlers:
    """The page's event handlers over one library of indexes."""

    def __init__(self, library: Library, lang: str | None = None) -> None:
        self.library = library
        self.lang = lang

    def language(self, request: Any) -> str:
        """The language to answer ``request`` in."""
        return request_language(request, self.lang)

    # ---- asking ------------------------------------------------------------------------

    def respond(
        self,
        message: str | None,
        history: list[Any] | None,
        k: float,
        mode: str,
        index_name: str,
        request: gr.Request,
    ) -> tuple[str, list[Any]]:
        """Answer a chat message; bad input gets a notice of its own instead."""
        language = self.language(request)
        history = list(history or [])
        text = message if isinstance(message, str) else ""
        if not text.strip():
            history.append(chat_message("assistant", render_notice(say(language, "type_first"))))
            return "", history
        history.append(chat_message("user", escape(shorten(text, language))))
        try:
            name = index_name or self.library.start_name
            result = answer(self.library.get(name), text, check_k(k), mode)
            history.append(chat_message("assistant", render_answer(result, language, name)))
        except QAError as exc:
            notice = say(language, "cannot_search", error=error_text(exc, language))
            history.append(chat_message("assistant", render_notice(notice)))
        except Exception:  # keep serving; the log has the details
            log.exception("search failed")
            history.append(chat_message("assistant", render_notice(say(language, "search_failed"))))
        return "", history

    def respond_to_example(
        self,
        number: int | None,
        history: list[Any] | None,
        k: float,
        mode: str,
        index_name: str,
        request: gr.Request,
    ) -> tuple[str, list[Any]]:
        """Ask the example question clicked (its number in the index's examples, looked up
        again here, so that nothing depends on what Gradio remembers of the session)."""
        questions = self.example_list(index_name, self.language(request))
        text = questions[number] if number is not None and 0 <= number < len(questions) else ""
        return self.respond(text, history, k, mode, index_name, request)

    def ask(
        self, question: str, k: int = DEFAULT_K, mode: str = "hybrid", index: str = ""
    ) -> dict[str, Any]:
        """Answer a question from an index (default: the one the app started with).

        Returns the answer as a dict (:meth:`qa.Answer.to_dict`): question, found (true,
        false, or null: no judgement), confidence, answer (the best hit, whose sentence
        is the answer line) and hits, best first, each with rank, score, text, source,
        section, paragraph, sentence, sentence_start and sentence_end.
        """
        try:
            result = answer(self.library.get(index or None), question, k, mode)
        except QAError as exc:
            raise gr.Error(str(exc)) from exc
        return result.to_dict()

    # ---- the source viewer ---------------------------------------------------------------

    def view(self, token: str, request: gr.Request) -> tuple[Any, str]:
        """Open the source viewer on the passage a card's link refers to."""
        language = self.language(request)
        try:
            body = render_source(self.library, token, language)
        except QAError as exc:
            body = render_notice(say(language, "viewer_failed", error=error_text(exc, language)))
        except Exception:  # keep serving; the log has the details
            log.exception("source viewer failed")
            body = render_notice(say(language, "viewer_failed", error="see the log"))
        return gr.Column(visible=True), body

    # ---- indexes -------------------------------------------------------------------------

    def describe(self, name: str, language: str) -> tuple[str, dict[str, Any]]:
        """The index's summary (Markdown) and its documents as a table with headers in
        ``language`` (Gradio's i18n does not reach a table's headers); a date column when
        a document has a date."""
        headers = [say(language, "column_document"), say(language, "column_passages")]
        try:
            index = self.library.get(name)
            rows = self.library.documents(name)
            note = say(language, "read_only") if self.library.read_only(name) else ""
            if isinstance(index, MilvusIndex):
                note += say(language, "milvus_store")
            info = say(
                language,
                "index_info",
                name=escape(name),
                passages=passages_text(len(index), language),
                documents=documents_text(len(index.sources), language),
                note=note,
            )
        except QAError as exc:
            return escape(f"⚠ {error_text(exc, language)}"), {"headers": headers, "data": []}
        data: list[list[Any]] = [[row.name, row.passages] for row in rows]
        if any(row.date for row in rows):
            headers.append(say(language, "column_date"))
            data = [[row.name, row.passages, row.date or ""] for row in rows]
        return info, {"headers": headers, "data": data}

    def show_index(self, name: str, request: gr.Request) -> tuple[str, Any]:
        """Describe an index and list its documents (the ``/documents`` endpoint)."""
        return self.describe(name, self.language(request))

    def example_list(self, name: str, language: str) -> list[str]:
        """The example questions of an index in ``language`` (the bundled report's own, or
        made from the index's headings); none when they cannot be made."""
        try:
            fixed = BUNDLED_EXAMPLES[language] if self.library.is_bundled(name) else None
            return self.library.examples(name, fixed)
        except QAError:
            return []
        except Exception:  # examples are a help, not a reason to fail the page
            log.exception("example questions failed")
            return []

    def examples(self, name: str, language: str) -> Any:
        """The example questions of an index, as an update of the examples list (hidden
        when the index has none)."""
        questions = self.example_list(name, language)
        return gr.Dataset(samples=[[q] for q in questions], visible=bool(questions))

    def target_hint(self, target: str, request: gr.Request) -> str:
        """What adding files under the name ``target`` will do, as a line under it."""
        language = self.language(request)
        state = self.library.target(target)
        if state.kind == "new":
            text = say(language, "target_new", name=state.name)
        elif state.kind == "existing":
            documents = documents_text(state.documents, language)
            text = say(language, "target_existing", name=state.name, documents=documents)
        elif state.kind == "read_only":
            text = say(language, "target_read_only", name=state.name)
        elif state.kind == "empty":
            text = say(language, "error_no_name")
        else:
            text = say(language, "error_index_name")
        text = escape(text)
        return f'<p class="qa-hint qa-hint-{state.kind}">{text}</p>'

    def switch_index(
        self, name: str, previous: str, history: list[Any] | None, request: gr.Request
    ) -> tuple[list[Any], str, Any, Any]:
        """The shown index changed (picked, or an upload went into another): say so in the
        chat when it has answers, show the index's examples, and offer it as the upload
        target when it takes uploads."""
        language = self.language(request)
        history = list(history or [])
        if history and previous and previous != name:
            try:
                documents = documents_text(len(self.library.get(name).sources), language)
            except QAError:
                documents = "?"
            text = say(language, "now_asking", name=name, documents=documents, previous=previous)
            history.append(chat_message("assistant", render_switch(text)))
        try:
            writable = not self.library.read_only(name)
        except QAError:
            writable = False
        target = gr.update(value=name) if writable else gr.update()
        return history, name, self.examples(name, language), target

    def refresh(self, name: str, request: gr.Request) -> tuple[Any, ...]:
        """On page load: re-read the list of indexes (another session may have made one)
        and fill in the page's parts that speak the browser's language."""
        language = self.language(request)
        names = self.library.names()
        chosen = name if name in names else self.library.start_name
        info, rows = self.describe(chosen, language)
        return (
            gr.update(choices=names, value=chosen),
            info,
            rows,
            chosen,
            self.examples(chosen, language),
        )

    # ---- uploads -------------------------------------------------------------------------

    def upload(
        self,
        files: list[str] | None,
        name: str,
        current: str,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - how Gradio injects a progress bar
    ) -> tuple[str, Any, str, Any, Any]:
        """Add uploaded files to a user index and switch to it, showing each step."""
        language = self.language(request)

        def step(where: UploadProgress) -> None:
            if where.step == "reading":
                done = _READING * (where.done - 1) / max(where.total, 1)
                desc = say(
                    language, "step_reading", name=where.name, done=where.done, total=where.total
                )
            elif where.step == "encoder":
                done, desc = _READING, say(language, "step_encoder")
            elif where.step == "embedding":
                share = where.done / max(where.total, 1)
                done = _EMBEDDING_START + (_SAVING - _EMBEDDING_START) * share
                desc = say(language, "step_embedding", done=where.done, total=where.total)
            else:
                done, desc = _SAVING, say(language, "step_saving")
            progress(done, desc=desc)

        target = (name or "").strip()
        try:
            result = self.library.upload(target, [str(f) for f in files or []], step, language)
        except QAError as exc:
            info, rows = self.describe(current, language)
            status = render_status([("warn", error_text(exc, language))])
            return status, gr.update(), info, rows, gr.update()
        except Exception:
            log.exception("upload failed")
            info, rows = self.describe(current, language)
            status = render_status([("warn", say(language, "upload_failed"))])
            return status, gr.update(), info, rows, None
        names = self.library.names()
        chosen = target if target in names else current
        lines = list(result.lines)
        if result.created:
            lines.append(UploadLine("info", say(language, "created_index", name=target)))
        elif chosen != current:
            lines.append(UploadLine("info", say(language, "switched_index", name=chosen)))
        info, rows = self.describe(chosen, language)
        return (
            render_status([(line.kind, line.text) for line in lines]),
            gr.update(choices=names, value=chosen),
            info,
            rows,
            None,
        )
