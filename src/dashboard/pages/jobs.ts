/** The jobs page: schedule (in the viewer's local time), next fire, model, last run, recent rows. */
import { html, jsonAttr, type Html } from '../html.js';
import type { JobView } from '../jobs-data.js';
import { badge, number, page, time, type PageContext } from './layout.js';

export function jobsPage(ctx: PageContext, jobs: readonly JobView[]): Html {
  return page(
    ctx,
    { title: 'Jobs', charts: true },
    html`<h1>Jobs</h1>
${
  jobs.length === 0
    ? html`<p class="empty">No jobs in the jobs folder.</p>`
    : html`<div class="table-scroll"><table class="data jobs">
  <thead><tr><th scope="col">job</th><th scope="col">schedule</th><th scope="col">next fire (local time)</th><th scope="col">model</th><th scope="col">last run</th><th scope="col">rows and rejection rate, recent runs</th><th scope="col"><span class="sr-only">actions</span></th></tr></thead>
  <tbody>${jobs.map(row)}</tbody>
</table></div>`
}`,
  );
}

/** The newest finished run's rows and rejection rate, as text beside (or instead of) the sparkline. */
function lastRows(j: JobView): Html {
  const last = j.recent.at(-1);
  if (!last) return html``;
  return html`<div class="small muted">last: ${number(last.rows)} rows, ${(last.rejectedRate * 100).toFixed(2)} % rejected${j.recent.length > 1 ? html` · ${j.recent.length} runs` : ''}</div>`;
}

function row(j: JobView): Html {
  const last = j.last;
  return html`<tr data-job="${j.name}">
  <th scope="row"><a href="/ui/runs?job=${encodeURIComponent(j.name)}">${j.name}</a>${j.description ? html`<div class="muted small">${j.description}</div>` : ''}</th>
  <td>${j.schedule ? html`<code>${j.schedule.cron}</code> <span class="muted">${j.schedule.timezone}</span>` : html`<span class="muted">manual</span>`}</td>
  <td>${j.schedule?.next ? time(j.schedule.next) : html`<span class="muted">–</span>`}</td>
  <td><code>${j.model}</code>${j.version !== undefined ? html` <span class="muted">→ v${j.version}</span>` : ''}</td>
  <td>${last ? html`<a href="/ui/runs/${encodeURIComponent(last.runId)}">${last.logicalDate}</a> ${badge(last.status)}` : html`<span class="muted">never</span>`}</td>
  <td>${j.recent.length === 0 ? html`<span class="muted">no finished runs</span>` : lastRows(j)}${
    j.recent.length < 2
      ? ''
      : html`<div class="chart spark" data-chart="spark" data-dates="${jsonAttr(j.recent.map((r) => r.date))}" data-rows="${jsonAttr(j.recent.map((r) => r.rows))}" data-rates="${jsonAttr(j.recent.map((r) => r.rejectedRate))}" role="img" aria-label="${`${j.name}: rows read over the last ${j.recent.length} runs, ${j.recent.at(-1)?.rows ?? 0} last; rejection rate ${((j.recent.at(-1)?.rejectedRate ?? 0) * 100).toFixed(2)} % last`}"></div>`
  }</td>
  <td><button type="button" data-action="trigger" data-job="${j.name}" aria-label="Trigger ${j.name} for its default date">Run now</button></td>
</tr>`;
}
