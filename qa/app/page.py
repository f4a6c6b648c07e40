"""The chat page: its layout, and which event runs which handler.

Two columns on a laptop screen, one on a phone: the chat with the question box and the
index's example questions under it; beside it the index, its documents, adding documents
and the search settings (folded). The source viewer opens over the right side of the page,
so nothing else moves. The handlers are :class:`qa.app.handlers.Handlers`; the style and
scripts :mod:`qa.app.assets`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gradio as gr

from qa.app.assets import SCROLL_TO_FOCUS_JS, SCROLL_TO_QUESTION_JS
from qa.app.core import MODES
from qa.app.handlers import DEFAULT_K, Handlers
from qa.app.language import MAX_K, check_lang, say
from qa.app.library import Library
from qa.app.texts import MESSAGES

# Searches are short and CPU-bound (the encoder runs one question at a time); a few at once
# lets BM25, FAISS and the page work overlap with the encoder without piling up threads.
CONCURRENCY_LIMIT = 4
QUEUE_MAX_SIZE = 256
# Gradio keeps every uploaded file in its cache for good; the app copies what it indexes into
# the index folder, so cached uploads are removed once they are an hour old (checked hourly).
UPLOAD_CACHE_LIFETIME = (3600, 3600)
DEFAULT_TARGET = "my-documents"
# Gradio's queue keeps statistics of its latest events (10,000 by default) and, after every
# event, summarises all of them in a pandas DataFrame, for a monitoring page this app does not
# open: under the soak's load that grew the server by about 20-30 MB a minute
# (benchmarks/server_memory.py --no-uploads). Its own settings bound both: the latest 100
# events, summarised once per 100.
QUEUE_STATISTICS = {"GRADIO_ANALYTICS_MAX_EVENTS": "100", "GRADIO_ANALYTICS_CACHE_FREQUENCY": "100"}


def bound_queue_statistics() -> None:
    """Bound what Gradio's queue keeps and computes for its statistics (see
    :data:`QUEUE_STATISTICS`; a value already set in the environment is kept). Read when the
    queue is made, so called before it."""
    for name, value in QUEUE_STATISTICS.items():
        os.environ.setdefault(name, value)


def build_app(
    index_dir: str | os.PathLike[str] | None = None,
    store: str | None = None,
    lang: str | None = None,
) -> gr.Blocks:
    """Build the web chat over ``index_dir`` (default: the bundled report's index), or over
    the Milvus store at URI ``store``.

    The page speaks the browser's language (Chinese or English) unless ``lang`` ("zh" or
    "en") forces one. The index is loaded (or, for the bundled report, built) here, so the
    first question is fast. Launch the result with :func:`qa.app.server.launch_options`
    (the style, the page script and the translations), or use :func:`qa.app.serve`.
    """
    check_lang(lang)
    library = Library(Path(index_dir) if index_dir is not None else None, store=store)
    library.get(library.start_name)  # load now: fail early, answer fast
    handlers = Handlers(library, lang)
    i18n = gr.I18n(**MESSAGES)

    def label(key: str) -> Any:
        """A static text of the page: translated by the browser unless --lang forces one."""
        return say(lang, key) if lang is not None else i18n(key)

    # What the page shows before its load event fills it in the browser's language.
    shown_language = lang or "en"
    start_info, start_rows = handlers.describe(library.start_name, shown_language)
    with gr.Blocks(
        title=label("tab_title"), analytics_enabled=False, delete_cache=UPLOAD_CACHE_LIFETIME
    ) as demo:
        gr.Markdown(label("lang_code"), elem_id="qa-lang", elem_classes=["qa-hidden"])
        gr.Markdown(label("tab_title"), elem_id="qa-tab-title", elem_classes=["qa-hidden"])
        gr.Markdown("# " + label("title"), elem_id="qa-title")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=340):
                chatbot = gr.Chatbot(
                    label=label("chat"),
                    show_label=False,
                    elem_id="qa-chat",
                    latex_delimiters=[],
                    sanitize_html=True,
                    feedback_options=None,
                    buttons=["copy"],
                    autoscroll=False,
                    group_consecutive_messages=False,
                    placeholder=label("intro"),
                )
                with gr.Row(equal_height=True):
                    question = gr.Textbox(
                        label=label("question"),
                        show_label=False,
                        placeholder=label("question_placeholder"),
                        elem_id="qa-question",
                        scale=5,
                        autofocus=True,
                        lines=1,
                        max_lines=4,
                    )
                    send = gr.Button(
                        label("send"), variant="primary", elem_id="qa-send", scale=1, min_width=80
                    )
            with gr.Column(scale=2, min_width=320, elem_id="qa-side"):
                index_name = gr.Dropdown(
                    choices=library.names(),
                    value=library.start_name,
                    label=label("index"),
                    allow_custom_value=True,
                    elem_id="qa-index",
                )
                # The index shown before the latest change, kept in the page, not a session.
                shown_index = gr.Textbox(
                    library.start_name, elem_id="qa-shown-index", elem_classes=["qa-hidden"]
                )
                info = gr.Markdown(
                    start_info if lang is not None else "",
                    label=label("index_summary"),
                    elem_id="qa-index-info",
                )
                examples = gr.Dataset(
                    components=[question],
                    samples=[],
                    label=label("examples"),
                    elem_id="qa-examples",
                    samples_per_page=6,
                    type="index",
                    visible=False,
                )
                documents = gr.Dataframe(
                    value=start_rows["data"],
                    headers=start_rows["headers"],
                    interactive=False,
                    max_height=132,
                    column_widths=["74%", "26%"],
                    label=label("documents"),
                    show_label=False,
                    buttons=[],
                    elem_id="qa-documents",
                )
                with gr.Column(elem_id="qa-add-documents", variant="panel"):
                    gr.Markdown("### " + label("add_documents"), elem_id="qa-add-title")
                    files = gr.File(
                        label=label("upload_files"),
                        file_count="multiple",
                        height=70,
                        elem_id="qa-upload",
                    )
                    with gr.Row(elem_id="qa-upload-row", equal_height=False):
                        target = gr.Textbox(
                            value=DEFAULT_TARGET,
                            label=label("upload_target"),
                            elem_id="qa-target",
                            scale=3,
                        )
                        add = gr.Button(
                            label("add"), elem_id="qa-add", scale=2, min_width=90, size="md"
                        )
                    hint = gr.HTML("", elem_id="qa-hint", padding=False)
                status = gr.HTML(
                    "", label=label("upload_status"), elem_id="qa-upload-status", padding=False
                )
                with gr.Accordion(label("settings"), open=False, elem_id="qa-settings"):
                    k = gr.Slider(1, MAX_K, value=DEFAULT_K, step=1, label=label("k"))
                    mode = gr.Radio(
                        [(label(f"mode_{name}"), name) for name in MODES],
                        value="hybrid",
                        label=label("mode"),
                    )
        with gr.Column(visible=False, elem_id="qa-viewer") as viewer:
            with gr.Row(elem_id="qa-viewer-head"):
                gr.Markdown("## " + label("viewer_title"), elem_id="qa-viewer-title")
                close = gr.Button(
                    label("close_viewer"), size="sm", elem_id="qa-viewer-close", scale=0
                )
            viewer_body = gr.HTML("", elem_id="qa-viewer-body")
        # The cards' source links put their passage reference here and press the hidden
        # button (see qa.app.assets.PAGE_JS): the reference, not a path, goes to the server.
        view_token = gr.Textbox(elem_id="qa-view-token", elem_classes=["qa-hidden"])
        view_open = gr.Button(elem_id="qa-view-open", elem_classes=["qa-hidden"])

        chat_inputs = [question, chatbot, k, mode, index_name]
        gr.on(
            [send.click, question.submit],
            handlers.respond,
            inputs=chat_inputs,
            outputs=[question, chatbot],
            api_name="chat",
        ).then(None, js=SCROLL_TO_QUESTION_JS)
        examples.click(
            handlers.respond_to_example,
            inputs=[examples, chatbot, k, mode, index_name],
            outputs=[question, chatbot],
            api_visibility="private",
        ).then(None, js=SCROLL_TO_QUESTION_JS)
        view_open.click(
            handlers.view,
            inputs=[view_token],
            outputs=[viewer, viewer_body],
            js="(token) => window.qaViewToken || token",
            api_name="view",
        ).then(None, js=SCROLL_TO_FOCUS_JS)
        close.click(lambda: gr.Column(visible=False), None, [viewer], api_visibility="private")
        index_name.change(handlers.show_index, index_name, [info, documents], api_name="documents")
        index_name.change(
            handlers.switch_index,
            inputs=[index_name, shown_index, chatbot],
            outputs=[chatbot, shown_index, examples, target],
            api_visibility="private",
            show_progress="hidden",
        ).then(None, js=SCROLL_TO_QUESTION_JS)
        target.change(
            handlers.target_hint, target, hint, api_visibility="private", show_progress="hidden"
        )
        add.click(
            handlers.upload,
            inputs=[files, target, index_name],
            outputs=[status, index_name, info, documents, files],
            api_name="upload",
            concurrency_limit=1,
            show_progress_on=[files],
        ).then(handlers.target_hint, target, hint, api_visibility="private")
        demo.load(
            handlers.refresh,
            index_name,
            [index_name, info, documents, shown_index, examples],
            api_visibility="private",
        ).then(handlers.target_hint, target, hint, api_visibility="private")
        gr.api(handlers.ask, api_name="ask")
    bound_queue_statistics()
    demo.queue(default_concurrency_limit=CONCURRENCY_LIMIT, max_size=QUEUE_MAX_SIZE)
    return demo
