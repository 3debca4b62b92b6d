/**
 * The model registry over HTTP (behind the same bearer token as the rest of the API):
 *   GET  /models                              models, versions, aliases
 *   GET  /models/:name                        one model, with its alias records
 *   GET  /models/:name/versions/:n            a version's record
 *   POST /models/:name/versions               register: the body is the .onnx file
 *                                             (?description=&alias=&by=)
 *   GET  /models/:name/aliases/:alias         an alias and the version it points to
 *   POST /models/:name/aliases/:alias         promote {"version": n, "reason"?, "by"?}
 *   POST /models/:name/aliases/:alias/rollback  {"reason"?, "by"?}
 *   GET  /models/:name/history                every alias move
 * Handlers return status and body; server.ts reads bodies and routes; registry errors get their
 * status from the error→outcome table (404 unknown, 409 alias moved meanwhile, 400 bad input).
 */
import { z } from 'zod';
import { RegistryError, RegistryNotFoundError } from '../core/errors.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import { checkModelName } from '../spec/model-ref.js';
import { registerModel } from '../registry/register-model.js';

/** Models are held in memory to be checked and stored; larger ones go through the CLI. */
export const MAX_MODEL_BYTES = 256 * 1024 * 1024;

export interface ModelRouteContext {
  readonly registry: ModelRegistry;
  readonly params: readonly string[];
  readonly url: URL;
  /** JSON routes: the parsed body ({} when empty). Upload routes: the bytes. */
  readonly body: unknown;
}

export interface ModelRoute {
  readonly path: readonly (string | null)[];
  readonly method: 'GET' | 'POST';
  readonly body?: 'json' | 'bytes';
  run(ctx: ModelRouteContext): Promise<{ status: number; body: unknown }>;
}

const moveBody = z.strictObject({ version: z.number().int().min(1), reason: z.string().max(1000).optional(), by: z.string().min(1).max(200).optional() });
const rollbackBody = z.strictObject({ reason: z.string().max(1000).optional(), by: z.string().min(1).max(200).optional() });

const ok = (body: unknown, status = 200): { status: number; body: unknown } => ({ status, body });

export const MODEL_ROUTES: readonly ModelRoute[] = [
  { path: ['models'], method: 'GET', run: async ({ registry }) => ok({ models: await registry.list() }) },
  {
    path: ['models', null],
    method: 'GET',
    run: async ({ registry, params: [name] }) => {
      const [summary] = await registry.list(name);
      return ok({ ...summary, aliasRecords: await registry.aliases(name as string) });
    },
  },
  {
    path: ['models', null, 'versions', null],
    method: 'GET',
    run: async ({ registry, params: [name, n] }) => ok(await registry.version(name as string, versionParam(n as string))),
  },
  {
    path: ['models', null, 'versions'],
    method: 'POST',
    body: 'bytes',
    run: async ({ registry, params: [name], url, body }) => {
      const q = url.searchParams;
      const r = await registerModel(registry, {
        name: checkModelName(name as string),
        bytes: body as Buffer,
        source: 'http upload',
        by: q.get('by') ?? 'http',
        ...(q.get('description') !== null ? { description: q.get('description') as string } : {}),
        ...(q.get('alias') !== null ? { alias: q.get('alias') as string } : {}),
      });
      return ok(r, 201);
    },
  },
  {
    path: ['models', null, 'aliases', null],
    method: 'GET',
    run: async ({ registry, params: [name, alias] }) => {
      const a = await registry.alias(name as string, alias as string);
      if (!a) throw new RegistryNotFoundError(`model ${name} has no alias "${alias}"`);
      return ok(a.record);
    },
  },
  {
    path: ['models', null, 'aliases', null],
    method: 'POST',
    body: 'json',
    run: async ({ registry, params: [name, alias], body }) => {
      const b = parse(moveBody, body);
      const r = await registry.promote(name as string, b.version, alias as string, { by: b.by ?? 'http', ...(b.reason ? { reason: b.reason } : {}) });
      return ok(r);
    },
  },
  {
    path: ['models', null, 'aliases', null, 'rollback'],
    method: 'POST',
    body: 'json',
    run: async ({ registry, params: [name, alias], body }) => {
      const b = parse(rollbackBody, body);
      return ok(await registry.rollback(name as string, alias as string, { by: b.by ?? 'http', ...(b.reason ? { reason: b.reason } : {}) }));
    },
  },
  { path: ['models', null, 'history'], method: 'GET', run: async ({ registry, params: [name] }) => ok({ history: await registry.history(name as string) }) },
];

function versionParam(n: string): number {
  if (!/^\d+$/.test(n) || Number(n) < 1) throw new RegistryError(`version "${n}": expected a version number (1, 2, …)`);
  return Number(n);
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success) throw new RegistryError(`invalid body: ${r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`);
  return r.data;
}
