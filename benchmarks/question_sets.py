"""The question sets the meaning benchmark (``benchmarks/meaning.py``) asks, with the
corpus each is asked of. See ``benchmarks/questions/README.md`` for what each set is.

Only what every version of ``qa`` since 1 December 2026 has is used here
(``qa.evaluation.Question``, ``read_tsv_questions``, ``read_squad``), so that the same sets
can be asked of the code before a change and after it, in one run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from qa.evaluation import Question, read_squad, read_tsv_questions

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = REPO / "benchmarks" / "questions"
SHARED = REPO.parent / "shared"
DEV = SHARED / "eval" / "leping-dev.tsv"
CMRC = SHARED / "eval" / "cmrc2018" / "cmrc2018_dev.json"
DRCD = SHARED / "eval" / "drcd" / "DRCD_test.json"
ENGLISH_DOCS = QUESTIONS / "english-docs"
DATED_DOCS = QUESTIONS / "dated-docs"
# Which questions of a set are answerable: "-" marks one the corpus does not answer.
NOT_ANSWERED = "-"


@dataclass
class QuestionSet:
    """Questions asked of one corpus: ``corpus`` is ``report``, ``cmrc``, ``drcd``,
    ``english-docs`` or ``dated-docs``; ``held_out`` says nothing was tuned on it;
    ``answerable`` False for off-topic questions (only the verdict is read)."""

    name: str
    corpus: str
    questions: list[Question]
    held_out: bool
    answerable: bool = True
    notes: list[str] = field(default_factory=list)


def _tsv(path: Path, kinds: set[str] | None = None) -> list[Question]:
    return [q for q in read_tsv_questions(path) if kinds is None or q.kind in kinds]


def _alternate(questions: list[Question]) -> tuple[list[Question], list[Question]]:
    """Split questions in two by kind, alternately (1st, 3rd, ... of each kind; 2nd, ...)."""
    seen: dict[str, int] = {}
    first, second = [], []
    for question in questions:
        n = seen.get(question.kind, 0)
        seen[question.kind] = n + 1
        (first if n % 2 == 0 else second).append(question)
    return first, second


def _translated(path: Path, squad: Path) -> list[Question]:
    """English questions written for SQuAD-format questions (``id<TAB>question`` lines):
    each answered by the context of the question it renders."""
    if not squad.is_file():
        return []
    originals = {q.label.split("#", 1)[1]: q for q in read_squad(squad)[0]}
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, text = line.split("\t")
        original = originals[key]
        questions.append(Question(kind="english", question=text, source=original.source, label=key))
    return questions


def _dated_questions() -> list[Question]:
    """The questions over the hand-written dated documents (kind, question, answer, file)."""
    questions = []
    for number, line in enumerate((DATED_DOCS / "questions.tsv").read_text("utf-8").splitlines()):
        if not line.strip() or line.startswith("#"):
            continue
        kind, text, answer, name = line.split("\t")
        questions.append(
            Question(kind=kind, question=text, answer=answer, label=f"{name}:{number}")
        )
    return questions


def off_topic(part: str, same_genre: bool = False) -> list[Question]:
    """The off-topic questions of ``off-topic.tsv`` of one part (``fit`` or ``heldout``),
    Chinese and English: those sharing a word with a corpus included, those in the report's
    genre about another place or year alone with ``same_genre``."""
    questions = read_tsv_questions(QUESTIONS / "off-topic.tsv")
    wanted = {f"zh-{part}", f"en-{part}"}
    if same_genre:
        return [q for q in questions if q.kind.removesuffix("-same-genre") in wanted and
                q.kind.endswith("-same-genre")]  # fmt: skip
    return [q for q in questions if q.kind.removesuffix("-shares-words") in wanted]


def question_sets() -> Iterator[QuestionSet]:
    """Every set whose data is here (the shared evaluation files are skipped when absent)."""
    if DEV.is_file():
        dev = read_tsv_questions(DEV)
        yield QuestionSet("dev, keyword", "report", [q for q in dev if q.kind == "keyword"], False)
        yield QuestionSet(
            "dev, paraphrase", "report", [q for q in dev if q.kind == "paraphrase"], False
        )
        yield QuestionSet("dev, English", "report", [q for q in dev if q.question.isascii()], False)
    report = QUESTIONS / "report-questions.tsv"
    yield QuestionSet("report, English (fitted)", "report", _tsv(report, {"fitted-english"}), False)
    yield QuestionSet("report, English held out", "report", _tsv(report, {"heldout-english"}), True)
    yield QuestionSet("report, Chinese held out", "report", _tsv(report, {"heldout-chinese"}), True)
    yield QuestionSet(
        "report, off-topic held out", "report", _tsv(report, {"heldout-offtopic"}), True, False
    )
    held_off = off_topic("heldout")
    yield QuestionSet("off-topic held out (160), report", "report", held_off, True, False)
    time_dev, time_held = _alternate(_tsv(QUESTIONS / "leping-time.tsv"))
    yield QuestionSet("time, report (dev)", "report", time_dev, False)
    yield QuestionSet("time, report (held out)", "report", time_held, True)
    yield QuestionSet("time, other documents", "dated-docs", _dated_questions(), True)
    if CMRC.is_file():
        yield QuestionSet("CMRC 2018 dev", "cmrc", read_squad(CMRC)[0], False)
        yield QuestionSet(
            "CMRC, English (tune)", "cmrc", _translated(QUESTIONS / "cmrc-en.tsv", CMRC), False
        )
        yield QuestionSet(
            "CMRC, off-topic held out", "cmrc", _tsv(report, {"heldout-offtopic"}), True, False
        )
        yield QuestionSet("off-topic held out (160), CMRC", "cmrc", held_off, True, False)
    if DRCD.is_file():
        yield QuestionSet("DRCD test", "drcd", read_squad(DRCD)[0], True)
        yield QuestionSet(
            "DRCD, English held out", "drcd", _translated(QUESTIONS / "drcd-en.tsv", DRCD), True
        )
    zh_en = QUESTIONS / "zh-over-en.tsv"
    yield QuestionSet("English docs, Chinese (tune)", "english-docs", _tsv(zh_en, {"tune"}), False)
    yield QuestionSet(
        "English docs, Chinese held out", "english-docs", _tsv(zh_en, {"heldout"}), True
    )
    yield QuestionSet(
        "off-topic held out (160), English docs", "english-docs", held_off, True, False
    )


def corpus_files(corpus: str) -> list[Path]:
    """The files of a corpus built from files (``english-docs``, ``dated-docs``)."""
    folder = ENGLISH_DOCS if corpus == "english-docs" else DATED_DOCS
    return sorted(p for p in folder.iterdir() if p.suffix == ".md" and p.name != "README.md")


def squad_file(corpus: str) -> Path:
    """The SQuAD file of a contexts corpus (``cmrc``, ``drcd``)."""
    return CMRC if corpus == "cmrc" else DRCD


def describe(sets: list[QuestionSet]) -> str:
    """One line per set: name, corpus, count, held out or not (for the benchmark's log)."""
    return json.dumps(
        [(s.name, s.corpus, len(s.questions), s.held_out) for s in sets], ensure_ascii=False
    )
