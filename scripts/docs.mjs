#!/usr/bin/env node
// Renders the manual pages in docs/ from the method schemas in schemas/ (`npm run docs`).
// `--check` writes nothing and exits 1 when a page is missing or out of date.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateDocs } from '../dist/src/rpc/cln/manpage.js';
import { DOCS_DIR, loadSchemas } from '../dist/src/rpc/cln/schema.js';

const check = process.argv.includes('--check');
const stale = [];
for (const [file, text] of generateDocs(loadSchemas().values())) {
  const path = join(DOCS_DIR, file);
  const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  if (current === text) continue;
  stale.push(file);
  if (!check) writeFileSync(path, text);
}
if (check) {
  if (stale.length) {
    console.error(`docs: out of date: ${stale.join(', ')} (run npm run docs)`);
    process.exit(1);
  }
  console.log('docs: up to date');
} else {
  console.log(stale.length ? `docs: wrote ${stale.join(', ')}` : 'docs: up to date');
}
