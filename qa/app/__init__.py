"""The web chat (``qa serve``): a Gradio app that answers with cited, highlighted passages.

An answer shows the verdict (with its confidence in words) and the answer line first, then
the passage cards; each card opens its passage in its document, over the page. The page
speaks Chinese or English: labels through Gradio's i18n, what is written at event time by
the request's Accept-Language header, both from :data:`MESSAGES`; ``--lang`` forces one.

It calls the :mod:`qa` library only: :meth:`qa.Index.ask` ranks and judges,
:meth:`qa.Index.add_documents` indexes uploads, :meth:`qa.Index.save` persists them,
:func:`qa.examples.example_questions` offers questions an index answers and
:mod:`qa.wording` words the confidence (the same methods of
:class:`qa.milvus_store.MilvusIndex` when the app starts on a Milvus store). What lives
here is presentation, and the rules that keep the server safe: every piece of document text
is escaped before it reaches the page, uploads are checked, given safe names and written
one at a time, and the bundled report's index is never modified.

The modules, one concern each: :mod:`~qa.app.core` (the library's names, in one place),
:mod:`~qa.app.texts` and :mod:`~qa.app.gradio_texts` (the words of the page and of Gradio,
in both languages), :mod:`~qa.app.language`, :mod:`~qa.app.render` (answers and cards as
HTML), :mod:`~qa.app.passage_refs` and :mod:`~qa.app.source_view` (the source viewer),
:mod:`~qa.app.uploads` and :mod:`~qa.app.library` (the indexes and uploads),
:mod:`~qa.app.assets` (style and scripts), :mod:`~qa.app.handlers` (what each event does),
:mod:`~qa.app.page` (the layout) and :mod:`~qa.app.server` (the launch).

Python callers can use the ``/ask`` endpoint through Gradio's own client::

    from gradio_client import Client
    answer = Client("http://127.0.0.1:7860/").predict(
        "2020年乐平市的地区生产总值是多少？", 5, "hybrid", api_name="/ask"
    )
    answer["found"], answer["answer"]["sentence"], answer["hits"]
"""

from qa.app.core import Answer
from qa.app.handlers import DEFAULT_K, Handlers, answer, check_k
from qa.app.language import LANGUAGES, MAX_K, check_lang, error_text, language_of, say
from qa.app.library import Library, UploadProgress, UploadResult
from qa.app.page import build_app
from qa.app.passage_refs import PassageRef, parse_source_token, source_token
from qa.app.render import OPEN_CARDS, escape, render_answer, render_hit, render_notice
from qa.app.server import (
    SESSION_CAPACITY,
    is_loopback,
    launch_options,
    parse_auth,
    quiet_gradio_queue_warning,
    serve,
)
from qa.app.source_view import render_source
from qa.app.texts import MESSAGES, NOT_FOUND
from qa.app.uploads import MAX_UPLOAD_BYTES, report_lines, safe_file_name

__all__ = [
    "DEFAULT_K",
    "LANGUAGES",
    "MAX_K",
    "MAX_UPLOAD_BYTES",
    "MESSAGES",
    "NOT_FOUND",
    "OPEN_CARDS",
    "SESSION_CAPACITY",
    "Answer",
    "Handlers",
    "Library",
    "PassageRef",
    "UploadProgress",
    "UploadResult",
    "answer",
    "build_app",
    "check_k",
    "check_lang",
    "error_text",
    "escape",
    "is_loopback",
    "language_of",
    "launch_options",
    "parse_auth",
    "parse_source_token",
    "quiet_gradio_queue_warning",
    "render_answer",
    "render_hit",
    "render_notice",
    "render_source",
    "report_lines",
    "safe_file_name",
    "say",
    "serve",
    "source_token",
]
