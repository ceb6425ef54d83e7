/**
 * proto/ against LND's own field table: for every method anode serves, the request and response types
 * and streaming shape, and for every message reachable from them, each field's name, number, type and
 * label exactly as LND declares it (and no field LND does not have); every enum's values. The table
 * (lnd-fields.json) holds facts extracted from LND's lnrpc/*.proto (as bundled in lightning@12.5.0,
 * whose GetInfoResponse matches LND HEAD with wallet_synced = 23 and graph_cache_status = 24).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { methodTable, packageDefinition } from '../../../src/rpc/lnd/methods.js';
import type { EnumDesc, FieldDesc, MessageDesc } from '../../../src/rpc/lnd/protojson.js';
import { testLogger } from '../../harness/daemon.js';

interface LndField {
  id: number;
  type: string;
  repeated?: boolean;
  map?: string;
}
interface LndTable {
  services: Record<string, Record<string, { request: string; response: string; requestStream: boolean; responseStream: boolean }>>;
  types: Record<string, { fields?: Record<string, LndField>; enum?: Record<string, number> }>;
}

const table = JSON.parse(readFileSync(new URL('../../../../test/rpc/lnd/lnd-fields.json', import.meta.url), 'utf8')) as LndTable;
const def = packageDefinition();

type Found = { kind: 'message'; desc: MessageDesc; name: string } | { kind: 'enum'; desc: EnumDesc; name: string };

/** A type by full name, nested ones included (`pkg.Outer.Inner`). */
function lookup(full: string): Found | undefined {
  const parts = full.split('.');
  for (let i = parts.length; i > 0; i--) {
    const top = def[parts.slice(0, i).join('.')] as { type?: MessageDesc | EnumDesc; format?: string } | undefined;
    if (!top?.type) continue;
    let cur: Found = String(top.format).includes('Enum') ? { kind: 'enum', desc: top.type as EnumDesc, name: parts.slice(0, i).join('.') } : { kind: 'message', desc: top.type as MessageDesc, name: parts.slice(0, i).join('.') };
    for (const p of parts.slice(i)) {
      if (cur.kind !== 'message') return undefined;
      const m: MessageDesc | undefined = cur.desc.nestedType.find((n) => n.name === p);
      const e: EnumDesc | undefined = cur.desc.enumType.find((n) => n.name === p);
      if (m) cur = { kind: 'message', desc: m, name: `${cur.name}.${p}` };
      else if (e) cur = { kind: 'enum', desc: e, name: `${cur.name}.${p}` };
      else return undefined;
    }
    return cur;
  }
  return undefined;
}

/** A field's type name as written in proto/, resolved from the message it is in (as protoc resolves it). */
function resolveFrom(scope: string, typeName: string): Found {
  const parts = scope.split('.');
  for (let i = parts.length; i >= 0; i--) {
    const found = lookup([...parts.slice(0, i), typeName].join('.'));
    if (found) return found;
  }
  throw new Error(`cannot resolve ${typeName} from ${scope}`);
}

function ourField(scope: string, desc: MessageDesc, f: FieldDesc): LndField {
  if (f.type === 'TYPE_MESSAGE' || f.type === 'TYPE_ENUM') {
    const r = resolveFrom(scope, f.typeName);
    if (r.kind === 'message' && (r.desc as MessageDesc & { options?: { mapEntry?: boolean } }).options?.mapEntry) {
      const [k, v] = [r.desc.field.find((x) => x.number === 1)!, r.desc.field.find((x) => x.number === 2)!];
      return { id: f.number, type: ourField(r.name, r.desc, v).type, map: k.type.replace('TYPE_', '').toLowerCase() };
    }
    return { id: f.number, type: r.name, ...(f.label === 'LABEL_REPEATED' ? { repeated: true } : {}) };
  }
  void desc;
  return { id: f.number, type: f.type.replace('TYPE_', '').toLowerCase(), ...(f.label === 'LABEL_REPEATED' ? { repeated: true } : {}) };
}

describe("proto/ against LND's field table", () => {
  it('every method in the table is served with LND’s request and response types and streaming shape', () => {
    const methods = methodTable(testLogger());
    let n = 0;
    for (const [service, ms] of Object.entries(table.services)) {
      for (const [name, want] of Object.entries(ms)) {
        const m = methods.get(`/${service}/${name}`);
        assert.ok(m, `${service}/${name} is declared`);
        assert.ok(m.handler || m.stream, `${service}/${name} is served`);
        assert.deepEqual(
          [m.requestType, m.responseType, m.requestStream, m.responseStream],
          [want.request, want.response, want.requestStream, want.responseStream],
          `${service}/${name}`,
        );
        n++;
      }
    }
    assert.ok(n >= 25, String(n));
  });

  it('every message and enum of those methods: each field’s name, number, type and label as LND’s, none extra', () => {
    let fields = 0;
    for (const [name, want] of Object.entries(table.types)) {
      const ours = lookup(name);
      assert.ok(ours, `${name} is declared in proto/`);
      if (want.enum) {
        assert.equal(ours.kind, 'enum', name);
        const values = Object.fromEntries((ours.desc as EnumDesc).value.map((v) => [v.name, v.number]));
        assert.deepEqual(values, want.enum, name);
        continue;
      }
      assert.equal(ours.kind, 'message', name);
      const desc = ours.desc as MessageDesc;
      const got = Object.fromEntries(desc.field.map((f) => [f.name, ourField(name, desc, f)]));
      assert.deepEqual(got, want.fields, name);
      fields += desc.field.length;
    }
    assert.ok(fields > 300, String(fields));
  });

  it('GetInfoResponse carries LND HEAD’s wallet_synced (23) and graph_cache_status (24)', () => {
    const f = table.types['lnrpc.GetInfoResponse']!.fields!;
    assert.deepEqual([f.wallet_synced, f.graph_cache_status], [
      { id: 23, type: 'bool' },
      { id: 24, type: 'lnrpc.GraphCacheStatus' },
    ]);
  });
});
