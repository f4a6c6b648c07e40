"""Answers as HTML for the chat: the verdict, the answer line and the passage cards.

Every piece of document text is escaped (:func:`escape`), so Markdown and HTML in a
document are shown as text and never run. Document text sits in elements of class
``qa-doc``, the page's own words outside them (the browser tests read the page's words so).

Highlights: the answering sentence is marked in the answer line and in its own card with
``mark.qa-answer-mark`` (yellow); every other card's closest sentence is
``mark.qa-sentence`` alone (underlined), and an answer judged not found has no yellow.
"""

from __future__ import annotations

import html
import uuid
from pathlib import Path
from typing import Any

from qa.app.core import SECTION_SEPARATOR, Hit, describe_confidence
from qa.app.language import say
from qa.app.passage_refs import source_token

# How many passage cards of an answer are open; the rest are folded.
OPEN_CARDS = 3
# A user message longer than this is shortened in the chat history (the search still sees
# all of it, and refuses it if it is over qa's limit).
SHOWN_QUESTION_CHARS = 500

# Every character that HTML or Markdown (including Gradio's GFM, tables and KaTeX) could
# read as markup becomes a numeric character reference: html.escape's five characters
# plus Markdown's. Browsers and Markdown parsers show a reference as the character itself,
# so document text is displayed exactly and can never become a tag, a link or a script.
_ESCAPED = "&<>\"'`\\*_{}[]()#+-.!|~$:=@^%/"
_ESCAPE_TABLE = str.maketrans({c: f"&#{ord(c)};" for c in _ESCAPED})


def escape(text: str) -> str:
    """Escape text for the page: HTML and Markdown are shown as text, never interpreted.

    A superset of :func:`html.escape`: ``html.unescape(escape(s)) == s``. Line breaks
    become ``<br>`` so that no blank line can end the HTML block an answer is written in.
    """
    return text.translate(_ESCAPE_TABLE).replace("\r\n", "\n").replace("\n", "<br>")


def hit_page(hit: Any) -> int | None:
    """The hit's first PDF page (1-based), or None."""
    page = getattr(hit, "page", None)
    return int(page) if page else None


def pages_label(page: int, last_page: int | None) -> str:
    """ "5" or "5–6": the pages a passage spans."""
    return f"{page}\u2013{last_page}" if last_page and last_page != page else str(page)


def render_where(hit: Hit, language: str = "en") -> str:
    """File, paragraph and page (for PDFs) of a hit, escaped; the file name never breaks
    (the full name is its tooltip when it does not fit)."""
    name = escape(Path(hit.source).name)
    parts = [
        f'<span class="qa-file qa-doc" title="{name}">{name}</span>',
        f"<span>&#182;{hit.paragraph}</span>",
    ]
    page = hit_page(hit)
    if page is not None:
        pages = pages_label(page, getattr(hit, "last_page", None))
        parts.append(f"<span>{escape(say(language, 'page', page=pages))}</span>")
    return '<span class="qa-sep"> &#183; </span>'.join(parts)


def render_hit(
    hit: Hit,
    language: str = "en",
    card_id: str | None = None,
    open_card: bool = True,
    token: str | None = None,
    is_answer: bool = False,
) -> str:
    """One passage card as HTML: breadcrumb, where it is, the text with its closest
    sentence marked (as the answer when ``is_answer``), a link that opens it in its document
    (when ``token`` is given) and its ranking score, explained, behind a detail.

    A ``<details>`` element: ``open_card=False`` folds it. All document text is escaped.
    """
    start = max(0, min(hit.sentence_start, len(hit.text)))
    end = max(start, min(hit.sentence_end, len(hit.text)))
    crumbs = [part for part in hit.section.split(SECTION_SEPARATOR) if part.strip()]
    crumb = " &#8250; ".join(escape(part) for part in crumbs) or "&#8212;"
    ident = f' id="{card_id}"' if card_id else ""
    mark = "qa-sentence qa-answer-mark" if is_answer else "qa-sentence"
    source_link = (
        f'<a class="qa-source" href="#qa-src-{token}">{escape(say(language, "show_source"))}</a>'
        if token
        else ""
    )
    explained = say(language, "score_explained", score=f"{hit.score:.3f}")
    score = (
        f'<details class="qa-score-detail"><summary>{escape(say(language, "score"))}</summary>'
        f'<span class="qa-score">{escape(explained)}</span></details>'
    )
    return (
        f'<details class="qa-hit{" qa-hit-answer" if is_answer else ""}"{ident}'
        f"{' open' if open_card else ''}>"
        f'<summary><span class="qa-crumb"><span class="qa-rank">{hit.rank}&#46;</span> '
        f'<span class="qa-doc">{crumb}</span></span>'
        f'<span class="qa-where">{render_where(hit, language)}</span></summary>'
        f'<p class="qa-text qa-doc">{escape(hit.text[:start])}'
        f'<mark class="{mark}">{escape(hit.text[start:end])}</mark>'
        f"{escape(hit.text[end:])}</p>"
        f'<div class="qa-card-foot">{source_link}{score}</div>'
        "</details>"
    )


def render_verdict(result: Any, language: str = "en") -> str:
    """The verdict in plain words (found, not found, or no judgement), with the confidence
    in words and as a percentage, and what the highlights mean."""
    found = result.found
    key, css = {True: ("found", "qa-found"), False: ("not_found", "qa-notfound")}.get(
        found, ("no_judgement", "qa-unjudged")
    )
    shown = (
        ""
        if result.confidence is None
        else say(language, "confidence", value=describe_confidence(result.confidence, language))
    )
    return (
        f'<p class="qa-verdict {css}"><strong>{escape(say(language, key))}</strong>'
        f"{escape(shown)}{escape(say(language, 'colon'))}"
        f'<span class="qa-legend">{escape(say(language, key + "_text"))}</span></p>'
    )


def render_answer(
    result: Any, language: str = "en", index_name: str | None = None, answer_id: str | None = None
) -> str:
    """The chat message for an answer, as one HTML block.

    The verdict, then the answer line (the best hit's answering sentence, with a citation
    linked to its card) unless the answer was judged not found, then the cards: the first
    :data:`OPEN_CARDS` open, the rest folded. ``result`` has ``found``, ``confidence``,
    ``answer`` and ``hits`` (qa.Answer's fields). With ``index_name`` each card links to the
    source viewer.

    The whole message is one line of HTML starting with a block tag, so Markdown leaves it
    alone; all text from documents is escaped.
    """
    if not result.hits:
        verdict = escape(say(language, "no_hits"))
        return f'<div class="qa-answer"><p class="qa-verdict">{verdict}</p></div>'
    answer_id = answer_id or uuid.uuid4().hex[:8]
    best = result.answer if result.found is not False else None
    cards = []
    for number, hit in enumerate(result.hits):
        is_answer = best is not None and hit.rank == best.rank
        token = (
            source_token(index_name, hit, is_answer=is_answer) if index_name is not None else None
        )
        card_id = f"qa-card-{answer_id}-{hit.rank}"
        cards.append(render_hit(hit, language, card_id, number < OPEN_CARDS, token, is_answer))
    answer_line = ""
    if best is not None:
        sentence = best.sentence or best.text
        page = hit_page(best)
        page_note = f" &#183; {escape(say(language, 'page', page=page))}" if page else ""
        answer_line = (
            f'<p class="qa-answer-line"><strong>{escape(say(language, "answer"))}</strong>'
            f"{escape(say(language, 'colon'))}"
            f'<mark class="qa-answer-mark qa-doc">{escape(sentence)}</mark> '
            f'<a class="qa-cite" href="#qa-card-{answer_id}-{best.rank}">'
            f"[{best.rank}{page_note}]</a></p>"
        )
    return (
        f'<div class="qa-answer">{render_verdict(result, language)}{answer_line}'
        f"{render_time(result, language)}{''.join(cards)}</div>"
    )


def render_time(result: Any, language: str = "en") -> str:
    """How the question's time was read (``qa.Answer.time``): 时间：去年 → 2020年（文档日期
    2021-04-13）, and that the closest passage speaks of another period when it does; empty
    when the question names no time (or the library reads none)."""
    reading = getattr(result, "time", None)
    if reading is None:
        return ""
    # Without a date, describe() already says a relative time cannot be told.
    date = say(language, "time_dated", date=reading.reference) if reading.reference else ""
    other = say(language, "time_other_period") if reading.fits is False else ""
    return (
        f'<p class="qa-time"><strong>{escape(say(language, "time"))}</strong>'
        f"{escape(say(language, 'colon'))}{escape(reading.describe(language) + date + other)}</p>"
    )


def render_notice(text: str) -> str:
    """A warning for the chat or the viewer (bad input and the like), escaped: its own
    message, with an icon drawn by CSS (no emoji font needed)."""
    return (
        '<div class="qa-notice" role="alert"><p><span class="qa-icon qa-icon-warn" '
        f'aria-hidden="true"></span>{escape(text)}</p></div>'
    )


def render_switch(text: str) -> str:
    """A line in the chat marking that later answers come from another index."""
    return (
        '<div class="qa-switch"><p><span class="qa-icon qa-icon-info" aria-hidden="true">'
        f"</span>{escape(text)}</p></div>"
    )


def render_status(lines: list[tuple[str, str]]) -> str:
    """The upload status: one line each, ``(kind, text)`` with kind ``ok``, ``warn`` or
    ``info``, marked by a CSS icon. An HTML component shows it (no Markdown), so the text
    is HTML-escaped only and reads as it is in the HTML too ("Added notes.txt")."""
    items = "".join(
        f'<li class="qa-status-{kind}"><span class="qa-icon qa-icon-{kind}" '
        f'aria-hidden="true"></span>{html.escape(text)}</li>'
        for kind, text in lines
    )
    return f'<ul class="qa-status">{items}</ul>'


def shorten(text: str, language: str = "en") -> str:
    """A long question shortened for the chat history, saying how long it was."""
    if len(text) <= SHOWN_QUESTION_CHARS:
        return text
    return text[:SHOWN_QUESTION_CHARS] + say(language, "shortened", count=len(text))
