"""The web chat in real headless Chromium (Debian's package), driven by Playwright.

Skipped with a message when /usr/bin/chromium or the playwright package is missing;
``scripts/test.sh`` installs both. The browser's locale (which sets both
``navigator.language`` and the Accept-Language header) picks the interface language.
Screenshots go to ``artifacts/``: the answered question in Chinese and in English
(``chat-answer-zh.png``, ``chat-answer-en.png``) and the source viewer
(``source-viewer.png``).
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
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
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


# What the index summary says once the page's load event has filled it in, per language.
LOADED = {"en": "passages from", "zh": "个文档，共"}
LOCALES = {"en": "en-US", "zh": "zh-CN"}


class Page:
    """The chat page, with every dialog (alert, confirm, ...) it opens recorded."""

    def __init__(self, browser: Any, url: str, language: str = "en") -> None:
        self.context = browser.new_context(
            locale=LOCALES[language], viewport={"width": 1280, "height": 860}
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.dialogs: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.goto(url, wait_until="domcontentloaded")
        self.question.wait_for()
        # The page is live once its load event has filled in the index summary.
        self.page.locator("#qa-index-info").get_by_text(LOADED[language]).first.wait_for()

    def close(self) -> None:
        self.context.close()

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
    chat.close()


@pytest.fixture()
def zh_page(browser: Any, url: str) -> Iterator[Page]:
    chat = Page(browser, url, "zh")
    yield chat
    chat.close()


def screenshot(page: Page, name: str) -> Path:
    path = ARTIFACTS / name
    path.parent.mkdir(exist_ok=True)
    page.page.screenshot(path=str(path))
    assert 10_000 < path.stat().st_size < 600_000
    return path


def in_view(locator: Any, container: Any) -> bool:
    """True when the element's box lies within the container's visible box."""
    box, frame = locator.bounding_box(), container.bounding_box()
    return bool(
        box and frame and box["y"] >= frame["y"] - 1 and box["y"] < frame["y"] + frame["height"]
    )


def check_answer_layout(answer: Any) -> None:
    """The answer line comes before the cards; the first three cards are open, the rest
    folded; the citation is linked to its card."""
    order = answer.evaluate(
        """a => [...a.querySelectorAll('.qa-verdict, .qa-answer-line, details.qa-hit')]
               .map(e => e.tagName === 'DETAILS' ? (e.open ? 'open' : 'folded') : e.className)"""
    )
    assert order[0].startswith("qa-verdict qa-found") and order[1] == "qa-answer-line"
    assert order[2:] == ["open", "open", "open", "folded", "folded"]
    line = answer.locator(".qa-answer-line")
    assert "353.26亿元" in line.locator("mark").inner_text()
    cite = line.locator("a.qa-cite")
    card_id = cite.get_attribute("href").removeprefix("#")
    card = answer.locator(f"details#{card_id}")
    assert "353.26亿元" in card.locator("mark.qa-sentence").inner_text()
    # A folded card shows its heading only, and opens on a click.
    folded = answer.locator("details.qa-hit").nth(4)
    assert not folded.locator(".qa-text").is_visible()
    folded.locator("summary").click()
    assert folded.locator(".qa-text").is_visible()
    # Folding the cited card and clicking the citation opens it again.
    card.locator("summary").click()
    assert not card.locator(".qa-text").is_visible()
    cite.click()
    sync_api.expect(card.locator(".qa-text")).to_be_visible()


def test_question_is_answered_first_with_its_citation_in_english(page):
    assert page.page.locator("#qa-send").inner_text().strip() == "Send"
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
    assert "Found" in answer.locator(".qa-verdict").inner_text()
    assert "Not found" not in answer.inner_text()
    # The chat fills the window's height, and shows the top of the new answer.
    chat_box = page.page.locator("#qa-chat").bounding_box()
    assert chat_box is not None and chat_box["height"] > 860 - 260
    page.page.set_viewport_size({"width": 1280, "height": 1100})
    page.page.wait_for_timeout(300)
    taller = page.page.locator("#qa-chat").bounding_box()
    assert taller is not None and abs(taller["height"] - chat_box["height"] - 240) < 5
    page.page.set_viewport_size({"width": 1280, "height": 860})
    page.page.wait_for_timeout(300)
    assert in_view(answer.locator(".qa-answer-line"), page.page.locator("#qa-chat [role=log]"))
    page.page.locator("#qa-chat [role=log]").evaluate("e => { e.scrollTop = 0; }")
    screenshot(page, "chat-answer-en.png")
    check_answer_layout(answer)


def test_the_interface_speaks_chinese_to_a_chinese_browser(zh_page):
    page = zh_page.page
    assert page.locator("#qa-send").inner_text().strip() == "发送"
    assert "向文档提问" in page.locator("#qa-title").inner_text()
    assert page.locator("#qa-question textarea").get_attribute("placeholder").startswith("输入问题")
    assert page.get_by_text("示例问题").first.is_visible()
    assert page.locator("#qa-examples-zh").is_visible()
    assert not page.locator("#qa-examples-en").is_visible()
    answer = zh_page.ask(GDP_QUESTION)
    verdict = answer.locator(".qa-verdict").inner_text()
    assert "找到答案" in verdict and "置信度" in verdict
    assert "答案" in answer.locator(".qa-answer-line").inner_text()
    assert "得分" in answer.locator(".qa-where").first.inner_text()
    assert "在原文中查看" in answer.locator("a.qa-source").first.inner_text()
    screenshot(zh_page, "chat-answer-zh.png")
    check_answer_layout(answer)
    assert "未找到可靠的答案" in zh_page.ask("法国的首都是哪里？").inner_text()
    zh_page.question.fill("")
    page.locator("#qa-send").click()
    sync_api.expect(page.locator("#qa-chat .qa-notice").last).to_contain_text("请先输入问题")


def test_citation_opens_the_passage_in_its_document(zh_page):
    answer = zh_page.ask(GDP_QUESTION)
    card = answer.locator(".qa-hit").filter(has_text="353.26亿元").first
    card.locator("a.qa-source").click()
    viewer = zh_page.page.locator("#qa-viewer-body")
    focus = viewer.locator(".qa-focus")
    focus.wait_for()
    assert "353.26亿元" in focus.inner_text()
    assert focus.locator("mark").count() == 1
    # The paragraphs around it, in document order, from the same report.
    paragraphs = viewer.locator(".qa-ctx")
    assert paragraphs.count() >= 5
    texts = paragraphs.all_inner_texts()
    at = next(n for n, text in enumerate(texts) if "353.26亿元" in text)
    assert 0 < at < len(texts) - 1
    numbers = [int(re.search(r"¶(\d+)", text).group(1)) for text in texts]
    assert numbers == sorted(numbers)
    assert "leping-2021-government-work-report.txt" in viewer.inner_text()
    # Scrolled into view.
    sync_api.expect(focus).to_be_in_viewport()
    screenshot(zh_page, "source-viewer.png")


def test_off_topic_and_bad_input_get_visible_messages(page):
    assert "Not found" in page.ask("法国的首都是哪里？").inner_text()
    page.question.fill("")
    page.page.locator("#qa-send").click()
    page.page.locator("#qa-chat .qa-notice").first.wait_for()
    assert "Type a question first" in page.page.locator("#qa-chat .qa-notice").first.inner_text()
    assert "no words" in page.ask("🙂🙂🙂！！！").inner_text()
    # Still serving.
    assert page.ask("累计核酸检测了多少人？").locator(".qa-hit").count() == 5


def test_example_question_is_answered_on_click(zh_page):
    zh_page.page.locator("#qa-examples-zh").get_by_text("什么是三讲一评？").first.click()
    zh_page.answers().first.wait_for()
    assert zh_page.answers().first.locator("mark.qa-sentence").count() >= 1


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
    # The source viewer shows the same text, escaped too.
    first.locator("a.qa-source").click()
    focus = page.page.locator("#qa-viewer-body .qa-focus")
    sync_api.expect(focus).to_contain_text("黑石岭水库建于1975年")
    assert "<script>alert(1)</script>" in focus.inner_text()
    for tag in ("script", "img", "a", "strong", "em", "code"):
        assert page.page.locator(f"#qa-viewer-body .qa-ctx p {tag}").count() == 0, tag
    page.page.wait_for_timeout(1000)  # give any injected handler time to run
    assert page.page.evaluate("() => window.qaInjected") is None
    assert page.dialogs == []


def test_lang_forces_the_interface_language(
    browser, saved_report_index: Path, tmp_path_factory: pytest.TempPathFactory
):
    root = make_root(saved_report_index, tmp_path_factory.mktemp("lang-root") / "index")
    with running_server(root, tmp_path_factory.mktemp("lang-server"), "--lang", "zh") as address:
        chat = Page(browser, address, "zh")  # the summary is Chinese ...
        chat.close()
        english = browser.new_context(locale="en-US").new_page()  # ... for an English browser too
        english.set_default_timeout(TIMEOUT_MS)
        english.goto(address, wait_until="domcontentloaded")
        sync_api.expect(english.locator("#qa-send")).to_have_text("发送")
        english.locator("#qa-question textarea").fill(GDP_QUESTION)
        english.locator("#qa-send").click()
        sync_api.expect(english.locator("#qa-chat .qa-verdict").first).to_contain_text("找到答案")
        assert english.locator("#qa-examples-zh").is_visible()
        assert english.locator("#qa-examples-en").count() == 0
        english.context.close()


def test_a_pdf_citation_shows_its_page_with_the_passage_marked(page, tmp_path):
    from tests.test_viewer import FONT, write_pdf

    if not FONT.exists():
        pytest.skip(f"{FONT} is missing: apt-get install fonts-wqy-zenhei")
    pdf = tmp_path / "villages.pdf"
    write_pdf(pdf)
    assert "Added villages.pdf" in page.upload(pdf, "pdfs")
    answer = page.ask("白沙村有多少农户？")
    card = answer.locator(".qa-hit").filter(has_text="白沙村").first
    if "p. " not in card.locator(".qa-where").inner_text():
        pytest.skip("passages carry no PDF page yet (the PDF pages of issue 11 are not merged)")
    assert "p. 1" in answer.locator(".qa-answer-line").inner_text()
    card.locator("a.qa-source").click()
    figure = page.page.locator("#qa-viewer-body figure.qa-page-figure").first
    figure.wait_for()
    assert figure.get_attribute("data-page") == "1"
    assert int(figure.get_attribute("data-regions") or 0) >= 1
    assert "Page 1 of 2" in figure.locator("figcaption").inner_text()
    image = figure.locator("img.qa-page")
    sync_api.expect(image).to_be_visible()
    assert image.evaluate("i => i.complete && i.naturalWidth") > 800
    assert "白沙村有农户三百二十户" in page.page.locator("#qa-viewer-body .qa-focus").inner_text()
    figure.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.page.evaluate("() => window.scrollTo(0, 0)")  # the viewer's scroll only
    screenshot(page, "source-viewer-pdf.png")


def test_upload_status_is_in_chinese_for_a_chinese_browser(zh_page, tmp_path):
    doc = tmp_path / "红山村.txt"
    doc.write_text("红山村的水库在2019年建成，库容五百万立方米。", encoding="utf-8")
    status = zh_page.upload(doc, "zh-docs")
    assert "已加入 红山村.txt（1 段）" in status
    zh_page.page.locator("#qa-index-info").get_by_text("1 个文档，共 1 段").wait_for()
