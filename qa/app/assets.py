"""The page's style and scripts (Gradio's ``css`` and ``js`` hooks, and events' ``js``).

:data:`CSS` lays the page out to fit a 1366x768 laptop screen and a 390x844 phone,
styles the answer (one yellow for the answer sentence, an underline for the closest
sentences of other passages), draws the status icons (SVG, no emoji font needed) and
puts the source viewer over the page's right side instead of beside it.
:data:`PAGE_JS` runs once when the page loads: the chat's links, the Escape key, the
tab title and language, and Gradio's accessibility labels that have no i18n key.
"""

from __future__ import annotations

import json

from qa.app.gradio_texts import GRADIO_LABELS, MESSAGE_LABELS


def _svg(body: str) -> str:
    """A 16x16 SVG icon as a CSS url()."""
    svg = f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'>{body}</svg>"
    return 'url("data:image/svg+xml,' + svg.replace("#", "%23").replace('"', "'") + '")'


_WARN = _svg(
    "<path d='M8 1.2 15.3 14.3H.7z' fill='#d97706'/>"
    "<path d='M8 5.6v4.6' stroke='#fff' stroke-width='1.8' stroke-linecap='round'/>"
    "<circle cx='8' cy='12.2' r='1' fill='#fff'/>"
)
_OK = _svg(
    "<circle cx='8' cy='8' r='7.3' fill='#15803d'/>"
    "<path d='m4.6 8.3 2.3 2.3 4.5-4.8' stroke='#fff' stroke-width='1.8' fill='none' "
    "stroke-linecap='round' stroke-linejoin='round'/>"
)
_INFO = _svg(
    "<circle cx='8' cy='8' r='7.3' fill='#2563eb'/>"
    "<path d='M8 7.2v4.4' stroke='#fff' stroke-width='1.8' stroke-linecap='round'/>"
    "<circle cx='8' cy='4.7' r='1' fill='#fff'/>"
)

CSS = (
    """
.gradio-container { padding-top: 0 !important; padding-bottom: 0 !important; }
.gradio-container .app { padding: 8px 24px 0 24px !important; }
.gradio-container main.contain > .column { gap: 8px !important; }
#qa-title h1 { font-size: 1.15rem; margin: 0; line-height: 1.6; }
#qa-title { margin: 0; }
footer { margin-top: 4px !important; padding: 2px 0 !important; }
/* The chat fills the window's height (the header, the question box and the footer take
   about 170 px). */
#qa-chat { height: calc(100vh - 168px) !important; min-height: 300px; }
#qa-chat .scroll-down-button-container { display: none !important; }
#qa-chat .placeholder-content, #qa-chat .placeholder { padding: 0 2.5em; opacity: .8; }
#qa-chat .qa-verdict { margin: 0 0 .4em 0; }
#qa-chat .qa-found strong { color: #166534; }
#qa-chat .qa-notfound strong { color: #9a3412; }
#qa-chat .qa-unjudged strong { color: #4b5563; }
#qa-chat .qa-legend { opacity: .85; }
#qa-chat .qa-answer-line { font-size: 1.08em; margin: .2em 0 .6em 0; }
#qa-chat .qa-time { color: var(--body-text-color-subdued); margin: 0 0 .6em 0; }
mark.qa-sentence { background: transparent; color: inherit; padding: 0;
                   text-decoration: underline 2px #60a5fa; text-underline-offset: 3px; }
mark.qa-answer-mark, mark.qa-sentence.qa-answer-mark {
  background: #fde68a; color: #1f2937; text-decoration: none; padding: 0 .1em; }
#qa-chat .qa-cite { font-size: .85em; vertical-align: super; text-decoration: none; }
#qa-chat .qa-hit { border-left: 3px solid #d1d5db; padding: .2em 0 .2em .7em;
                   margin: .5em 0; }
#qa-chat .qa-hit-answer { border-left-color: #f59e0b; }
#qa-chat .qa-hit > summary { cursor: pointer; }
#qa-chat .qa-hit:target, #qa-chat .qa-hit.qa-flash { background: #fffbeb; }
#qa-chat .qa-crumb { font-weight: 600; }
#qa-chat .qa-where { display: flex; gap: 0; align-items: baseline; font-size: .85em;
                     opacity: .8; min-width: 0; margin-left: 1.1em; }
#qa-chat .qa-where > span { white-space: pre; }
#qa-chat .qa-where .qa-file { overflow: hidden; text-overflow: ellipsis; min-width: 0;
                              flex: 0 1 auto; }
#qa-chat .qa-text { margin: .3em 0 0 0; }
#qa-chat .qa-card-foot { display: flex; flex-wrap: wrap; gap: .4em 1.2em;
                         align-items: baseline; font-size: .85em; margin-top: .2em; }
#qa-chat .qa-score-detail > summary { cursor: pointer; opacity: .75; }
#qa-chat .qa-score-detail .qa-score { opacity: .85; }
.qa-notice p, .qa-switch p { margin: 0; }
.qa-notice { border-left: 3px solid #d97706; padding: .1em 0 .1em .6em; }
.qa-switch { border-left: 3px solid #2563eb; padding: .1em 0 .1em .6em; font-size: .92em; }
.qa-icon { display: inline-block; width: 1em; height: 1em; margin-right: .4em;
           vertical-align: -.14em; background: no-repeat center / contain; flex: none; }
.qa-icon-warn { background-image: """
    + _WARN
    + """; }
.qa-icon-ok { background-image: """
    + _OK
    + """; }
.qa-icon-info { background-image: """
    + _INFO
    + """; }
.qa-hidden { display: none !important; }
#qa-examples button { font-size: .85em; padding: 1px 7px; }
#qa-examples .gallery { gap: 4px !important; }
#qa-add-title h3 { font-size: 1rem; margin: 0; }
#qa-add-documents { gap: 6px !important; }
#qa-side { gap: 8px !important; }
#qa-index-info p { margin: 0; }
#qa-index-info { margin-top: -4px; }
#qa-upload .upload-container .wrap { flex-direction: row; flex-wrap: wrap; gap: 0 .4em;
                                     justify-content: center; font-size: .9em;
                                     line-height: 1.5; padding-top: 14px; }
#qa-upload .upload-container .icon-wrap { width: 18px; height: 18px; margin: 0; }
#qa-upload .upload-container .or { margin: 0; }
#qa-upload-row { align-items: end; }
#qa-hint .prose, #qa-hint .html-container { margin: 0 !important; padding: 0 !important; }
#qa-hint p { margin: 0; font-size: .85em; opacity: .85; }
#qa-upload-status:not(:has(li)) { display: none !important; }
#qa-hint .qa-hint-read_only, #qa-hint .qa-hint-invalid, #qa-hint .qa-hint-empty {
  color: #b45309; opacity: 1; }
#qa-upload-status ul.qa-status { list-style: none; margin: 0; padding: 0; font-size: .9em;
                                 max-height: 4.6em; overflow-y: auto; }
#qa-upload-status li { display: flex; align-items: baseline; margin: 0 0 .15em 0; }
#qa-upload-status li .qa-icon { position: relative; top: .12em; }
/* The source viewer opens over the right side of the page, never beside the chat. */
#qa-viewer { position: fixed !important; top: 0; right: 0; bottom: 0;
             width: min(640px, 44vw); z-index: 1000; margin: 0 !important;
             background: var(--background-fill-primary); overflow-y: auto;
             border-left: 1px solid var(--border-color-primary);
             box-shadow: -10px 0 28px rgba(0, 0, 0, .18); padding: 10px 16px 16px 16px; }
#qa-viewer-head { align-items: center; flex-wrap: nowrap; position: sticky; top: -10px;
                  z-index: 1; background: var(--background-fill-primary); padding: 4px 0; }
#qa-viewer-head h2 { font-size: 1.1rem; margin: 0; }
#qa-viewer-close { max-width: 7em; }
#qa-viewer-body .qa-ctx { margin: .5em 0; }
#qa-viewer-body .qa-ctx-where { font-size: .8em; opacity: .7; }
#qa-viewer-body .qa-focus { background: #f1f5f9; border-left: 3px solid #f59e0b;
                            padding: .3em .6em; border-radius: 4px; }
#qa-viewer-body .qa-focus p { color: #111827; }
#qa-viewer-body .qa-more { font-size: .85em; opacity: .7; font-style: italic; }
#qa-viewer-body img.qa-page { max-width: 100%; border: 1px solid #d1d5db; margin-top: .5em; }
@media (max-width: 760px) {
  #qa-chat { height: calc(100vh - 190px) !important; }
  .gradio-container { padding-left: 8px !important; padding-right: 8px !important; }
  #qa-viewer { width: 100vw; }
}
"""
)

# The chat's links: a citation ("#qa-card-…") opens and shows its card; "Show in document"
# ("#qa-src-<reference>") hands the reference to the hidden viewer button. Escape closes
# the viewer. Gradio's English accessibility labels become the page's language, a chat
# message's label its text (not its HTML), and the tab title and <html lang> follow the
# language Gradio's i18n picked (written into #qa-lang and #qa-tab-title).
PAGE_JS = (
    """
() => {
  const LABELS = """
    + json.dumps(GRADIO_LABELS, ensure_ascii=False)
    + """;
  const MESSAGE_LABELS = """
    + json.dumps(MESSAGE_LABELS, ensure_ascii=False)
    + """;
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
  document.addEventListener("keydown", (event) => {
    const close = document.querySelector("#qa-viewer-close");
    if (event.key === "Escape" && close && close.offsetParent !== null) close.click();
  });
  const language = () => {
    const marker = document.querySelector("#qa-lang");
    const code = marker ? marker.textContent.trim() : "";
    return code === "zh" || code === "en" ? code : null;
  };
  const relabel = (element, name, lang) => {
    const value = element.getAttribute(name);
    if (!value) return;
    for (const [prefix, words] of Object.entries(MESSAGE_LABELS[lang])) {
      if (value.startsWith(prefix)) {
        const text = words + element.textContent.trim().replace(/\\s+/g, " ").slice(0, 300);
        if (text !== value) element.setAttribute(name, text);
        return;
      }
    }
    if (lang !== "zh") return;
    if (LABELS[value] !== undefined) { element.setAttribute(name, LABELS[value]); return; }
    for (const [english, chinese] of Object.entries(LABELS)) {
      if (english.endsWith(" ") && value.startsWith(english)) {
        element.setAttribute(name, chinese + value.slice(english.length));
        return;
      }
    }
  };
  let pending = false;
  const update = () => {
    pending = false;
    const lang = language();
    if (!lang) return;
    const html = lang === "zh" ? "zh-CN" : "en";
    if (document.documentElement.lang !== html) document.documentElement.lang = html;
    const title = document.querySelector("#qa-tab-title");
    const words = title ? title.textContent.trim() : "";
    if (words && document.title !== words) document.title = words;
    for (const element of document.querySelectorAll("[aria-label], [title]")) {
      relabel(element, "aria-label", lang);
      relabel(element, "title", lang);
    }
  };
  const later = () => { if (!pending) { pending = true; setTimeout(update, 60); } };
  new MutationObserver(later).observe(document.documentElement, {
    subtree: true, childList: true, characterData: true,
    attributes: true, attributeFilter: ["aria-label", "title"],
  });
  later();
}
"""
)

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
# After an answer: scroll the chat (not the page) so that the question is at its top, the
# answer right under it; a notice or a switch line alone is brought into view.
SCROLL_TO_QUESTION_JS = """
() => {
  const scroll = () => {
    const log = document.querySelector("#qa-chat [role=log]");
    if (!log) return;
    const rows = [...log.querySelectorAll(".message-row")];
    if (!rows.length) return;
    const last = rows[rows.length - 1];
    const before = rows[rows.length - 2];
    const target = before && before.classList.contains("user-row") ? before : last;
    log.scrollTop += target.getBoundingClientRect().top - log.getBoundingClientRect().top - 8;
  };
  setTimeout(scroll, 80);
  setTimeout(scroll, 400);
}
"""
