/** Property tests of the REST gateway's path matching and request building. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RpcError } from '../../../src/rpc/lnd/errors.js';
import { schema } from '../../../src/rpc/lnd/methods.js';
import { defaults, fromJson, toJson } from '../../../src/rpc/lnd/protojson.js';
import { buildRequest, matchRoute, ROUTES } from '../../../src/rpc/lnd/rest.js';

const S = schema();
const terminate = ROUTES.find((r) => r.template.includes('sessions/terminate'))!;

describe('REST parsing: property tests', () => {
  it('matchRoute is total: any method and path give a route, not-found or method-not-allowed', () => {
    fc.assert(
      fc.property(fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'X'), fc.string({ maxLength: 80 }), (m, p) => {
        const r = matchRoute(m, '/' + p);
        assert.ok(['route', 'not-found', 'method-not-allowed'].includes(r.kind));
      }),
      { numRuns: 3000 },
    );
  });

  it('a base64 session id round-trips through the terminate path, standard (percent-encoded) and URL-safe', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.boolean(), (bytes, urlSafe) => {
        const b = Buffer.from(bytes);
        const seg = urlSafe ? b.toString('base64url') : encodeURIComponent(b.toString('base64'));
        const m = matchRoute('POST', `/v2/watchtower/client/sessions/terminate/${seg}`);
        assert.equal(m.kind, 'route');
        if (m.kind !== 'route') return;
        const req = buildRequest(S, 'wtclientrpc.TerminateSessionRequest', m.route, m.params, new URLSearchParams(), '');
        assert.deepEqual(req.session_id, b);
      }),
      { numRuns: 1000 },
    );
  });

  it('any path segment either parses or is refused with InvalidArgument', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 60 }), (s) => {
        const m = matchRoute('POST', `/v2/watchtower/client/sessions/terminate/${encodeURIComponent(s)}`);
        if (m.kind !== 'route') return;
        try {
          buildRequest(S, 'wtclientrpc.TerminateSessionRequest', terminate, m.params, new URLSearchParams(), '');
        } catch (e) {
          assert.ok(e instanceof RpcError && e.code === 3, String(e));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('bodies: any JSON either decodes or is InvalidArgument; toJson∘fromJson is stable', () => {
    const add = ROUTES.find((r) => r.target.endsWith('/AddTower'))!;
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string()), (body) => {
        try {
          const msg = buildRequest(S, 'wtclientrpc.AddTowerRequest', add, {}, new URLSearchParams(), body);
          const j = toJson(S, 'wtclientrpc.AddTowerRequest', msg);
          assert.deepEqual(toJson(S, 'wtclientrpc.AddTowerRequest', fromJson(S, 'wtclientrpc.AddTowerRequest', j)), j);
        } catch (e) {
          assert.ok(e instanceof RpcError && e.code === 3, String(e));
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('ConnectPeerRequest: 64-bit fields accept numbers and strings, nested messages, camelCase names', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.boolean(), (n, asStringWanted) => {
        // JSON numbers above 2^53 are not exact in JS: those go as strings, as LND's clients send them.
        const asString = asStringWanted || n > BigInt(Number.MAX_SAFE_INTEGER);
        const msg = fromJson(S, 'lnrpc.ConnectPeerRequest', { addr: { pubkey: 'ab', host: 'h' }, perm: true, timeout: asString ? n.toString() : Number(n) });
        assert.equal(msg.timeout, n.toString());
        assert.deepEqual(msg.addr, { pubkey: 'ab', host: 'h' });
      }),
    );
    assert.throws(() => fromJson(S, 'lnrpc.ConnectPeerRequest', { timeout: '-1' }), RpcError);
    assert.equal(fromJson(S, 'lnrpc.ListPeersRequest', { latestError: true }).latest_error, true);
    assert.deepEqual(toJson(S, 'lnrpc.ListPeersResponse', defaults(S, 'lnrpc.ListPeersResponse')), { peers: [] });
  });

  it('nested path parameters (CloseChannel channel_point.*): any segments either fill the nested message or are InvalidArgument', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 70 }), fc.string({ minLength: 1, maxLength: 12 }), fc.string({ maxLength: 30 }), (txid, index, query) => {
        const m = matchRoute('DELETE', `/v1/channels/${encodeURIComponent(txid)}/${encodeURIComponent(index)}`);
        if (m.kind !== 'route') return;
        try {
          const req = buildRequest(S, 'lnrpc.CloseChannelRequest', m.route, m.params, new URLSearchParams(query), '');
          const cp = req.channel_point as Record<string, unknown>;
          assert.equal(cp.funding_txid_str, txid);
          assert.equal(Number(cp.output_index), Number(index));
        } catch (e) {
          assert.ok(e instanceof RpcError && e.code === 3, String(e));
        }
      }),
      { numRuns: 2000 },
    );
    const m = matchRoute('DELETE', '/v1/channels/' + 'ab'.repeat(32) + '/1');
    assert.equal(m.kind, 'route');
    if (m.kind !== 'route') return;
    const req = buildRequest(S, 'lnrpc.CloseChannelRequest', m.route, m.params, new URLSearchParams('force=true'), '');
    assert.deepEqual([(req.channel_point as Record<string, unknown>).funding_txid_str, (req.channel_point as Record<string, unknown>).output_index, req.force], ['ab'.repeat(32), 1, true]);
  });

  it('nested messages that name a sibling nested type (PendingChannelsResponse.PendingOpenChannel.channel) are written', () => {
    const j = toJson(S, 'lnrpc.PendingChannelsResponse', { pending_open_channels: [{ channel: { remote_node_pub: 'ab', capacity: '5', initiator: 'INITIATOR_LOCAL' }, commit_fee: '7' }] });
    const open = (j.pending_open_channels as Record<string, unknown>[])[0]!;
    assert.equal(open.commit_fee, '7');
    assert.deepEqual([(open.channel as Record<string, unknown>).remote_node_pub, (open.channel as Record<string, unknown>).capacity, (open.channel as Record<string, unknown>).initiator], ['ab', '5', 'INITIATOR_LOCAL']);
  });

  it('map query parameters (EstimateFee AddrToAmount[addr]=n): integers or InvalidArgument', () => {
    const route = ROUTES.find((r) => r.target.endsWith('/lnrpc.Lightning/EstimateFee'))!;
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 20 }), (key, value) => {
        const q = new URLSearchParams();
        q.append(`AddrToAmount[${key}]`, value);
        try {
          const req = buildRequest(S, 'lnrpc.EstimateFeeRequest', route, {}, q, '');
          if (!key.includes(']')) assert.equal((req.AddrToAmount as Record<string, string>)[key], BigInt(value).toString());
        } catch (e) {
          assert.ok(e instanceof RpcError && e.code === 3, String(e));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
