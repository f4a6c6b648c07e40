"""Documents as people have them, on real files the tests make: PDFs printed by Chromium and
written by reportlab with the WenQuanYi font, scans, page images, saved web pages, and the
bad ones (encrypted, broken, truncated, huge, blank)."""

from __future__ import annotations

import html
import io
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from qa.answers import page_label
from qa.bundled import BUNDLED_REPORT
from qa.chunking import PageText, Passage, chunk_text, iter_passages
from qa.errors import DocumentError
from qa.ingest import read_document
from qa.pages import PageProblem, fold_compatibility, is_page_number, remove_page_furniture

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
LATIN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_font = pytest.mark.skipif(
    not (FONT.is_file() and LATIN_FONT.is_file()),
    reason="fonts-wqy-zenhei or fonts-dejavu-core is not installed",
)


def report_paragraphs() -> list[str]:
    """The bundled report's paragraphs, markdown emphasis removed."""
    lines = BUNDLED_REPORT.read_text(encoding="utf-8").splitlines()
    return [line.strip().replace("**", "") for line in lines if line.strip()]


def squeezed(passages: list[Passage]) -> list[tuple[tuple[str, ...], str]]:
    return [(p.section, re.sub(r"\s+", "", p.text)) for p in passages]


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def character_accuracy(read: str, truth: str) -> float:
    """1 - (edit distance / length of the truth), whitespace ignored."""
    read, truth = re.sub(r"\s+", "", read), re.sub(r"\s+", "", truth)
    return 1.0 - edit_distance(read, truth) / len(truth)


def render_page(paragraphs: list[str], width: int = 1240, size: int = 28):
    """A page image of the paragraphs in the WenQuanYi font, wrapped, a gap between them."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(FONT), size)
    margin = 80
    per_line = (width - 2 * margin) // size
    rows: list[str | None] = []
    for paragraph in paragraphs:
        rows.extend(paragraph[i : i + per_line] for i in range(0, len(paragraph), per_line))
        rows.append(None)
    height = 2 * margin + len(rows) * int(size * 1.6)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    y = margin
    for row in rows:
        if row:
            draw.text((margin, y), row, font=font, fill="black")
        y += int(size * 1.6) if row else int(size * 0.8)
    return image


# ---- cleaning rules --------------------------------------------------------------------


@pytest.mark.parametrize(
    "line", ["3", "- 3 -", "— 3 —", "第 3 页", "第3页 共17页", "3/17", "Page 3 of 17", "－12－"]
)
def test_page_number_lines(line):
    assert is_page_number(line)


@pytest.mark.parametrize("line", ["2020年工作回顾", "增长3.6%", "3.6%", "第三章 总则", "1. 引言"])
def test_text_is_not_a_page_number(line):
    assert not is_page_number(line)


def test_running_headers_and_footers_with_changing_numbers_are_removed():
    body = report_paragraphs()[5:40]
    pages = [
        ["乐平市政府工作报告  2021-04-13", *body[i : i + 5], f"- {i // 5 + 1} -"]
        for i in range(0, 35, 5)
    ]
    pages[3].insert(2, "乐平市政府工作报告")  # the title inside the body is kept
    pages[5][-1] = "第 6 页 共 7 页"
    cleaned = remove_page_furniture(pages)
    assert cleaned[0] == body[:5]
    assert cleaned[3] == [body[15], "乐平市政府工作报告", *body[16:20]]
    assert cleaned[5] == body[25:30]
    assert sum(cleaned, []) == body[:16] + ["乐平市政府工作报告"] + body[16:]


def test_compatibility_characters_are_folded_but_chinese_punctuation_is_kept():
    text = "ﬁle ﬂow ⼀年 ⾦额 （一）增长３.６％，“好”。① Ⅲ m² ㎡…"
    assert fold_compatibility(text) == "file flow 一年 金额 （一）增长３.６％，“好”。① Ⅲ m² ㎡…"
    report = BUNDLED_REPORT.read_text(encoding="utf-8")
    assert fold_compatibility(report) == report  # the .txt path keeps all of these


def test_pages_are_tracked_across_a_page_break():
    pages = [
        PageText(4, "一、回顾\n全年地区生产总值完成353.26亿元，比上年同期增长"),
        PageText(5, "3.6%，财政总收入完成47.26亿元。\n第二段在第五页。"),
    ]
    passages = list(iter_passages(pages, "r.pdf"))
    assert [(p.text[:6], p.page, p.last_page) for p in passages] == [
        ("全年地区生产", 4, 5),
        ("第二段在第五", 5, 5),
    ]
    assert page_label(4, 5) == "p. 4\u20135" and page_label(5, 5) == "p. 5"
    assert all(p.page is None for p in chunk_text("一、回顾\n正文。", "r.txt"))


def test_passages_of_an_older_index_load_without_pages():
    record = {"text": "正文。", "source": "a", "section": (), "paragraph": 1, "sentences": ()}
    assert Passage(**record).page is None


# ---- PDFs ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium_report(tmp_path_factory) -> Path:
    """The bundled report printed to PDF by Chromium, with its default header and footer."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed")
    folder = tmp_path_factory.mktemp("chromium")
    body = "\n".join(
        "<p>{}</p>".format(re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(line.strip())))
        for line in BUNDLED_REPORT.read_text(encoding="utf-8").splitlines()
        if line.strip()
    )
    page = folder / "report.html"
    page.write_text(
        '<!doctype html><html><head><meta charset="utf-8"><title>乐平市政府工作报告</title>'
        f"</head><body>{body}</body></html>",
        encoding="utf-8",
    )
    pdf = folder / "report.pdf"
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--print-to-pdf={pdf}", page],
        capture_output=True,
        timeout=120,
        check=True,
    )
    return pdf


def test_chromium_pdf_gives_the_passages_of_the_txt(chromium_report):
    document = read_document(chromium_report)
    from_pdf = list(iter_passages(document.pieces(), "report"))
    from_txt = chunk_text(BUNDLED_REPORT.read_text(encoding="utf-8"), "report")
    assert document.pages is not None and len(document.pages) > 5
    for passage in from_pdf:  # no header (date, title) or footer (file:// address, n/N)
        assert "file://" not in passage.text and not re.search(r"\d+/\d+/\d+", passage.text)
        assert "\ufb01" not in passage.text
    # Up to whitespace, no difference: the lines of a paragraph are joined by the layout
    # (a printed line that ends a sentence mid-paragraph does not end the paragraph), and
    # across page breaks.
    assert squeezed(from_pdf) == squeezed(from_txt)
    pages = [(p.page, p.last_page) for p in from_pdf]
    assert pages[0][0] == 1 and pages[-1][1] == len(document.pages)
    assert all(a is not None and b is not None and a <= b for a, b in pages)
    assert all(pages[i][1] <= pages[i + 1][0] for i in range(len(pages) - 1))
    assert any(a < b for a, b in pages)  # paragraphs joined across a page break


@needs_font
def test_reportlab_pdf_with_cjk_font_header_footer_and_ligature(tmp_path):
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("WQY", str(FONT), subfontIndex=0))
    path = tmp_path / "written.pdf"
    pdf = canvas.Canvas(str(path))
    paragraphs = report_paragraphs()[5:35]
    ligatures = "The \ufb01nal \ufb01gures \ufb02ow in."  # WenQuanYi has no such glyphs
    pdfmetrics.registerFont(TTFont("DejaVu", str(LATIN_FONT)))
    number = 0
    y = 0.0

    def new_page() -> float:
        nonlocal number
        if number:
            pdf.showPage()
        number += 1
        pdf.setFont("WQY", 9)
        pdf.drawString(72, 800, "乐平市人民政府 政府工作报告（2021）")
        pdf.drawCentredString(297, 30, f"第 {number} 页")
        return 760.0

    y = new_page()
    pdf.setFont("DejaVu", 11)
    pdf.drawString(72, y, ligatures)
    y -= 24
    for paragraph in paragraphs:
        line = ""
        for char in paragraph + "\n":  # wrapped by width, as a typesetter does
            if char != "\n" and pdfmetrics.stringWidth(line + char, "WQY", 11) <= 440:
                line += char
                continue
            if y < 60:
                y = new_page()
            pdf.setFont("WQY", 11)
            pdf.drawString(72, y, line)
            y -= 16
            line = char.strip()
        y -= 8
    pdf.save()
    pages = number
    document = read_document(path)
    passages = list(iter_passages(document.pieces(), "written"))
    text = "".join(p.text for p in passages)
    assert "政府工作报告（2021）" not in text and not re.search(r"第\s*\d+\s*页", text)
    assert passages[0].text == "The final figures flow in."
    expected = chunk_text("\n".join(["The final figures flow in.", *paragraphs]), "written")
    assert squeezed(passages) == squeezed(expected)
    assert {p.page for p in passages} | {p.last_page for p in passages} == set(range(1, pages + 1))
    assert any(p.page != p.last_page for p in passages)


@needs_font
def test_scanned_pdf_and_png_are_read_by_ocr(tmp_path, capsys):
    paragraphs = report_paragraphs()[5:10]
    image = render_page(paragraphs)
    png = tmp_path / "page.png"
    image.save(png)
    scan = tmp_path / "scan.pdf"
    blank = image.point(lambda _: 255)
    other = report_paragraphs()[10:13]
    image.save(scan, save_all=True, append_images=[blank, render_page(other)], resolution=150)

    started = time.perf_counter()
    from_png = read_document(png)
    accuracy = character_accuracy(from_png.text, "".join(paragraphs))
    with capsys.disabled():
        print(
            f"\nOCR character accuracy on a rendered page: {accuracy:.4f} "
            f"({len(''.join(paragraphs))} characters, {time.perf_counter() - started:.1f} s)"
        )
    assert accuracy > 0.95
    passages = list(iter_passages(from_png.pieces(), "page"))
    # The lines of each paragraph are joined: the passages of the text itself.
    expected = chunk_text("\n".join(paragraphs), "page")
    assert len(passages) == len(expected)
    for passage, truth in zip(passages, expected, strict=True):
        assert character_accuracy(passage.text, truth.text) > 0.9
    assert all(p.page == 1 for p in passages)

    from_scan = read_document(scan)
    assert [page.number for page in from_scan.pages] == [1, 3]  # page 2 is blank: no OCR
    assert from_scan.problems == ()
    assert character_accuracy(from_scan.pages[0].text, "".join(paragraphs)) > 0.95
    assert character_accuracy(from_scan.pages[1].text, "".join(other)) > 0.95


# ---- HTML ------------------------------------------------------------------------------

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>乐平新闻</title>
<style>p{color:red}</style><script>var x = "脚本不应出现";</script></head><body>
<nav><a href="/">首页</a> | <a href="/news">新闻中心</a> | <a href="/gov">政务公开</a></nav>
<main><article><h1>政府工作报告</h1><p>各位代表：现在，我代表市人民政府向大会报告工作，请予审议。</p>
<h2>一、2020年工作回顾</h2><p>全年地区生产总值完成353.26亿元，增长3.6%；财政总收入完成47.26亿元。</p>
<h3>（一）经济运行</h3><p>规模以上工业增加值增长4.5%，固定资产投资增长8.5%，消费平稳。</p>
<h2>二、2021年工作安排</h2><p>今年是“十四五”开局之年，地区生产总值预期增长8.5%左右。</p>
</article></main><aside>相关链接：江西省人民政府</aside>
<footer>版权所有 乐平市人民政府 赣ICP备12345号</footer></body></html>"""


def test_html_main_text_with_headings_as_sections(tmp_path):
    path = tmp_path / "news.html"
    path.write_text(PAGE, encoding="utf-8")
    passages = chunk_text(read_document(path).text, "news")
    text = "".join(p.text for p in passages)
    for dropped in ("脚本", "color", "首页", "政务公开", "版权所有", "相关链接"):
        assert dropped not in text
    by_start = {p.text[:4]: p.section for p in passages}
    assert by_start["全年地区"] == ("政府工作报告", "一、2020年工作回顾")
    assert by_start["规模以上"] == ("政府工作报告", "一、2020年工作回顾", "（一）经济运行")
    assert by_start["今年是“"] == ("政府工作报告", "二、2021年工作安排")
    saved_as_gbk = tmp_path / "news.htm"  # as many Chinese sites still serve their pages
    saved_as_gbk.write_bytes(PAGE.replace("utf-8", "gbk").encode("gbk"))
    assert chunk_text(read_document(saved_as_gbk).text, "news") == passages


# ---- bad input -------------------------------------------------------------------------


def write_text_pdf(path: Path, pages: int = 1, pictures: Sequence[int] = ()) -> None:
    """A PDF of ``pages`` pages with a line of text each; the pages numbered in ``pictures``
    hold a grey box instead: no text layer, not blank, and nothing for OCR to read."""
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path))
    for number in range(1, pages + 1):
        if number in pictures:
            pdf.setFillGray(0.3)
            pdf.rect(150, 300, 300, 200, fill=1, stroke=0)
        else:
            pdf.drawString(72, 700, f"Page {number} says the economy grew by 3.6 percent.")
        pdf.showPage()
    pdf.save()


def test_a_page_ocr_finds_nothing_on_is_a_page_problem_and_the_rest_is_read(tmp_path):
    path = tmp_path / "pictures.pdf"
    write_text_pdf(path, pages=3, pictures=[2])
    document = read_document(path)
    assert [page.number for page in document.pages] == [1, 3]
    assert document.problems == (PageProblem(str(path), 2, "no_text"),)
    # As a string, the English line the command line and the logs print.
    assert str(document.problems[0]) == f"{path}: page 2: no text could be read (OCR found none)"
    # With no page read at all the file is refused, its page problems in the message.
    only = tmp_path / "picture.pdf"
    write_text_pdf(only, pictures=[1])
    with pytest.raises(DocumentError) as refused:
        read_document(only)
    assert refused.value.kind == "no_text"
    assert str(refused.value) == (
        f"{only}: no text found ({only}: page 1: no text could be read (OCR found none))"
    )


def test_page_problems_read_as_before_in_english():
    assert str(PageProblem("/d/a.pdf", 4, "render", "Failed to render")) == (
        "/d/a.pdf: page 4: cannot be rendered for OCR (Failed to render)"
    )
    assert str(PageProblem("/d/a.pdf", 7, "unreadable", "Failed to load page")) == (
        "/d/a.pdf: page 7: cannot be read (Failed to load page)"
    )
    assert PageProblem("a.png", 1, "no_text").reason == "no text could be read (OCR found none)"


def test_encrypted_pdfs(tmp_path):
    from pypdf import PdfReader, PdfWriter

    plain = tmp_path / "plain.pdf"
    write_text_pdf(plain)
    for name, user_password in (("locked.pdf", "secret"), ("open.pdf", "")):
        writer = PdfWriter(clone_from=PdfReader(plain))
        writer.encrypt(user_password=user_password, owner_password="owner")
        writer.write(tmp_path / name)
    with pytest.raises(DocumentError, match=r"locked\.pdf: the PDF is encrypted with a password"):
        read_document(tmp_path / "locked.pdf")
    assert "3.6 percent" in read_document(tmp_path / "open.pdf").text


def test_pdf_with_a_broken_cross_reference_table_is_repaired(tmp_path):
    path = tmp_path / "xref.pdf"
    write_text_pdf(path, pages=2)
    data = path.read_bytes()
    start = data.rindex(b"xref")
    broken = data[:start] + re.sub(rb"\d{10} 00000 n", b"0000000999 00000 n", data[start:])
    path.write_bytes(broken)
    document = read_document(path)
    assert [page.number for page in document.pages] == [1, 2]


def test_damaged_images_are_refused_by_name(tmp_path):
    from PIL import Image

    (tmp_path / "empty.png").write_bytes(b"")
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), "white").save(buffer, "PNG")
    (tmp_path / "cut.png").write_bytes(buffer.getvalue()[:200])
    Image.new("1", (20000, 20000)).save(tmp_path / "huge.png")
    for name, reason in (
        ("empty.png", "not a readable image"),
        ("cut.png", "not a readable image"),
        ("huge.png", "image too large to read safely"),
    ):
        with pytest.raises(DocumentError, match=re.escape(f"{name}: {reason}")):
            read_document(tmp_path / name)


def test_a_pdf_of_2000_blank_pages_is_refused_without_ocr(tmp_path):
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(2000):
        writer.add_blank_page(width=595, height=842)
    path = tmp_path / "blank.pdf"
    writer.write(path)
    with pytest.raises(DocumentError, match=r"blank\.pdf: no text found"):
        read_document(path)


def test_binary_html_is_refused(tmp_path):
    path = tmp_path / "page.html"
    path.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(DocumentError, match=r"page\.html: looks like a binary file"):
        read_document(path)


# ---- through the index and the command line --------------------------------------------


@needs_font
def test_pages_in_hits_saved_index_and_qa_ask(tmp_path, capsys):
    import json

    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    import qa
    from qa.cli import main

    pdfmetrics.registerFont(TTFont("WQY", str(FONT), subfontIndex=0))
    docs = tmp_path / "docs"
    docs.mkdir()
    pdf = canvas.Canvas(str(docs / "report.pdf"))
    for number, line in enumerate(
        ["市人民政府向大会报告工作，请予审议。", "全年地区生产总值完成353.26亿元，增长3.6%。"], 1
    ):
        pdf.setFont("WQY", 12)
        pdf.drawString(72, 700, line)
        pdf.drawCentredString(297, 30, f"- {number} -")
        pdf.showPage()
    pdf.save()
    (docs / "notes.txt").write_text("新建农村公路120公里。", encoding="utf-8")
    (docs / "cut.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (docs / "blank.pdf").write_bytes(b"%PDF-1.4\n%%EOF")

    index = qa.Index.build([docs])
    hit = index.search("地区生产总值是多少？", k=1)[0]
    assert (Path(hit.source).name, hit.page, hit.last_page) == ("report.pdf", 2, 2)
    assert index.search("农村公路", k=1)[0].page is None
    folder = index.save(tmp_path / "idx")

    assert main(["ask", "地区生产总值是多少？", "--index", str(folder), "-k", "1"]) == 0
    assert "report.pdf ¶2 p. 2" in capsys.readouterr().out
    assert main(["ask", "地区生产总值是多少？", "--index", str(folder), "-k", "1", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    record = answer["hits"][0]
    assert (record["page"], record["last_page"]) == (2, 2)
    assert (answer["answer"]["page"], answer["answer"]["last_page"]) == (2, 2)

    # A passage saved before passages had pages: its record loads with no page.
    line = next(folder.rglob("passages.jsonl")).read_text(encoding="utf-8").splitlines()[0]
    record = {k: v for k, v in json.loads(line).items() if k not in ("page", "last_page")}
    assert Passage(**record).page is None


def test_bad_files_are_skipped_by_name_and_the_rest_is_indexed(tmp_path):
    import qa

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text("全年地区生产总值完成353.26亿元。", encoding="utf-8")
    (docs / "empty.jpg").write_bytes(b"")
    (docs / "page.html").write_bytes(bytes(range(256)) * 4)
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.encrypt(user_password="secret", owner_password="owner")
    writer.write(docs / "locked.pdf")
    index = qa.Index.build([docs])
    report = index.add([docs])
    assert len(index) == 1 and not report.changed
    skipped = {Path(s.source).name: s.reason for s in report.skipped}
    assert set(skipped) == {"empty.jpg", "page.html", "locked.pdf"}
    assert "empty.jpg: not a readable image" in skipped["empty.jpg"]
    assert "locked.pdf: the PDF is encrypted with a password" in skipped["locked.pdf"]


@needs_font
def test_an_unchanged_scan_is_not_read_again_when_the_index_is_updated(tmp_path, monkeypatch):
    import qa
    from qa import ocr

    docs = tmp_path / "docs"
    docs.mkdir()
    render_page(["全年地区生产总值完成353.26亿元。"], width=700).save(docs / "scan.png")
    (docs / "notes.txt").write_text("新建农村公路120公里。", encoding="utf-8")
    calls = []
    read_rows = ocr.read_rows
    monkeypatch.setattr(ocr, "read_rows", lambda image: calls.append(1) or read_rows(image))
    index = qa.Index.build([docs])
    assert len(calls) == 1
    assert "353.26" in index.search("地区生产总值", k=1)[0].text
    report = index.add([docs])
    assert len(calls) == 1 and not report.changed
    assert sorted(Path(s).name for s in report.unchanged) == ["notes.txt", "scan.png"]


@needs_font
def test_a_scan_with_a_stamped_page_number_is_read_by_ocr(tmp_path):
    from reportlab.pdfgen import canvas

    image = tmp_path / "line.png"
    render_page(["全年地区生产总值完成353.26亿元。"], width=700).save(image)
    path = tmp_path / "stamped.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.drawImage(str(image), 72, 600, width=450, height=450 * 248 / 700)
    pdf.drawString(280, 30, "- 1 -")  # the only text in the layer
    pdf.showPage()
    pdf.save()
    text = read_document(path).text
    assert "353.26" in text and "亿元" in text
