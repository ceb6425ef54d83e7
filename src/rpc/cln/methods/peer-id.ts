import type { ParamContext } from '../method.js';

/** A `pubkey` parameter as a Buffer (schema-checked, with `reason` replacing the type's text). */
export function nodeIdParam(p: ParamContext, reason?: string): Buffer {
  return Buffer.from(p.standard(reason) as string, 'hex');
}
