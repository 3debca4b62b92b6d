/**
 * Job spec YAML written for a person to edit: the `model:` block `inspect` suggests and the
 * starter job `init` writes. Templated values are always quoted (an unquoted {{date}} is the
 * classic YAML trap), and column lists stay on one line.
 */
import type { SuggestedMapping } from '../model/suggest-mapping.js';

/** A YAML scalar: plain when that is unambiguous, else double-quoted (JSON is valid YAML). */
export function yamlScalar(s: string): string {
  const plain = /^[A-Za-z0-9_./][A-Za-z0-9_./@-]*$/.test(s) && !/^(true|false|null|yes|no|on|off|~|[-+.\d][\d.eE+-]*)$/i.test(s);
  return plain ? s : JSON.stringify(s);
}

function list(items: readonly string[]): string {
  return `[${items.map(yamlScalar).join(', ')}]`;
}

/** The `model:` block, indented by `indent` spaces. */
export function modelBlock(modelUri: string, mapping: SuggestedMapping, indent = 0): string {
  const pad = ' '.repeat(indent);
  const lines = ['model:', `  uri: ${yamlScalar(modelUri)}`, '  inputs:'];
  for (const i of mapping.inputs) lines.push(`    - name: ${yamlScalar(i.name)}`, `      columns: ${list(i.columns)}`, `      dtype: ${i.dtype}`);
  lines.push('  outputs:');
  for (const o of mapping.outputs) lines.push(`    - name: ${yamlScalar(o.name)}`, `      columns: ${list(o.columns)}`);
  return lines.map((l) => pad + l).join('\n');
}

export interface StarterJob {
  readonly name: string;
  readonly modelUri: string;
  readonly mapping: SuggestedMapping;
  readonly inputUri: string;
  readonly format: 'csv' | 'jsonl' | 'parquet';
  readonly outputUri: string;
  /** The JSON Schema for editors, relative to the spec file. */
  readonly schema?: string | undefined;
  /** Said as comments at the top of the file. */
  readonly notes: readonly string[];
}

export function starterJobYaml(job: StarterJob): string {
  const lines = [
    ...(job.schema ? [`# yaml-language-server: $schema=${job.schema}`] : []),
    '# Written by `nightshift init`. Paths are relative to this file. Check it with `nightshift validate`,',
    '# and `nightshift validate --date YYYY-MM-DD` to see what a run for that date would read.',
    ...job.notes.map((n) => `# TODO: ${n}`),
    `name: ${yamlScalar(job.name)}`,
    '# schedule: { cron: "30 2 * * *", timezone: UTC }   # uncomment to run nightly',
    modelBlock(job.modelUri, job.mapping),
    'input:',
    `  uri: ${JSON.stringify(job.inputUri)}`,
    `  format: ${job.format}`,
    ...(job.mapping.id.length > 0 ? [`  id: ${list(job.mapping.id)}`] : []),
    ...(job.mapping.passthrough.length > 0 ? [`  passthrough: ${list(job.mapping.passthrough)}`] : []),
    'output:',
    `  uri: ${JSON.stringify(job.outputUri)}`,
    '  format: csv',
    'limits:',
    '  maxErrorRate: 0.01',
    '',
  ];
  return lines.join('\n');
}
