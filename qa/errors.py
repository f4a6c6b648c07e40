"""Exception types of the qa package.

Every error a user can cause (a bad question, a missing file, a damaged index) is a
subclass of :class:`QAError`, so callers can catch one type and show its message.
"""


class QAError(Exception):
    """Base class of every error that qa raises on purpose.

    The message is English and names what is wrong (the file, the page). ``kind`` names the
    error's kind for callers that word it themselves (the web app, in Chinese); "other"
    when none is given.
    """

    def __init__(self, message: str = "", kind: str = "other") -> None:
        super().__init__(message)
        self.kind = kind


class QueryError(QAError, ValueError):
    """The question cannot be searched.

    ``kind``: ``not_text``, ``empty``, ``too_long``, ``no_words`` (nothing but punctuation),
    ``mode`` (an unknown search mode), ``k`` (a bad number of passages).
    """


class DocumentError(QAError):
    """A document or folder cannot be read or holds nothing to index.

    ``kind``: ``unsupported``, ``unreadable``, ``changed``, ``binary``, ``encoding``,
    ``no_text``, ``damaged``, ``encrypted``, ``too_large``, ``not_indexed`` (a document
    asked for that the index does not hold), ``date`` (a date that is not one), or
    ``other``.
    """


class IndexStoreError(QAError):
    """An index folder is missing, damaged, from another encoder or another format."""


class EncoderError(QAError):
    """An encoder cannot be loaded or produced unusable vectors."""


class ClusterError(QAError):
    """A cluster build cannot start or cannot go on: Ray is not installed, the cluster
    cannot be reached or went away, or it lacks the resources asked for."""
