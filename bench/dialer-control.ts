import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DialerCommand, DialerReply } from './dialer.js';

/** Starts the dialer child (bench/dialer.ts), which opens and holds peer connections on command. */
export function forkDialer(): ChildProcess {
  return fork(fileURLToPath(new URL('./dialer.js', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/** Sends one command to the dialer and waits for its reply. */
export function command(child: ChildProcess, cmd: DialerCommand): Promise<DialerReply> {
  return new Promise((resolve, reject) => {
    const onExit = (): void => reject(new Error('bench: dialer exited'));
    child.once('exit', onExit);
    child.once('message', (m: DialerReply) => {
      child.off('exit', onExit);
      if (m.ok) resolve(m);
      else reject(new Error(`bench: dialer: ${m.error}`));
    });
    child.send(cmd);
  });
}
