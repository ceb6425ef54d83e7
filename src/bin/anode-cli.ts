#!/usr/bin/env node
import { runCli } from '../cli/main.js';

runCli(process.argv.slice(2), {
  io: { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) },
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`anode-cli: fatal: ${err.stack ?? err.message}\n`);
    process.exitCode = 2;
  },
);
