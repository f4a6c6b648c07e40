"""CMRC 2018 retrieval: build the index of its contexts once, then evaluate every mode and
a sweep of hybrid keyword weights (and a few alternative fusions) from the saved index.

    python benchmarks/cmrc_sweep.py                      # build (first run only) + evaluate
    python benchmarks/cmrc_sweep.py --build-only         # just build and save the index
    python benchmarks/cmrc_sweep.py --contexts 100       # a quick run on the first contexts

The index is saved under ``$QA_INDEX_ROOT`` or ``index/`` (git-ignored) as
``cmrc2018-dev`` (``cmrc2018-dev-N`` for a subset), with the build's time and peak memory
beside it in ``<name>.build.json``, and the question vectors in ``<name>.queries.npz``.
Embedding the 848 contexts and their sentence windows took 16 minutes on two quiet CPU
cores here (40 when they were busy), and embedding the 3,219 questions a few more; later
runs load both in seconds.

Mode figures come from the real ``Index.search`` (as ``qa eval`` runs it). The weight and
fusion sweep is computed from score matrices (every question against every passage, exact
inner products), which reproduce ``Index.search``'s hybrid ranking (at the default weight
the two agree to within a question or so: FAISS returns at most 1,000 passage candidates).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    CMRC_DEV,
    DEV_QUESTIONS,
    CachingEncoder,
    Stopwatch,
    format_table,
    peak_rss_mb,
    write_json,
)

import qa  # noqa: E402
from qa.chunking import search_key  # noqa: E402
from qa.encoders import DEFAULT_ENCODER, load_encoder  # noqa: E402
from qa.evaluation import CUTOFFS, Question, read_squad, read_tsv_questions, score  # noqa: E402
from qa.ingest import Document  # noqa: E402
from qa.question import MODES  # noqa: E402
from qa.ranking import min_max  # noqa: E402
from qa.store import is_index_folder  # noqa: E402

WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 1.0)


# ---- data and index ---------------------------------------------------------------------


def load_cmrc(
    path: Path = CMRC_DEV, contexts: int | None = None
) -> tuple[list[Question], list[Document]]:
    """CMRC questions and contexts; with ``contexts``, only the first N contexts and their
    questions."""
    questions, documents = read_squad(path)
    if contexts is not None:
        documents = documents[:contexts]
        kept = {d.source for d in documents}
        questions = [q for q in questions if q.source in kept]
    return questions, documents


def query_cache_file(folder: Path) -> Path:
    """Where the question vectors of an index folder's questions are kept between runs."""
    return folder.with_name(folder.name + ".queries.npz")


def default_folder(contexts: int | None, model: str = DEFAULT_ENCODER) -> Path:
    """Where the CMRC index is saved: ``<index root>/cmrc2018-dev[-N][-model]``."""
    name = "cmrc2018-dev" + (f"-{contexts}" if contexts else "")
    if model != DEFAULT_ENCODER:
        name += "-" + model.replace("/", "_")
    return qa.index_root() / name


def build_or_load(
    documents: Sequence[Document],
    folder: Path,
    model: str = DEFAULT_ENCODER,
    rebuild: bool = False,
    progress: bool = True,
) -> tuple[qa.Index, dict[str, Any] | None]:
    """Load the saved index in ``folder``, or build it from the documents and save it.

    Returns the index and, when it was built now, the build's measurements (also written to
    ``<folder>.build.json``).
    """
    if is_index_folder(folder) and not rebuild:
        return qa.Index.load(folder, model=model), None
    encoder = load_encoder(model)
    index = qa.Index(encoder)
    with Stopwatch() as clock:
        index.add_documents(documents, progress=progress)
    counts = index.manifest()["counts"]
    stats = {
        "model": model,
        "contexts": len(documents),
        "passages": counts["passages"],
        "texts": counts["passages"] + counts["windows"],
        "characters": sum(len(d.text) for d in documents),
        "seconds": round(clock.seconds, 1),
        "passages_per_s": round(counts["passages"] / clock.seconds, 2),
        "texts_per_s": round((counts["passages"] + counts["windows"]) / clock.seconds, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    index.save(folder)
    write_json(folder.with_name(folder.name + ".build.json"), stats)
    return index, stats


# ---- evaluating the real search ------------------------------------------------------------


def evaluate_modes(
    index: qa.Index,
    questions: Sequence[Question],
    modes: Sequence[str] = MODES,
    query_cache: Path | None = None,
) -> dict[str, dict[str, Any]]:
    """``qa.evaluation.score`` of each mode through ``Index.search``.

    The questions are embedded once, in batches (and kept in ``query_cache``, an .npz file,
    for later runs when given); the index's encoder is replaced by a caching wrapper.
    """
    if not isinstance(index.encoder, CachingEncoder):
        index.encoder = CachingEncoder(index.encoder)
    index.encoder.prefill([q.question for q in questions], query_cache)
    results = {}
    for mode in modes:

        def search(question: str, mode: str = mode) -> list[qa.Hit]:
            return index.search(question, k=10, mode=mode)

        results[mode] = score(questions, search)
    return results


# ---- score matrices ------------------------------------------------------------------------


@dataclass
class ScoreMatrices:
    """Every question's scores against every passage, and which passages answer it.

    ``paragraph`` is the passage-vector score, ``window`` the best sentence-window score
    (the passage-vector score where a passage has no windows), ``keyword`` the index's BM25.
    """

    keyword: np.ndarray
    paragraph: np.ndarray
    window: np.ndarray
    has_window: np.ndarray
    relevant: np.ndarray
    kinds: list[str]

    def dense(self, passage_share: float = 0.5) -> np.ndarray:
        """The dense score: ``passage_share`` × passage vector + the rest × best window."""
        mixed = passage_share * self.paragraph + (1 - passage_share) * self.window
        return np.where(self.has_window, mixed, self.paragraph)


def score_matrices(index: qa.Index, questions: Sequence[Question]) -> ScoreMatrices:
    """Compute keyword, passage-vector and best-window scores of all questions exactly."""
    contents = index._contents  # a measuring tool may look inside
    passages = contents.passages
    texts = [q.question for q in questions]
    query = np.concatenate(
        [index.encoder.encode_queries(texts[i : i + 64]) for i in range(0, len(texts), 64)]
    )
    paragraph_vectors = contents.paragraph_vectors.reconstruct_n(0, len(passages))
    paragraph = query @ paragraph_vectors.T
    window = paragraph.copy()
    has_window = np.zeros(len(passages), dtype=bool)
    windows = contents.windows
    if len(windows):
        window_vectors = contents.window_vectors.reconstruct_n(0, len(windows))
        per_window = query @ window_vectors.T
        rows = windows[:, 0]
        order = np.argsort(rows, kind="stable")
        sorted_rows = rows[order]
        starts = np.flatnonzero(np.r_[True, sorted_rows[1:] != sorted_rows[:-1]])
        best = np.maximum.reduceat(per_window[:, order], starts, axis=1)
        window[:, sorted_rows[starts]] = best
        has_window[sorted_rows[starts]] = True
    keyword = np.stack([contents.keyword.scores(t) for t in texts])
    relevant = np.zeros((len(questions), len(passages)), dtype=bool)
    keys = [search_key(p.text) for p in passages]
    for i, question in enumerate(questions):
        if question.source:
            relevant[i] = [p.source == question.source for p in passages]
        else:
            answer = search_key(question.answer)
            relevant[i] = [answer in key for key in keys]
    return ScoreMatrices(
        keyword=keyword,
        paragraph=paragraph,
        window=window,
        has_window=np.broadcast_to(has_window, paragraph.shape),
        relevant=relevant,
        kinds=[q.kind for q in questions],
    )


def rank_metrics(scores: np.ndarray, relevant: np.ndarray) -> dict[str, float]:
    """R@1/3/5/10 and MRR@10 of a (questions × passages) score matrix."""
    top = np.argsort(-scores, axis=1, kind="stable")[:, :10]
    hit = np.take_along_axis(relevant, top, axis=1)
    first = np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, 0)
    result = {f"R@{c}": float(((first > 0) & (first <= c)).mean()) for c in CUTOFFS}
    result["MRR@10"] = float(np.where(first > 0, 1.0 / np.maximum(first, 1), 0.0).mean())
    return result


def _rowwise(function: Callable[[np.ndarray], np.ndarray], matrix: np.ndarray) -> np.ndarray:
    return np.stack([function(row) for row in matrix])


def z_score(scores: np.ndarray) -> np.ndarray:
    """Scores standardised to mean 0 and standard deviation 1 (zeros when all equal)."""
    spread = scores.std()
    return (scores - scores.mean()) / spread if spread > 1e-12 else np.zeros_like(scores)


def rrf(*rankings: np.ndarray, k: int = 60) -> np.ndarray:
    """Reciprocal-rank fusion of score matrices (rows are questions)."""
    fused = np.zeros_like(rankings[0], dtype=np.float64)
    for scores in rankings:
        order = np.argsort(-scores, axis=1, kind="stable")
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.arange(1, scores.shape[1] + 1)[None, :], axis=1)
        fused += 1.0 / (k + ranks)
    return fused


def convex(keyword: np.ndarray, dense: np.ndarray, weight: float, norm=min_max) -> np.ndarray:
    """``weight`` × norm(keyword) + (1 − weight) × norm(dense), row by row."""
    return weight * _rowwise(norm, keyword) + (1 - weight) * _rowwise(norm, dense)


def fusion_table(
    matrices: ScoreMatrices, weights: Sequence[float] = WEIGHTS
) -> list[tuple[str, dict[str, float]]]:
    """Metrics of the hybrid weight sweep and of alternative fusions, as (name, metrics)."""
    m = matrices
    dense = m.dense()
    rows: list[tuple[str, dict[str, float]]] = []
    for weight in weights:
        rows.append(
            (f"hybrid w={weight:.1f}", rank_metrics(convex(m.keyword, dense, weight), m.relevant))
        )
    rows.append(("dense: passage vector only", rank_metrics(m.paragraph, m.relevant)))
    rows.append(("dense: best window only", rank_metrics(m.window, m.relevant)))
    rows.append(("RRF(keyword, dense) k=60", rank_metrics(rrf(m.keyword, dense), m.relevant)))
    for weight in (0.3, 0.4, 0.5):
        rows.append(
            (
                f"z-score convex w={weight:.1f}",
                rank_metrics(convex(m.keyword, dense, weight, z_score), m.relevant),
            )
        )
    return rows


SHARES = (0.0, 0.25, 0.5, 0.75, 1.0)


def grid(
    matrices: ScoreMatrices,
    weights: Sequence[float] = WEIGHTS[1:-1],
    shares: Sequence[float] = SHARES,
) -> dict[tuple[float, float], dict[str, dict[str, float]]]:
    """Hybrid metrics (by kind) over keyword weight × passage-vector share of the dense score.

    The passage share is the weight of the passage's own vector against its best sentence
    window in the dense score (``Index`` uses 0.5).
    """
    result = {}
    for share in shares:
        dense = matrices.dense(share)
        for weight in weights:
            result[(weight, share)] = by_kind(matrices, convex(matrices.keyword, dense, weight))
    return result


def grid_table(
    cells: dict[tuple[float, float], dict[str, dict[str, float]]],
    cell: Callable[[dict[str, dict[str, float]]], str],
) -> str:
    """A table of the grid: rows are keyword weights, columns passage shares."""
    weights = sorted({w for w, _ in cells})
    shares = sorted({s for _, s in cells})
    rows = [[f"w={w:.1f}"] + [cell(cells[(w, s)]) for s in shares] for w in weights]
    return format_table(["keyword weight"] + [f"passage share {s:g}" for s in shares], rows)


def by_kind(matrices: ScoreMatrices, scores: np.ndarray) -> dict[str, dict[str, float]]:
    """Metrics per question kind (plus ``overall``)."""
    kinds = np.array(matrices.kinds)
    result = {"overall": rank_metrics(scores, matrices.relevant)}
    for kind in sorted(set(matrices.kinds)):
        mask = kinds == kind
        result[kind] = rank_metrics(scores[mask], matrices.relevant[mask])
    return result


# ---- the script ----------------------------------------------------------------------------


def _metric_row(name: str, metrics: dict[str, Any]) -> list[Any]:
    return [name] + [metrics[f"R@{c}"] for c in CUTOFFS] + [metrics["MRR@10"]]


HEADERS = ["method"] + [f"R@{c}" for c in CUTOFFS] + ["MRR@10"]


def main(argv: Sequence[str] | None = None) -> int:
    """Build (once) and evaluate the CMRC 2018 index; print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=Path, default=CMRC_DEV)
    parser.add_argument("--contexts", type=int, help="use only the first N contexts")
    parser.add_argument("--model", default=DEFAULT_ENCODER)
    parser.add_argument("--index", type=Path, help="index folder (default: index/cmrc2018-dev)")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--no-dev", action="store_true", help="skip the Leping dev-set sweep")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)

    questions, documents = load_cmrc(args.questions, args.contexts)
    folder = args.index or default_folder(args.contexts, args.model)
    print(f"CMRC: {len(documents)} contexts, {len(questions)} questions; index {folder}")
    index, stats = build_or_load(documents, folder, args.model, args.rebuild)
    if stats:
        print(format_table(list(stats), [list(stats.values())]))
    if args.build_only:
        return 0
    report: dict[str, Any] = {"build": stats}

    with Stopwatch() as clock:
        modes = evaluate_modes(index, questions, query_cache=query_cache_file(folder))
    print(
        f"\n## CMRC 2018 through Index.search ({len(questions)} questions, {clock.seconds:.0f} s)"
    )
    print(format_table(HEADERS, [_metric_row(m, r["overall"]) for m, r in modes.items()]))
    report["modes"] = modes

    matrices = score_matrices(index, questions)
    sweep = fusion_table(matrices)
    print("\n## CMRC 2018: keyword-weight sweep and alternative fusions (score matrices)")
    print(format_table(HEADERS, [_metric_row(n, r) for n, r in sweep]))
    report["sweep"] = dict(sweep)
    cmrc_grid = grid(matrices)
    print("\n## CMRC 2018: hybrid R@1 / MRR@10 by keyword weight and passage share of dense")
    print(
        grid_table(cmrc_grid, lambda m: f"{m['overall']['R@1']:.3f} / {m['overall']['MRR@10']:.3f}")
    )
    report["grid"] = {f"w={w} share={s}": m for (w, s), m in cmrc_grid.items()}

    if not args.no_dev and DEV_QUESTIONS.is_file():
        dev_questions = read_tsv_questions(DEV_QUESTIONS)
        dev_index = qa.default_index()
        dev = score_matrices(dev_index, dev_questions)
        print("\n## Leping dev set: the same sweep, by kind")
        rows = []
        dense = dev.dense()
        for weight in WEIGHTS:
            kinds = by_kind(dev, convex(dev.keyword, dense, weight))
            rows.append(
                [f"hybrid w={weight:.1f}"]
                + [kinds[k][c] for k in ("keyword", "paraphrase") for c in ("R@1", "R@5", "MRR@10")]
            )
        print(
            format_table(
                ["method"]
                + [f"{k} {c}" for k in ("keyword", "paraphrase") for c in ("R@1", "R@5", "MRR")],
                rows,
            )
        )
        report["dev_sweep"] = rows
        dev_grid = grid(dev)
        print("\n## Leping dev set: keyword R@1 / paraphrase R@1 / overall MRR@10, same grid")
        print(
            grid_table(
                dev_grid,
                lambda m: (
                    f"{m['keyword']['R@1']:.3f} / {m['paraphrase']['R@1']:.3f} / "
                    f"{m['overall']['MRR@10']:.3f}"
                ),
            )
        )
        report["dev_grid"] = {f"w={w} share={s}": m for (w, s), m in dev_grid.items()}
    if args.json:
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
