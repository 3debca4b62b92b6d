/**
 * Registers a model file: onnxruntime must load it (so a file it cannot load, a truncated model
 * or one with external data is refused before anything is written), then it becomes the next
 * version, optionally with an alias pointed at it.
 */
import { createHash } from 'node:crypto';
import { RegistryError } from '../core/errors.js';
import { inspectModel } from '../model/model-signature.js';
import type { ModelSignature } from '../model/signature.js';
import { parseProfileText } from '../monitor/profile-schema.js';
import type { RunProfile } from '../monitor/run-profile.js';
import type { ModelRegistry, Moved, Registered } from './model-registry.js';
import { checkAliasName, checkModelName } from '../spec/model-ref.js';

export interface RegisterRequest {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** The file it came from, for messages and the version record. */
  readonly source: string;
  readonly by: string;
  readonly description?: string;
  readonly alias?: string;
  readonly files?: Readonly<Record<string, Uint8Array>>;
}

export interface RegisterResult extends Registered {
  readonly moved: Moved | undefined;
}

export async function registerModel(registry: ModelRegistry, req: RegisterRequest): Promise<RegisterResult> {
  checkModelName(req.name);
  if (req.alias !== undefined) checkAliasName(req.alias);
  const inspected = await inspectModel(req.bytes, req.source);
  const baseline = req.files?.[BASELINE_FILE];
  if (baseline) checkBaseline(baseline, inspected.signature);
  const files = Object.fromEntries(Object.entries(req.files ?? {}).map(([name, bytes]) => [name, { bytes, sha256: sha256(bytes) }]));
  const registered = await registry.register({
    name: req.name,
    bytes: req.bytes,
    sha256: inspected.model.sha256,
    signature: inspected.signature,
    by: req.by,
    source: req.source,
    files,
    ...(req.description !== undefined ? { description: req.description } : {}),
  });
  const moved = req.alias
    ? await registry.promote(req.name, registered.record.version, req.alias, { by: req.by, reason: `registered version ${registered.record.version}` })
    : undefined;
  return { ...registered, moved };
}

/** The attached file `baseline: model` reads (see run/baseline.ts). */
const BASELINE_FILE = 'baseline.json';

/** A baseline attached to a version must be a profile made for this model's inputs and outputs. */
function checkBaseline(bytes: Uint8Array, signature: ModelSignature): void {
  let profile: RunProfile;
  try {
    profile = parseProfileText(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new RegistryError(`${BASELINE_FILE}: ${(err as Error).message}; nothing was registered`);
  }
  const inputs = new Set(signature.inputs.map((i) => i.name));
  const outputs = new Set(signature.outputs.map((o) => o.name));
  const foreign = [
    ...profile.signature.inputs.filter((i) => !inputs.has(i.name)).map((i) => `input "${i.name}"`),
    ...profile.signature.outputs.filter((o) => !outputs.has(o.name)).map((o) => `output "${o.name}"`),
  ];
  if (foreign.length > 0) {
    throw new RegistryError(
      `${BASELINE_FILE} was made for another model signature: the model has no ${foreign.join(', ')} (it has inputs ${[...inputs].join(', ')}; outputs ${[...outputs].join(', ')}); nothing was registered`,
    );
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Who did it, for created-by and moved-by: NIGHTSHIFT_USER, else the OS user and host. */
export async function currentUser(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.NIGHTSHIFT_USER?.trim()) return env.NIGHTSHIFT_USER.trim();
  const os = await import('node:os');
  try {
    return `${os.userInfo().username}@${os.hostname()}`;
  } catch {
    return `unknown@${os.hostname()}`;
  }
}
