/** The frame of every dashboard page: head (CSP-friendly: only same-origin files), nav, main. */
import { html, type Html } from '../html.js';

export interface PageContext {
  /** The person logged in (undefined on the login page). */
  readonly user?: string | undefined;
  readonly csrf?: string | undefined;
  /** Which nav entry is current. */
  readonly section: 'runs' | 'jobs' | 'models' | 'login' | 'error';
  /** Where Bull Board is mounted, if it is. */
  readonly queuesPath?: string | undefined;
  /** Features of the API this server has (cancel arrives with the operations work). */
  readonly canCancel?: boolean;
}

export interface PageOptions {
  readonly title: string;
  /** Load uPlot (pages with charts). */
  readonly charts?: boolean;
  /** `data-*` state the client script reads from <main> (e.g. live polling). */
  readonly live?: boolean;
}

const NAV: readonly { id: PageContext['section']; href: string; label: string }[] = [
  { id: 'runs', href: '/ui/runs', label: 'Runs' },
  { id: 'jobs', href: '/ui/jobs', label: 'Jobs' },
  { id: 'models', href: '/ui/models', label: 'Models' },
];

export function page(ctx: PageContext, opts: PageOptions, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${opts.title} · nightshift</title>
${ctx.csrf ? html`<meta name="csrf-token" content="${ctx.csrf}">` : ''}
${ctx.user !== undefined ? html`<meta name="nightshift-user" content="${ctx.user}">` : ''}
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui/assets/dashboard.css">
${opts.charts ? html`<link rel="stylesheet" href="/ui/assets/uPlot.min.css"><script defer src="/ui/assets/uPlot.iife.min.js"></script>` : ''}
<script type="module" src="/ui/assets/dashboard.js"></script>
</head>
<body>
<header class="top">
  <a class="brand" href="/ui/runs">nightshift</a>
  ${
    ctx.user !== undefined
      ? html`<nav aria-label="Main">
    <ul>
      ${NAV.map((n) => html`<li><a href="${n.href}"${n.id === ctx.section ? html` aria-current="page"` : ''}>${n.label}</a></li>`)}
      ${ctx.queuesPath ? html`<li><a href="${ctx.queuesPath}">Queues</a></li>` : ''}
    </ul>
  </nav>
  <form class="logout" method="post" action="/ui/logout">
    <input type="hidden" name="_csrf" value="${ctx.csrf ?? ''}">
    <span class="who">${ctx.user}</span>
    <button type="submit">Log out</button>
  </form>`
      : ''
  }
</header>
<div id="flash" role="status" aria-live="polite"></div>
<main id="main"${opts.live ? html` data-live="true"` : ''}${ctx.canCancel ? html` data-can-cancel="true"` : ''}>
${body}
</main>
<dialog id="confirm" aria-labelledby="confirm-title">
  <form method="dialog">
    <h2 id="confirm-title">Are you sure?</h2>
    <p id="confirm-text"></p>
    <p id="confirm-reason-row"><label for="confirm-reason">Reason (recorded)</label>
    <input id="confirm-reason" name="reason" maxlength="1000" autocomplete="off"></p>
    <div class="buttons">
      <button value="ok" type="submit" id="confirm-ok" class="primary">Confirm</button>
      <button value="cancel" type="submit" formnovalidate>Cancel</button>
    </div>
  </form>
</dialog>
</body>
</html>
`;
}

/** A status badge: the status word with its colour class (colour is never the only cue). */
export function badge(status: string): Html {
  return html`<span class="badge s-${status}">${status}</span>`;
}

/** A time the client shows in the viewer's local time zone (UTC until the script runs). */
export function time(at: string | number | Date | undefined): Html {
  if (at === undefined || at === '') return html`<span class="muted">–</span>`;
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return html`${String(at)}`;
  const iso = d.toISOString();
  return html`<time datetime="${iso}" data-local>${iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}</time>`;
}

export function number(n: number | undefined | null): string {
  return n === undefined || n === null ? '–' : n.toLocaleString('en-US');
}
