// nightshift dashboard: progressive enhancement of server-rendered pages. Loaded as a module
// from this origin only (the CSP allows no inline script). Everything data-driven arrives
// already escaped in the HTML or as JSON in data-* attributes; this script only ever sets
// textContent or swaps in server-rendered markup, never builds HTML from data.

const ACTIVE = ['queued', 'planning', 'running', 'finalizing'];
let pollUntil = 0;
let timer;

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';

function flash(text, kind = 'info') {
  const el = document.getElementById('flash');
  if (!el) return;
  el.className = `flash ${kind}`;
  el.textContent = text;
}

/** The JSON API with the session cookie; state-changing calls carry the CSRF token. */
async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-csrf-token': meta('csrf-token') },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = {};
  try {
    data = await res.json();
  } catch {
    // not JSON: keep {}
  }
  if (!res.ok) {
    const details = Array.isArray(data.details) ? `: ${data.details.join('; ')}` : '';
    throw new Error(`${data.error ?? `HTTP ${res.status}`}${details}`);
  }
  return data;
}

const enc = encodeURIComponent;

const ACTIONS = {
  trigger: (d) => api('POST', `/jobs/${enc(d.job)}/runs`, { ...(d.date ? { date: d.date } : {}), ...(d.rerun ? { rerun: true } : {}) }),
  rerun: (d) => api('POST', `/jobs/${enc(d.job)}/runs`, { date: d.date, rerun: true }),
  approve: (d) => api('POST', `/runs/${enc(d.run)}/approve`, decision(d)),
  reject: (d) => api('POST', `/runs/${enc(d.run)}/reject`, decision(d)),
  cancel: (d) => api('POST', `/runs/${enc(d.run)}/cancel`, { ...decision(d), ...(d.attempt ? { attempt: d.attempt } : {}) }),
  promote: (d) => api('POST', `/models/${enc(d.model)}/aliases/${enc(d.alias)}`, { version: Number(d.version), ...decision(d) }),
  rollback: (d) => api('POST', `/models/${enc(d.model)}/aliases/${enc(d.alias)}/rollback`, decision(d)),
};

function decision(d) {
  return { by: meta('nightshift-user') || 'dashboard', ...(d.reason ? { reason: d.reason } : {}) };
}

/** The shared <dialog>: resolves to { reason } when confirmed, undefined when cancelled. */
function confirmAction(text, withReason) {
  const dialog = document.getElementById('confirm');
  if (!dialog) return Promise.resolve(undefined);
  document.getElementById('confirm-text').textContent = text;
  const reasonRow = document.getElementById('confirm-reason-row');
  const reason = document.getElementById('confirm-reason');
  reason.value = '';
  reasonRow.hidden = !withReason;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok' ? { reason: reason.value.trim() } : undefined), { once: true });
    dialog.showModal();
    (withReason ? reason : document.getElementById('confirm-ok')).focus();
  });
}

async function act(kind, data, confirmText, withReason, control) {
  let extra = {};
  if (confirmText) {
    const answer = await confirmAction(confirmText, withReason);
    if (!answer) return;
    extra = answer;
  }
  if (control) control.disabled = true;
  try {
    const out = await ACTIONS[kind]({ ...data, ...extra });
    flash(describe(kind, out), 'ok');
    pollUntil = Date.now() + 120_000;
    await refresh();
  } catch (err) {
    flash(`${kind} failed: ${err.message}`, 'error');
  } finally {
    if (control && control.isConnected) control.disabled = false;
  }
}

/** One line about what an action did, from the API's answer. */
function describe(kind, out) {
  if (out.message) return out.message;
  if (out.record && out.record.alias)
    return `${out.record.name}@${out.record.alias} now points at version ${out.record.version}${out.changed === false ? ' (it already did)' : ''}`;
  if (out.runId) return `${out.runId} (${out.attempt ?? ''}): ${out.status ?? kind}`;
  return `${kind}: done`;
}

function onClick(event) {
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  event.preventDefault();
  const d = button.dataset;
  void act(d.action, { ...d }, d.confirm, d.reason === 'true', button);
}

function onSubmit(event) {
  const form = event.target.closest('form[data-form]');
  if (!form) return;
  event.preventDefault();
  const f = new FormData(form);
  const button = form.querySelector('button[type="submit"]');
  if (form.dataset.form === 'trigger') {
    void act('trigger', { job: f.get('job'), date: f.get('date'), rerun: f.get('rerun') === '1' }, undefined, false, button);
  } else if (form.dataset.form === 'promote') {
    const model = form.dataset.model;
    const text = `Point ${model}@${f.get('alias')} at version ${f.get('version')}? Runs planned from now on score with it.`;
    void act('promote', { model, alias: f.get('alias'), version: f.get('version') }, text, true, button);
  }
}

/** Re-reads this page and swaps its <main> in (the markup is the server's, escaped there). */
async function refresh() {
  const res = await fetch(location.href, { credentials: 'same-origin', headers: { accept: 'text/html' } });
  if (res.redirected && new URL(res.url).pathname === '/ui/login') {
    flash('Your session has ended: log in again.', 'error');
    pollUntil = 0;
    return;
  }
  if (!res.ok) return;
  const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
  const fresh = doc.getElementById('main');
  const main = document.getElementById('main');
  if (!fresh || !main || fresh.innerHTML === main.innerHTML) return;
  const focused = document.activeElement && main.contains(document.activeElement) ? focusKey(document.activeElement) : undefined;
  const next = document.importNode(fresh, true);
  main.replaceWith(next);
  enhance(next);
  if (focused) next.querySelector(focused)?.focus();
}

function focusKey(el) {
  if (el.id) return `#${CSS.escape(el.id)}`;
  if (el.dataset.action) return `[data-action="${CSS.escape(el.dataset.action)}"]`;
  if (el.dataset.run) return `[data-run="${CSS.escape(el.dataset.run)}"]`;
  return undefined;
}

/** Polls while something on the page is running (or shortly after an action). */
function schedulePoll() {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    try {
      await poll();
    } catch {
      // a failed poll is retried on the next tick
    }
    schedulePoll();
  }, 1000);
}

async function poll() {
  if (document.hidden) return;
  const main = document.getElementById('main');
  if (!main || main.dataset.live !== 'true') return;
  const progress = main.querySelector('[data-progress]');
  if (progress) {
    const rec = await api('GET', `/runs/${enc(progress.dataset.run)}?attempt=${enc(progress.dataset.attempt)}`);
    const bar = progress.querySelector('progress');
    if (rec.shards !== undefined) bar.max = rec.shards;
    bar.value = rec.shardsDone ?? 0;
    progress.querySelector('[data-field="shards"]').textContent = `${rec.shardsDone ?? 0} / ${rec.shards ?? '?'}`;
    progress.querySelector('[data-field="rows"]').textContent = (rec.rowsRead ?? 0).toLocaleString('en-US');
    const status = main.querySelector('[data-field="status"]');
    if (status && status.textContent !== rec.status) status.textContent = rec.status;
    if (!ACTIVE.includes(rec.status)) await refresh();
    return;
  }
  const grid = main.querySelector('[data-grid]');
  if (grid && (grid.dataset.active === 'true' || Date.now() < pollUntil)) await refresh();
}

function localTimes(root) {
  for (const el of root.querySelectorAll('time[data-local]')) {
    const d = new Date(el.getAttribute('datetime'));
    if (Number.isNaN(d.getTime())) continue;
    el.title = d.toISOString();
    el.textContent = d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }
}

const css = (name, fallback) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

function histogram(el) {
  const edges = JSON.parse(el.dataset.edges);
  const fractions = JSON.parse(el.dataset.fractions);
  if (fractions.length === 0 || typeof uPlot === 'undefined') return;
  const centers = fractions.map((_, i) => (edges[i] + edges[i + 1]) / 2);
  let drawn = [];
  const bars = uPlot.paths.bars({
    size: [0.92, Infinity],
    align: 0,
    each: (u, seriesIdx, i, left, top, width, height) => drawn.push({ i, left, top, width, height }),
  });
  const plot = new uPlot(
    {
      width: Math.max(260, el.clientWidth || 320),
      height: 170,
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: false, range: [edges[0], edges[edges.length - 1]] }, y: { range: (u, min, max) => [0, max * 1.1 || 1] } },
      axes: [
        { stroke: css('--muted', '#666'), size: 30 },
        { stroke: css('--muted', '#666'), size: 46, values: (u, v) => v.map((x) => `${Math.round(x * 100)}%`) },
      ],
      series: [{}, { label: 'share of rows', fill: css('--bar', '#3b7dd8'), stroke: css('--bar', '#3b7dd8'), width: 0, paths: bars, points: { show: false } }],
      hooks: {
        drawClear: [() => (drawn = [])],
        draw: [
          () => {
            // What the test (and a curious reader) can check: one drawn bar per non-empty bin.
            el.dataset.bars = String(drawn.filter((b) => b.height > 0 && b.width > 0).length);
            el.dataset.bins = String(fractions.length);
          },
        ],
      },
    },
    [centers, fractions],
    el,
  );
  el.uplot = plot;
}

function spark(el) {
  if (typeof uPlot === 'undefined') return;
  const rows = JSON.parse(el.dataset.rows);
  const rates = JSON.parse(el.dataset.rates);
  const x = rows.map((_, i) => i);
  new uPlot(
    {
      width: 180,
      height: 44,
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: false }, rows: { range: (u, min, max) => [0, max || 1] }, rate: { range: (u, min, max) => [0, Math.max(max, 0.01)] } },
      axes: [{ show: false }, { show: false, scale: 'rows' }],
      series: [
        {},
        { scale: 'rows', stroke: css('--bar', '#3b7dd8'), width: 1.5, points: { show: rows.length < 3 } },
        { scale: 'rate', stroke: css('--bad', '#c0392b'), width: 1, dash: [3, 2], points: { show: rows.length < 3 } },
      ],
    },
    [x, rows, rates],
    el,
  );
}

function charts(root) {
  for (const el of root.querySelectorAll('[data-chart="histogram"]')) histogram(el);
  for (const el of root.querySelectorAll('[data-chart="spark"]')) spark(el);
}

function enhance(root) {
  localTimes(root);
  charts(root);
}

function start() {
  document.addEventListener('click', onClick);
  document.addEventListener('submit', onSubmit);
  const main = document.getElementById('main');
  if (main) enhance(main);
  schedulePoll();
}

// uPlot is a deferred classic script: it has run by the time this module runs.
start();
