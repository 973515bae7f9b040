"""Write a linear Git history straight into a pack, for generated benchmark desks.

``git fast-import`` writes and hashes each commit's trees and searches a delta
for each; with 100,000 files in one directory that is some 0.1 s a commit.
Here each directory's entries stay sorted in memory, each new tree is
serialised and hashed once, and a large tree is stored as a delta made from
what is known to have changed since its base: copy the unchanged runs, insert
the changed entries. Chains stay short, so Git reads the trees quickly: every
FULL-th version of a directory is stored whole, every MIDDLE-th as a delta
against that one, the others as deltas against the last middle one (depth 2).
Blobs and commits are stored whole.

Hashing a 5 MB tree each commit would still cost minutes over 100,000 commits,
so the SHA-1 state after the tree's header and its first entries is kept, and
only the entries from just before the first changed one are hashed again (the
changes are nearly always among the last tickets, which sort last). The index
(.idx) is written here too: ``git index-pack`` would inflate and hash every
version of every tree again, some 17 ms each for 100,000 entries here: half an
hour for 100,000 commits. On small desks its index is byte for byte this one.

Commits are byte for byte what fast-import writes for the same input. Only
what the generator needs: files are added or changed, never removed, and are
all regular (100644) files.

The format: https://git-scm.com/docs/gitformat-pack
"""

from __future__ import annotations

import hashlib
import os
import zlib
from bisect import bisect_left
from itertools import accumulate
from pathlib import Path

COMMIT, TREE, BLOB, OFS_DELTA = 1, 2, 3, 6
NAMES = {COMMIT: b"commit", TREE: b"tree", BLOB: b"blob"}
FULL = 2000  # versions of a large directory between whole trees
MIDDLE = 50  # versions between middle levels (each a delta against the last whole tree)
SMALL = 1024  # bytes: a tree this small is always stored whole
MARGIN = 1000  # entries before the first changed one hashed again with it (see Directory.tree_id)


def object_id(kind: int, data: bytes) -> bytes:
    digest = hashlib.sha1(b"%s %d\0" % (NAMES[kind], len(data)))
    digest.update(data)
    return digest.digest()


def size_bytes(size: int) -> bytes:
    """The pack's "size encoding": 7 bits a byte, least significant first, MSB set while more follow."""
    out = bytearray()
    while size > 127:
        out.append(128 | size & 127)
        size >>= 7
    out.append(size)
    return bytes(out)


def object_header(kind: int, size: int) -> bytes:
    """Type and inflated size: 4 bits of the size in the first byte, then 7 a byte."""
    first = kind << 4 | size & 15
    size >>= 4
    return bytes([first | 128]) + size_bytes(size) if size else bytes([first])


def offset_bytes(distance: int) -> bytes:
    """An OFS_DELTA's distance back to its base: 7 bits a byte, most significant first, each
    byte but the last with its MSB set, and every byte after the first counting one more."""
    out = [distance & 127]
    distance >>= 7
    while distance:
        distance -= 1
        out.append(128 | distance & 127)
        distance >>= 7
    return bytes(reversed(out))


def copy(out: bytearray, offset: int, size: int) -> None:
    """Delta instructions copying base[offset:offset + size], 64 KiB at most each (as Git writes them)."""
    while size:
        step = min(size, 0x10000)
        command, args = 0x80, bytearray()
        for bit, byte in enumerate((*offset.to_bytes(4, "little"), *step.to_bytes(3, "little"))):
            if byte:
                command |= 1 << bit
                args.append(byte)
        out += bytes([command]) + args
        offset += step
        size -= step


def insert(out: bytearray, data: bytes) -> None:
    """Delta instructions inserting ``data``, 127 bytes at most each."""
    for start in range(0, len(data), 127):
        chunk = data[start:start + 127]
        out += bytes([len(chunk)]) + chunk


class Base:
    """A version of a directory's tree in the pack that later versions are deltas against."""

    def __init__(self, keys: list[str], entries: list[bytes], at: int) -> None:
        self.keys = list(keys)
        self.offsets = list(accumulate(map(len, entries), initial=0))
        self.size = self.offsets[-1]
        self.at = at  # its offset in the pack
        self.changed: set[str] = set()  # keys set since

    def delta(self, keys: list[str], entries: list[bytes], size: int) -> bytes:
        """Copy each run of entries unchanged since this base, insert the others."""
        out = bytearray(size_bytes(self.size) + size_bytes(size))
        start = 0
        for position in [*sorted(bisect_left(keys, key) for key in self.changed), len(keys)]:
            if position > start:  # entries[start:position] are in the base too, and together
                first = bisect_left(self.keys, keys[start])
                copy(out, self.offsets[first], self.offsets[first + position - start] - self.offsets[first])
            if position < len(keys):
                insert(out, entries[position])
            start = position + 1
        return bytes(out)


class Directory:
    """One directory's entries, sorted in Git's tree order (a subdirectory's name counts a trailing '/')."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.entries: list[bytes] = []
        self.size = 0  # of the tree: the entries' bytes
        self.hashed: tuple[bytes, int, hashlib._Hash] = (b"", 0, hashlib.sha1())  # header, entries, state
        self.low = 0  # the first entry changed since that state
        self.versions = 0
        self.full: Base | None = None
        self.middle: Base | None = None

    def set(self, name: str, mode: str, sha: bytes) -> None:
        key = name + "/" if mode == "40000" else name
        entry = f"{mode} {name}".encode() + b"\0" + sha
        at = bisect_left(self.keys, key)
        if at < len(self.keys) and self.keys[at] == key:
            self.size -= len(self.entries[at])
            self.entries[at] = entry
        else:
            self.keys.insert(at, key)
            self.entries.insert(at, entry)
        self.size += len(entry)
        self.low = min(self.low, at)
        for base in (self.full, self.middle):
            if base is not None:
                base.changed.add(key)

    def tree_id(self) -> bytes:
        """The id of the tree as it is now, hashing again only what may have changed since the last time."""
        header = b"tree %d\0" % self.size
        kept_header, kept, state = self.hashed
        if header != kept_header or self.low < kept:  # start again, keeping the state before the change
            kept = max(0, self.low - MARGIN)
            state = hashlib.sha1(header)
            state.update(b"".join(self.entries[:kept]))
            self.hashed = (header, kept, state)
        self.low = len(self.entries)
        digest = state.copy()
        digest.update(b"".join(self.entries[kept:]))
        return digest.digest()


class Pack:
    """Objects appended to a pack file, each once, then its index."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = open(path, "wb")  # noqa: SIM115 - closed by finish()
        self.file.write(b"PACK" + (2).to_bytes(4, "big") + bytes(4))  # the count is filled in at the end
        self.offset = 12
        self.objects: dict[bytes, tuple[int, int]] = {}  # id: (offset, CRC-32 of the packed object)

    def _write(self, sha: bytes, head: bytes, data: bytes) -> int:
        at = self.offset
        record = head + zlib.compress(data)
        self.file.write(record)
        self.offset += len(record)
        self.objects[sha] = (at, zlib.crc32(record))
        return at

    def add(self, kind: int, data: bytes, sha: bytes) -> int:
        return self._write(sha, object_header(kind, len(data)), data)

    def add_delta(self, base: Base, delta: bytes, sha: bytes) -> int:
        return self._write(sha, object_header(OFS_DELTA, len(delta)) + offset_bytes(self.offset - base.at), delta)

    def finish(self) -> bytes:
        """Fill in the object count, append the checksum of everything before it, write the index
        (version 2) beside the pack; the checksum."""
        self.file.seek(8)
        self.file.write(len(self.objects).to_bytes(4, "big"))
        self.file.close()
        digest = hashlib.sha1()
        with open(self.path, "rb") as file:
            while chunk := file.read(1 << 20):
                digest.update(chunk)
        checksum = digest.digest()
        with open(self.path, "ab") as file:
            file.write(checksum)
        names = sorted(self.objects)
        fanout = [0] * 256
        for name in names:
            fanout[name[0]] += 1
        offsets, large = bytearray(), bytearray()
        for name in names:
            at = self.objects[name][0]
            if at >= 1 << 31:  # past 2 GiB: the number of an entry in the table of 8-byte offsets
                large += at.to_bytes(8, "big")
                at = 1 << 31 | len(large) // 8 - 1
            offsets += at.to_bytes(4, "big")
        index = b"".join([b"\377tOc", (2).to_bytes(4, "big"), *(n.to_bytes(4, "big") for n in accumulate(fanout)),
                          *names, *(self.objects[name][1].to_bytes(4, "big") for name in names), offsets, large,
                          checksum])
        self.path.with_suffix(".idx").write_bytes(index + hashlib.sha1(index).digest())
        return checksum


class PackHistory:
    """A linear history on refs/heads/main, one ``commit()`` at a time, written as one pack."""

    def __init__(self, git_dir: Path) -> None:
        self.git_dir = git_dir
        self.pack = Pack(git_dir / "gitdesk-history.pack")
        self.directories: dict[str, Directory] = {"": Directory()}
        self.dirty: set[str] = set()
        self.head: bytes | None = None

    def commit(self, person: str, message: str, files: list[tuple[str, str]]) -> None:
        """``person``: what follows "author " and "committer " (name, email, time, zone)."""
        for path, text in files:
            data = text.encode()
            sha = object_id(BLOB, data)
            if sha not in self.pack.objects:
                self.pack.add(BLOB, data, sha)
            folder, _, name = path.rpartition("/")
            self._directory(folder).set(name, "100644", sha)
            self.dirty.add(folder)
        tree = self._write_trees()
        parent = f"parent {self.head.hex()}\n" if self.head else ""
        data = (f"tree {tree.hex()}\n{parent}author {person}\ncommitter {person}\n\n{message}").encode()
        self.head = object_id(COMMIT, data)
        if self.head not in self.pack.objects:
            self.pack.add(COMMIT, data, self.head)

    def _directory(self, path: str) -> Directory:
        if path not in self.directories:
            self.directories[path] = Directory()
        return self.directories[path]

    def _write_trees(self) -> bytes:
        """Write each changed directory's tree, deepest first, each into its parent; the root's id."""
        while self.dirty:
            path = max(self.dirty, key=lambda folder: (folder.count("/") if folder else -1, folder))
            self.dirty.remove(path)
            sha = self._write_tree(self.directories[path])
            if path:
                parent, _, name = path.rpartition("/")
                self._directory(parent).set(name, "40000", sha)
                self.dirty.add(parent)
        return sha

    def _write_tree(self, directory: Directory) -> bytes:
        sha = directory.tree_id()
        if sha in self.pack.objects:
            return sha
        pack, keys, entries, size = self.pack, directory.keys, directory.entries, directory.size
        number = directory.versions
        directory.versions += 1
        if size < SMALL or directory.full is None or number % FULL == 0:
            at = pack.add(TREE, b"".join(entries), sha)
            if size >= SMALL:
                directory.full, directory.middle = Base(keys, entries, at), None
        elif directory.middle is None or number % MIDDLE == 0:
            at = pack.add_delta(directory.full, directory.full.delta(keys, entries, size), sha)
            directory.middle = Base(keys, entries, at)
        else:
            pack.add_delta(directory.middle, directory.middle.delta(keys, entries, size), sha)
        return sha

    def finish(self) -> None:
        """Close the pack, give it its name among the repository's packs, point refs/heads/main at the last commit."""
        name = self.pack.finish().hex()
        packs = self.git_dir / "objects" / "pack"
        os.replace(self.pack.path, packs / f"pack-{name}.pack")  # the pack before its index, as Git does
        os.replace(self.pack.path.with_suffix(".idx"), packs / f"pack-{name}.idx")
        assert self.head is not None
        (self.git_dir / "refs" / "heads" / "main").write_text(self.head.hex() + "\n")
