import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface MetricsServer {
  /** Where it listens (the port resolved when 0 was asked for). */
  address: { host: string; port: number };
  stop(): Promise<void>;
}

/** Serves `registry` as Prometheus text at `GET /metrics` (`--metrics-listen`); anything else is 404. */
export async function startMetricsServer(listen: { host: string; port: number }, registry: Registry): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the metrics are at GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics: ${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`metrics: cannot listen on ${listen.host}:${listen.port}: ${err.code ?? err.message}`)));
    server.listen(listen.port, listen.host, () => resolve());
  });
  const a = server.address() as { address: string; port: number };
  return {
    address: { host: a.address, port: a.port },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
