#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm ci` (prepare) or `npm run build`, which
// also bundles it (scripts/bundle.mjs): the bundle loads in about two thirds of the CPU of the
// separate modules, and runs when it is not older than them (a bare `tsc` leaves it behind).
import { freshBundleOr } from '../dist/core/fresh-bundle.js';

const entry = freshBundleOr(new URL('../dist/cli-bundle/main.js', import.meta.url), new URL('../dist/cli/main.js', import.meta.url));

import(entry.href)
  .then((m) => m.main(process.argv.slice(2)))
  .then((code) => {
    process.exitCode = code;
  });
