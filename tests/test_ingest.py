"""Reading documents: encodings, PDF, .docx, folders, and files that cannot be read."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest

from qa.chunking import chunk_text
from qa.errors import DocumentError
from qa.ingest import collect_files, read_document, read_documents

TEXT = "乐平市2020年地区生产总值完成353.26亿元。\n\n二段：增长3.6%。"


def write_pdf(path: Path, pages: list[str]) -> None:
    """Write a minimal PDF with one Helvetica text line per page (a real text layer)."""
    objects: list[bytes] = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    font_id = 3 + 2 * len(pages)
    for i, line in enumerate(pages):
        content_id = 4 + 2 * i
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        stream = f"BT /F1 12 Tf 72 712 Td ({line}) Tj ET".encode()
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path.write_bytes(bytes(out))


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("utf8.txt", TEXT.encode("utf-8")),
        ("bom.txt", b"\xef\xbb\xbf" + TEXT.encode("utf-8")),
        ("gbk.md", TEXT.encode("gbk")),
        ("gb18030.txt", TEXT.encode("gb18030")),
    ],
)
def test_text_encodings(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    document = read_document(path)
    assert document.text.lstrip("\ufeff").startswith("乐平市2020年")
    assert "\ufeff" not in document.text
    assert len(document.sha256) == 64


def test_pdf_text_layer_and_page_break_repair(tmp_path):
    path = tmp_path / "report.pdf"
    write_pdf(path, ["The economy grew by", "3.6 percent in 2020."])
    document = read_document(path)
    passages = chunk_text(document.text, document.source)
    assert [p.text for p in passages] == ["The economy grew by 3.6 percent in 2020."]


def test_docx_paragraphs_headings_and_tables(tmp_path):
    path = tmp_path / "notes.docx"
    doc = docx.Document()
    doc.add_heading("工作回顾", level=1)
    doc.add_paragraph("全年地区生产总值完成353.26亿元。")
    table = doc.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "指标"
    table.rows[0].cells[1].text = "增长3.6%"
    doc.save(str(path))
    passages = chunk_text(read_document(path).text, str(path))
    assert passages[0].section_path == "工作回顾"
    assert passages[0].text == "全年地区生产总值完成353.26亿元。"
    assert any("增长3.6%" in p.text for p in passages)


def test_folder_is_read_recursively_and_bad_files_are_reported(tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "a.txt").write_text("第一个文件。", encoding="utf-8")
    (tmp_path / "sub" / "deeper" / "b.md").write_text("第二个文件。", encoding="utf-8")
    (tmp_path / "sub" / "binary.txt").write_bytes(bytes(range(256)) * 10)
    (tmp_path / "sub" / "empty.txt").write_bytes(b"")
    (tmp_path / "sub" / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")  # cut short
    (tmp_path / "image.gif").write_bytes(b"GIF89a")  # not a supported type: not collected
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "c.txt").write_text("隐藏。", encoding="utf-8")
    documents, skipped = read_documents([tmp_path])
    assert sorted(Path(d.source).name for d in documents) == ["a.txt", "b.md"]
    reasons = {Path(s.source).name: s.reason for s in skipped}
    assert set(reasons) == {"binary.txt", "empty.txt", "broken.pdf", "image.png"}
    assert "not a readable image" in reasons["image.png"]
    assert "binary" in reasons["binary.txt"]
    assert "no text" in reasons["empty.txt"]


def test_missing_path_and_folder_without_documents(tmp_path):
    with pytest.raises(DocumentError, match="no such file or folder"):
        read_documents([tmp_path / "nope"])
    (tmp_path / "only.bin.txt").write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(DocumentError, match="no readable documents"):
        read_documents([tmp_path])


def test_unsupported_file_given_directly(tmp_path):
    path = tmp_path / "table.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(DocumentError, match="unsupported file type"):
        read_document(path)


def test_collect_files_deduplicates(tmp_path):
    (tmp_path / "a.txt").write_text("一。", encoding="utf-8")
    files = collect_files([tmp_path, tmp_path / "a.txt"])
    assert len(files) == 1


def test_corrupt_docx_is_skipped_by_name(tmp_path):
    (tmp_path / "broken.docx").write_bytes(b"this is not a zip package")
    (tmp_path / "fine.txt").write_text("正常的文件。", encoding="utf-8")
    documents, skipped = read_documents([tmp_path])
    assert [Path(d.source).name for d in documents] == ["fine.txt"]
    assert "broken.docx" in skipped[0].reason and "docx" in skipped[0].reason
