"""Where a node keeps its data and its DRBD meta data: a backing device of fixed-size blocks and a meta-data store.

Contract:
- `BlockDevice`: `blocks` blocks of `block_size` bytes, `read(n)` / `write(n, data)`; `FileDevice` is a fixed-size
  backing file (created zero-filled), `MemoryDevice` its in-process twin for tests.
- `Metadata`: what DRBD keeps in its meta-data area (generation identifiers, dirty-block bitmap, the flags
  consistent / outdated / primary / crashed_primary, the activity log's hot extents), as plain data with a JSON
  form (UUIDs in hex as DRBD prints them, the bitmap as a hex string of one bit per block).
- `MetaStore`: `load() -> Metadata | None` and `save(md)`. `JsonMetaStore` writes atomically (temporary file,
  fsync, rename), so a crash leaves either the old or the new meta data, never a torn one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sims.drbd.uuids import Uuids

BLOCK_SIZE = 4096


class BlockDevice(Protocol):
    block_size: int
    blocks: int

    def read(self, block: int) -> bytes: ...

    def write(self, block: int, data: bytes) -> None: ...


class MemoryDevice:
    def __init__(self, blocks: int, block_size: int = BLOCK_SIZE) -> None:
        self.blocks = blocks
        self.block_size = block_size
        self._data = [bytes(block_size)] * blocks

    def read(self, block: int) -> bytes:
        return self._data[block]

    def write(self, block: int, data: bytes) -> None:
        self._data[block] = bytes(data)

    def image(self) -> bytes:
        return b"".join(self._data)


class FileDevice:
    """A backing file of exactly blocks * block_size bytes; created zero-filled when missing."""

    def __init__(self, path: Path, blocks: int, block_size: int = BLOCK_SIZE) -> None:
        self.path = path
        self.blocks = blocks
        self.block_size = block_size
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            with open(path, "wb") as f:
                f.truncate(blocks * block_size)
        self._fd = os.open(path, os.O_RDWR)

    def read(self, block: int) -> bytes:
        return os.pread(self._fd, self.block_size, block * self.block_size)

    def write(self, block: int, data: bytes) -> None:
        os.pwrite(self._fd, data, block * self.block_size)

    def close(self) -> None:
        os.close(self._fd)


@dataclass
class Metadata:
    uuids: Uuids
    bitmap: set[int] = field(default_factory=set)
    consistent: bool = False
    outdated: bool = False
    primary: bool = False  # DRBD's MDF_PRIMARY_IND: still set after a crash, so the next attach knows
    activity_log: list[int] = field(default_factory=list)
    crashed_primary: bool = False  # DRBD's MDF_CRASHED_PRIMARY: cleared only once both disks are UpToDate

    def to_json(self) -> dict[str, object]:
        return {
            "uuids": [f"{v:016X}" for v in self.uuids.as_list()],
            "bitmap": _bits_to_hex(self.bitmap),
            "consistent": self.consistent,
            "outdated": self.outdated,
            "primary": self.primary,
            "activity_log": list(self.activity_log),
            "crashed_primary": self.crashed_primary,
        }

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> Metadata:
        uuids = raw["uuids"]
        bitmap = raw.get("bitmap", "")
        al = raw.get("activity_log", [])
        assert isinstance(uuids, list) and isinstance(bitmap, str | list) and isinstance(al, list)
        return cls(
            uuids=Uuids.from_list([int(str(v), 16) for v in uuids]),
            bitmap=_hex_to_bits(bitmap) if isinstance(bitmap, str) else {int(b) for b in bitmap},
            consistent=bool(raw.get("consistent", False)),
            outdated=bool(raw.get("outdated", False)),
            primary=bool(raw.get("primary", False)),
            activity_log=[int(e) for e in al],
            crashed_primary=bool(raw.get("crashed_primary", False)),
        )

    def copy(self) -> Metadata:
        return Metadata.from_json(self.to_json())


def _bits_to_hex(bits: set[int]) -> str:
    """The bitmap as DRBD keeps it, one bit per block (block n = bit n % 8 of byte n // 8), in hex."""
    if not bits:
        return ""
    raw = bytearray(max(bits) // 8 + 1)
    for b in bits:
        raw[b // 8] |= 1 << (b % 8)
    return raw.hex()


def _hex_to_bits(text: str) -> set[int]:
    return {i * 8 + j for i, byte in enumerate(bytes.fromhex(text)) if byte for j in range(8) if byte >> j & 1}


class MetaStore(Protocol):
    def load(self) -> Metadata | None: ...

    def save(self, md: Metadata) -> None: ...


class MemoryMetaStore:
    def __init__(self) -> None:
        self._saved: dict[str, object] | None = None

    def load(self) -> Metadata | None:
        return None if self._saved is None else Metadata.from_json(self._saved)

    def save(self, md: Metadata) -> None:
        self._saved = md.to_json()


class JsonMetaStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Metadata | None:
        if not self.path.exists():
            return None
        return Metadata.from_json(json.loads(self.path.read_text()))

    def save(self, md: Metadata) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w") as f:
            json.dump(md.to_json(), f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
