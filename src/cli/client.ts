import { connect, type Socket } from 'node:net';
import { member, parseJson, rawText, type JsonDoc, type JsonNode } from '../rpc/cln/json.js';
import { socketAddress } from '../rpc/cln/server.js';

/** Failure to reach anode or to understand its answer (anode-cli exit status 2). */
export class TalkError extends Error {
  override name = 'TalkError';
}

export interface RpcReply {
  doc: JsonDoc;
  result?: JsonNode;
  error?: JsonNode;
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'No such file or directory',
  ECONNREFUSED: 'Connection refused',
  EACCES: 'Permission denied',
  ENOTSOCK: 'Socket operation on non-socket',
};

/**
 * A JSON-RPC client for the unix socket, with CLN's framing: responses and notifications are JSON
 * objects each followed by "\n\n". Replies are matched on their id; notifications (no id) go to
 * `onNotification`.
 */
export class RpcClient {
  #buf = '';
  #waiters = new Map<string, { resolve: (r: RpcReply) => void; reject: (e: Error) => void }>();
  #failure: Error | undefined;
  onNotification: ((doc: JsonDoc) => void) | undefined;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (s: string) => this.#onData(s));
    socket.on('error', (err: NodeJS.ErrnoException) => this.#fail(new TalkError(`reading response: ${ERRNO_TEXT[err.code ?? ''] ?? err.message}`)));
    socket.on('close', () => this.#fail(new TalkError('reading response: connection closed by anode')));
  }

  static open(path: string): Promise<RpcClient> {
    return new Promise((resolve, reject) => {
      let s: Socket;
      let addr: ReturnType<typeof socketAddress>;
      try {
        addr = socketAddress(path);
        s = connect(addr.path);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        reject(new TalkError(`Connecting to '${path}': ${ERRNO_TEXT[e.code ?? ''] ?? e.message}`));
        return;
      }
      s.once('connect', () => {
        addr.release();
        s.removeAllListeners('error');
        resolve(new RpcClient(s));
      });
      s.once('error', (err: NodeJS.ErrnoException) => {
        addr.release();
        reject(new TalkError(`Connecting to '${path}': ${ERRNO_TEXT[err.code ?? ''] ?? err.message}`));
      });
    });
  }

  /** Sends `request` and waits for the reply whose id is `id` (as a JSON string). */
  call(request: string, id: string): Promise<RpcReply> {
    if (this.#failure) return Promise.reject(this.#failure);
    const key = JSON.stringify(id);
    const p = new Promise<RpcReply>((resolve, reject) => this.#waiters.set(key, { resolve, reject }));
    this.socket.write(request);
    return p;
  }

  close(): void {
    this.socket.destroy();
  }

  #onData(s: string): void {
    this.#buf += s;
    let i: number;
    while ((i = this.#buf.indexOf('\n\n')) >= 0) {
      const text = this.#buf.slice(0, i);
      this.#buf = this.#buf.slice(i + 2);
      if (text.trim() === '') continue;
      let doc: JsonDoc;
      try {
        doc = parseJson(text);
      } catch (err) {
        this.#fail(new TalkError(`anode sent invalid JSON: ${(err as Error).message}`));
        return;
      }
      const idNode = member(doc.root, 'id');
      if (!idNode) {
        this.onNotification?.(doc);
        continue;
      }
      let key = rawText(doc, idNode);
      // An error about the request itself (unparseable, …) comes back with id null.
      if (key === 'null' && member(doc.root, 'error') && this.#waiters.size > 0) key = this.#waiters.keys().next().value!;
      const w = this.#waiters.get(key);
      if (!w) {
        this.#fail(new TalkError(`anode answered with an unexpected id ${key}`));
        return;
      }
      this.#waiters.delete(key);
      const result = member(doc.root, 'result');
      const error = member(doc.root, 'error');
      if (!result && !error) {
        w.reject(new TalkError('anode sent a response with neither result nor error'));
        continue;
      }
      w.resolve({ doc, result, error });
    }
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    for (const w of this.#waiters.values()) w.reject(err);
    this.#waiters.clear();
  }
}
