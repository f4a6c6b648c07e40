"""Serving the web chat: ``qa serve``'s launch, and the checks that keep it safe to expose.

It listens on 127.0.0.1 unless told otherwise; another host, or a public share link,
needs a user and password or an explicit ``no_auth`` (logged as a warning). The launch
bounds what Gradio keeps per session and the size of an upload.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import gradio as gr

from qa import dictionary
from qa.app.assets import CSS, PAGE_JS
from qa.app.core import QAError
from qa.app.gradio_texts import GRADIO_MESSAGES
from qa.app.language import check_lang
from qa.app.page import build_app
from qa.app.texts import MESSAGES
from qa.app.uploads import MAX_UPLOAD_BYTES

log = logging.getLogger(__name__)

# Gradio keeps a per-session copy of the page's component settings for every browser tab and
# API client it has seen (about 70 KB each, measured), up to 10,000 sessions by default:
# memory grew by 143 MB over 2,000 API calls that each opened a session. Nothing this app
# needs lives there (the chat history, the index shown and the previous one come with each
# request; an example question is looked up by its number; the index list is re-read on page
# load), so a forgotten session costs nothing, and 100 bound that memory to about 7 MB.
SESSION_CAPACITY = 100
# The footer's links: the API page, "built with Gradio" and the settings (no "Runs": the
# run history is off, nothing is kept in the browser).
FOOTER_LINKS = ["api", "gradio", "settings"]


def translations() -> gr.I18n:
    """The page's translations: the app's own words and the Gradio strings it adds."""
    merged = {
        language: {**GRADIO_MESSAGES.get(language, {}), **table}
        for language, table in MESSAGES.items()
    }
    return gr.I18n(**merged)


def launch_options() -> dict[str, Any]:
    """What ``Blocks.launch`` needs for this app: its CSS, its page script, its
    translations and footer (Gradio 6 takes them at launch)."""
    return {
        "css": CSS,
        "js": PAGE_JS,
        "i18n": translations(),
        "footer_links": FOOTER_LINKS,
        "run_history": False,
    }


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
    # Read while the page waits for its first question, which would otherwise wait for it
    # when asked in another script than the documents (qa.dictionary: 2-3 s).
    threading.Thread(target=dictionary.load, name="qa-dictionary", daemon=True).start()
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
