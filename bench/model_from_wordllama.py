"""A static embedding model for the benchmarks, made from a package that ships one.

The machine that measures `bench/relevance.py` reaches PyPI but no model hub,
and gitdesk never downloads a model. The `wordllama` package (MIT) ships a
small static token-embedding model in its wheel (32,000 Llama-2 tokens x 256
dimensions, 16 MB); this script rewrites it as a model2vec directory, which
is what `search.model` expects:

    pip download --no-deps wordllama -d /tmp/wl
    python bench/model_from_wordllama.py /tmp/wl/wordllama-*.whl bench/out/wordllama-256
    python bench/relevance.py --model bench/out/wordllama-256

It is an English-trained model; a team would rather use a multilingual
model2vec model (docs/search.md says how to obtain one).

Usage: python bench/model_from_wordllama.py WHEEL OUTDIR
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    wheel, out = Path(sys.argv[1]), Path(sys.argv[2])
    import numpy as np
    from model2vec import StaticModel
    from safetensors.numpy import load
    from tokenizers import Tokenizer

    with zipfile.ZipFile(wheel) as archive:
        weights = load(archive.read("wordllama/weights/l2_supercat_256.safetensors"))
        tokenizer = Tokenizer.from_str(archive.read("wordllama/tokenizers/l2_supercat_tokenizer_config.json")
                                       .decode("utf-8"))
    vectors = weights["embedding.weight"].astype(np.float32)
    tokenizer.no_padding()
    tokenizer.no_truncation()
    model = StaticModel(vectors=vectors, tokenizer=tokenizer, normalize=True,
                        base_model_name="wordllama l2_supercat_256", language=["en"])
    model.save_pretrained(out)
    print(f"model2vec model written to {out} ({vectors.shape[0]} tokens x {vectors.shape[1]} dimensions)")


if __name__ == "__main__":
    main()
