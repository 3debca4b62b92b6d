/**
 * The one table of file-level CSV problems, shared by the general path (csv-parse's error codes)
 * and the fast scanner (which raises the same codes), so both word a problem the same way.
 */
export const CSV_MESSAGES = {
  CSV_QUOTE_NOT_CLOSED: 'a quoted field is never closed (unclosed quote); the rest of the file cannot be read',
  CSV_INVALID_CLOSING_QUOTE: 'a closing quote is followed by other characters (malformed quoting)',
  CSV_MAX_RECORD_SIZE: 'a record is longer than limits.maxRecordBytes (often an unclosed quote, or the wrong delimiter)',
  // csv-parse's code has no CSV_ prefix here.
  INVALID_OPENING_QUOTE: 'a quote appears inside an unquoted field (set input.csv.relaxQuotes: true to keep it as text)',
} as const;

export type CsvErrorCode = keyof typeof CSV_MESSAGES;

/** The reason of an InputError for a CSV error code; `fallback` for a code the table does not know. */
export function csvReason(code: string, fallback: string): string {
  const known = (CSV_MESSAGES as Record<string, string | undefined>)[code];
  return `${known ?? fallback} [${code}]`;
}
