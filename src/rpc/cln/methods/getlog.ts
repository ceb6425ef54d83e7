import { CoreError } from '../../../node/core/index.js';
import type { ClnLogLevel } from '../../../node/log-book.js';
import type { MethodDef } from '../method.js';

/** `getlog [level]`: the node's log book at `level` (default info) or above, as lightningd lists it. */
export const getlog: MethodDef = {
  name: 'getlog',
  async run(params, { core }) {
    const book = core.logBook;
    if (!book) throw new CoreError('NOT_ACTIVE', 'log book not active');
    const level = (params.level as ClnLogLevel | undefined) ?? 'info';
    return { created_at: book.createdAt, bytes_used: book.bytesUsed, bytes_max: book.bytesMax, log: book.list(level) };
  },
};
