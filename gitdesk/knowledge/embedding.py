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

import array
import functools
import hashlib
import itertools
import math
import operator
import os
import re
import sqlite3
import struct
import sys
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from gitdesk import paths
from gitdesk.cache import db
from gitdesk.desk import Desk
from gitdesk.errors import ConfigError, UnsafePath

SETTING = "search.model"
REQUIRED = ("model.safetensors", "tokenizer.json")
TABLE = """
CREATE TABLE IF NOT EXISTS meaning_vectors (
    name TEXT NOT NULL, model TEXT NOT NULL, stamp TEXT NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY (name, model)
) WITHOUT ROWID;
"""
BASELINE_SAMPLE = 200  # resolved tickets whose mutual cosines give the baseline
FEW = 20  # below this many resolved tickets, UNRELATED joins the sample
UNRELATED = [
    "The quarterly budget review moved to Thursday afternoon.",
    "Please water the plants on the third floor while I am away.",
    "Our delivery van needs new winter tyres before December.",
    "Can someone explain the new parental leave policy?",
    "The conference room projector shows everything in green.",
    "My expense report for the Berlin trip was rejected.",
    "The parking garage gate does not open with my badge.",
    "The coffee machine on the second floor leaks water.",
    "Der Drucker im Flur druckt nur leere Seiten.",
    "La réunion du comité est reportée à la semaine prochaine.",
    "El servidor de correo rechaza los archivos adjuntos grandes.",
    "My laptop battery is empty within an hour.",
    "The website still shows last year's opening hours.",
    "Please add Maria to the sales newsletter list.",
    "A customer asks whether invoices can be sent by post.",
    "The VPN disconnects every few minutes when I work from home.",
]
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
    relative = "/".join(part for part in setting.split("/") if part not in ("", "."))  # "./models/m" too
    try:
        return paths.inside(desk.root, relative)
    except UnsafePath as error:
        # A link inside the desk may have come with a pull request; the team names a folder
        # elsewhere by its absolute path, deliberately.
        current = desk.root
        for part in relative.split("/"):
            current = current / part
            if current.is_symlink():
                shown = current.relative_to(desk.root).as_posix()
                real = os.path.realpath(desk.root / relative)
                raise _problem(f"{shown} is a symbolic link, and gitdesk follows none inside the desk",
                               f"name the folder by its absolute path: model: {real}") from None
        raise _problem(f"{setting!r} {error.message}", "give a folder inside the desk or an absolute path") from None


class Model:
    """A loaded model. ``query`` encodes one text in plain Python (a command pays for
    neither numpy nor model2vec, a third of a second of imports, when the desk's
    vectors are already kept); ``encode`` encodes tickets through model2vec. Both
    give unit-length vectors (zero for a text of unknown tokens only)."""

    def __init__(self, folder: Path, key: str) -> None:
        self.folder = folder
        self.key = key
        self.reader = _Reader(folder)

    @functools.cached_property
    def static(self) -> Any:
        from model2vec.model import StaticModel

        return _read(self.folder, StaticModel, self.reader)

    def encode(self, texts: Sequence[str]) -> Any:
        import numpy as np

        try:
            vectors = np.asarray(self.static.encode(list(texts), show_progress_bar=False), dtype=np.float32)
        except Exception as error:  # loaded, yet model2vec cannot use it: the model's fault, said in one line
            raise _problem(f"cannot encode with the model in {self.folder}: {_detail(error)}") from None
        if vectors.ndim != 2 or vectors.shape[1] != self.reader.embeddings.width:
            raise _problem(f"the model in {self.folder} gives vectors of shape {vectors.shape}")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return vectors / norms

    def query(self, text: str) -> array.array[float]:
        # Undecodable bytes from the command line arrive as lone surrogates, which the
        # tokenizer refuses; ticket text is UTF-8 already.
        text = text.encode("utf-8", "replace").decode("utf-8")
        try:
            return self.reader.vector(text)
        except Exception as error:  # the tokenizer's errors are bare Exceptions: the model's fault, one line
            raise _problem(f"cannot encode with the model in {self.folder}: {_detail(error)}") from None


def _detail(error: Exception) -> str:
    """A library's error on one short line."""
    return " ".join(str(error).split())[:160] or type(error).__name__


_FLOATS = {"F64": "d", "F32": "f", "F16": "e", "I8": "b"}
_INTEGERS = {"I64": "q", "I32": "i"}


class _Tensor:
    """One tensor of a safetensors file, read a row at a time with ``pread`` (not mapped
    into memory: a model rewritten while a command runs is then a short read, an error,
    not a crash)."""

    def __init__(self, file: int, size: int, entry: Any, base: int, kinds: Mapping[str, str],
                 dimensions: int) -> None:
        if not isinstance(entry, dict) or entry.get("dtype") not in kinds:
            raise ValueError(f"tensors of type {entry.get('dtype') if isinstance(entry, dict) else entry!r} "
                             "are not supported")
        shape, offsets = entry.get("shape"), entry.get("data_offsets")
        if not isinstance(shape, list) or len(shape) != dimensions or not all(type(n) is int and n > 0 for n in shape):
            raise ValueError(f"a tensor of shape {shape} where {dimensions} dimension(s) belong")
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(type(n) is int for n in offsets):
            raise ValueError(f"a tensor's data_offsets {offsets!r} are not two whole numbers")
        self.rows, self.width = shape[0], (shape[1] if len(shape) == 2 else 1)
        code = kinds[entry["dtype"]]
        self.stride = self.width * struct.calcsize(code)
        start, end = offsets
        if not 0 <= start <= end or end - start != self.rows * self.stride or base + end > size:
            raise ValueError("a tensor does not fit the file")
        self.file, self.start, self.span, self.code = file, base + start, (start, end), code
        self.format = f"<{self.width}{code}"

    def row(self, at: int) -> tuple[float, ...]:
        return self.values(at, 1)

    def values(self, first: int, count: int) -> tuple[float, ...]:
        """Rows ``first`` to ``first + count - 1``, flattened, in one read."""
        if first < 0 or first + count > self.rows:
            raise ValueError(f"token {first if first < 0 else first + count - 1} has no vector")
        data = os.pread(self.file, count * self.stride, self.start + first * self.stride)
        if len(data) != count * self.stride:
            raise ValueError("the model file is shorter than it was (rewritten while in use?)")
        return struct.unpack(self.format if count == 1 else f"<{count * self.width}{self.code}", data)

    def finite(self, rows: Iterable[int]) -> bool:
        return all(math.isfinite(value) for at in rows for value in self.row(at))


class _Reader:
    """A model2vec folder read as model2vec reads it (tokenizer.json, config.json and the
    embeddings, weights and mapping of model.safetensors), to encode one text the way
    ``StaticModel.encode`` does: the text cut to ``max_length`` times the median token
    length, tokenized without special tokens and cut to ``max_length`` tokens, unknown
    tokens dropped, the (weighted) vectors averaged."""

    def __init__(self, folder: Path) -> None:
        import json

        from tokenizers import Tokenizer

        config_file = folder / "config.json"
        config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
        if not isinstance(config, dict):
            raise ValueError("config.json is not a mapping")
        self.config: dict[str, Any] = config
        self.max_length = config.get("max_length", 512)  # model2vec's default
        if self.max_length is not None and (type(self.max_length) is not int or self.max_length < 1):
            raise ValueError(f"config.json: max_length {self.max_length!r} is not a positive whole number")
        text = (folder / "tokenizer.json").read_text(encoding="utf-8")
        self.tokenizer = Tokenizer.from_str(text)
        self.tokenizer.no_padding()
        if self.max_length is None:
            self.tokenizer.no_truncation()
        else:
            self.tokenizer.enable_truncation(self.max_length)
        # open while the model is (two at most are kept loaded); closed with it
        file = os.open(folder / "model.safetensors", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        weakref.finalize(self, os.close, file)
        total = os.fstat(file).st_size
        head = os.pread(file, 8, 0)
        size = struct.unpack("<Q", head)[0] if len(head) == 8 else total
        if size > total - 8:
            raise ValueError("model.safetensors is not a safetensors file")
        header = json.loads(os.pread(file, size, 8))
        if not isinstance(header, dict) or "embeddings" not in header:
            raise ValueError("model.safetensors holds no embeddings")
        self.embeddings = _Tensor(file, total, header["embeddings"], 8 + size, _FLOATS, 2)
        self.weights = _Tensor(file, total, header["weights"], 8 + size, _FLOATS, 1) if "weights" in header else None
        self.mapping = (_Tensor(file, total, header["mapping"], 8 + size, _INTEGERS, 1) if "mapping" in header
                        else None)
        spans = sorted(tensor.span for tensor in (self.embeddings, self.weights, self.mapping) if tensor)
        if any(end > start for (_, end), (start, _) in itertools.pairwise(spans)):
            raise ValueError("its tensors overlap")
        tokens = self.tokenizer.get_vocab_size(with_added_tokens=True)
        if self.mapping is None and tokens != self.embeddings.rows:
            raise ValueError(f"{tokens} tokens but {self.embeddings.rows} vectors")
        step = max(1, self.embeddings.rows // 64)  # a sample: a broken export is broken throughout
        if not self.embeddings.finite(range(0, self.embeddings.rows, step)) or (
                self.weights is not None and not all(map(math.isfinite, self.weights.values(0, self.weights.rows)))):
            raise ValueError("its vectors hold values that are not numbers (NaN or infinity)")
        self.unknown = _unknown_token(self.tokenizer, text)

    @functools.cached_property
    def median_token(self) -> int:
        import statistics

        return int(statistics.median(len(token) for token in self.tokenizer.get_vocab(with_added_tokens=True)))

    def vector(self, text: str) -> array.array[float]:
        if self.max_length is not None and len(text) > self.max_length:  # else shorter than any cut
            text = text[:self.max_length * self.median_token]
        ids = [at for at in self.tokenizer.encode(text, add_special_tokens=False).ids if at != self.unknown]
        total = [0.0] * self.embeddings.width
        for at in ids:
            row = self.embeddings.row(int(self.mapping.row(at)[0]) if self.mapping else at)
            if self.weights is not None:
                weight = self.weights.row(at)[0]
                row = tuple(value * weight for value in row)
            total = list(map(operator.add, total, row))
        norm = math.sqrt(sum(value * value for value in total))  # the mean's direction is the sum's
        if not 0 < norm < math.inf:  # nothing known, or rows the sample let through that are not numbers
            return array.array("f", [0.0] * self.embeddings.width)
        return array.array("f", (value / norm for value in total))


# Only an object's key can read "unk_id": followed by a colon (a string holding it escapes
# its quotes), and only a Unigram model has that key.
_UNIGRAM_UNKNOWN = re.compile(r'"unk_id"\s*:\s*(null|\d+)')


def _unknown_token(tokenizer: Any, text: str) -> int | None:
    """The id model2vec drops from every text (the tokenizer's unknown token), as it finds it.
    A Unigram model keeps it in its file only; the file is searched for it rather than
    parsed again (a multilingual vocabulary of 250,000 pieces takes 0.15 s to parse)."""
    model = tokenizer.model
    if hasattr(model, "unk_token"):  # WordPiece, BPE, WordLevel
        return None if model.unk_token is None else tokenizer.token_to_id(model.unk_token)
    found = _UNIGRAM_UNKNOWN.search(text)
    return None if found is None or found.group(1) == "null" else int(found.group(1))


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
    # Kept vectors belong to this exact model: a changed tokenizer or config is another one.
    version = ":".join(f"{stat.st_size}:{stat.st_mtime_ns}" for stat in (
        (found / name).stat() for name in ("model.safetensors", "tokenizer.json", "config.json")
        if (found / name).exists()))
    return _load(str(found), version, shown or "")


@functools.lru_cache(maxsize=2)
def _load(path: str, version: str, shown: str) -> Model:
    import importlib.util

    if importlib.util.find_spec("model2vec") is None:
        raise _problem("is set, but model2vec is not installed",
                       "pip install 'gitdesk[semantic]', or remove search.model")
    key = hashlib.sha1(f"{os.path.realpath(path)}:{version}".encode()).hexdigest()[:16]
    try:
        return Model(Path(path), key)
    except Exception as error:  # the libraries' errors are many; each means "not a usable model"
        raise _problem(f"cannot load the model in {shown}: {_detail(error)}") from None


def _read(folder: Path, static_model: Any, reader: _Reader) -> Any:
    """A model2vec StaticModel from its folder. model2vec's own loader
    (``StaticModel.from_pretrained``) imports its Hub client first, a quarter of a
    second on every command; a local folder needs only the three files, read here
    as that loader reads them (the tokenizer and config as ``reader`` already read
    them; model2vec copies the tokenizer and sets its own cuts), and model2vec still
    does all the encoding. A folder this reader does not know (or an older model2vec)
    goes through the library's loader, told to stay offline."""
    import safetensors

    try:
        with safetensors.safe_open(str(folder / "model.safetensors"), framework="numpy") as tensors:
            names = set(tensors.keys())
            found = {name: tensors.get_tensor(name) for name in ("embeddings", "weights", "mapping") if name in names}
        config = reader.config
        extra = {"weights": found.get("weights"), "token_mapping": found.get("mapping")}
        if "max_length" in config:
            extra["max_length"] = config["max_length"]
        # gitdesk normalises every vector itself; one fixed value keeps model2vec from
        # logging that a config's own (say "no") was overridden
        return static_model(vectors=found["embeddings"], tokenizer=reader.tokenizer,
                            config={**config, "normalize": True}, normalize=True,
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
    in the cache per model and index row, so a warm query imports no numpy."""
    connection.executescript(TABLE)
    names = list(candidates)
    stored: dict[str, array.array[float]] = {}
    for start in range(0, len(names), 500):
        chunk = names[start:start + 500]
        for name, stamp, blob in connection.execute(
                f"SELECT name, stamp, vector FROM meaning_vectors WHERE model = ? AND name IN "
                f"({','.join('?' * len(chunk))})", (model.key, *chunk)):
            vector = _floats(blob, model.reader.embeddings.width) if candidates[name][0] == stamp else None
            if vector is not None:  # else stale or damaged (the cache is disposable): encoded again
                stored[name] = vector
    missing = [name for name in names if name not in stored]
    if missing:
        fresh = model.encode([candidates[name][1] for name in missing])
        rows = [(name, model.key, candidates[name][0], vector.astype("<f4").tobytes())
                for name, vector in zip(missing, fresh, strict=True)]
        connection.executemany("INSERT OR REPLACE INTO meaning_vectors VALUES (?, ?, ?, ?)", rows)
        stored.update((name, _floats(blob, len(blob) // 4) or array.array("f")) for name, _, _, blob in rows)
    wanted = model.query(query)
    return {name: max(0.0, (sum(map(operator.mul, vector, wanted)) - baseline) / (1.0 - baseline))
            for name, vector in stored.items() if len(vector) == len(wanted)}


def _floats(blob: object, width: int) -> array.array[float] | None:
    """A kept vector, or None unless it is ``width`` floats of unit length (or all zero, a
    text of unknown tokens only)."""
    if not isinstance(blob, bytes) or len(blob) != 4 * width:
        return None
    found = array.array("f")
    found.frombytes(blob)
    if sys.byteorder == "big":  # kept little-endian, as numpy's "<f4" writes them
        found.byteswap()
    length = sum(value * value for value in found)
    return found if length == 0 or abs(length - 1.0) < 1e-3 else None  # NaN fails both


def baseline(connection: sqlite3.Connection, model: Model, resolved: int,
             sample: Callable[[int], list[str]]) -> float:
    """The model's mean cosine between two of the desk's ``resolved`` tickets (texts from
    ``sample(n)``), kept in the cache and measured again once the desk has grown past
    the sample or doubled; on a desk with few resolved tickets, a fixed set of unrelated
    requests is measured with them (one ticket alone tells nothing)."""
    key = f"model_baseline:{model.key}"
    try:
        text, seen_text = (db.get_meta(connection, key) or "").split(":")
        value, seen = float(text), int(seen_text)
    except ValueError:  # none kept yet, or a damaged value: measure it
        value, seen = 0.0, 0
    if 0.0 <= value <= 0.9 and resolved < 2 * seen and (resolved == seen or seen >= BASELINE_SAMPLE):
        return value
    import numpy as np

    texts = sample(BASELINE_SAMPLE)
    if len(texts) < FEW:  # too few to tell: unrelated requests in several languages help
        texts += UNRELATED
    vectors = model.encode(texts)
    vectors = vectors[np.linalg.norm(vectors, axis=1) > 0.5]  # a text of unknown tokens only tells nothing
    count = len(vectors)
    if count < 2:
        return 0.0
    total = vectors.sum(axis=0)
    # the mean over distinct pairs: |sum|^2 counts every pair twice and each (unit) vector once
    value = (float(np.dot(total, total)) - count) / (count * (count - 1))
    value = min(0.9, max(0.0, value))
    db.set_meta(connection, key, f"{value!r}:{resolved}")
    return value
