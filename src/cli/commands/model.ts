/**
 * `nightshift model register|list|show|promote|rollback|history`: the model registry from the
 * command line. The registry is --registry or NIGHTSHIFT_REGISTRY (s3://bucket/prefix/ or a folder).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ModelRegistry } from '../../registry/model-registry.js';
import { checkModelName, parseModelRef } from '../../spec/model-ref.js';
import { defaultRegistryUri, openRegistry } from '../../registry/open-registry.js';
import { currentUser, registerModel } from '../../registry/register-model.js';
import { describe as describeTensor, type AliasRecord, type VersionRecord } from '../../registry/registry-records.js';
import { Stores } from '../../storage/stores.js';
import { EXIT, UsageError } from '../exit-codes.js';

export const modelHelp = `nightshift model <subcommand> [--registry URI] [--json]
  register <name> <file.onnx> [--description TEXT] [--alias A] [--attach FILE]... [--baseline FILE]
             adds the next version (refuses files onnxruntime cannot load and models with
             external data; says when inputs/outputs differ from the previous version);
             --baseline: a profile (nightshift profile … --out FILE) attached as baseline.json,
             what jobs with monitor.baseline: model compare against
  list [name]                       models, their versions and aliases
  show <name>[@alias|@version]      a model, or one version's record
  promote <name> <version> --alias A [--reason TEXT]
             points the alias at the version (compare-and-swap: fails if someone moved it meanwhile)
  rollback <name> --alias A [--reason TEXT]   points the alias back where it was before its last move
  history <name>                    every alias move, oldest first
  The registry: --registry, else NIGHTSHIFT_REGISTRY. Who did it: NIGHTSHIFT_USER, else user@host.`;

const options = {
  registry: { type: 'string' },
  json: { type: 'boolean' },
  description: { type: 'string' },
  alias: { type: 'string' },
  attach: { type: 'string', multiple: true },
  baseline: { type: 'string' },
  reason: { type: 'string' },
} as const;

export async function modelCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options });
  const [sub, ...args] = positionals;
  const stores = new Stores();
  try {
    const open = (): Promise<ModelRegistry> => openRegistry(values.registry ?? defaultRegistryUri(), stores);
    const out = (json: unknown, text: string): number => {
      process.stdout.write(values.json ? `${JSON.stringify(json, null, 2)}\n` : text);
      return EXIT.ok;
    };
    switch (sub) {
      case 'register': {
        const [name, file] = expectArgs(args, 2, 'register <name> <file.onnx>');
        checkModelName(name);
        const bytes = await readFile(file);
        const files: Record<string, Uint8Array> = {};
        for (const f of values.attach ?? []) files[path.basename(f)] = await readFile(f);
        // The baseline `monitor.baseline: model` reads: a profile from \`nightshift profile\`.
        if (values.baseline !== undefined) files['baseline.json'] = await readFile(values.baseline);
        const r = await registerModel(await open(), {
          name,
          bytes,
          source: path.basename(file),
          by: await currentUser(),
          files,
          ...(values.description !== undefined ? { description: values.description } : {}),
          ...(values.alias !== undefined ? { alias: values.alias } : {}),
        });
        const lines = [`registered ${name}@${r.record.version} (sha256 ${r.record.sha256}, ${r.record.size} bytes)`];
        if (r.previous?.changes.length) lines.push(`the signature differs from version ${r.previous.version}:`, ...r.previous.changes.map((c) => `  - ${c}`));
        else if (r.previous) lines.push(`same inputs and outputs as version ${r.previous.version}`);
        if (r.moved) lines.push(moveText(r.moved.record, r.moved.changed));
        return out(r, `${lines.join('\n')}\n`);
      }
      case 'list': {
        const [name] = expectArgs(args, 0, 'list [name]', 1);
        const models = await (await open()).list(name);
        const rows = models.map(
          (m) =>
            `${m.name.padEnd(24)} versions ${rangeOf(m.versions).padEnd(12)} ${Object.entries(m.aliases)
              .map(([a, v]) => `${a}→${v}`)
              .join(' ')}`,
        );
        return out(models, rows.length ? `${rows.join('\n')}\n` : 'no models yet\n');
      }
      case 'show': {
        const [what] = expectArgs(args, 1, 'show <name>[@alias|@version]');
        const registry = await open();
        if (!what.includes('@')) {
          const [summary] = await registry.list(what);
          const aliases = await registry.aliases(what);
          return out(
            { ...summary, aliasRecords: aliases },
            `${what}: versions ${rangeOf(summary?.versions ?? [])}\n${aliases.map((a) => `  ${moveText(a, true)}`).join('\n')}\n`,
          );
        }
        const resolved = await registry.resolve(parseModelRef(what));
        return out(
          { ...resolved, uri: `${registry.uri}${resolved.name}/versions/${resolved.version}/model.onnx` },
          versionText(resolved.record, resolved.alias),
        );
      }
      case 'promote': {
        const [name, n] = expectArgs(args, 2, 'promote <name> <version> --alias A');
        const r = await (
          await open()
        ).promote(name, versionArg(n), aliasArg(values.alias), { by: await currentUser(), ...(values.reason ? { reason: values.reason } : {}) });
        return out(r, `${moveText(r.record, r.changed)}\n`);
      }
      case 'rollback': {
        const [name] = expectArgs(args, 1, 'rollback <name> --alias A');
        const r = await (await open()).rollback(name, aliasArg(values.alias), { by: await currentUser(), ...(values.reason ? { reason: values.reason } : {}) });
        return out(r, `${moveText(r.record, r.changed)}\n`);
      }
      case 'history': {
        const [name] = expectArgs(args, 1, 'history <name>');
        const h = await (await open()).history(name);
        return out(h, `${h.map((m) => `${m.movedAt}  ${m.alias}: ${m.previous ?? '-'} → ${m.version}  by ${m.movedBy}  (${m.reason})`).join('\n')}\n`);
      }
      default:
        throw new UsageError(`${sub ? `unknown subcommand "${sub}"` : 'expected a subcommand'}\n${modelHelp}`);
    }
  } finally {
    stores.close();
  }
}

function expectArgs(args: string[], n: number, usage: string, max = n): [string, string] {
  if (args.length < n || args.length > max) throw new UsageError(`expected: nightshift model ${usage}`);
  return [args[0] as string, args[1] as string];
}

function versionArg(n: string): number {
  if (!/^\d+$/.test(n) || Number(n) < 1) throw new UsageError(`version "${n}": expected a version number (1, 2, …)`);
  return Number(n);
}

function aliasArg(alias: string | undefined): string {
  if (!alias) throw new UsageError('--alias is required (e.g. --alias champion)');
  return alias;
}

function moveText(a: AliasRecord, changed: boolean): string {
  if (!changed) return `${a.name}@${a.alias} already points to version ${a.version}; nothing changed`;
  return `${a.name}@${a.alias} → version ${a.version}${a.previous !== null ? ` (was ${a.previous})` : ''}, by ${a.movedBy} at ${a.movedAt}: ${a.reason}`;
}

function versionText(r: VersionRecord, alias: string | undefined): string {
  return [
    `${r.name}@${r.version}${alias ? ` (${alias})` : ''}`,
    `  sha256      ${r.sha256}`,
    `  size        ${r.size} bytes`,
    `  created     ${r.createdAt} by ${r.createdBy}${r.source ? ` from ${r.source}` : ''}`,
    ...(r.description ? [`  description ${r.description}`] : []),
    ...r.signature.inputs.map((t) => `  input       ${t.name}: ${describeTensor(t)}`),
    ...r.signature.outputs.map((t) => `  output      ${t.name}: ${describeTensor(t)}`),
    ...Object.values(r.files).map((f) => `  file        ${f.file} (${f.size} bytes, sha256 ${f.sha256})`),
    '',
  ].join('\n');
}

function rangeOf(v: readonly number[]): string {
  if (v.length === 0) return 'none';
  return v.length === 1 ? String(v[0]) : `${v[0]}-${v.at(-1)}${v.length !== (v.at(-1) as number) - (v[0] as number) + 1 ? ' (gaps)' : ''}`;
}
