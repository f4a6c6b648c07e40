"""References from a passage card to its passage, for the source viewer.

A card's "Show in document" link carries an opaque, URL-safe reference: the index's name,
digests of the passage's file and text, its paragraph, and the offsets of the sentence to
mark (and whether it is the answer). Never a path: the server looks the passage up among
the index's own passages and opens only a file the index records.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass

from qa.app.core import Hit, QAError


@dataclass(frozen=True)
class PassageRef:
    """What a source reference names: the index, the passage, the sentence to mark."""

    index_name: str
    source_digest: str
    paragraph: int
    text_digest: str
    sentence_start: int | None = None
    sentence_end: int | None = None
    is_answer: bool = False


def digest(text: str) -> str:
    """A short digest of a text (a path or a passage) for references."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def source_token(index_name: str, hit: Hit, is_answer: bool = False) -> str:
    """An opaque, URL-safe reference to a hit's passage and its closest sentence."""
    raw = json.dumps(
        [
            index_name,
            digest(hit.source),
            hit.paragraph,
            digest(hit.text),
            hit.sentence_start,
            hit.sentence_end,
            bool(is_answer),
        ],
        ensure_ascii=False,
    )
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def parse_source_token(token: str) -> PassageRef:
    """The :class:`PassageRef` of a token (one without a sentence, as links made before
    sentences were marked, is read too); QAError if it is malformed."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        fields = json.loads(raw.decode("utf-8"))
        if not isinstance(fields, list) or len(fields) not in (4, 7):
            raise ValueError("not a reference")
        index_name, source, paragraph, text_digest = fields[:4]
        if not all(isinstance(v, str) for v in (index_name, source, text_digest)):
            raise ValueError("not text")
        if isinstance(paragraph, bool) or not isinstance(paragraph, int):
            raise ValueError("not a paragraph number")
        start = end = None
        is_answer = False
        if len(fields) == 7:
            start, end, is_answer = fields[4:]
            for offset in (start, end):
                if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
                    raise ValueError("not a sentence offset")
            if not isinstance(is_answer, bool):
                raise ValueError("not a flag")
    except (ValueError, TypeError, UnicodeDecodeError, binascii.Error) as exc:
        raise QAError("not a passage reference") from exc
    return PassageRef(index_name, source, paragraph, text_digest, start, end, is_answer)
