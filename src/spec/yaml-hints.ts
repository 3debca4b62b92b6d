/**
 * Friendlier YAML problems for job specs. The usual first stumble is an unquoted template:
 * `input: { uri: in/{{date}}/ }` or `uri: {{date}}/` makes YAML read `{` as the start of a map,
 * which gives a cascade of parser errors (or, worse, a map where a string belongs). We find such
 * templates in the text and say "quote it" with the line fixed, instead of the cascade.
 */
import type { YAMLError } from 'yaml';

export interface UnquotedTemplate {
  /** 1-based line and column of the `{{`. */
  readonly line: number;
  readonly column: number;
  readonly text: string;
  /** The same line with the value quoted. */
  readonly fixed: string;
}

/** Characters after which a YAML token (a value, a flow collection, a quoted scalar) may start. */
const TOKEN_START = new Set([':', '-', ',', '[', '{', '?']);

/**
 * Templates (`{{…}}`) outside quotes where YAML reads the braces as a flow map: a value that
 * starts with `{{`, or any `{{` inside a flow collection (`{ … }`, `[ … ]`). A template in the
 * middle of a block scalar (`uri: in/{{date}}/`) is plain text to YAML and is not reported.
 */
export function findUnquotedTemplates(text: string): UnquotedTemplate[] {
  const found: UnquotedTemplate[] = [];
  let depth = 0;
  let quote: string | undefined;
  for (const [n, line] of text.split(/\r?\n/).entries()) {
    let prev = ''; // the last non-space character of this line outside quotes
    for (let i = 0; i < line.length; i++) {
      const ch = line[i] as string;
      if (quote !== undefined) {
        if (ch === '\\' && quote === '"') i++;
        else if (ch === quote) {
          if (quote === "'" && line[i + 1] === "'") i++;
          else quote = undefined;
        }
        if (quote === undefined) prev = ch;
        continue;
      }
      if (ch === '#' && (i === 0 || /\s/.test(line[i - 1] as string))) break;
      if (/\s/.test(ch)) continue;
      const atTokenStart = prev === '' || TOKEN_START.has(prev);
      if ((ch === '"' || ch === "'") && atTokenStart) {
        quote = ch;
        continue;
      }
      if (ch === '{' && line[i + 1] === '{' && (depth > 0 || atTokenStart)) {
        found.push({ line: n + 1, column: i + 1, text: line, fixed: quoteValueAt(line, i) });
        depth = 0; // the rest of what YAML would make of this line is noise: start afresh
        break;
      }
      if ((ch === '{' || ch === '[') && atTokenStart) depth++;
      else if ((ch === '}' || ch === ']') && depth > 0) depth--;
      prev = ch;
    }
  }
  return found;
}

/** `line` with the plain scalar around index `at` wrapped in double quotes. */
function quoteValueAt(line: string, at: number): string {
  let start = at;
  while (start > 0) {
    const c = line[start - 1] as string;
    if ((c === ' ' && line[start - 2] === ':') || c === ',' || c === '[' || (c === '{' && line[start - 2] !== '{' && line[start] !== '{')) break;
    if (c === ' ' && line[start - 2] === '-' && /^\s*$/.test(line.slice(0, start - 2))) break;
    start--;
  }
  while (line[start] === ' ') start++;
  let end = at;
  while (end < line.length) {
    if (line.startsWith('{{', end)) {
      const close = line.indexOf('}}', end);
      end = close === -1 ? line.length : close + 2;
      continue;
    }
    const c = line[end] as string;
    if (c === ',' || c === '}' || c === ']' || (c === '#' && line[end - 1] === ' ')) break;
    end++;
  }
  const value = line.slice(start, end).trimEnd();
  return `${line.slice(0, start)}"${value.replace(/["\\]/g, '\\$&')}"${line.slice(start + value.length)}`;
}

/** What to say about unquoted templates: one issue per line, with the line as it should read. */
export function unquotedTemplateIssues(found: readonly UnquotedTemplate[]): string[] {
  return found.map(
    (f) =>
      `line ${f.line}: a {{…}} template outside quotes, which YAML reads as the start of a map; quote the value:\n      ${f.text.trim()}\n    should be\n      ${f.fixed.trim()}`,
  );
}

/** YAML errors with the code snippet the parser drew (line, caret), at most `max` of them. */
export function yamlErrorIssues(errors: readonly YAMLError[], max = 3): string[] {
  const shown = errors.slice(0, max).map((e) => {
    const [first = e.message, ...rest] = e.message.split('\n');
    const snippet = rest.filter((l) => l.trim() !== '').map((l) => `      ${l}`);
    return [`YAML: ${first}`, ...snippet].join('\n');
  });
  if (errors.length > max) shown.push(`YAML: … and ${errors.length - max} more error(s) after these`);
  return shown;
}
