#!/usr/bin/env node
// Entry point of the `shipshape` executable.
import { main } from './shipshape.js';

process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
});
