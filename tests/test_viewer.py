"""The source viewer's library part (qa.viewer): context paragraphs and marked PDF pages.

The PDFs are written here with reportlab and the WenQuanYi font (Debian's
fonts-wqy-zenhei, which scripts/test.sh installs), so the text layer is real PDF text:
wrapped lines, a running header on every page and a paragraph that continues on the next
page.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from qa.chunking import Passage
from qa.errors import DocumentError
from qa.viewer import (
    MARK_OUTLINE,
    PAGE_SCALE,
    find_passage,
    match_span,
    passage_context,
    render_marked_page,
)

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
HEADER = "2026年12月1日 乐平市政府工作报告"
FIRST = "黑石岭水库建于1975年，库容一千二百万立方米，是全市最大的水库，灌溉农田三万亩。"
SECOND = "白沙村有农户三百二十户，主要种植柑橘。村里的柑橘合作社成立于2018年，去年销售柑橘八百吨。"
SPANNING_HEAD = "青石镇距离县城二十公里，每天有六班公交车往返，"
SPANNING_TAIL = "周末增开两班，方便游客前来参加桂花节。"


def passage(text: str, paragraph: int, source: str = "a.txt") -> Passage:
    return Passage(text=text, source=source, section=("一、概况",), paragraph=paragraph)


def test_context_is_the_paragraphs_around_the_passage_of_its_own_source():
    passages = [passage(f"甲{n}", n) for n in range(1, 11)] + [
        passage(f"乙{n}", n, "b.txt") for n in range(1, 4)
    ]
    context = passage_context(passages, 5, around=2)
    assert [p.text for p in context.paragraphs] == ["甲4", "甲5", "甲6", "甲7", "甲8"]
    assert [p.focus for p in context.paragraphs] == [False, False, True, False, False]
    assert context.focus.text == "甲6" and context.focus.section == "一、概况"
    assert (context.before, context.after) == (3, 2)
    # At the edges of a source the context stops there; other sources never appear.
    first_of_b = passage_context(passages, 10, around=2)
    assert [p.text for p in first_of_b.paragraphs] == ["乙1", "乙2", "乙3"]
    assert (first_of_b.before, first_of_b.after) == (0, 0)
    assert all(p.page is None for p in first_of_b.paragraphs)  # a .txt has no pages
    with pytest.raises(IndexError):
        passage_context(passages, 13)


def test_find_passage_by_source_paragraph_and_text():
    passages = [passage("前半段。", 3), passage("后半段。", 3), passage("别处。", 3, "b.txt")]
    assert find_passage(passages, "a.txt", 3, "后半段。") == 1
    assert find_passage(passages, "a.txt", 3, "已经改过的文字。") == 0  # changed: its paragraph
    assert find_passage(passages, "b.txt", 3, "别处。") == 2
    assert find_passage(passages, "a.txt", 9, "后半段。") is None


def test_match_span_ignores_line_breaks_spaces_and_compatibility_forms():
    page = (
        f"{HEADER}\n黑石岭水库建于１９７５年，库容一千\n"
        "二百万立方米，是全市最大的水库，\n灌溉农田三万亩。\n下一段"
    )
    start, end = match_span(page, FIRST)
    assert page[start:end].replace("\n", "").startswith("黑石岭水库")
    assert page[start:end].endswith("三万亩。")
    assert match_span(page, "完全不相干的一句话，讲的是别的城市。") is None
    assert match_span("", FIRST) is None


LINE_CHARS = 18
TOP_BASELINE = 760
LINE_STEP = 22
FONT_SIZE = 14


def lines(text: str) -> list[str]:
    return [text[i : i + LINE_CHARS] for i in range(0, len(text), LINE_CHARS)]


def pixel_rows(first_line: int, line_count: int) -> tuple[float, float]:
    """The pixel rows (top, bottom) of the text lines ``first_line`` (0-based) onwards."""
    top_baseline = TOP_BASELINE - LINE_STEP * first_line
    bottom_baseline = top_baseline - LINE_STEP * (line_count - 1)
    top = (842 - top_baseline - FONT_SIZE) * PAGE_SCALE
    bottom = (842 - bottom_baseline + FONT_SIZE * 0.3) * PAGE_SCALE
    return top, bottom


def write_pdf(path: Path) -> None:
    """Two A4 pages with a running header; FIRST and SECOND wrapped over several lines on
    page 1, and a paragraph that starts at the bottom of page 1 and ends on page 2."""
    canvas_module = pytest.importorskip("reportlab.pdfgen.canvas")
    pdfmetrics = pytest.importorskip("reportlab.pdfbase.pdfmetrics")
    ttfonts = pytest.importorskip("reportlab.pdfbase.ttfonts")
    pdfmetrics.registerFont(ttfonts.TTFont("WQY", str(FONT), subfontIndex=0))
    pdf = canvas_module.Canvas(str(path), pagesize=(595, 842))

    pages = [
        lines(FIRST) + [""] + lines(SECOND) + [""] * 18 + lines(SPANNING_HEAD),
        lines(SPANNING_TAIL),
    ]
    for content in pages:
        pdf.setFont("WQY", 9)
        pdf.drawString(72, 810, HEADER)
        pdf.setFont("WQY", FONT_SIZE)
        for number, line in enumerate(content):
            pdf.drawString(72, TOP_BASELINE - LINE_STEP * number, line)
        pdf.showPage()
    pdf.save()


@pytest.fixture(scope="module")
def pdf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not FONT.exists():
        pytest.skip(f"{FONT} is missing: apt-get install fonts-wqy-zenhei")
    path = tmp_path_factory.mktemp("viewer") / "report.pdf"
    write_pdf(path)
    return path


def marked_rows(image: Image.Image) -> list[int]:
    """Pixel rows where the mark's outline colour appears."""
    pixels = image.convert("RGB").load()
    assert pixels is not None
    return sorted(
        {
            y
            for y in range(image.height)
            for x in range(0, image.width, 2)
            if pixels[x, y] == MARK_OUTLINE[:3]
        }
    )


def test_the_passage_is_marked_on_its_page_and_nothing_else(pdf_path):
    marked = render_marked_page(pdf_path, 1, SECOND)
    assert (marked.page, marked.pages) == (1, 2)
    assert abs(marked.image.width - 595 * PAGE_SCALE) <= 1
    assert abs(marked.image.height - 842 * PAGE_SCALE) <= 1
    # SECOND is drawn on the lines after FIRST and a blank line.
    assert len(marked.regions) == len(lines(SECOND))
    top_line, bottom_line = pixel_rows(len(lines(FIRST)) + 1, len(lines(SECOND)))
    for left, top, right, bottom in marked.regions:
        assert top_line - 6 <= top < bottom <= bottom_line + 6
        assert left <= 72 * PAGE_SCALE + 4 and right > left
    rows = marked_rows(marked.image)
    assert rows and top_line - 6 <= rows[0] and rows[-1] <= bottom_line + 6
    header_bottom = (842 - 810 + 4) * PAGE_SCALE
    assert rows[0] > header_bottom  # the running header is not marked

    first = render_marked_page(pdf_path, 1, FIRST)
    assert first.regions and max(b for _, _, _, b in first.regions) < marked.regions[0][1]


def test_a_passage_over_two_pages_is_marked_on_both(pdf_path):
    whole = SPANNING_HEAD + SPANNING_TAIL
    head = render_marked_page(pdf_path, 1, whole)
    tail = render_marked_page(pdf_path, 2, whole)
    assert head.regions and tail.regions
    assert min(t for _, t, _, _ in head.regions) > 600 * PAGE_SCALE  # bottom of page 1
    assert max(b for _, _, _, b in tail.regions) < 200 * PAGE_SCALE  # top of page 2


def test_a_page_without_the_passage_has_no_mark(pdf_path):
    marked = render_marked_page(pdf_path, 2, SECOND)
    assert marked.regions == [] and marked_rows(marked.image) == []


def test_the_page_is_a_png_data_url(pdf_path):
    url = render_marked_page(pdf_path, 1, SECOND).png_data_url()
    assert url.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert image.format == "PNG" and abs(image.width - 595 * PAGE_SCALE) <= 1


def test_bad_pages_and_files_are_clear_errors(pdf_path, tmp_path):
    with pytest.raises(DocumentError, match=r"report\.pdf: there is no page 3 \(the PDF has 2\)"):
        render_marked_page(pdf_path, 3, SECOND)
    with pytest.raises(DocumentError, match="there is no page 0"):
        render_marked_page(pdf_path, 0, SECOND)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 not really a pdf")
    with pytest.raises(DocumentError, match=r"broken\.pdf: cannot open the PDF"):
        render_marked_page(broken, 1, SECOND)
    with pytest.raises(DocumentError, match=r"missing\.pdf: cannot open the PDF"):
        render_marked_page(tmp_path / "missing.pdf", 1, SECOND)


def test_the_chat_viewer_shows_the_pdf_page_with_the_passage_marked(pdf_path, tmp_path):
    """End to end through the app's viewer: an index built from the PDF, a hit, its page."""
    import shutil

    import qa
    from qa.app import Library, render_source, source_token

    pdf_path = Path(shutil.copy(pdf_path, tmp_path / "report.pdf"))
    index = qa.Index.build([pdf_path])
    hit = index.search("白沙村有多少农户？", k=1)[0]
    assert "白沙村" in hit.text
    if getattr(hit, "page", None) is None:
        pytest.skip("passages carry no PDF page yet (the PDF pages of issue 11 are not merged)")
    assert hit.page == 1
    folder = tmp_path / "pdfs"
    index.save(folder)
    library = Library(folder, root=tmp_path / "root")
    body = render_source(library, source_token(library.start_name, hit), "zh")
    assert body.count('<figure class="qa-page-figure" data-page="1"') == 1
    assert 'data-regions="0"' not in body
    assert '<img class="qa-page"' in body and 'src="data:image/png;base64,' in body
    assert "第 1 页，共 2 页" in body
    # The context stays when the page cannot be shown: a changed file, a file gone.
    with pdf_path.open("ab") as changed:
        changed.write(b"\n% appended after indexing\n")
    body = render_source(library, source_token(library.start_name, hit), "en")
    assert "changed since it was indexed" in body and "<img" not in body
    assert 'class="qa-ctx qa-focus"' in body
    pdf_path.unlink()
    body = render_source(library, source_token(library.start_name, hit), "en")
    assert "no longer where it was indexed" in body and 'class="qa-ctx qa-focus"' in body


def test_pages_rendered_from_many_threads_at_once_are_all_right(pdf_path):
    """The web server shows pages from several threads; PDFium itself is not thread-safe."""
    from concurrent.futures import ThreadPoolExecutor

    texts = [SECOND, FIRST, SPANNING_HEAD + SPANNING_TAIL] * 4
    alone = {text: render_marked_page(pdf_path, 1, text).regions for text in set(texts)}
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = list(pool.map(lambda t: render_marked_page(pdf_path, 1, t).regions, texts))
    assert together == [alone[text] for text in texts]
