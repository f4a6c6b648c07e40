"""Exception types of the qa package.

Every error a user can cause (a bad question, a missing file, a damaged index) is a
subclass of :class:`QAError`, so callers can catch one type and show its message.
"""


class QAError(Exception):
    """Base class of every error that qa raises on purpose."""


class QueryError(QAError, ValueError):
    """The question cannot be searched (empty, too long, nothing but punctuation)."""


class DocumentError(QAError):
    """A document or folder cannot be read or holds nothing to index.

    ``kind`` says what is wrong, for callers that word it themselves (the web app in
    Chinese): ``unsupported``, ``unreadable``, ``changed``, ``binary``, ``encoding``,
    ``no_text``, ``damaged``, ``encrypted``, ``too_large``, or ``other``. The message stays
    English and names the file.
    """

    def __init__(self, message: str, kind: str = "other") -> None:
        super().__init__(message)
        self.kind = kind


class IndexStoreError(QAError):
    """An index folder is missing, damaged, from another encoder or another format."""


class EncoderError(QAError):
    """An encoder cannot be loaded or produced unusable vectors."""
