"""How node messages and control requests travel: length-prefixed frames on TCP, JSON lines on the control socket.

Contract: a peer frame is `>II` (header length, payload length), a JSON header, then the raw payload (the block
data of `data` / `rs_data` messages, so 4 KiB blocks are not base64-inflated on the replication link).
`write_frame` / `read_frame` are each other's inverse for any message dict whose only bytes value is "data".
Control requests and replies are one JSON object per line; block data there is base64 in "data".
"""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Any

_HEADER = struct.Struct(">II")
MAX_HEADER = 1 << 24


def encode_frame(msg: dict[str, Any]) -> bytes:
    payload: bytes = msg.get("data", b"")
    header = json.dumps({k: v for k, v in msg.items() if k != "data"}, separators=(",", ":")).encode()
    return _HEADER.pack(len(header), len(payload)) + header + payload


async def read_frame(reader: asyncio.StreamReader) -> dict[str, Any]:
    hlen, plen = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    if hlen > MAX_HEADER:
        raise ValueError(f"frame header of {hlen} bytes: not a peer of this resource")
    msg: dict[str, Any] = json.loads(await reader.readexactly(hlen))
    if plen:
        msg["data"] = await reader.readexactly(plen)
    return msg
