"""pyln-client (Core Lightning's own Python client) drives two anode daemons over their JSON-RPC sockets.

Invoked by test/rpc/pyln.test.ts with one JSON argument describing the daemons. With "mode": "chain" it
drives one daemon on btcd regtest instead (mining through btcd's JSON-RPC): getinfo's height after mining,
waitblockheight, feerates, listtransactions; with "mode": "invoices" the invoice commands on one daemon.
Every assertion is made
here (codes and messages included); every successful result is also printed as a JSON line
{"method": ..., "result": ...} so that the node test validates it against the method's schema.
A failure raises, which makes the script exit non-zero with a traceback.
"""
import base64
import json
import sqlite3
import sys
import time
import urllib.request

from pyln.client import LightningRpc, RpcError

cfg = json.loads(sys.argv[1])
l1 = LightningRpc(cfg["l1"]["rpc"])
checks = 0


def emit(method, result):
    print(json.dumps({"method": method, "result": result}), flush=True)
    return result


def call(rpc, method, payload=None, **kw):
    return emit(method, rpc.call(method, payload, **kw))


def check(cond, what):
    global checks
    if not cond:
        raise AssertionError(what)
    checks += 1


def expect_error(code, message, fn, *args, **kwargs):
    """The call must fail with exactly this code; message is a full string or a substring test (callable)."""
    try:
        r = fn(*args, **kwargs)
    except RpcError as e:
        check(e.error["code"] == code, f"code {e.error['code']} != {code} ({e.error['message']})")
        got = e.error["message"]
        ok = message(got) if callable(message) else got == message
        check(ok, f"message {got!r} (expected {message if not callable(message) else 'a match'})")
        return e.error
    raise AssertionError(f"expected error {code}, got {r!r}")


def wait_for(pred, what, timeout=10):
    end = time.time() + timeout
    while not pred():
        if time.time() > end:
            raise AssertionError(f"timed out: {what}")
        time.sleep(0.05)


def btcd(method, params=()):
    """One call to btcd's JSON-RPC (plain HTTP, as anode uses it)."""
    b = cfg["btcd"]
    auth = base64.b64encode(f"{b['user']}:{b['password']}".encode()).decode()
    body = json.dumps({"jsonrpc": "1.0", "id": 1, "method": method, "params": list(params)}).encode()
    req = urllib.request.Request(b["url"], data=body, headers={"Content-Type": "application/json", "Authorization": f"Basic {auth}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        reply = json.loads(r.read())
    if reply.get("error"):
        raise AssertionError(f"btcd {method}: {reply['error']}")
    return reply["result"]


def chain_suite():
    # getinfo's height is the chain's, and moves when blocks are mined
    wait_for(lambda: l1.getinfo()["blockheight"] == btcd("getblockcount"), "l1 at btcd's tip", timeout=30)
    h = emit("getinfo", l1.getinfo())["blockheight"]
    btcd("generate", [3])
    check(emit("waitblockheight", l1.waitblockheight(h + 3, 30)) == {"blockheight": h + 3}, "waitblockheight for mined blocks")
    check(emit("getinfo", l1.getinfo())["blockheight"] == h + 3, "getinfo height after mining")
    check(emit("waitblockheight", l1.waitblockheight(h)) == {"blockheight": h + 3}, "waitblockheight for a past height")
    expect_error(2000, "Timed out.", l1.waitblockheight, h + 1000, 1)

    # feerates: both styles, perkb = 4 × perkw
    kw = emit("feerates", l1.feerates("perkw"))
    kb = emit("feerates", l1.feerates("perkb"))
    check(kw["perkw"]["floor"] == 253 and kb["perkb"]["floor"] == 1012, "feerates floor")
    for k in ("min_acceptable", "max_acceptable"):
        check(kb["perkb"][k] == min(kw["perkw"][k] * 4, 0xFFFFFFFF), f"feerates {k} perkb")
    check(("warning_missing_feerates" in kw) == (len(kw["perkw"]["estimates"]) < 4), "warning exactly when estimates are missing")
    expect_error(-32602, lambda m: m.startswith("style: "), l1.feerates, "perkx")

    # listtransactions: the deposit the node test made, then a withdrawal, unconfirmed then mined
    deposit = cfg["deposit"]
    txs = emit("listtransactions", l1.listtransactions())["transactions"]
    d = [t for t in txs if t["hash"] == deposit["txid"]]
    check(len(d) == 1 and d[0]["blockheight"] == deposit["height"], f"deposit listed at its height: {d}")
    check(any(o["amount_msat"] == deposit["sat"] * 1000 for o in d[0]["outputs"]), "deposit amount")
    check(d[0]["rawtx"] == btcd("getrawtransaction", [deposit["txid"]]), "deposit raw transaction as btcd has it")
    w = l1.withdraw(l1.newaddr()["bech32"], 10000)
    txs = emit("listtransactions", l1.listtransactions())["transactions"]
    check([t["blockheight"] for t in txs if t["hash"] == w["txid"]] == [0], "withdrawal unconfirmed")
    h = l1.getinfo()["blockheight"]
    btcd("generate", [1])
    l1.waitblockheight(h + 1, 30)
    wait_for(lambda: [t["blockheight"] for t in l1.listtransactions()["transactions"] if t["hash"] == w["txid"]] == [h + 1], "withdrawal confirmed")
    emit("listtransactions", l1.listtransactions())


def invoice_suite():
    """invoice, listinvoices, decodepay, decode, delinvoice, waitanyinvoice through pyln's own wrappers."""
    nid = cfg["l1"]["id"]
    inv = emit("invoice", l1.invoice(12345, "pyln-1", "from pyln", expiry=3600))
    check(inv["bolt11"].startswith("lnbcrt123450p1"), "invoice amount in the hrp")
    check(inv["created_index"] == 1, "created_index")
    anyinv = emit("invoice", l1.invoice("any", "pyln-any", "any amount", deschashonly=True))
    d = emit("decodepay", l1.decodepay(inv["bolt11"]))
    check(d["payee"] == nid and d["amount_msat"] == 12345 and d["description"] == "from pyln", "decodepay payee, amount, description")
    check(d["payment_hash"] == inv["payment_hash"] and d["payment_secret"] == inv["payment_secret"], "decodepay hash and secret")
    check(d["expiry"] == 3600 and d["min_final_cltv_expiry"] == 18, "decodepay expiry and cltv")
    da = emit("decode", l1.decode(anyinv["bolt11"]))
    check(da["type"] == "bolt11 invoice" and da["valid"] and "amount_msat" not in da and "description_hash" in da, "decode an any-amount hash-only invoice")
    lst = emit("listinvoices", l1.listinvoices())["invoices"]
    check([(i["label"], i["status"]) for i in lst] == [("pyln-1", "unpaid"), ("pyln-any", "unpaid")], "listinvoices")
    check(emit("listinvoices", l1.listinvoices(payment_hash=inv["payment_hash"]))["invoices"][0]["label"] == "pyln-1", "listinvoices by hash")
    check(emit("listinvoices", l1.listinvoices(invstring=anyinv["bolt11"]))["invoices"][0]["label"] == "pyln-any", "listinvoices by invstring")
    expect_error(900, "Duplicate label 'pyln-1'", l1.invoice, 1, "pyln-1", "again")
    expect_error(905, "Unknown invoice", l1.delinvoice, "nope", "unpaid")
    e = expect_error(906, "Invoice status is unpaid not paid", l1.delinvoice, "pyln-1", "paid")
    check(e["data"] == {"current_status": "unpaid", "expected_status": "paid"}, "906 data")
    expect_error(904, "Timed out while waiting for invoice to be paid", l1.waitanyinvoice, 0, 0)
    gone = emit("delinvoice", l1.delinvoice("pyln-1", "unpaid"))
    check(gone["label"] == "pyln-1" and gone["bolt11"] == inv["bolt11"], "delinvoice returns the invoice")
    check(l1.listinvoices("pyln-1")["invoices"] == [], "deleted")


if cfg.get("mode") == "invoices":
    invoice_suite()
    print(f"OK {checks} checks", flush=True)
    sys.exit(0)

if cfg.get("mode") == "chain":
    chain_suite()
    print(f"OK {checks} checks", flush=True)
    sys.exit(0)

l2 = LightningRpc(cfg["l2"]["rpc"])
id1, id2 = cfg["l1"]["id"], cfg["l2"]["id"]
port1, port2 = cfg["l1"]["port"], cfg["l2"]["port"]
UNKNOWN = cfg["unknown"]
FEATURES = cfg["features"]

# getinfo
for rpc, nid, port in ((l1, id1, port1), (l2, id2, port2)):
    info = emit("getinfo", rpc.getinfo())
    check(info["id"] == nid, "getinfo id")
    check(info["binding"] == [{"type": "ipv4", "address": "127.0.0.1", "port": port}], "getinfo binding")
    check(info["network"] == "regtest", "getinfo network")
expect_error(-32602, "too many parameters: got 1, expected 0", l1.call, "getinfo", [1])
expect_error(-32602, lambda m: m.startswith("unknown parameter: x, this may be caused by a failure to autodetect"), l1.call, "getinfo", {"x": 1})
expect_error(-32601, "Unknown command 'nosuch'", l1.call, "nosuch")

# help
h = emit("help", l1.help())
check({"command": "connect id [host] [port]"} in h["help"], "help lists connect")
check(emit("help", l1.help("disconnect"))["help"] == [{"command": "disconnect id [force]"}], "help disconnect")
expect_error(-32601, "Unknown command nosuch", l1.help, "nosuch")

# connect: every form
r = emit("connect", l1.connect(id2, "127.0.0.1", port2))
check(r == {"id": id2, "features": FEATURES, "direction": "out", "address": {"type": "ipv4", "address": "127.0.0.1", "port": port2}}, f"connect result {r}")
check(emit("connect", l1.connect(f"{id2}@127.0.0.1:{port2}"))["id"] == id2, "connect id@host:port (already connected)")
check(emit("connect", l1.connect(f"{id2}@localhost", port=port2))["address"]["port"] == port2, "connect id@host + port")
check(call(l1, "connect", [id2, "localhost", port2])["direction"] == "out", "connect positional")
peers = emit("listpeers", l1.listpeers())["peers"]
check(len(peers) == 1 and peers[0]["id"] == id2 and peers[0]["connected"] is True and peers[0]["num_channels"] == 0, f"listpeers {peers}")
wait_for(lambda: len(l2.listpeers(id1)["peers"]) == 1, "l2 lists l1")
check(emit("listpeers", l2.listpeers(id1))["peers"][0]["netaddr"][0].startswith("127.0.0.1:"), "l2 netaddr")
check(emit("listpeers", l1.listpeers(UNKNOWN)) == {"peers": []}, "listpeers unknown id")
peer_log = emit("listpeers", l1.listpeers(id2, "debug"))["peers"][0]["log"]
check(all(e["type"] == "SKIPPED" or e["node_id"] == id2 for e in peer_log), f"listpeers level: entries about the peer only {peer_log}")
check(any(e["type"] == "INFO" and e["log"].startswith("peer connected") for e in peer_log), f"listpeers level: the peer's connection {peer_log}")
filtered = l1.call("listpeers", {}, filter={"peers": [{"id": True}]})
check(filtered == {"peers": [{"id": id2}]}, f"filter {filtered}")
mismatch = l1.call("listpeers", {}, filter={"peers": {"id": True}})
check(mismatch == {"peers": [], "warning_parameter_filter": ".peers is an array"}, f"filter shape mismatch drops the value {mismatch}")

# check: verified, not run (pyln's named form; test_check_command's cases)
check(emit("check", l1.check("help")) == {"command_to_check": "help"}, "check help")
check(l1.check(command_to_check="connect", id=UNKNOWN, host="127.0.0.1", port=1) == {"command_to_check": "connect"}, "check connect")
check(l1.listpeers(UNKNOWN)["peers"] == [], "check connect did not dial")
expect_error(-32601, "Unknown command 'badcommand'", l1.check, "badcommand")
expect_error(-32601, "Unknown command badcommand", l1.check, command_to_check="help", command="badcommand")
expect_error(-32602, "missing required parameter: id", l1.check, command_to_check="connect", host="x", port=77)
expect_error(-32602, "port: should be a 16-bit integer: invalid token '\"abcd\"'", l1.check, command_to_check="connect", id=id2, host="x", port="abcd")

# connect errors
expect_error(400, "Unable to connect, no address known for peer", l1.connect, UNKNOWN)
expect_error(401, lambda m: m.startswith("All addresses failed: 127.0.0.1:1: Connection establishment: Connection refused"), l1.connect, UNKNOWN, "localhost", 1)
expect_error(401, f"All addresses failed: 127.0.0.1:{port2}: Cryptographic handshake: peer closed connection (wrong key?). ", l1.connect, UNKNOWN, "127.0.0.1", port2)
expect_error(-32602, "id: should be a node id: invalid token (see logs for details)", l1.connect, "nope")
expect_error(-32602, "Can't specify host as both xxx@yyy and separate argument", l1.connect, f"{id2}@127.0.0.1", "127.0.0.1")
expect_error(-32602, "Can't specify port without host", l1.connect, id2, None, 9735)
expect_error(-32602, "port: should be non-zero: invalid token (see logs for details)", l1.connect, id2, "127.0.0.1", 0)
expect_error(-32602, "malformed host @part", l1.connect, f"{id2}@127.0.0.1:notaport")

# ping
check(emit("ping", l1.ping(id2))["totlen"] == 132, "ping default")
check(emit("ping", l1.ping(id2, 0, 0))["totlen"] == 4, "ping 0/0")
check(emit("ping", l1.ping(id2, 1000, 1000))["totlen"] == 1004, "ping 1000")
check(emit("ping", l1.ping(id2, 0, 65531))["totlen"] == 65535, "ping 65531")
check(emit("ping", l1.ping(id2, 10, 65532))["totlen"] == 0, "ping no reply")
check(call(l1, "ping", [id2, 0, 0])["totlen"] == 4, "ping positional")
expect_error(-32602, "65530 would result in oversize ping", l1.ping, id2, 65530)
expect_error(-32602, "pongbytes 65536 > 65535", l1.ping, id2, 1, 65536)
expect_error(-1, "Peer not connected", l1.ping, UNKNOWN)
expect_error(-32602, "id: should be a node id: invalid token (see logs for details)", l1.ping, "02abc")

# disconnect, with a channel row put in l1's channel store directly
db = sqlite3.connect(cfg["l1"]["db"], timeout=10)
now = int(time.time() * 1000)
db.execute(
    "INSERT INTO channels (channel_id, peer_id, state, opener, capacity_sat, created_at, updated_at) VALUES (?, ?, ?, 'local', 0, ?, ?)",
    ("ef" * 32, id2, "CHANNELD_NORMAL", now, now),
)
db.commit()
expect_error(-1, "Peer has (at least one) channel in state CHANNELD_NORMAL", l1.disconnect, id2)
check(emit("disconnect", l1.disconnect(id2, True)) == {}, "forced disconnect")
p = emit("listpeers", l1.listpeers(id2))["peers"]
check(p == [{"id": id2, "connected": False, "num_channels": 1, "features": FEATURES}], f"offline channel peer {p}")
expect_error(-1, "Peer not connected", l1.disconnect, id2)
expect_error(-1, "Peer not connected", l1.disconnect, id2, True)
expect_error(-1, "Peer not connected", l1.ping, id2)
db.execute("DELETE FROM channels WHERE channel_id = ?", ("ef" * 32,))
db.commit()
db.close()
check(l1.listpeers(id2)["peers"] == [], "forgotten once the channel is gone")

l1.connect(id2, "127.0.0.1", port2)
check(emit("disconnect", l1.disconnect(id2)) == {}, "plain disconnect")
check(l1.listpeers(id2)["peers"] == [], "gone at once")
wait_for(lambda: l2.listpeers()["peers"] == [], "l2 forgets l1")
expect_error(-32602, f"Unknown peer '{id2}'", l1.disconnect, id2)
expect_error(-32602, f"Unknown peer '{id1}'", l2.disconnect, id1)
expect_error(-32602, "id: invalid peer id: invalid token (see logs for details)", l1.disconnect, "nope")
expect_error(-32602, "missing required parameter: id", l1.call, "disconnect", {})

# stop
check(emit("stop", l2.stop()) == {"result": "Shutdown complete"}, "stop")
print(f"OK {checks} checks", flush=True)
