/** The runs grid page: jobs × logical dates, each cell coloured by the run's status; click → run. */
import { isActiveState } from '../../queue/run-registry.js';
import { html, type Html } from '../html.js';
import type { GridPage } from '../grid-data.js';
import { page, type PageContext } from './layout.js';

export const STATUSES = ['succeeded', 'failed', 'held', 'running', 'queued', 'skipped', 'cancelled', 'superseded'] as const;

export function gridPage(ctx: PageContext, g: GridPage, filter: { job?: string | undefined }, defaultDate: string): Html {
  const active = [...g.cells.values()].some((r) => isActiveState(r.status));
  const q = (p: number): string => `/ui/runs?page=${p}${filter.job !== undefined ? `&job=${encodeURIComponent(filter.job)}` : ''}`;
  return page(
    ctx,
    { title: 'Runs', live: true },
    html`<div class="page-head">
  <h1>Runs</h1>
  <form class="trigger" data-form="trigger" aria-label="Trigger a run">
    <label for="trigger-job">Job</label>
    <select id="trigger-job" name="job" required>
      ${g.jobs.map((j) => html`<option value="${j}"${j === filter.job ? html` selected` : ''}>${j}</option>`)}
    </select>
    <label for="trigger-date">Logical date</label>
    <input id="trigger-date" name="date" type="date" value="${defaultDate}" required>
    <label class="check"><input type="checkbox" name="rerun" value="1"> rerun</label>
    <button type="submit" class="primary">Trigger run</button>
  </form>
</div>
<section aria-labelledby="grid-title" data-grid data-active="${active ? 'true' : 'false'}">
  <h2 id="grid-title" class="sr-only">Runs by job and logical date</h2>
  ${legend()}
  ${
    g.dates.length === 0
      ? html`<p class="empty">No runs yet. Trigger one above, or wait for a job's schedule.</p>`
      : html`<div class="grid-wrap"><table class="grid">
    <thead><tr><th scope="col">Job</th>${g.dates.map((d) => html`<th scope="col" class="date"><span>${d.slice(5)}</span><span class="year">${d.slice(0, 4)}</span></th>`)}</tr></thead>
    <tbody>
      ${g.jobs.map(
        (job) => html`<tr><th scope="row"><a href="/ui/runs?job=${encodeURIComponent(job)}">${job}</a></th>${g.dates.map((d) => cell(g, job, d))}</tr>`,
      )}
    </tbody>
  </table></div>`
  }
  <nav class="pager" aria-label="Pages of dates">
    ${g.page > 1 ? html`<a href="${q(g.page - 1)}" rel="prev">← newer</a>` : html`<span class="muted">← newer</span>`}
    <span>page ${g.page} of ${g.pages} · ${g.runs} runs${filter.job !== undefined ? html` of ${filter.job} · <a href="/ui/runs">all jobs</a>` : ''}</span>
    ${g.page < g.pages ? html`<a href="${q(g.page + 1)}" rel="next">older →</a>` : html`<span class="muted">older →</span>`}
  </nav>
</section>`,
  );
}

function cell(g: GridPage, job: string, date: string): Html {
  const runId = `${job}@${date}`;
  const rec = g.cells.get(runId);
  if (!rec) return html`<td class="cell none"><span class="sr-only">no run</span></td>`;
  const label = `${runId}: ${rec.status}, attempt ${rec.attempt}`;
  return html`<td class="cell"><a class="run s-${rec.status}" href="/ui/runs/${encodeURIComponent(runId)}" data-run="${runId}" data-status="${rec.status}" aria-label="${label}" title="${label}"><span aria-hidden="true">${glyph(rec.status)}</span></a></td>`;
}

/** A shape per status, so the grid does not rely on colour alone. */
function glyph(status: string): string {
  return (
    (
      {
        succeeded: '✓',
        failed: '✗',
        held: '‖',
        running: '▶',
        planning: '▶',
        finalizing: '▶',
        queued: '…',
        skipped: '–',
        cancelled: '⊘',
        superseded: '↷',
      } as Record<string, string>
    )[status] ?? '?'
  );
}

function legend(): Html {
  return html`<ul class="legend" aria-label="Legend">${STATUSES.map((s) => html`<li><span class="swatch s-${s}" aria-hidden="true">${glyph(s)}</span> ${s}</li>`)}</ul>`;
}
