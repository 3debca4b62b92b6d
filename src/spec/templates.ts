/** Templated URIs in job specs: {{date}}, {{runId}}, {{job}}. */

export interface TemplateValues {
  date: string;
  runId: string;
  job: string;
}

const TEMPLATE = /\{\{\s*([a-zA-Z]+)\s*\}\}/g;
export const TEMPLATE_NAMES: readonly string[] = ['date', 'runId', 'job'];

export function unknownTemplates(text: string): string[] {
  return [...text.matchAll(TEMPLATE)].map((m) => m[1] ?? '').filter((n) => !TEMPLATE_NAMES.includes(n));
}

/** Fills in the values given; a template without a value is left as written. */
export function renderTemplate(text: string, values: Partial<TemplateValues>): string {
  return text.replace(TEMPLATE, (whole, name: string) => {
    const v = (values as unknown as Record<string, string | undefined>)[name];
    return v === undefined ? whole : v;
  });
}

/** Values that could escape a prefix once substituted ("..", "/", control characters). */
export function unsafeTemplateValue(value: string): boolean {
  // eslint-disable-next-line no-control-regex -- control characters are what this looks for
  return value.includes('/') || value.includes('..') || value.includes('\\') || /[\u0000-\u001f]/.test(value);
}
