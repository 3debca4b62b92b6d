/**
 * Model references: `fraud@champion` (an alias), `fraud@7` (a version), as written in jobs, on
 * the command line and in HTTP paths. Parsed once here; everything else takes a ModelRef.
 */
import { RegistryError } from '../core/errors.js';

/** Model and alias names: safe as one path segment of an object key. */
export const MODEL_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** Aliases must not look like version numbers, or `fraud@7` would be ambiguous. */
export const ALIAS_NAME = /^[a-z][a-z0-9._-]{0,62}$/;

export type ModelRef =
  { readonly name: string; readonly kind: 'version'; readonly version: number } | { readonly name: string; readonly kind: 'alias'; readonly alias: string };

export function parseModelRef(text: string): ModelRef {
  const at = text.indexOf('@');
  if (at === -1) throw new RegistryError(`model reference "${text}": expected name@alias or name@version (e.g. fraud@champion, fraud@7)`);
  const name = checkModelName(text.slice(0, at));
  const tail = text.slice(at + 1);
  if (/^\d+$/.test(tail)) {
    const version = Number(tail);
    if (!Number.isSafeInteger(version) || version < 1) throw new RegistryError(`model reference "${text}": versions start at 1`);
    return { name, kind: 'version', version };
  }
  return { name, kind: 'alias', alias: checkAliasName(tail) };
}

export function formatModelRef(ref: ModelRef): string {
  return `${ref.name}@${ref.kind === 'version' ? ref.version : ref.alias}`;
}

export function checkModelName(name: string): string {
  if (!MODEL_NAME.test(name))
    throw new RegistryError(`model name "${name}": expected lowercase letters, digits, ".", "-" and "_" (max 63, starting with a letter or digit)`);
  return name;
}

export function checkAliasName(alias: string): string {
  if (!ALIAS_NAME.test(alias))
    throw new RegistryError(`alias "${alias}": expected lowercase letters, digits, ".", "-" and "_" (max 63, starting with a letter)`);
  return alias;
}
