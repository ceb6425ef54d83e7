/**
 * Failure attribution's channel, as CLN reports it: `erring_channel` is the erring node's OUTGOING channel
 * (route_channels[erring_index]), the last channel when the destination erred — the same direction
 * mission control penalises. Pure: a three-hop route and the failure packets each hop would return.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createFailure, wrapFailure } from '../../src/onion/failure-onion.js';
import { FailureCode, type FailureMessage } from '../../src/onion/failure.js';
import { routeJson, type RouteHop } from '../../src/payment/route.js';
import { attribute } from '../../src/payment/send.js';
import type { PaymentPart } from '../../src/store/payments.js';

describe('attribute: erring channel', () => {
  const route: RouteHop[] = [
    { id: '02'.repeat(33), channel: '101x1x0', amountMsat: 3_002n, delay: 620 },
    { id: '03'.repeat(33), channel: '102x1x0', amountMsat: 3_001n, delay: 580 },
    { id: '04'.repeat(33), channel: '103x1x0', amountMsat: 3_000n, delay: 540 },
  ];
  const secrets = route.map(() => randomBytes(32));
  const part = { route: routeJson(route), sharedSecrets: secrets.map((s) => s.toString('hex')) } as PaymentPart;
  /** The failure hop `i` (0-based) returns, wrapped by each hop before it. */
  const from = (i: number, code: number): Buffer => {
    let p = createFailure(secrets[i]!, { code } as FailureMessage);
    for (let j = i - 1; j >= 0; j--) p = wrapFailure(secrets[j]!, p);
    return p;
  };

  it('a forwarding node erring names its outgoing channel; the destination erring names the last channel; malformed at the first hop names its outgoing channel', () => {
    const first = attribute(part, from(0, FailureCode.UNKNOWN_NEXT_PEER));
    assert.deepEqual([first.erringIndex, first.erringNode, first.erringChannel], [1, route[0]!.id, '102x1x0']);
    const second = attribute(part, from(1, FailureCode.UNKNOWN_NEXT_PEER));
    assert.deepEqual([second.erringIndex, second.erringNode, second.erringChannel], [2, route[1]!.id, '103x1x0']);
    const payee = attribute(part, from(2, FailureCode.TEMPORARY_NODE_FAILURE));
    assert.deepEqual([payee.erringIndex, payee.erringNode, payee.erringChannel], [3, route[2]!.id, '103x1x0']);
    const malformed = attribute(part, Buffer.alloc(0));
    assert.deepEqual([malformed.erringIndex, malformed.erringChannel], [1, '102x1x0']);
  });
});
