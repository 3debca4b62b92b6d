#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm ci` (prepare) or `npm run build`, which
// also bundles it (scripts/bundle.mjs): the bundle loads in about two thirds of the CPU of the
// separate modules, and runs when it is not older than them (a bare `tsc` leaves it behind).
import { existsSync, statSync } from 'node:fs';

const modules = new URL('../dist/cli/main.js', import.meta.url);
const bundle = new URL('../dist/cli-bundle/main.js', import.meta.url);
const fresh = existsSync(bundle) && existsSync(modules) && statSync(bundle).mtimeMs >= statSync(modules).mtimeMs;

import((fresh ? bundle : modules).href)
  .then((m) => m.main(process.argv.slice(2)))
  .then((code) => {
    process.exitCode = code;
  });
