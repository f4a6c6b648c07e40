"""Reading documents as people have them: PDF text extraction and cleaning, OCR, memory.

Prints, with medians over interleaved repeats:

- seconds to read a 100-page PDF (reportlab, WenQuanYi font, a running header and a page
  number on every page) with ``qa.pdf.read_pdf`` (PDFium text layer, layout into
  paragraphs, headers and footers removed), against two baselines measured in the same
  run: PDFium's plain text of every page, and pypdf's ``extract_text`` (qa's former
  reader);
- OCR seconds per page (a page of the bundled report rendered with PIL), and its
  character accuracy;
- seconds to refuse a PDF of 2,000 blank pages (no OCR runs on a blank page);
- resident memory of a fresh process before and (at its peak, sampled every 5 ms) while
  reading a PDF of 50 and of 500 pages: the pages are read one at a time, so the growth
  should hardly depend on the page count (beyond the text kept).

    python benchmarks/documents.py                # all of it (a few minutes on 2 cores)
    python benchmarks/documents.py --repeats 5 --ocr-pages 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import format_table  # noqa: E402

from qa.bundled import BUNDLED_REPORT  # noqa: E402

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


def report_paragraphs() -> list[str]:
    """The bundled report's paragraphs, markdown emphasis removed."""
    lines = BUNDLED_REPORT.read_text(encoding="utf-8").splitlines()
    return [line.strip().replace("**", "") for line in lines if line.strip()]


def wrapped_lines(width: float) -> list[str | None]:
    """The report's lines wrapped to ``width`` points (None after each paragraph)."""
    from reportlab.pdfbase import pdfmetrics

    lines: list[str | None] = []
    for paragraph in report_paragraphs():
        line = ""
        for char in paragraph:
            if pdfmetrics.stringWidth(line + char, "WQY", 11) > width:
                lines.append(line)
                line = ""
            line += char
        lines += [line, None]
    return lines


def write_pdf(path: Path, pages: int) -> None:
    """A PDF of ``pages`` pages of the report's text (repeated as needed), wrapped by
    width, with a running header and a page number on each page."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("WQY", str(FONT), subfontIndex=0))
    lines = wrapped_lines(440)
    pdf = canvas.Canvas(str(path))
    at = 0
    for number in range(1, pages + 1):
        pdf.setFont("WQY", 9)
        pdf.drawString(72, 800, "乐平市人民政府 政府工作报告（2021）")
        pdf.drawCentredString(297, 30, f"- {number} -")
        pdf.setFont("WQY", 11)
        y = 760.0
        while y >= 60:
            line = lines[at % len(lines)]
            at += 1
            if line is None:
                y -= 8
                continue
            pdf.drawString(72, y, line)
            y -= 16
        pdf.showPage()
    pdf.save()


def read_with_qa(path: Path) -> int:
    from qa.pdf import read_pdf

    return len(read_pdf(path).pages)


def read_with_pdfium_plain(path: Path) -> int:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(path))
    count = 0
    for index in range(len(document)):
        page = document[index]
        textpage = page.get_textpage()
        count += bool(textpage.get_text_range())
        textpage.close()
        page.close()
    document.close()
    return count


def read_with_pypdf(path: Path) -> int:
    from pypdf import PdfReader

    return sum(bool(page.extract_text()) for page in PdfReader(str(path)).pages)


def timed(function, path: Path) -> float:
    started = time.perf_counter()
    function(path)
    return time.perf_counter() - started


MEMORY_SCRIPT = """
import json, sys, threading, time
from pathlib import Path
import qa.pdf, qa.ocr, pypdfium2

def rss_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0

before = rss_mb()
peak = [before]
done = threading.Event()

def sample():
    while not done.is_set():
        peak[0] = max(peak[0], rss_mb())
        time.sleep(0.005)

sampler = threading.Thread(target=sample)
sampler.start()
pages = qa.pdf.read_pdf(Path(sys.argv[1])).pages
done.set()
sampler.join()
peak[0] = max(peak[0], rss_mb())
print(json.dumps({"pages": len(pages), "before_mb": before, "peak_mb": peak[0]}))
"""


def peak_memory(path: Path) -> dict[str, float]:
    """Resident memory of a fresh process once qa is imported, and its peak while reading
    the PDF (sampled every 5 ms), in MiB."""
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--ocr-pages", type=int, default=3)
    args = parser.parse_args()
    if not FONT.is_file():
        sys.exit(f"needs the WenQuanYi font at {FONT} (apt-get install fonts-wqy-zenhei)")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        hundred = folder / "100.pdf"
        write_pdf(hundred, 100)

        # 1. Text extraction and cleaning, interleaved with the baselines.
        readers = {
            "qa.pdf.read_pdf (layout, cleaning)": read_with_qa,
            "PDFium plain text (baseline)": read_with_pdfium_plain,
            "pypdf extract_text (former reader)": read_with_pypdf,
        }
        times: dict[str, list[float]] = {name: [] for name in readers}
        for _ in range(args.repeats):
            for name, reader in readers.items():
                times[name].append(timed(reader, hundred))
        print(f"## Reading a 100-page PDF (median of {args.repeats}, interleaved)\n")
        print(
            format_table(
                ["reader", "seconds", "ms per page"],
                [
                    (name, statistics.median(t), 1000 * statistics.median(t) / 100)
                    for name, t in times.items()
                ],
            )
        )

        # 2. OCR seconds per page.
        from PIL import Image, ImageDraw, ImageFont

        from qa import ocr

        font = ImageFont.truetype(str(FONT), 28)
        paragraphs = report_paragraphs()
        ocr_times: list[float] = []
        accuracies: list[float] = []
        for page in range(args.ocr_pages):
            text = "".join(paragraphs[6 + 4 * page : 10 + 4 * page])
            rows = [text[i : i + 38] for i in range(0, len(text), 38)][:30]
            image = Image.new("RGB", (1240, 160 + 45 * len(rows)), "white")
            draw = ImageDraw.Draw(image)
            for n, row in enumerate(rows):
                draw.text((80, 80 + 45 * n), row, font=font, fill="black")
            started = time.perf_counter()
            found = "".join(row.text for row in ocr.read_rows(image))
            ocr_times.append(time.perf_counter() - started)
            truth = "".join(rows)
            accuracies.append(1 - _edit_distance(found, truth) / len(truth))
        print(f"\n## OCR of a rendered page (RapidOCR PP-OCRv4, {args.ocr_pages} pages)\n")
        print(
            format_table(
                ["median seconds per page", "min", "max", "median character accuracy"],
                [
                    (
                        statistics.median(ocr_times),
                        min(ocr_times),
                        max(ocr_times),
                        statistics.median(accuracies),
                    )
                ],
            )
        )

        # 3. 2,000 blank pages.
        from pypdf import PdfWriter

        from qa.errors import DocumentError
        from qa.ingest import read_document

        writer = PdfWriter()
        for _ in range(2000):
            writer.add_blank_page(width=595, height=842)
        blank = folder / "blank.pdf"
        writer.write(blank)
        started = time.perf_counter()
        try:
            read_document(blank)
        except DocumentError as exc:
            verdict = str(exc).replace(str(folder), "…")
        print(f"\n## 2,000 blank pages: {time.perf_counter() - started:.2f} s ({verdict})")

        # 4. Memory: fresh processes reading 50 and 500 pages.
        rows_memory = []
        for pages in (50, 500):
            path = folder / f"{pages}.pdf"
            write_pdf(path, pages)
            measured = peak_memory(path)
            rows_memory.append(
                (
                    pages,
                    path.stat().st_size / 2**20,
                    measured["before_mb"],
                    measured["peak_mb"],
                    measured["peak_mb"] - measured["before_mb"],
                )
            )
        print("\n## Resident memory of a fresh process reading a PDF (sampled every 5 ms)\n")
        print(
            format_table(
                ["pages", "file MiB", "RSS before reading MiB", "peak while reading MiB", "growth"],
                rows_memory,
            )
        )


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


if __name__ == "__main__":
    main()
