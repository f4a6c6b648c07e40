"""The chat page in headless Chromium, for the browser tests: a page object and helpers.

Debian's ``chromium`` driven by Playwright (``executable_path``); the browser's locale sets
both ``navigator.language`` (Gradio's i18n) and the Accept-Language header (what the
server writes). Screenshots go to ``artifacts/``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
TIMEOUT_MS = 90_000
LOCALES = {"en": "en-US", "zh": "zh-CN"}
# What the index summary says once the page's load event has filled it in, per language.
LOADED = {"en": "passages from", "zh": "个文档，共"}
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}

# Every piece of text a person or a screen reader meets on the page that is the page's own
# (not a document's, a question's or an example's): visible text, accessibility labels,
# tooltips, placeholders, image descriptions, the tab title. [kind, text] pairs.
PAGE_WORDS_JS = """
() => {
  const own = (el) => !(el.closest(".qa-doc, .user-row, [id^=qa-examples], .qa-hidden") ||
    (el.closest("#qa-documents") && !el.closest("th, .header-content")));
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!el || !own(el) || el.closest("script, style") || !el.getClientRects().length) continue;
    const text = node.textContent.trim();
    if (text) out.push(["text", text]);
  }
  for (const el of document.querySelectorAll("[aria-label], [title], [placeholder], [alt]")) {
    if (!own(el) || !el.getClientRects().length) continue;
    for (const name of ["aria-label", "title", "placeholder", "alt"]) {
      const value = el.getAttribute(name);
      if (value && value.trim()) out.push([name, value]);
    }
  }
  out.push(["title", document.title]);
  return out;
}
"""


class Page:
    """The chat page, with every dialog (alert, confirm, ...) it opens recorded."""

    def __init__(
        self,
        browser: Any,
        url: str,
        language: str = "en",
        viewport: dict[str, int] | None = None,
        timeout_ms: int = TIMEOUT_MS,
    ) -> None:
        self.language = language
        self.context = browser.new_context(
            locale=LOCALES[language], viewport=viewport or {"width": 1280, "height": 860}
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(timeout_ms)
        self.dialogs: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.goto(url, wait_until="domcontentloaded")
        self.question.wait_for()
        # The page is live once its load event has filled in the index summary.
        self.page.locator("#qa-index-info").get_by_text(LOADED[language]).first.wait_for()

    def close(self) -> None:
        """Close the page's browser context."""
        self.context.close()

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    @property
    def question(self) -> Any:
        """The question box."""
        return self.page.locator("#qa-question textarea")

    def answers(self) -> Any:
        """The chat's answers and notices."""
        return self.page.locator("#qa-chat .qa-answer, #qa-chat .qa-notice")

    def ask(self, text: str) -> Any:
        """Type a question, press Send, and return the locator of the new answer."""
        before = self.answers().count()
        self.question.fill(text)
        self.page.locator("#qa-send").click()
        answer = self.answers().nth(before)
        answer.wait_for()
        return answer

    def status(self) -> str:
        """The upload status's text (an HTML list, or a text box's value)."""
        box = self.page.locator("#qa-upload-status textarea")
        if box.count():
            return str(box.input_value())
        return str(self.page.locator("#qa-upload-status").inner_text())

    def upload(self, path: Path, index: str, sync_api: Any) -> str:
        """Upload a file into an index through the documents panel; return the status text."""
        listed = self.page.locator("#qa-upload").get_by_text(path.name).first
        for attempt in range(3):  # a file chosen while the page is still busy can be dropped
            self.page.locator("#qa-upload input[type=file]").set_input_files(str(path))
            try:
                listed.wait_for(timeout=TIMEOUT_MS // 4)
                break
            except sync_api.TimeoutError:
                if attempt == 2:
                    raise
        self.page.locator("#qa-target textarea, #qa-target input").first.fill(index)
        self.page.locator("#qa-add").click()
        box = self.page.locator("#qa-upload-status textarea")
        if box.count():  # a text box (the page before issue 20)
            sync_api.expect(box).to_have_value(re.compile(re.escape(path.name)), timeout=TIMEOUT_MS)
        else:
            sync_api.expect(self.page.locator("#qa-upload-status")).to_contain_text(
                path.name, timeout=TIMEOUT_MS
            )
        return self.status()

    def examples(self) -> list[str]:
        """The example questions shown (in whichever examples list is visible)."""
        return [
            text.strip()
            for text in self.page.locator("[id^=qa-examples]:visible button").all_inner_texts()
            if text.strip()
        ]

    def box(self, selector: str) -> dict[str, float]:
        """The bounding box of the first element matching ``selector``."""
        box = self.page.locator(selector).first.bounding_box()
        assert box is not None, f"{selector} is not shown"
        return dict(box)

    def page_words(self) -> list[tuple[str, str]]:
        """The page's own words (see PAGE_WORDS_JS)."""
        return [(kind, text) for kind, text in self.page.evaluate(PAGE_WORDS_JS)]

    def screenshot(self, name: str) -> Path:
        """Save a screenshot of the page as ``artifacts/<name>``."""
        path = ARTIFACTS / name
        path.parent.mkdir(exist_ok=True)
        self.page.screenshot(path=str(path))
        assert 10_000 < path.stat().st_size < 600_000
        return path


def in_view(locator: Any, container: Any) -> bool:
    """True when the element's top lies within the container's visible box."""
    box, frame = locator.bounding_box(), container.bounding_box()
    return bool(
        box and frame and box["y"] >= frame["y"] - 1 and box["y"] < frame["y"] + frame["height"]
    )


def wholly_in_view(locator: Any, container: Any) -> bool:
    """True when the element's whole box lies within the container's visible box."""
    box, frame = locator.bounding_box(), container.bounding_box()
    return bool(
        box
        and frame
        and box["y"] >= frame["y"] - 1
        and box["y"] + box["height"] <= frame["y"] + frame["height"] + 1
    )
