"""The per-node daemon: resource r0 on a backing file, replicated over TCP, administered over a unix socket.

Contract: `python -m sims.drbd.daemon --config FILE [--node NAME] [--up]` runs until SIGTERM/SIGINT or a `stop`
request. It owns one `Node` core (sims.drbd.node) and is its transport:
- replication link: listens on its own address and dials the peer's while the node wants a link (both try; when
  both dial at once, the connection dialled by the smaller address wins, so both sides keep the same one);
- protocol C: a `write` request is answered only when the core reports the write done; writes wait while the
  peers negotiate (WFReportParams .. WFSyncUUID), as DRBD freezes I/O then;
- liveness: a link that stays silent for `ping-int` gets a ping; no answer within `ping-timeout` ("PingAck did not
  arrive in time."), or a write the peer has not acknowledged within `timeout`, breaks the link, so a partition
  does not hang protocol C writes;
- resync: pumps the sync source's queue, at `resync-rate` when one is configured;
- control socket (JSON lines, see sims.drbd.wire): up, down, primary, secondary, connect, disconnect, outdate,
  status, open, close, read, write, stop. Replies are `{"rc": int, "out": str, "err": str, ...}`; refusals carry
  DRBD's text, drbdsetup's exit code, and the "additional info from kernel" line if any (`info`);
- holders: `open` on a control connection holds the device (DRBD's open_cnt) until `close`, or until that
  connection ends, as the kernel releases a dead process's file descriptors;
- reads: a promoted SyncTarget's read of a block it does not have yet waits for the peer's copy;
- log: DRBD's kernel wording (`block drbd0: ...`, `d-con r0: ...`) with a dmesg-like time stamp, to the
  configured log file and to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from sims.drbd.config import DEFAULT_CONFIG, ConfigError, ResourceConfig, load_resource
from sims.drbd.node import Node, NodeConfig, Refused
from sims.drbd.states import CState
from sims.drbd.storage import FileDevice, JsonMetaStore
from sims.drbd.wire import encode_frame, read_frame

CONNECT_INTERVAL_S = 0.2
NEGOTIATING = (CState.WFReportParams, CState.WFBitMapS, CState.WFBitMapT, CState.WFSyncUUID)


class Link:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.last_heard = time.monotonic()
        self.ping_sent: float | None = None

    def send(self, msg: dict[str, Any]) -> None:
        self.writer.write(encode_frame(msg))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()

    def hang_up(self) -> None:
        """Close our side but keep reading, so the peer still gets what we sent (a hard close could reset it)."""
        with contextlib.suppress(Exception):
            self.writer.write_eof()
        asyncio.get_running_loop().call_later(2.0, self.close)


class Daemon:
    def __init__(self, cfg: ResourceConfig, log_stream: TextIO | None = None) -> None:
        self.cfg = cfg
        self.started = time.monotonic()
        self._log_file = open(cfg.log, "a", buffering=1) if cfg.log else None  # noqa: SIM115
        self._stderr = log_stream
        self.device = FileDevice(cfg.disk, cfg.blocks, cfg.block_size)
        self.node = Node(
            self.device,
            JsonMetaStore(cfg.meta),
            NodeConfig(cfg.policies, cfg.al_extents),
            log=self.log,
        )
        self.node.write_done = self._write_done
        self.node.read_done = self._read_done
        self.me = f"{cfg.address[0]}:{cfg.address[1]}"
        self.peer = f"{cfg.peer_address[0]}:{cfg.peer_address[1]}"
        self.link: Link | None = None
        self._dialing = False
        self._done: set[int] = set()
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._reads: dict[int, asyncio.Future[bytes | None]] = {}
        self._read_results: dict[int, bytes | None] = {}
        self._write_started: dict[int, float] = {}
        self._pump: asyncio.Task[None] | None = None
        self._server: asyncio.Server | None = None
        self._stop = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.resync_started: float | None = None
        self.resync_ended: float | None = None
        self._was_syncing = False

    # ---- logging -----------------------------------------------------------------------------------------------
    def log(self, line: str) -> None:
        stamped = f"[{time.monotonic() - self.started:12.6f}] {line}"
        for stream in (self._log_file, self._stderr):
            if stream is not None:
                stream.write(stamped + "\n")
                stream.flush()

    # ---- link management ---------------------------------------------------------------------------------------
    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def after_core_call(self) -> None:
        """Move what the core queued onto the link, and make the link match what the core wants."""
        if self.link is not None:
            for msg in self.node.outbox:
                self.link.send(msg)
        self.node.outbox.clear()
        if self.link is not None and not self.node.wants_link:
            self.link.hang_up()
            self.link = None
        syncing = self.node.cstate in (CState.SyncSource, CState.SyncTarget)
        if syncing and not self._was_syncing:
            self.resync_started, self.resync_ended = time.monotonic(), None
        elif self._was_syncing and not syncing:
            self.resync_ended = time.monotonic()
        self._was_syncing = syncing
        if self.node.cstate == CState.SyncSource and self.node.resync_pending and self._pump is None:
            self._pump = asyncio.ensure_future(self._pump_resync())

    def _adopt(self, link: Link, dialed: bool) -> None:
        self.link = link
        self.log(f"d-con r0: Connection established ({'dialled' if dialed else 'accepted'}) with {self.peer}")
        self.node.link_up(tiebreak=self.cfg.holds_tiebreak)
        self.after_core_call()
        self._spawn(self._read_loop(link))
        self._spawn(self._watch_link(link))

    async def _watch_link(self, link: Link) -> None:
        """DRBD's ping / ping-timeout / timeout: break a link that went silent instead of waiting forever."""
        while self.link is link:
            await asyncio.sleep(0.05)
            now = time.monotonic()
            if link.ping_sent is not None and link.last_heard < link.ping_sent:
                if now - link.ping_sent > self.cfg.ping_timeout_s:
                    self._break_link(link, "PingAck did not arrive in time.")
                    return
            elif now - link.last_heard > self.cfg.ping_int_s:
                link.ping_sent = now
                link.send({"t": "ping"})
            oldest = min(self._write_started.values(), default=now)
            if now - oldest > self.cfg.timeout_s:
                self._break_link(link, "Remote failed to finish a request within timeout")
                return

    def _break_link(self, link: Link, reason: str) -> None:
        if self.link is not link:
            return
        self.log(f"block drbd0: {reason}")
        self.link = None
        link.close()
        self.node.link_down()
        self.after_core_call()

    async def _read_loop(self, link: Link) -> None:
        try:
            while True:
                msg = await read_frame(link.reader)
                link.last_heard = time.monotonic()
                if self.link is link:
                    self.node.receive(msg)
                    self.after_core_call()
        except (asyncio.IncompleteReadError, ConnectionError, OSError, ValueError):
            pass
        link.close()
        if self.link is link:
            self.link = None
            self.node.link_down()
            self.after_core_call()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            hello = await asyncio.wait_for(read_frame(reader), 5)
        except Exception:
            writer.close()
            return
        ok = (
            hello.get("hello") == self.peer
            and self.link is None
            and self.node.wants_link
            and not (self._dialing and self.me < self.peer)
        )
        writer.write(encode_frame({"ok": ok}))
        if not ok:
            writer.close()
            return
        self._adopt(Link(reader, writer), dialed=False)

    async def _listen(self) -> None:
        """Listen on our replication address; while it does not exist (link down at boot), keep trying."""
        host, port = self.cfg.address
        complained = False
        while self._server is None:
            try:
                self._server = await asyncio.start_server(self._accept, host, port, reuse_address=True)
            except OSError as e:
                if not complained:
                    self.log(f"d-con r0: bind before connect failed, err = -{e.errno or 0}")
                    complained = True
                await asyncio.sleep(1.0)

    async def _dial_loop(self) -> None:
        while not self._stop.is_set():
            if self.link is None and self.node.wants_link:
                self._dialing = True
                try:
                    await self._dial()
                except (TimeoutError, OSError, asyncio.IncompleteReadError):
                    pass
                finally:
                    self._dialing = False
            await asyncio.sleep(CONNECT_INTERVAL_S)

    async def _dial(self) -> None:
        host, port = self.cfg.peer_address
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, local_addr=(self.cfg.address[0], 0)), 2
        )
        writer.write(encode_frame({"hello": self.me}))
        answer = await asyncio.wait_for(read_frame(reader), 2)
        if answer.get("ok") and self.link is None and self.node.wants_link:
            self._adopt(Link(reader, writer), dialed=True)
        else:
            writer.close()

    async def _pump_resync(self) -> None:
        batch = 64
        per_tick = 0.0
        if self.cfg.resync_rate_kib:
            per_tick = self.cfg.resync_rate_kib * 1024 / self.cfg.block_size * 0.05
        credit = 0.0
        try:
            while self.node.cstate == CState.SyncSource and self.node.resync_pending and self.link is not None:
                if per_tick:
                    credit += per_tick
                    sent = self.node.pump_resync(int(credit))
                    credit -= sent
                else:
                    self.node.pump_resync(batch)
                link = self.link
                self.after_core_call()
                if per_tick:
                    await asyncio.sleep(0.05)
                elif link is not None:
                    await link.writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._pump = None

    # ---- writes (protocol C) -----------------------------------------------------------------------------------
    def _write_done(self, seq: int) -> None:
        self._write_started.pop(seq, None)
        future = self._waiting.pop(seq, None)
        if future is None:
            self._done.add(seq)
        elif not future.done():
            future.set_result(None)

    def _read_done(self, seq: int, data: bytes | None) -> None:
        future = self._reads.pop(seq, None)
        if future is None:
            self._read_results[seq] = data
        elif not future.done():
            future.set_result(data)

    async def read(self, block: int) -> bytes:
        seq = self.node.submit_read(block)
        self.after_core_call()
        if seq in self._read_results:
            data = self._read_results.pop(seq)
        else:
            future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
            self._reads[seq] = future
            data = await future
        if data is None:
            raise Refused(5, f"Input/output error: no UpToDate copy of block {block} can be reached", exit_code=5)
        return data

    async def write(self, block: int, data: bytes) -> None:
        # DRBD freezes application I/O while the peers negotiate; so do we (a write landing between "params" and
        # the verdict would otherwise reach a peer that may turn out to be a split-brain victim, or be missed).
        deadline = time.monotonic() + self.cfg.timeout_s
        while self.node.cstate in NEGOTIATING and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        self._write_started[self.node.next_seq] = time.monotonic()
        try:
            seq = self.node.write(block, data)
        except Exception:
            self._write_started.pop(self.node.next_seq, None)
            raise
        self.after_core_call()
        if seq in self._done:
            self._done.discard(seq)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[seq] = future
        await future

    # ---- control socket ----------------------------------------------------------------------------------------
    async def _control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held = [0]  # opens made through this connection: released when it ends, as at a process's exit
        try:
            while line := await reader.readline():
                try:
                    reply = await self.handle(json.loads(line), held)
                except Refused as e:
                    reply = {"rc": e.exit_code, "out": "", "err": str(e), "code": e.code, "info": e.info}
                except (ValueError, KeyError, TypeError) as e:
                    reply = {"rc": 20, "out": "", "err": f"bad request: {e}"}
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            for _ in range(held[0]):
                self.node.close()
            writer.close()

    async def handle(self, req: dict[str, Any], held: list[int] | None = None) -> dict[str, Any]:
        cmd = req["cmd"]
        node = self.node
        ok: dict[str, Any] = {"rc": 0, "out": "", "err": ""}
        if cmd == "status":
            ok["status"] = self.status()
        elif cmd == "write":
            await self.write(int(req["block"]), base64.b64decode(req["data"]))
        elif cmd == "read":
            if req.get("inspect"):
                data = node.read(int(req["block"]), inspect=True)
            else:
                data = await self.read(int(req["block"]))
            ok["data"] = base64.b64encode(data).decode()
        elif cmd == "open":
            node.open()
            if held is not None:
                held[0] += 1
        elif cmd == "close":
            if held is not None and held[0] > 0:
                held[0] -= 1
                node.close()
        elif cmd == "up":
            node.up()
        elif cmd == "down":
            node.down()
        elif cmd == "primary":
            node.primary(force=bool(req.get("force")))
        elif cmd == "secondary":
            node.secondary()
        elif cmd == "connect":
            node.connect(discard_my_data=bool(req.get("discard_my_data")))
        elif cmd == "disconnect":
            node.disconnect()
        elif cmd == "outdate":
            node.outdate()
        elif cmd == "stop":
            self._stop.set()
        else:
            raise ValueError(f"unknown command {cmd!r}")
        self.after_core_call()
        return ok

    def status(self) -> dict[str, Any]:
        status = self.node.status()
        status["node"] = self.cfg.node
        status["address"] = self.me
        status["peer_address"] = self.peer
        status["resync_rate_kib"] = self.cfg.resync_rate_kib
        if self.resync_started is not None:
            status["resync"]["elapsed_s"] = round((self.resync_ended or time.monotonic()) - self.resync_started, 6)
        return status

    # ---- life cycle --------------------------------------------------------------------------------------------
    async def run(self, up: bool) -> None:
        self.cfg.control.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.cfg.control.unlink()
        control = await asyncio.start_unix_server(self._control, path=str(self.cfg.control))
        listener = asyncio.ensure_future(self._listen())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        self.log(f"drbd: initialized. Version: 8.4.11 (api:1/proto:86-101) [opslab userspace stand-in, {self.me}]")
        if up:
            self.node.up()
            self.after_core_call()
        dialer = asyncio.ensure_future(self._dial_loop())
        await self._stop.wait()
        dialer.cancel()
        self.node.flush()
        if self.link is not None:
            self.link.close()
        control.close()
        listener.cancel()
        if self._server is not None:
            self._server.close()
        with contextlib.suppress(FileNotFoundError):
            self.cfg.control.unlink()
        self.device.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sims.drbd.daemon", description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", type=Path, default=Path(os.environ.get("DRBD_SIM_CONFIG", DEFAULT_CONFIG)))
    parser.add_argument("--node", default=os.environ.get("DRBD_SIM_NODE"), help="the 'on' section (default: hostname)")
    parser.add_argument("--resource", default="r0")
    parser.add_argument("--up", action="store_true", help="bring the resource up at start (drbdadm up)")
    parser.add_argument("--quiet", action="store_true", help="log only to the configured log file")
    args = parser.parse_args(argv)
    try:
        cfg = load_resource(args.config, args.node, args.resource)
    except ConfigError as e:
        print(f"drbd daemon: {e}\nHint: {e.hint}", file=sys.stderr)
        return 10
    daemon = Daemon(cfg, None if args.quiet else sys.stderr)
    try:
        asyncio.run(daemon.run(args.up))
    except OSError as e:
        print(f"drbd daemon: {e}\nHint: is another daemon using {cfg.control} or {daemon.me}?", file=sys.stderr)
        return 10
    return 0


if __name__ == "__main__":
    sys.exit(main())
