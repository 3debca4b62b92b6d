/**
 * When a cron expression fires in a time zone, computed from wall-clock times (node-cron parses
 * the expression). DST rules, chosen so a nightly job runs exactly once per local day:
 * - a wall time skipped by spring-forward (02:30 in Berlin on the last Sunday of March) fires
 *   once, at the same offset after the gap (03:30 CEST);
 * - a wall time repeated by fall-back fires once, at its first occurrence.
 */
import cron from 'node-cron';

export interface Tick {
  /** The instant the tick fires. */
  readonly at: Date;
  /** The scheduled local wall-clock date, YYYY-MM-DD (what logical dates derive from). */
  readonly localDate: string;
  /** The scheduled local wall-clock time, HH:MM:SS. */
  readonly localTime: string;
}

interface Fields {
  second: number[];
  minute: number[];
  hour: number[];
  dayOfMonth: (number | string)[];
  month: number[];
  dayOfWeek: (number | string)[];
}

const DAY_MS = 86_400_000;

export function parseCron(expr: string): Fields {
  return cron.parse(expr);
}

/** Ticks with from < at <= to, in order. */
export function ticksBetween(expr: string, timeZone: string, from: Date, to: Date, limit = 100_000): Tick[] {
  const f = parseCron(expr);
  const times = wallTimes(f);
  const out: Tick[] = [];
  // Walk local calendar days from the day before `from` (a tick may be shifted by DST).
  let day = localParts(new Date(from.getTime() - DAY_MS), timeZone);
  const last = localParts(new Date(to.getTime() + DAY_MS), timeZone);
  for (let d = ymd(day); d <= ymd(last); day = nextDay(day), d = ymd(day)) {
    if (!dayMatches(f, day.y, day.m, day.d)) continue;
    for (const [h, mi, s] of times) {
      const at = wallToInstant(day.y, day.m, day.d, h, mi, s, timeZone);
      if (at.getTime() > from.getTime() && at.getTime() <= to.getTime()) {
        out.push({ at, localDate: d, localTime: `${pad(h)}:${pad(mi)}:${pad(s)}` });
        if (out.length >= limit) return out;
      }
    }
  }
  return out.sort((a, b) => a.at.getTime() - b.at.getTime());
}

/** The next `count` ticks after `after`. */
export function nextTicks(expr: string, timeZone: string, after: Date, count: number): Tick[] {
  const out: Tick[] = [];
  let from = after;
  for (let span = DAY_MS * 2; out.length < count && span < DAY_MS * 800; span *= 2) {
    const to = new Date(from.getTime() + span);
    out.push(...ticksBetween(expr, timeZone, from, to, count - out.length));
    from = to;
  }
  return out.slice(0, count);
}

function wallTimes(f: Fields): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (const h of f.hour) for (const mi of f.minute) for (const s of f.second) out.push([h, mi, s]);
  return out.sort((a, b) => a[0] * 3600 + a[1] * 60 + a[2] - (b[0] * 3600 + b[1] * 60 + b[2]));
}

function dayMatches(f: Fields, y: number, m: number, d: number): boolean {
  if (!f.month.includes(m)) return false;
  const daysInMonth = new Date(Date.UTC(y, m, 0)).getUTCDate();
  const weekday = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  const domOk = f.dayOfMonth.some((v) => (v === 'L' ? d === daysInMonth : Number(v) === d));
  const dowOk = f.dayOfWeek.some((v) => {
    if (typeof v === 'number') return v % 7 === weekday;
    const last = /^(\d)L$/.exec(v);
    if (last) return Number(last[1]) % 7 === weekday && d + 7 > daysInMonth;
    const nth = /^(\d)#(\d)$/.exec(v);
    if (nth) return Number(nth[1]) % 7 === weekday && Math.ceil(d / 7) === Number(nth[2]);
    return Number(v) % 7 === weekday;
  });
  return domOk && dowOk;
}

/** The instant of a local wall time; see the DST rules at the top of the file. */
export function wallToInstant(y: number, m: number, d: number, h: number, mi: number, s: number, timeZone: string): Date {
  const asUtc = Date.UTC(y, m - 1, d, h, mi, s);
  const before = offsetMs(new Date(asUtc - DAY_MS / 2), timeZone);
  const after = offsetMs(new Date(asUtc + DAY_MS / 2), timeZone);
  const candidates = [...new Set([before, after])]
    .map((o) => asUtc - o)
    .filter((t) => {
      const p = localParts(new Date(t), timeZone);
      return p.y === y && p.m === m && p.d === d && p.h === h && p.mi === mi && p.s === s;
    })
    .sort((a, b) => a - b);
  // Repeated (fall-back): the first occurrence. Skipped (spring-forward): shift by the gap.
  return new Date(candidates[0] ?? asUtc - before);
}

interface LocalParts {
  y: number;
  m: number;
  d: number;
  h: number;
  mi: number;
  s: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

export function localParts(at: Date, timeZone: string): LocalParts {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(at)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return { y: p.year ?? 0, m: p.month ?? 0, d: p.day ?? 0, h: p.hour ?? 0, mi: p.minute ?? 0, s: p.second ?? 0 };
}

function offsetMs(at: Date, timeZone: string): number {
  const p = localParts(at, timeZone);
  return Date.UTC(p.y, p.m - 1, p.d, p.h, p.mi, p.s) - Math.floor(at.getTime() / 1000) * 1000;
}

function nextDay(p: LocalParts): LocalParts {
  const t = new Date(Date.UTC(p.y, p.m - 1, p.d + 1));
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate(), h: 0, mi: 0, s: 0 };
}

function ymd(p: LocalParts): string {
  return `${p.y}-${pad(p.m)}-${pad(p.d)}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
