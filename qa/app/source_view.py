"""The source viewer's HTML: a passage among the paragraphs around it, and its PDF page.

The viewer opens over the page from a card's "Show in document" link. The paragraphs
around the passage come from the index's own passages (:func:`qa.viewer.passage_context`);
the passage is tinted and its sentence marked as in its card (yellow for the answer,
underlined for any other). For a PDF passage with a page, the page is rendered with the
passage's lines boxed (:func:`qa.viewer.render_marked_page`) and embedded as a PNG data URL.
All document text is escaped.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from qa.app.core import (
    SECTION_SEPARATOR,
    Passage,
    QAError,
    last_page_of,
    page_of,
    passage_context,
    render_marked_page,
)
from qa.app.language import say
from qa.app.library import Library
from qa.app.passage_refs import PassageRef, digest, parse_source_token
from qa.app.render import escape, pages_label, render_notice
from qa.app.uploads import without_paths

# A passage spanning more pages than this shows its first ones only.
MAX_VIEWER_PAGES = 2


def render_source(library: Library, token: str, language: str = "en") -> str:
    """The source viewer's HTML for the passage a :func:`qa.app.passage_refs.source_token`
    names; QAError (worded in ``language``) when the reference is malformed or the passage
    is no longer in the index. Only a source the index records is opened."""
    ref = parse_source_token(token)
    index = library.get(ref.index_name)
    recorded = [info for info in index.sources if digest(info.source) == ref.source_digest]
    if not recorded:
        raise QAError(say(language, "viewer_gone"))
    source = recorded[0].source
    passages = index.passages
    candidates = [
        n for n, p in enumerate(passages) if p.source == source and p.paragraph == ref.paragraph
    ]
    if not candidates:
        raise QAError(say(language, "viewer_gone"))
    position = next(
        (n for n in candidates if digest(passages[n].text) == ref.text_digest), candidates[0]
    )
    context = passage_context(passages, position)
    name = escape(Path(source).name)
    parts = [
        f'<div class="qa-viewer" data-source="{name}">',
        f'<p class="qa-viewer-file"><strong class="qa-doc">{name}</strong></p>',
    ]
    if context.before:
        more = escape(say(language, "viewer_more_before", count=context.before))
        parts.append(f'<p class="qa-more">{more}</p>')
    for shown in context.paragraphs:
        where = [f"&#182;{shown.paragraph}"]
        if shown.page is not None:
            where.append(
                escape(say(language, "page", page=pages_label(shown.page, shown.last_page)))
            )
        crumbs = [c for c in shown.section.split(SECTION_SEPARATOR) if c.strip()]
        if crumbs:
            where.insert(0, f'<span class="qa-doc">{escape(crumbs[-1])}</span>')
        css, ident = ("qa-ctx qa-focus", ' id="qa-focus"') if shown.focus else ("qa-ctx", "")
        body = marked_text(shown.text, ref) if shown.focus else escape(shown.text)
        parts.append(
            f'<div class="{css}"{ident}><div class="qa-ctx-where">{" &#183; ".join(where)}</div>'
            f'<p class="qa-doc">{body}</p></div>'
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


def marked_text(text: str, ref: PassageRef) -> str:
    """The focus passage, escaped, with the sentence the reference names marked (the
    whole passage when it names none, or offsets outside the text)."""
    start, end = ref.sentence_start, ref.sentence_end
    css = "qa-sentence qa-answer-mark" if ref.is_answer else "qa-sentence"
    if start is None or end is None or not 0 <= start < end <= len(text):
        return f'<mark class="{css}">{escape(text)}</mark>'
    return (
        f'{escape(text[:start])}<mark class="{css}">{escape(text[start:end])}</mark>'
        f"{escape(text[end:])}"
    )


def _render_pages(
    source: str, sha256: str, focus: Passage, first_page: int, language: str
) -> list[str]:
    """The focus passage's PDF page(s) with the passage marked, as HTML figures; a file that
    is gone, changed since it was indexed, or unreadable gets a line saying so instead."""
    name = Path(source).name
    try:
        file_digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()
    except OSError:
        return [render_notice(say(language, "viewer_file_gone", name=name))]
    if file_digest != sha256:
        return [render_notice(say(language, "viewer_file_changed", name=name))]
    last = min(last_page_of(focus) or first_page, first_page + MAX_VIEWER_PAGES - 1)
    figures = []
    for page in range(first_page, last + 1):
        try:
            marked = render_marked_page(source, page, focus.text)
        except QAError as exc:
            figures.append(render_notice(without_paths(str(exc), {source: name})))
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
