/**
 * The one way the dashboard writes HTML: a tagged template that escapes every interpolated value
 * unless it is already Html (made by this template, or by `raw` for constant markup). Job names,
 * run ids, error details and CSV cells all pass through `escapeHtml`; nothing reaches a page
 * as markup by accident, because a plain string can only ever become text.
 */

/** Markup that is safe to write as is. Only `html`, `attr` joins and `raw` make one. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Part = Html | string | number | boolean | null | undefined | readonly Part[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Text → HTML text, safe in element content and in quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => ESCAPES[c] as string);
}

function render(part: Part): string {
  if (part instanceof Html) return part.text;
  if (part === null || part === undefined || part === false) return '';
  if (Array.isArray(part)) return (part as readonly Part[]).map(render).join('');
  return escapeHtml(String(part));
}

export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new Html(out);
}

/** Constant markup written in this codebase (never data). */
export function raw(markup: string): Html {
  return new Html(markup);
}

/** A JSON value for a data-* attribute: the client reads it with JSON.parse(el.dataset.x). */
export function jsonAttr(value: unknown): string {
  // Escaped by `html` like any string; JSON.stringify alone would leave quotes in the attribute.
  return JSON.stringify(value);
}
