#!/usr/bin/python3
"""Electrum (python3-electrum 4.3.4) as a remote Lightning peer for anode's interop tests.

Driven by test/interop/peers/electrum.ts over stdin/stdout, one JSON object per line:

  request   {"id": 1, "method": "connect", "params": {...}}
  response  {"id": 1, "result": {...}}   or   {"id": 1, "error": "text"}
  event     {"event": "peer" | "disconnected" | "rejected" | "remote_error", ...}

The BOLT 8 transport is Electrum's own (electrum.lntransport.LNTransport / LNResponderTransport), the
messages are encoded and decoded with Electrum's own serializer (electrum.lnmsg), and the init checks
(feature dependencies, feature compatibility, chain in the `networks` TLV) use Electrum's own functions,
so this behaves on the wire as Electrum's LNPeer does for the part we exercise (BOLT 8, BOLT 1 init,
ping/pong). Logs go to stderr; stdout carries nothing but the protocol.

Must run with Debian's /usr/bin/python3 (which sees /usr/lib/python3/dist-packages). Start it with
`-I` so that the script's own directory and PYTHON* variables cannot shadow Electrum's modules.
"""

import asyncio
import json
import os
import sys
import time
import traceback

# Keep the protocol channel private: anything printed by a library goes to stderr.
_proto_out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
sys.stdout = sys.stderr

from electrum import constants  # noqa: E402
from electrum import ecc  # noqa: E402
from electrum.lnmsg import (  # noqa: E402
    decode_msg, encode_msg, FailedToParseMsg, UnknownOptionalMsgType,
)
from electrum.lntransport import LNTransport, LNResponderTransport  # noqa: E402
from electrum.lnutil import (  # noqa: E402
    LNPeerAddr, LnFeatures, ln_compare_features, IncompatibleLightningFeatures,
    LightningPeerConnectionClosed, HandshakeFailed,
)
from electrum.util import chunks  # noqa: E402

HANDSHAKE_TIMEOUT = 10.0
INIT_TIMEOUT = 10.0
PONG_TIMEOUT = 10.0


def log(msg: str) -> None:
    sys.stderr.write(f"[electrum-peer {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


def emit(obj: dict) -> None:
    _proto_out.write(json.dumps(obj, separators=(",", ":")) + "\n")
    _proto_out.flush()


class InitRejected(Exception):
    pass


class Conn:
    """One established (handshake done) connection."""

    def __init__(self, node: "Node", transport, direction: str, conn_id: int):
        self.node = node
        self.transport = transport
        self.direction = direction  # "in" | "out"
        self.conn_id = conn_id
        self.remote_pubkey: bytes = transport.remote_pubkey()
        self.node_id = self.remote_pubkey.hex()
        self.messages = transport.read_messages()  # one async generator for the whole connection
        self.info: dict = {}
        self.read_task: asyncio.Task = None
        self.closed = asyncio.Event()
        self.close_reason = ""
        self.pong_waiter: asyncio.Future = None
        self.pongs_unsolicited = 0

    def send(self, name: str, **kwargs) -> None:
        self.transport.send_bytes(encode_msg(name, **kwargs))

    async def exchange_init(self) -> None:
        features = self.node.features
        self.send("init", gflen=0, flen=len(features), features=features,
                  init_tlvs={"networks": {"chains": constants.net.rev_genesis_bytes()}})
        raw = await asyncio.wait_for(self.messages.__anext__(), INIT_TIMEOUT)
        try:
            name, payload = decode_msg(raw)
        except FailedToParseMsg as e:
            raise InitRejected(f"could not parse first message (type {int.from_bytes(raw[:2], 'big')}): {e!r}")
        if name != "init":
            raise InitRejected(f"first message is {name}, not init")
        gf = payload.get("globalfeatures", b"") or b""
        lf = payload.get("features", b"") or b""
        merged = int.from_bytes(gf, "big") | int.from_bytes(lf, "big")
        their = LnFeatures(merged)
        # Electrum's own checks (LNPeer.on_init).
        if not their.validate_transitive_dependencies():
            raise InitRejected(f"remote did not set all dependencies for the features they sent ({merged:#x})")
        try:
            ln_compare_features(LnFeatures(int.from_bytes(features, "big")), their)
        except IncompatibleLightningFeatures as e:
            raise InitRejected(str(e))
        networks = (payload.get("init_tlvs") or {}).get("networks")
        chains = []
        if networks:
            chains = [bytes(c).hex() for c in chunks(networks["chains"], 32)]
            if constants.net.rev_genesis_bytes().hex() not in chains:
                raise InitRejected(f"no common chain found with remote (they sent: {chains})")
        self.info = {
            "nodeId": self.node_id,
            "features": merged.to_bytes((merged.bit_length() + 7) // 8, "big").hex(),
            "globalFeatures": bytes(gf).hex(),
            "localFeatures": bytes(lf).hex(),
            "networks": chains if networks else None,
            "connId": self.conn_id,
            "direction": self.direction,
        }

    async def read_loop(self) -> None:
        try:
            async for raw in self.messages:
                self.handle(raw)
            self.close_reason = self.close_reason or "read loop ended"
        except LightningPeerConnectionClosed:
            self.close_reason = self.close_reason or "connection closed by peer"
        except asyncio.CancelledError:
            self.close_reason = self.close_reason or "cancelled"
        except Exception as e:  # decryption failure, protocol violation, ...
            self.close_reason = self.close_reason or f"{type(e).__name__}: {e}"
            log(f"conn {self.conn_id} {self.node_id[:16]}: read loop failed: {self.close_reason}")
        finally:
            self.finish()

    def handle(self, raw: bytes) -> None:
        msg_type = int.from_bytes(raw[:2], "big")
        try:
            name, payload = decode_msg(raw)
        except UnknownOptionalMsgType:
            log(f"conn {self.conn_id}: ignoring unknown odd message type {msg_type}")
            return
        except FailedToParseMsg as e:
            # Electrum (LNPeer.process_message) disconnects here; so does BOLT 1 for unknown even types.
            raise Exception(f"failed to parse message type {msg_type}: {e!r}")
        if name == "ping":
            self.node.pings_received[self.node_id] = self.node.pings_received.get(self.node_id, 0) + 1
            n = payload["num_pong_bytes"]
            if n < 65532:
                self.send("pong", byteslen=n, ignored=bytes(n))
        elif name == "pong":
            w = self.pong_waiter
            if w is not None and not w.done():
                w.set_result(len(payload.get("ignored", b"") or b""))
            else:
                self.pongs_unsolicited += 1
        elif name in ("error", "warning"):
            data = bytes(payload.get("data", b"") or b"")
            text = data.decode("ascii", errors="replace")
            cid = bytes(payload.get("channel_id", b"") or b"").hex()
            log(f"conn {self.conn_id} {self.node_id[:16]}: remote sent {name} (channel {cid}): {text!r}")
            emit({"event": "remote_error", "kind": name, "nodeId": self.node_id, "channelId": cid,
                  "text": text, "connId": self.conn_id})
        elif name == "init":
            log(f"conn {self.conn_id}: ignoring second init")
        else:
            log(f"conn {self.conn_id}: ignoring {name}")

    def finish(self) -> None:
        if self.closed.is_set():
            return
        try:
            self.transport.close()
        except Exception:
            pass
        w = self.pong_waiter
        if w is not None and not w.done():
            w.set_exception(Exception(f"disconnected while waiting for pong: {self.close_reason}"))
        self.closed.set()
        was_current = self.node.conns.get(self.node_id) is self
        if was_current:
            del self.node.conns[self.node_id]
        if self.info:  # only connections that completed init were announced
            emit({"event": "disconnected", "nodeId": self.node_id, "connId": self.conn_id,
                  "reason": self.close_reason})

    async def ping_round_trips(self, count: int) -> int:
        if self.pong_waiter is not None:
            raise Exception("pingRoundTrips already running on this connection")
        pongs = 0
        try:
            for i in range(count):
                if self.closed.is_set():
                    raise Exception(f"disconnected after {pongs} pongs: {self.close_reason}")
                self.pong_waiter = asyncio.get_running_loop().create_future()
                self.send("ping", num_pong_bytes=4, byteslen=3, ignored=b"\x00\x00\x00")
                got = await asyncio.wait_for(self.pong_waiter, PONG_TIMEOUT)
                if got != 4:
                    raise Exception(f"pong {i + 1} has {got} ignored bytes, ping asked for 4")
                pongs += 1
        finally:
            self.pong_waiter = None
        return pongs


class Node:
    def __init__(self):
        self.privkey: bytes = None
        self.pubkey: bytes = None
        self.features: bytes = b""
        self.conns = {}  # node_id hex -> Conn (the current initialised connection)
        self.pending = set()  # Conns still in init exchange
        self.pings_received = {}  # node_id hex -> count (over all connections)
        self.server = None
        self.next_conn_id = 1
        self.tasks = set()

    def spawn(self, coro) -> asyncio.Task:
        t = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)
        return t

    # --- connection set-up, both roles ---

    async def establish(self, transport, direction: str) -> Conn:
        conn = Conn(self, transport, direction, self.next_conn_id)
        self.next_conn_id += 1
        self.pending.add(conn)
        try:
            await conn.exchange_init()
        except BaseException as e:
            reason = str(e) or type(e).__name__
            if isinstance(e, asyncio.TimeoutError):
                reason = "timed out waiting for init"
            elif isinstance(e, LightningPeerConnectionClosed):
                reason = "connection closed before init"
            log(f"conn {conn.conn_id} ({direction}) {conn.node_id[:16]}: init failed: {reason}")
            emit({"event": "rejected", "nodeId": conn.node_id, "connId": conn.conn_id,
                  "direction": direction, "reason": reason})
            try:
                transport.close()
            except Exception:
                pass
            raise InitRejected(reason) from e
        finally:
            self.pending.discard(conn)
        old = self.conns.get(conn.node_id)
        self.conns[conn.node_id] = conn
        if old is not None:
            log(f"conn {conn.conn_id}: replaces conn {old.conn_id} to the same node")
            old.finish()
        conn.read_task = self.spawn(conn.read_loop())
        log(f"conn {conn.conn_id} ({direction}) {conn.node_id[:16]}: init done, features {conn.info['features']}")
        emit({"event": "peer", **conn.info})
        return conn

    async def on_inbound(self, reader, writer) -> None:
        peer = writer.get_extra_info("peername")
        transport = LNResponderTransport(self.privkey, reader, writer)
        try:
            await asyncio.wait_for(transport.handshake(), HANDSHAKE_TIMEOUT)
        except BaseException as e:
            log(f"inbound from {peer}: handshake failed: {type(e).__name__}: {e}")
            writer.close()
            return
        try:
            await self.establish(transport, "in")
        except InitRejected:
            pass

    # --- methods ---

    async def m_start(self, p) -> dict:
        constants.set_regtest()
        self.privkey = bytes.fromhex(p["privateKey"])
        self.pubkey = ecc.ECPrivkey(self.privkey).get_public_key_bytes(compressed=True)
        self.features = bytes.fromhex(p.get("features", ""))
        return {"nodeId": self.pubkey.hex(), "chainHash": constants.net.rev_genesis_bytes().hex()}

    async def m_listen(self, p) -> dict:
        if self.server is None:
            self.server = await asyncio.start_server(
                lambda r, w: self.spawn(self.on_inbound(r, w)), host=p.get("host", "127.0.0.1"), port=0)
        return {"port": self.server.sockets[0].getsockname()[1]}

    async def m_connect(self, p) -> dict:
        addr = LNPeerAddr(p["host"], int(p["port"]), bytes.fromhex(p["nodeId"]))
        transport = LNTransport(self.privkey, addr, proxy=None)
        try:
            await asyncio.wait_for(transport.handshake(), HANDSHAKE_TIMEOUT)
        except BaseException as e:
            w = getattr(transport, "writer", None)
            if w is not None:
                w.close()
            if isinstance(e, asyncio.TimeoutError):
                raise Exception(f"handshake with {addr} timed out")
            raise Exception(f"handshake with {addr} failed: {type(e).__name__}: {e}")
        conn = await self.establish(transport, "out")
        return conn.info

    def conn_for(self, p) -> Conn:
        c = self.conns.get(p["nodeId"])
        if c is None:
            raise Exception(f"not connected to {p['nodeId']}")
        return c

    async def m_pingRoundTrips(self, p) -> dict:
        return {"pongs": await self.conn_for(p).ping_round_trips(int(p["count"]))}

    async def m_pingsReceived(self, p) -> dict:
        return {"count": self.pings_received.get(p["nodeId"], 0)}

    async def m_disconnect(self, p) -> dict:
        c = self.conns.get(p["nodeId"])
        if c is None:
            return {"wasConnected": False}
        c.close_reason = "closed locally"
        c.transport.close()
        try:
            await asyncio.wait_for(c.closed.wait(), 5.0)
        except asyncio.TimeoutError:
            c.read_task.cancel()
            await c.closed.wait()
        return {"wasConnected": True}

    async def m_peers(self, p) -> dict:
        return {"peers": [c.info for c in self.conns.values()]}

    async def shutdown(self) -> None:
        if self.server is not None:
            self.server.close()
        for c in list(self.conns.values()) + list(self.pending):
            c.close_reason = "stopping"
            try:
                c.transport.close()
            except Exception:
                pass
        for t in list(self.tasks):
            t.cancel()
        await asyncio.sleep(0)


async def serve_request(node: Node, req: dict, stop: asyncio.Event) -> None:
    rid = req.get("id")
    method = req.get("method", "")
    try:
        if method == "stop":
            emit({"id": rid, "result": {}})
            stop.set()
            return
        fn = getattr(node, "m_" + method, None)
        if fn is None:
            raise Exception(f"unknown method {method!r}")
        result = await fn(req.get("params") or {})
        emit({"id": rid, "result": result})
    except BaseException as e:
        if not isinstance(e, (InitRejected,)) and not str(e).startswith(("handshake", "not connected")):
            log(f"{method} failed:\n{traceback.format_exc()}")
        emit({"id": rid, "error": str(e) or type(e).__name__})


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    node = Node()
    stop = asyncio.Event()

    async def read_stdin():
        while True:
            line = await reader.readline()
            if not line:  # parent went away
                stop.set()
                return
            line = line.strip()
            if not line:
                continue
            try:
                req = json.loads(line)
            except ValueError:
                log(f"bad request line: {line[:200]!r}")
                continue
            node.spawn(serve_request(node, req, stop))

    stdin_task = loop.create_task(read_stdin())
    emit({"event": "ready", "pid": os.getpid()})
    await stop.wait()
    stdin_task.cancel()
    await node.shutdown()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    # Skip the interpreter's slow module teardown (hundreds of ms with Electrum's imports).
    try:
        _proto_out.flush()
        sys.stderr.flush()
    finally:
        os._exit(0)
