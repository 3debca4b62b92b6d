/**
 * Which of a build's two forms of an entry point to load: its bundle (scripts/bundle.mjs) when it
 * is there and not older than the compiled modules, else the modules. A bare `tsc` after a build
 * leaves an old bundle behind, which must not run in place of the newer code.
 */
import { existsSync, statSync } from 'node:fs';

export function freshBundleOr(bundle: URL, modules: URL): URL {
  if (!existsSync(bundle) || !existsSync(modules)) return modules;
  return statSync(bundle).mtimeMs >= statSync(modules).mtimeMs ? bundle : modules;
}
