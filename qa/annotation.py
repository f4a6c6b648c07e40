"""What is worked out once per passage when it is indexed, and stored with it: the kinds of
fact each sentence holds (:mod:`qa.facts`), the period it speaks of and its stance
(:mod:`qa.periods`), both relative to its document's reference date, and the script it is
written in.

An index made before these were stored (its manifest's ``annotation_version`` is older)
gets them when it is loaded, once: the query path reads them, never computes them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from qa.chunking import Passage
from qa.facts import passage_facts
from qa.periods import ReferenceDate, document_times, named_years, reference_date
from qa.question import main_script

# Bumped whenever what is stored per passage here changes: an index with an older version
# is annotated again when loaded.
ANNOTATION_VERSION = 1


def document_reference(
    passages: Sequence[Passage], metadata: ReferenceDate | None = None
) -> ReferenceDate | None:
    """A document's reference date from its passages (in order): the date its text states
    (:func:`qa.periods.reference_date`: a date line at its front, a signature at its end, a
    dated title), else ``metadata`` (the file's own date), else None."""
    if not passages:
        return metadata
    front = [line for p in passages[:3] for line in p.text.split("\n")]
    back = [line for p in passages[-3:] for line in p.text.split("\n")]
    first = passages[0]
    title = first.section[0] if first.section else first.text.split("\n")[0]
    stated = reference_date(front, back, title)
    return stated if stated is not None else metadata


def annotate(
    passages: Sequence[Passage], reference: ReferenceDate | None, facts: bool = True
) -> list[Passage]:
    """The passages of one document (in order) with their scripts, their periods and
    stances for this reference date and, with ``facts``, each sentence's facts (kept as
    they are without)."""
    times = document_times([(p.section, p.text) for p in passages], reference)
    annotated = []
    for passage, time in zip(passages, times, strict=True):
        period = time.period if time is not None else None
        named = named_years(passage.text, reference)
        annotated.append(
            dataclasses.replace(
                passage,
                facts=passage_facts(passage.text, passage.sentences) if facts else passage.facts,
                period=None if period is None else (period.first, period.last),
                named=None if named is None else (named.first, named.last),
                stance=time.stance if time is not None else None,
                script=main_script(passage.text),
            )
        )
    return annotated
