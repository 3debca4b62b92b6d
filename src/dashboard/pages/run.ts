/**
 * The run page: status and timeline, live shard progress, rows read = scored + rejected with
 * rejections by reason, the first rows of the errors files, score histograms and quantiles, the
 * drift table, the challenger comparison, the model version, links to the output objects, and
 * the buttons (rerun, cancel, approve/reject).
 */
import { isActiveState } from '../../queue/run-registry.js';
import type { ColumnDrift, MetricResult, MonitoringReport } from '../../monitor/drift-report.js';
import type { RunReport } from '../../report/run-report.js';
import type { ScoreSummary } from '../../report/score-stats.js';
import type { LabelComparisonSummary, ScoreComparisonSummary } from '../../report/challenger-comparison.js';
import { html, jsonAttr, type Html } from '../html.js';
import type { RunView } from '../run-data.js';
import { badge, number, page, time, type PageContext } from './layout.js';

export function runPage(ctx: PageContext, v: RunView): Html {
  const rec = v.record;
  const r = v.report;
  // The report may be another attempt's (a rerun that has not written its own yet).
  const reportIsShown = r !== undefined && (rec === undefined || r.attempt === rec.attempt);
  const active = rec !== undefined && isActiveState(rec.status);
  return page(
    ctx,
    { title: v.runId, charts: true, live: active },
    html`<div class="page-head">
  <h1><span class="muted">run</span> ${v.runId}</h1>
  ${rec ? badge(rec.status) : r ? badge(r.status) : badge('unknown')}
  ${actions(ctx, v, reportIsShown)}
</div>
${v.problems.map((p) => html`<p class="problem" role="note">${p}</p>`)}
${attemptsNav(v)}
<div class="cols">
  ${summary(v, active)}
  ${reportIsShown && r ? rowsSection(r) : ''}
</div>
${reportIsShown && r ? html`${errorsSection(v)}${scoresSection(r)}${driftSection(r.monitoring)}${challengerSection(v, r)}${modelSection(r)}${filesSection(v, r)}` : r ? html`<p class="muted">Attempt ${r.attempt} wrote the report at this location; this attempt has not written one yet. <a href="/ui/runs/${encodeURIComponent(v.runId)}?attempt=${encodeURIComponent(r.attempt)}">Show ${r.attempt}</a></p>` : html`<p class="muted">No report yet.</p>`}`,
  );
}

function actions(ctx: PageContext, v: RunView, reportIsShown: boolean): Html {
  const rec = v.record;
  const held = reportIsShown && v.report?.status === 'held';
  const active = rec !== undefined && isActiveState(rec.status);
  return html`<div class="actions" role="group" aria-label="Run actions">
    <button type="button" data-action="rerun" data-job="${v.job}" data-date="${v.logicalDate}" data-confirm="Run ${v.runId} again as a new attempt? Its output is replaced when the new attempt publishes.">Rerun</button>
    ${active && ctx.canCancel ? html`<button type="button" data-action="cancel" data-run="${v.runId}" data-attempt="${rec.attempt}" data-confirm="Cancel ${v.runId} (attempt ${rec.attempt})? Nothing of it is published." data-reason="true" class="danger">Cancel run</button>` : ''}
    ${
      held
        ? html`<button type="button" data-action="approve" data-run="${v.runId}" data-confirm="Approve ${v.runId}? It is published as a successful run would be." data-reason="true" class="primary">Approve</button>
    <button type="button" data-action="reject" data-run="${v.runId}" data-confirm="Reject ${v.runId}? It fails and its parts are removed." data-reason="true" class="danger">Reject</button>`
        : ''
    }
  </div>`;
}

function attemptsNav(v: RunView): Html {
  if (v.attempts.length < 2) return html``;
  return html`<nav class="attempts" aria-label="Attempts"><span>Attempts:</span> ${v.attempts.map((a) =>
    a.attempt === v.record?.attempt
      ? html`<strong aria-current="page">${a.attempt}</strong> `
      : html`<a href="/ui/runs/${encodeURIComponent(v.runId)}?attempt=${encodeURIComponent(a.attempt)}">${a.attempt}</a> `,
  )}</nav>`;
}

function summary(v: RunView, active: boolean): Html {
  const rec = v.record;
  const r = v.report;
  const shards = rec?.shards;
  return html`<section aria-labelledby="status-title" class="card">
  <h2 id="status-title">Status</h2>
  ${
    active && rec
      ? html`<div class="progress" data-progress data-run="${v.runId}" data-attempt="${rec.attempt}">
    <label for="shard-progress">Shards done</label>
    <progress id="shard-progress" max="${shards ?? 1}" value="${rec.shardsDone ?? 0}"></progress>
    <span data-field="shards">${number(rec.shardsDone ?? 0)} / ${shards === undefined ? '?' : number(shards)}</span>
    <span>rows read <span data-field="rows">${number(rec.rowsRead ?? 0)}</span></span>
  </div>`
      : ''
  }
  <dl class="facts">
    <dt>Job</dt><dd><a href="/ui/runs?job=${encodeURIComponent(v.job)}">${v.job}</a></dd>
    <dt>Logical date</dt><dd>${v.logicalDate}</dd>
    <dt>Attempt</dt><dd>${rec?.attempt ?? r?.attempt ?? '–'}</dd>
    <dt>Status</dt><dd data-field="status">${rec?.status ?? r?.status ?? 'unknown'}</dd>
    <dt>Trigger</dt><dd>${rec?.trigger ?? '–'}</dd>
    <dt>Triggered</dt><dd>${time(rec?.triggeredAt)}</dd>
    <dt>Started</dt><dd>${time(rec?.startedAt ?? r?.startedAt)}</dd>
    <dt>Finished</dt><dd>${time(rec?.finishedAt ?? r?.finishedAt)}</dd>
    ${r?.durationMs !== undefined ? html`<dt>Duration</dt><dd>${(r.durationMs / 1000).toFixed(1)} s${r.rowsPerSecond ? html` · ${number(Math.round(r.rowsPerSecond))} rows/s` : ''}</dd>` : ''}
    ${r?.approval ? html`<dt>Decision</dt><dd>${r.approval.decision} by ${r.approval.by} ${time(r.approval.at)}${r.approval.reason ? html` — ${r.approval.reason}` : ''}</dd>` : ''}
    <dt>Published</dt><dd>${v.published ? 'yes (_SUCCESS)' : 'no'}</dd>
  </dl>
  ${(rec?.reason ?? r?.reason) ? html`<p class="reason"><strong>Reason:</strong> ${rec?.reason ?? r?.reason}</p>` : ''}
</section>`;
}

function rowsSection(r: RunReport): Html {
  const reasons = Object.entries(r.rows.rejectedByReason).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0));
  const max = Math.max(1, ...reasons.map(([, n]) => n ?? 0));
  return html`<section aria-labelledby="rows-title" class="card">
  <h2 id="rows-title">Rows</h2>
  <p class="equation"><span><strong data-rows="read">${number(r.rows.read)}</strong> read</span> = <span><strong data-rows="scored">${number(r.rows.scored)}</strong> scored</span> + <span><strong data-rows="rejected">${number(r.rows.rejected)}</strong> rejected</span>
  ${r.rows.reconciled ? '' : html` <span class="badge s-failed">does not reconcile</span>`}</p>
  <p class="muted">error rate ${(r.rows.errorRate * 100).toFixed(2)} % (limit ${(r.rows.maxErrorRate * 100).toFixed(2)} %)</p>
  ${
    reasons.length === 0
      ? html`<p class="muted">No rows rejected.</p>`
      : html`<table class="data"><caption>Rejections by reason</caption><thead><tr><th scope="col">reason</th><th scope="col" class="num">rows</th><th scope="col"><span class="sr-only">share</span></th></tr></thead><tbody>
      ${reasons.map(([reason, n]) => html`<tr><td>${reason}</td><td class="num">${number(n)}</td><td>${bar((n ?? 0) / max, 'reject')}</td></tr>`)}
    </tbody></table>`
  }
</section>`;
}

/** A horizontal bar as SVG attributes (the CSP allows no inline style), optionally with a threshold mark. */
function bar(fraction: number, kind: string, threshold?: number): Html {
  const w = Math.max(0, Math.min(100, fraction * 100));
  const t = threshold === undefined ? undefined : Math.max(0, Math.min(100, threshold * 100));
  return html`<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true"><rect class="track" width="100" height="10"></rect><rect class="fill ${kind}" width="${w.toFixed(2)}" height="10"></rect>${t === undefined ? '' : html`<line class="mark" x1="${t.toFixed(2)}" x2="${t.toFixed(2)}" y1="0" y2="10"></line>`}</svg>`;
}

function errorsSection(v: RunView): Html {
  const r = v.report;
  if (!r || r.output.errors.length === 0) return html``;
  return html`<section aria-labelledby="errors-title">
  <h2 id="errors-title">Rejected rows <span class="muted">(first rows of ${v.errors.length} of ${r.output.errors.length} errors files)</span></h2>
  ${v.errors.map(
    (e) => html`<div class="table-scroll"><table class="data errors" data-errors-file="${e.name}">
    <caption><a href="${fileHref(v, e.name)}">${e.name}</a>${e.more ? html` <span class="muted">(more rows in the file)</span>` : ''}</caption>
    <thead><tr>${e.header.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead>
    <tbody>${e.rows.map((row) => html`<tr>${row.map((c) => html`<td>${c}</td>`)}</tr>`)}</tbody>
  </table></div>`,
  )}
</section>`;
}

function scoresSection(r: RunReport): Html {
  const cols = Object.entries(r.scores);
  if (cols.length === 0) return html``;
  return html`<section aria-labelledby="scores-title">
  <h2 id="scores-title">Scores</h2>
  <div class="score-cols">${cols.map(([name, s]) => scoreColumn(name, s))}</div>
</section>`;
}

function scoreColumn(name: string, s: ScoreSummary): Html {
  const q = s.quantiles;
  const fmt = (x: number | null): string => (x === null ? '–' : Number(x.toPrecision(4)).toString());
  return html`<figure class="card score" data-score-column="${name}">
  <figcaption><strong>${name}</strong> <span class="muted">${number(s.count)} values${s.nan ? html`, ${number(s.nan)} NaN` : ''}${s.approximate ? ', histogram and quantiles from a sample' : ''}</span></figcaption>
  <div class="chart" data-chart="histogram" data-edges="${jsonAttr(s.histogram.edges)}" data-fractions="${jsonAttr(s.histogram.fractions)}" role="img" aria-label="Histogram of ${name}: ${s.histogram.fractions.length} bins from ${fmt(s.min)} to ${fmt(s.max)}"></div>
  <table class="data quantiles"><caption class="sr-only">Quantiles of ${name}</caption>
    <thead><tr><th scope="col">min</th><th scope="col">p01</th><th scope="col">p05</th><th scope="col">p25</th><th scope="col">p50</th><th scope="col">p75</th><th scope="col">p95</th><th scope="col">p99</th><th scope="col">max</th><th scope="col">mean</th></tr></thead>
    <tbody><tr>${[s.min, q.p01, q.p05, q.p25, q.p50, q.p75, q.p95, q.p99, s.max, s.mean].map((x) => html`<td class="num">${fmt(x)}</td>`)}</tr></tbody>
  </table>
</figure>`;
}

function driftSection(m: MonitoringReport | undefined): Html {
  if (!m) return html``;
  if (m.baseline === null) {
    return html`<section aria-labelledby="drift-title"><h2 id="drift-title">Drift</h2><p>${badge(m.verdict)} ${m.note}</p></section>`;
  }
  return html`<section aria-labelledby="drift-title">
  <h2 id="drift-title">Drift ${badge(m.verdict)}</h2>
  <p class="muted">baseline: ${m.baseline.source} ${m.baseline.uri}${m.baseline.from ? html` (from ${m.baseline.from})` : ''} · on drift: ${m.onDrift}${m.worst ? html` · worst: ${m.worst.column} ${m.worst.metric} ${m.worst.value.toPrecision(3)} (threshold ${m.worst.threshold})` : ''}</p>
  <div class="table-scroll"><table class="data drift">
    <thead><tr><th scope="col">column</th><th scope="col">role</th><th scope="col">metric</th><th scope="col" class="num">value</th><th scope="col" class="num">threshold</th><th scope="col">value against threshold</th><th scope="col">verdict</th></tr></thead>
    <tbody>
      ${m.columns.map((c) => driftRows(c))}
      ${driftRow({ column: '(rows)', role: 'input', note: undefined }, m.rows, 1, 0)}
    </tbody>
  </table></div>
</section>`;
}

function driftRows(c: ColumnDrift): Html {
  if (c.metrics.length === 0)
    return html`<tr><th scope="row">${c.column}</th><td>${c.role}</td><td colspan="4" class="muted">${c.note ?? 'not judged'}</td><td>${badge(c.verdict)}</td></tr>`;
  return html`${c.metrics.map((m, i) => driftRow(c, m, c.metrics.length, i))}`;
}

function driftRow(c: Pick<ColumnDrift, 'column' | 'role'> & { note?: string | undefined }, m: MetricResult, span: number, i: number): Html {
  const limit = typeof m.threshold === 'number' ? m.threshold : m.threshold === 'off' ? undefined : m.threshold.alert;
  const warn = typeof m.threshold === 'object' ? m.threshold.warn : undefined;
  // The bar's scale: twice the threshold, so the threshold mark sits in the middle.
  const scale = limit !== undefined && limit > 0 ? limit * 2 : Math.max(m.value ?? 0, 1e-9);
  const threshold = m.threshold === 'off' ? 'off' : warn !== undefined ? `${warn} / ${limit}` : String(limit);
  return html`<tr>${i === 0 ? html`<th scope="row" rowspan="${span}">${c.column}</th><td rowspan="${span}">${c.role}</td>` : ''}<td>${m.metric}</td><td class="num">${m.value === null ? '–' : Number(m.value.toPrecision(4))}</td><td class="num">${threshold}</td><td>${m.value === null ? '' : bar(m.value / scale, `v-${m.verdict}`, limit === undefined ? undefined : limit / scale)}</td><td>${badge(m.verdict)}</td></tr>`;
}

/** `report.challenger`: the second model scored beside the champion, compared per score column. */
function challengerSection(v: RunView, r: RunReport): Html {
  const c = r.challenger;
  if (!c) return html``;
  const m = c.model;
  const name = m ? (m.name !== undefined ? `${m.name}@${m.version ?? '?'}${m.alias ? ` (${m.name}@${m.alias})` : ''}` : m.uri) : 'challenger';
  return html`<section aria-labelledby="challenger-title" data-section="challenger">
  <h2 id="challenger-title">Challenger comparison ${badge(c.status)}</h2>
  <p><strong>${name}</strong> ${c.status === 'compared' ? html`compared on ${number(c.rows)} rows · ${number(Math.round(c.inferenceMs))} ms in its session` : html`failed, the run went on without it: ${c.reason ?? ''}`}</p>
  ${Object.entries(c.comparison).map(([col, s]) => (s.kind === 'score' ? scoreComparison(col, s) : labelComparison(col, s)))}
  ${c.parts.length > 0 ? html`<p class="muted">Its scores: ${c.parts.map((p, i) => html`${i > 0 ? ', ' : ''}<a href="${fileHref(v, p)}" download>${p}</a>`)}</p>` : ''}
</section>`;
}

const fmt = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : Number(x.toPrecision(4)).toString());
const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(2)} %`);

function scoreComparison(col: string, s: ScoreComparisonSummary): Html {
  const q = s.diffQuantiles;
  const t = s.threshold;
  return html`<div class="card" data-comparison="${col}">
  <h3>${col}</h3>
  <div class="cols">
  <table class="data"><caption>Challenger against champion</caption><tbody>
    <tr><th scope="row">rows compared</th><td class="num">${number(s.rows)}${s.nan ? html` <span class="muted">(${number(s.nan)} NaN not compared)</span>` : ''}</td></tr>
    <tr><th scope="row">mean champion / challenger</th><td class="num">${fmt(s.championMean)} / ${fmt(s.challengerMean)}</td></tr>
    <tr><th scope="row">mean Δ (challenger − champion)</th><td class="num">${fmt(s.meanDiff)}</td></tr>
    <tr><th scope="row">mean |Δ| · max |Δ|</th><td class="num">${fmt(s.meanAbsDiff)} · ${fmt(s.maxAbsDiff)}</td></tr>
    <tr><th scope="row">Pearson · Spearman</th><td class="num">${fmt(s.pearson)} · ${fmt(s.spearman)} <span class="muted">(${number(s.spearmanRows)} rows)</span></td></tr>
    <tr><th scope="row">PSI of the challenger's scores</th><td class="num">${fmt(s.psi)}</td></tr>
  </tbody></table>
  ${
    t
      ? html`<table class="data"><caption>Decisions at threshold ${t.value}: agreement ${pct(t.agreement)}</caption>
    <thead><tr><th scope="col"></th><th scope="col">challenger ≥ ${t.value}</th><th scope="col">challenger &lt; ${t.value}</th></tr></thead>
    <tbody><tr><th scope="row">champion ≥ ${t.value}</th><td class="num">${number(t.bothPositive)}</td><td class="num">${number(t.championOnly)}</td></tr>
    <tr><th scope="row">champion &lt; ${t.value}</th><td class="num">${number(t.challengerOnly)}</td><td class="num">${number(t.bothNegative)}</td></tr></tbody></table>`
      : ''
  }
  </div>
  <table class="data quantiles"><caption>Quantiles of Δ (challenger − champion)</caption>
    <thead><tr>${(['p01', 'p05', 'p25', 'p50', 'p75', 'p95', 'p99'] as const).map((k) => html`<th scope="col">${k}</th>`)}</tr></thead>
    <tbody><tr>${(['p01', 'p05', 'p25', 'p50', 'p75', 'p95', 'p99'] as const).map((k) => html`<td class="num">${fmt(q[k])}</td>`)}</tr></tbody>
  </table>
  ${disagreements('Largest disagreements', s.largestDisagreements)}
</div>`;
}

function labelComparison(col: string, s: LabelComparisonSummary): Html {
  return html`<div class="card" data-comparison="${col}">
  <h3>${col} <span class="muted">labels agree on ${pct(s.agreement)} of ${number(s.rows)} rows</span></h3>
  <table class="data"><caption>Label pairs, most frequent first${s.otherPairs ? ` (${s.otherPairs} rows in other pairs)` : ''}</caption>
    <thead><tr><th scope="col">champion</th><th scope="col">challenger</th><th scope="col" class="num">rows</th></tr></thead>
    <tbody>${s.confusion.map((p) => html`<tr><td>${p.champion}</td><td>${p.challenger}</td><td class="num">${number(p.rows)}</td></tr>`)}</tbody>
  </table>
  ${disagreements('Rows where the labels differ', s.disagreements)}
</div>`;
}

function disagreements(title: string, rows: ScoreComparisonSummary['largestDisagreements']): Html {
  if (rows.length === 0) return html``;
  const idCols = [...new Set(rows.flatMap((r) => Object.keys(r.ids)))];
  return html`<div class="table-scroll"><table class="data"><caption>${title}</caption>
    <thead><tr>${idCols.map((c) => html`<th scope="col">${c}</th>`)}<th scope="col">source</th><th scope="col" class="num">line</th><th scope="col" class="num">champion</th><th scope="col" class="num">challenger</th><th scope="col" class="num">Δ</th></tr></thead>
    <tbody>${rows.map(
      (r) =>
        html`<tr>${idCols.map((c) => html`<td>${r.ids[c] ?? ''}</td>`)}<td><code>${r.object}</code></td><td class="num">${r.line}</td><td class="num">${typeof r.champion === 'number' ? fmt(r.champion) : r.champion}</td><td class="num">${typeof r.challenger === 'number' ? fmt(r.challenger) : r.challenger}</td><td class="num">${fmt(r.diff)}</td></tr>`,
    )}</tbody>
  </table></div>`;
}

function modelSection(r: RunReport): Html {
  const m = r.model;
  if (!m) return html``;
  return html`<section aria-labelledby="model-title" class="card">
  <h2 id="model-title">Model</h2>
  <dl class="facts">
    ${m.name !== undefined ? html`<dt>Version</dt><dd><a href="/ui/models#model-${m.name}">${m.name}@${m.version}</a>${m.alias ? html` (via ${m.name}@${m.alias})` : ''}</dd>` : ''}
    ${m.registry ? html`<dt>Registry</dt><dd>${m.registry}</dd>` : ''}
    <dt>URI</dt><dd><code>${m.uri}</code></dd>
    <dt>sha256</dt><dd><code>${m.sha256}</code></dd>
  </dl>
</section>`;
}

function fileHref(v: RunView, name: string): string {
  return `/ui/runs/${encodeURIComponent(v.runId)}/files?name=${encodeURIComponent(name)}`;
}

function filesSection(v: RunView, r: RunReport): Html {
  const files = ['_report.json', ...(v.published ? ['_SUCCESS'] : []), ...r.output.parts, ...r.output.errors, ...(r.challenger?.parts ?? [])];
  return html`<section aria-labelledby="files-title">
  <h2 id="files-title">Output</h2>
  <p class="muted"><code>${v.outputUri ?? r.output.uri}</code></p>
  <ul class="files">${files.map((f) => html`<li><a href="${fileHref(v, f)}" download>${f}</a></li>`)}</ul>
</section>`;
}
