"""The optional model layer of ``similar``: a pre-trained static embedding model.

A team that wants it puts a model2vec model directory somewhere (see
docs/search.md for how to obtain one) and names it in ``.gitdesk/config.yml``::

    search:
      model: models/potion-multilingual    # inside the desk, or an absolute path

Nothing is downloaded, ever: the directory must hold the model's files
(``model.safetensors``, ``tokenizer.json``, ``config.json``), model2vec is
told to stay offline, and a name that is not a directory is refused rather
than looked up on a hub. model2vec and numpy are imported only here, only
when a model is configured (``pip install 'gitdesk[semantic]'``).

A ticket's vector is computed the first time it is a candidate and kept in
the cache (``meaning_vectors``, keyed by the ticket's index row and the
model), so the model is paid for once per ticket.

Models differ in how alike they find any two texts: a model distilled from a
sentence-transformer puts two unrelated tickets at a cosine of 0.7 or more,
another near 0. The signal therefore counts from the model's **baseline** on
this desk (the mean cosine between its resolved tickets, from a sample kept
in the cache): 0 is "as alike as two tickets picked at random", 1 the same
text, so the fused weights and the threshold mean the same whatever model the
team names.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from gitdesk import paths
from gitdesk.cache import db
from gitdesk.desk import Desk
from gitdesk.errors import ConfigError

SETTING = "search.model"
REQUIRED = ("model.safetensors", "tokenizer.json")
TABLE = """
CREATE TABLE IF NOT EXISTS meaning_vectors (
    name TEXT NOT NULL, model TEXT NOT NULL, stamp TEXT NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY (name, model)
) WITHOUT ROWID;
"""
BASELINE_SAMPLE = 200  # resolved tickets whose mutual cosines give the baseline
FIX = "see docs/search.md to obtain a model, or remove search.model from .gitdesk/config.yml"


def _problem(message: str, hint: str = FIX) -> ConfigError:
    return ConfigError(f"{SETTING}: {message}", path=".gitdesk/config.yml", hint=hint)


def directory(desk: Desk) -> Path | None:
    """The configured model directory (relative to the desk and contained, or absolute), or None."""
    setting = desk.config.search.model
    if not setting:
        return None
    if os.path.isabs(setting):
        return Path(setting)
    try:
        return paths.inside(desk.root, setting.strip("/"))
    except Exception as error:  # an unsafe path: say which setting
        raise _problem(f"{setting!r} is not a folder inside the desk ({error})",
                       "give a folder inside the desk or an absolute path") from None


class Model:
    """A loaded model: ``encode`` gives unit-length float32 vectors."""

    def __init__(self, static: Any, key: str) -> None:
        self.static = static
        self.key = key

    def encode(self, texts: Sequence[str]) -> Any:
        import numpy as np

        vectors = np.asarray(self.static.encode(list(texts), show_progress_bar=False), dtype=np.float32)
        if vectors.ndim == 1:
            vectors = vectors[None, :]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return vectors / norms


def load(desk: Desk) -> Model | None:
    """The desk's model, or None when none is configured. A missing or broken model is
    a ConfigError naming the setting and the fix."""
    found = directory(desk)
    if found is None:
        return None
    shown = desk.config.search.model
    if not found.is_dir():
        raise _problem(f"no model directory at {shown}")
    missing = [name for name in REQUIRED if not (found / name).is_file()]
    if missing:
        raise _problem(f"{shown} is not a model2vec model (missing {', '.join(missing)})")
    stat = (found / "model.safetensors").stat()
    return _load(str(found), f"{stat.st_size}:{stat.st_mtime_ns}", shown or "")


@functools.lru_cache(maxsize=2)
def _load(path: str, version: str, shown: str) -> Model:
    try:
        from model2vec.model import StaticModel
    except ImportError:
        raise _problem("is set, but model2vec is not installed",
                       "pip install 'gitdesk[semantic]', or remove search.model") from None
    try:
        static = _read(Path(path), StaticModel)
    except Exception as error:  # the library's errors are many; each means "not a usable model"
        detail = " ".join(str(error).split())[:160] or type(error).__name__
        raise _problem(f"cannot load the model in {shown}: {detail}") from None
    key = hashlib.sha1(f"{os.path.realpath(path)}:{version}".encode()).hexdigest()[:16]
    return Model(static, key)


def _read(folder: Path, static_model: Any) -> Any:
    """A model2vec StaticModel from its folder. model2vec's own loader
    (``StaticModel.from_pretrained``) imports its Hub client first, a quarter of a
    second on every command; a local folder needs only the three files, read here
    as that loader reads them, and model2vec still does all the encoding. A folder
    this reader does not know (or an older model2vec) goes through the library's
    loader, told to stay offline."""
    import json

    import safetensors
    from tokenizers import Tokenizer

    try:
        with safetensors.safe_open(str(folder / "model.safetensors"), framework="numpy") as tensors:
            names = set(tensors.keys())
            found = {name: tensors.get_tensor(name) for name in ("embeddings", "weights", "mapping") if name in names}
        config_file = folder / "config.json"
        config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
        extra = {"weights": found.get("weights"), "token_mapping": found.get("mapping")}
        if "max_length" in config:
            extra["max_length"] = config["max_length"]
        return static_model(vectors=found["embeddings"], tokenizer=Tokenizer.from_file(str(folder / "tokenizer.json")),
                            config=config, normalize=bool(config.get("normalize", False)),
                            **{name: value for name, value in extra.items() if value is not None})
    except (KeyError, TypeError):  # another layout, or a model2vec that builds models otherwise
        pass
    saved = {name: os.environ.get(name) for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    os.environ.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})  # a local folder, never a hub
    try:
        return static_model.from_pretrained(str(folder))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def similarities(connection: sqlite3.Connection, model: Model, query: str,
                 candidates: Mapping[str, tuple[str, str]], baseline: float = 0.0) -> dict[str, float]:
    """Cosine of ``query`` with each candidate (name -> (stamp, text)), counted from
    ``baseline`` (see the module's doc) and 0 at worst; vectors of tickets are kept
    in the cache per model and index row."""
    import numpy as np

    connection.executescript(TABLE)
    names = list(candidates)
    stored: dict[str, Any] = {}
    for start in range(0, len(names), 500):
        chunk = names[start:start + 500]
        for name, stamp, blob in connection.execute(
                f"SELECT name, stamp, vector FROM meaning_vectors WHERE model = ? AND name IN "
                f"({','.join('?' * len(chunk))})", (model.key, *chunk)):
            if candidates[name][0] == stamp:
                stored[name] = np.frombuffer(blob, dtype=np.float32)
    missing = [name for name in names if name not in stored]
    if missing:
        fresh = model.encode([candidates[name][1] for name in missing])
        for name, vector in zip(missing, fresh, strict=True):
            stored[name] = vector
        connection.executemany("INSERT OR REPLACE INTO meaning_vectors VALUES (?, ?, ?, ?)",
                               [(name, model.key, candidates[name][0], stored[name].astype(np.float32).tobytes())
                                for name in missing])
    wanted = model.encode([query])[0]
    return {name: max(0.0, (float(np.dot(vector, wanted)) - baseline) / (1.0 - baseline))
            for name, vector in stored.items()}


def baseline(connection: sqlite3.Connection, model: Model, resolved: int,
             sample: Callable[[int], list[str]]) -> float:
    """The model's mean cosine between two of the desk's ``resolved`` tickets (texts from
    ``sample(n)``), kept in the cache and measured again once the desk has grown past
    the sample or doubled; 0 while fewer than two tickets are resolved."""
    import numpy as np

    key = f"model_baseline:{model.key}"
    try:
        text, seen_text = (db.get_meta(connection, key) or "").split(":")
        value, seen = float(text), int(seen_text)
    except ValueError:  # none kept yet, or a damaged value: measure it
        value, seen = 0.0, 0
    if 0.0 <= value <= 0.9 and resolved < 2 * seen and (resolved == seen or seen >= BASELINE_SAMPLE):
        return value
    texts = sample(BASELINE_SAMPLE)
    if len(texts) < 2:
        return 0.0
    vectors = model.encode(texts)
    count = len(vectors)
    total = vectors.sum(axis=0)
    # the mean over distinct pairs: |sum|^2 counts every pair twice and each vector once
    value = (float(np.dot(total, total)) - count) / (count * (count - 1))
    value = min(0.9, max(0.0, value))
    db.set_meta(connection, key, f"{value!r}:{resolved}")
    return value
