/**
 * Creates the TLS certificate in a short-lived child process (`generateInChild` in tls.ts): the daemon
 * then never loads @peculiar/x509 and its ASN.1 modules, and none of the memory creating it took stays
 * with the daemon (RSS at rest, docs/performance.md). Argument: `{ sans, host }` as JSON; output: the
 * PEMs as JSON on stdout.
 */
import { generateCertificate } from './tls.js';

const { sans, host } = JSON.parse(process.argv[2] ?? '') as { sans: { dns: string[]; ips: string[] }; host: string };
process.stdout.write(JSON.stringify(await generateCertificate(sans, host)));
