import { InvoiceBook } from '../../src/invoice/book.js';
import { signWithKey } from '../../src/invoice/bolt11.js';
import type { NodeCore } from '../../src/node/core/index.js';
import type { Store } from '../../src/store/database.js';

/**
 * A started invoice book on `store` (regtest, signed with `key`, preimages from `seed`), set as the
 * `invoices` of an in-process node core, as node.ts wires it for the daemon.
 */
export async function attachBook(core: NodeCore, store: Store, key: { privateKey: Buffer; publicKey: Buffer }, seed: Buffer): Promise<InvoiceBook> {
  const book = new InvoiceBook({ repo: store.invoices, network: 'regtest', nodeId: key.publicKey, sign: signWithKey(key.privateKey), preimageKey: InvoiceBook.preimageKey(seed) });
  await book.start();
  (core as { invoices?: InvoiceBook }).invoices = book;
  return book;
}
