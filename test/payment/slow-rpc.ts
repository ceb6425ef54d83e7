/**
 * A JSON-RPC call that may take longer than rpcCall's 10 s (a `pay` that ends only when its HTLC is
 * resolved on chain): the one reply, parsed, or a rejection after `timeoutMs`.
 */
import { join } from 'node:path';
import { RawClient } from '../rpc/harness.js';

export async function slowCall<T = unknown>(dir: string, method: string, params: Record<string, unknown>, timeoutMs: number): Promise<{ result?: T; error?: { code: number; message: string } }> {
  const c = await RawClient.open(join(dir, 'regtest', 'lightning-rpc'));
  try {
    c.send(JSON.stringify({ jsonrpc: '2.0', id: `slow:${method}`, method, params }));
    await c.waitFor(1, timeoutMs);
    return JSON.parse(c.responses[0]!) as { result?: T; error?: { code: number; message: string } };
  } finally {
    c.close();
  }
}
