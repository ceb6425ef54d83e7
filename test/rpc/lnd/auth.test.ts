/** The authorisation matrix of issue 4, over gRPC (grpc-js with anode's .proto) and REST. */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addFirstPartyCaveat, decodeMacaroon, encodeMacaroon, mintMacaroon, ADMIN_PERMISSIONS } from '../../../src/rpc/lnd/macaroons.js';
import { packageDefinition } from '../../../src/rpc/lnd/methods.js';
import { generateCertificate } from '../../../src/rpc/lnd/tls.js';
import { rest, startTestLndRpc, type TestLndRpc } from './harness.js';

type Client = grpc.Client & Record<string, (req: unknown, md: grpc.Metadata, opts: object, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void>;

function client(t: TestLndRpc, service: string, ca = t.cert): Client {
  const Ctor = grpc.loadPackageDefinition(packageDefinition());
  const path = service.split('.');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const S = (Ctor as any)[path[0]!][path[1]!] as grpc.ServiceClientConstructor;
  return new S(t.grpcAddr, grpc.credentials.createSsl(Buffer.from(ca)), { 'grpc.ssl_target_name_override': 'localhost' }) as unknown as Client;
}

function call(c: Client, method: string, req: unknown, macaroon?: Buffer | null): Promise<{ err: grpc.ServiceError | null; res: unknown }> {
  const md = new grpc.Metadata();
  if (macaroon) md.set('macaroon', macaroon.toString('hex'));
  return new Promise((resolve) => c[method]!(req, md, { deadline: Date.now() + 5000 }, (err, res) => resolve({ err, res })));
}

describe('authorisation matrix', () => {
  let t: TestLndRpc;
  let ln: Client;
  before(async () => {
    t = await startTestLndRpc();
    ln = client(t, 'lnrpc.Lightning');
  });
  after(async () => {
    ln.close();
    await t.close();
  });

  const mac = (f: (m: ReturnType<typeof decodeMacaroon>) => ReturnType<typeof decodeMacaroon>) => encodeMacaroon(f(decodeMacaroon(t.admin)));
  const cases: { name: string; mac: () => Buffer | null; method: string; rest: [string, string]; want: string | null }[] = [
    { name: 'no macaroon', mac: () => null, method: 'GetInfo', rest: ['GET', '/v1/getinfo'], want: 'expected 1 macaroon, got 0' },
    { name: 'readonly on a write method', mac: () => t.readonly, method: 'DisconnectPeer', rest: ['DELETE', '/v1/peers/02aa'], want: 'permission denied' },
    {
      name: 'expired time-before',
      mac: () => mac((m) => addFirstPartyCaveat(m, 'time-before 2020-01-01T00:00:00Z')),
      method: 'GetInfo',
      rest: ['GET', '/v1/getinfo'],
      want: 'caveat "time-before 2020-01-01T00:00:00Z" not satisfied: macaroon has expired',
    },
    {
      name: 'wrong ipaddr',
      mac: () => mac((m) => addFirstPartyCaveat(m, 'ipaddr 10.9.9.9')),
      method: 'GetInfo',
      rest: ['GET', '/v1/getinfo'],
      want: 'caveat "ipaddr 10.9.9.9" not satisfied: macaroon locked to different IP address',
    },
    {
      name: 'forged signature',
      mac: () => mac((m) => ({ ...m, signature: Buffer.from(m.signature.map((b, i) => (i === 0 ? b ^ 1 : b))) })),
      method: 'GetInfo',
      rest: ['GET', '/v1/getinfo'],
      want: 'verification failed: signature mismatch after caveat verification',
    },
    {
      name: 'macaroon from another root key',
      mac: () => encodeMacaroon(mintMacaroon({ rootKey: Buffer.alloc(32, 7), ops: ADMIN_PERMISSIONS })),
      method: 'GetInfo',
      rest: ['GET', '/v1/getinfo'],
      want: 'verification failed: signature mismatch after caveat verification',
    },
    { name: 'admin', mac: () => t.admin, method: 'GetInfo', rest: ['GET', '/v1/getinfo'], want: null },
    { name: 'admin with a future time-before and ipaddr 127.0.0.1', mac: () => mac((m) => addFirstPartyCaveat(addFirstPartyCaveat(m, 'time-before 2999-01-01T00:00:00Z'), 'ipaddr 127.0.0.1')), method: 'GetInfo', rest: ['GET', '/v1/getinfo'], want: null },
    {
      name: 'uri:/lnrpc.Lightning/GetInfo allowed for GetInfo',
      mac: () => encodeMacaroon(mintMacaroon({ rootKey: Buffer.alloc(0), ops: [] })),
      method: 'GetInfo',
      rest: ['GET', '/v1/getinfo'],
      want: null,
    },
    {
      name: 'uri:/lnrpc.Lightning/GetInfo refused for ListPeers',
      mac: () => Buffer.alloc(0),
      method: 'ListPeers',
      rest: ['GET', '/v1/peers'],
      want: 'permission denied',
    },
  ];

  for (const c of cases) {
    it(`${c.name}: ${c.want ?? 'allowed'} (gRPC Unknown / REST 500 as LND)`, async () => {
      let m = c.mac();
      if (c.name.startsWith('uri:')) {
        const rootKey = (await t.rootKeys.getRootKey('0'))!;
        m = encodeMacaroon(mintMacaroon({ rootKey, ops: [{ entity: 'uri', action: '/lnrpc.Lightning/GetInfo' }] }));
      }
      const g = await call(ln, c.method, c.method === 'DisconnectPeer' ? { pub_key: '02aa' } : {}, m);
      const r = await rest(t, c.rest[0], c.rest[1], { macaroon: m });
      if (c.want === null) {
        assert.equal(g.err, null);
        assert.equal(r.status, 200);
      } else {
        assert.equal(g.err?.code, grpc.status.UNKNOWN);
        assert.equal(g.err?.details, c.want);
        assert.deepEqual(r, { status: 500, body: { code: 2, message: c.want, details: [] } });
      }
    });
  }

  it('wrong TLS certificate: the client refuses the connection (gRPC UNAVAILABLE, https error)', async () => {
    const other = await generateCertificate({ dns: ['localhost'], ips: ['127.0.0.1'] }, 'localhost');
    const c = client(t, 'lnrpc.Lightning', other.certPem);
    const g = await call(c, 'GetInfo', {}, t.admin);
    c.close();
    assert.equal(g.err?.code, grpc.status.UNAVAILABLE);
    await assert.rejects(rest(t, 'GET', '/v1/getinfo', { ca: other.certPem }), /self[- ]signed|unable to verify|certificate/i);
  });

  it('unimplemented Lightning methods: authorised first, then UNIMPLEMENTED', async () => {
    const g = await call(ln, 'SignMessage', {}, t.admin);
    assert.equal(g.err?.code, grpc.status.UNIMPLEMENTED);
    assert.equal(g.err?.details, 'method SignMessage not implemented');
    const ro = await call(ln, 'SendCoins', {}, t.readonly);
    assert.equal(ro.err?.code, grpc.status.UNKNOWN);
    assert.equal(ro.err?.details, 'permission denied');
    const unknownPerm = await call(ln, 'DeleteCanceledInvoice', {}, t.admin);
    assert.equal(unknownPerm.err?.details, '/lnrpc.Lightning/DeleteCanceledInvoice: unknown permissions required for method');
  });
});
