"""The web chat in real headless Chromium (Debian's package), driven by Playwright.

Skipped with a message when /usr/bin/chromium or the playwright package is missing;
``scripts/test.sh`` installs both. The answered question is saved as
``artifacts/chat-answer.png``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app_server import make_root, running_server

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = Path(__file__).resolve().parents[1] / "artifacts" / "chat-answer.png"
TIMEOUT_MS = 90_000
GDP_QUESTION = "2020年乐平市的地区生产总值是多少？"

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium "
        "fonts-wqy-zenhei, as scripts/test.sh does) to run the browser tests",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is missing: pip install -e '.[test]'"
)


@pytest.fixture(scope="module")
def url(saved_report_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = make_root(saved_report_index, tmp_path_factory.mktemp("browser-root") / "index")
    with running_server(root, tmp_path_factory.mktemp("browser-server")) as address:
        yield address


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


class Page:
    """The chat page, with every dialog (alert, confirm, ...) it opens recorded."""

    def __init__(self, browser: Any, url: str) -> None:
        self.page = browser.new_page(viewport={"width": 1200, "height": 860})
        self.page.set_default_timeout(TIMEOUT_MS)
        self.dialogs: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.goto(url, wait_until="domcontentloaded")
        self.question.wait_for()
        # The page is live once its load event has filled in the index summary.
        self.page.locator("#qa-index-info").get_by_text("passage").first.wait_for()

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    @property
    def question(self) -> Any:
        return self.page.locator("#qa-question textarea")

    def answers(self) -> Any:
        return self.page.locator("#qa-chat .qa-answer, #qa-chat .qa-notice")

    def ask(self, text: str) -> Any:
        """Type a question, press Send, and return the locator of the new answer."""
        before = self.answers().count()
        self.question.fill(text)
        self.page.locator("#qa-send").click()
        answer = self.answers().nth(before)
        answer.wait_for()
        return answer

    def upload(self, path: Path, index: str) -> str:
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
        status = self.page.locator("#qa-upload-status textarea")
        sync_api.expect(status).to_have_value(re.compile(re.escape(path.name)), timeout=TIMEOUT_MS)
        return str(status.input_value())


@pytest.fixture()
def page(browser: Any, url: str) -> Iterator[Page]:
    chat = Page(browser, url)
    yield chat
    chat.page.close()


def test_question_shows_cited_passage_with_highlighted_sentence(page):
    answer = page.ask(GDP_QUESTION)
    hits = answer.locator(".qa-hit")
    assert hits.count() == 5
    cited = hits.filter(has_text="353.26亿元").first
    cited.wait_for()
    assert "353.26亿元" in cited.locator("mark.qa-sentence").inner_text()
    assert "一、2020年工作及“十三五”发展回顾" in cited.locator(".qa-crumb").inner_text()
    where = cited.locator(".qa-where").inner_text()
    assert "leping-2021-government-work-report.txt" in where
    assert "¶" in where and "score 0." in where
    background = cited.locator("mark.qa-sentence").evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")
    assert "Not found" not in answer.inner_text()
    # The page keeps the question and the answer: scroll the chat up and keep a picture.
    page.page.locator("#qa-chat [role=log]").evaluate("e => { e.scrollTop = 0; }")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.page.screenshot(path=str(SCREENSHOT))
    assert 10_000 < SCREENSHOT.stat().st_size < 400_000


def test_off_topic_and_bad_input_get_visible_messages(page):
    assert "Not found" in page.ask("法国的首都是哪里？").inner_text()
    page.question.fill("")
    page.page.locator("#qa-send").click()
    page.page.locator("#qa-chat .qa-notice").first.wait_for()
    assert "Type a question first" in page.page.locator("#qa-chat .qa-notice").first.inner_text()
    assert "no words" in page.ask("🙂🙂🙂！！！").inner_text()
    # Still serving.
    assert page.ask("累计核酸检测了多少人？").locator(".qa-hit").count() == 5


def test_example_question_is_answered_on_click(page):
    page.page.get_by_text("什么是三讲一评？").first.click()
    page.answers().first.wait_for()
    assert page.answers().first.locator("mark.qa-sentence").count() >= 1


def test_upload_a_document_and_ask_about_it(page, tmp_path):
    doc = tmp_path / "白沙村.txt"
    doc.write_text(
        "白沙村概况\n\n白沙村有农户三百二十户，主要种植柑橘。村里的柑橘合作社成立于2018年，"
        "去年销售柑橘八百吨。\n\n白沙村小学有学生一百五十人。\n",
        encoding="utf-8",
    )
    status = page.upload(doc, "villages")
    assert "Added 白沙村.txt" in status
    assert page.page.locator("#qa-index input").input_value() == "villages"
    page.page.locator("#qa-documents").get_by_text("白沙村.txt").first.wait_for(state="attached")
    answer = page.ask("白沙村的柑橘合作社去年销售了多少柑橘？")
    first = answer.locator(".qa-hit").first
    assert "白沙村.txt" in first.locator(".qa-where").inner_text()
    assert "八百吨" in first.locator("mark.qa-sentence").inner_text()


def test_markup_in_a_document_is_shown_as_text_and_runs_nothing(page, tmp_path):
    markup = (
        '<script>alert(1)</script> <img src=x onerror="window.qaInjected=1;alert(2)"> '
        "**加粗** [链接](javascript:alert(3)) $$x^2$$"
    )
    doc = tmp_path / "markup.md"
    doc.write_text(
        f"# 黑石岭水库\n\n黑石岭水库建于1975年，库容一千二百万立方米。{markup}\n",
        encoding="utf-8",
    )
    assert "Added markup.md" in page.upload(doc, "markup")
    answer = page.ask("黑石岭水库是哪一年建的？")
    first = answer.locator(".qa-hit").first
    text = first.inner_text()
    assert "<script>alert(1)</script>" in text
    assert '<img src=x onerror="window.qaInjected=1;alert(2)">' in text
    assert "[链接](javascript:alert(3))" in text and "$$x^2$$" in text
    for tag in ("script", "img", "a", "strong", "em", "code"):
        assert first.locator(f".qa-text {tag}").count() == 0, tag
    page.page.wait_for_timeout(1000)  # give any injected handler time to run
    assert page.page.evaluate("() => window.qaInjected") is None
    assert page.dialogs == []
