/** The models page: versions and aliases; promote and roll back, each behind a confirmation. */
import { html, type Html } from '../html.js';
import type { ModelView } from '../models-data.js';
import { page, time, type PageContext } from './layout.js';

export function modelsPage(ctx: PageContext, models: readonly ModelView[] | undefined): Html {
  return page(
    ctx,
    { title: 'Models' },
    html`<h1>Models</h1>
${
  models === undefined
    ? html`<p class="empty">No model registry configured: start <code>nightshift serve</code> with <code>--registry</code> or <code>NIGHTSHIFT_REGISTRY</code>.</p>`
    : models.length === 0
      ? html`<p class="empty">The registry has no models yet (<code>nightshift model register</code>).</p>`
      : models.map(model)
}`,
  );
}

function model(m: ModelView): Html {
  const pointing = new Map<number, string[]>();
  for (const a of m.aliases) pointing.set(a.version, [...(pointing.get(a.version) ?? []), a.alias]);
  return html`<section class="model card" id="model-${m.name}" aria-labelledby="model-${m.name}-title">
  <h2 id="model-${m.name}-title">${m.name}</h2>
  <h3>Aliases</h3>
  ${
    m.aliases.length === 0
      ? html`<p class="muted">No aliases.</p>`
      : html`<table class="data"><thead><tr><th scope="col">alias</th><th scope="col">version</th><th scope="col">previous</th><th scope="col">moved</th><th scope="col">by</th><th scope="col">reason</th><th scope="col"><span class="sr-only">actions</span></th></tr></thead><tbody>
    ${m.aliases.map(
      (
        a,
      ) => html`<tr><th scope="row">${m.name}@${a.alias}</th><td>v${a.version}</td><td>${a.previous === null ? '–' : html`v${a.previous}`}</td><td>${time(a.movedAt)}</td><td>${a.movedBy}</td><td>${a.reason}</td>
      <td>${a.previous === null ? '' : html`<button type="button" data-action="rollback" data-model="${m.name}" data-alias="${a.alias}" data-reason="true" data-confirm="Roll ${m.name}@${a.alias} back from v${a.version} to v${a.previous}? Runs planned from now on score with v${a.previous}.">Roll back to v${a.previous}</button>`}</td></tr>`,
    )}
  </tbody></table>`
  }
  <h3>Versions <span class="muted">(${m.versions.length < m.versionCount ? `newest ${m.versions.length} of ${m.versionCount}` : m.versionCount})</span></h3>
  <table class="data"><thead><tr><th scope="col">version</th><th scope="col">aliases</th><th scope="col">created</th><th scope="col">by</th><th scope="col">description</th><th scope="col">sha256</th><th scope="col">inputs → outputs</th></tr></thead><tbody>
    ${m.versions.map(
      (v) =>
        html`<tr><th scope="row">v${v.version}</th><td>${(pointing.get(v.version) ?? []).join(', ')}</td><td>${time(v.createdAt)}</td><td>${v.createdBy}</td><td>${v.description ?? ''}</td><td><code title="${v.sha256}">${v.sha256.slice(0, 12)}…</code></td><td class="small">${v.signature.inputs.map((i) => i.name).join(', ')} → ${v.signature.outputs.map((o) => o.name).join(', ')}</td></tr>`,
    )}
  </tbody></table>
  <form class="promote" data-form="promote" data-model="${m.name}" aria-label="Promote a version of ${m.name}">
    <label for="promote-${m.name}-version">Promote version</label>
    <select id="promote-${m.name}-version" name="version">${m.versions.map((v) => html`<option value="${v.version}">v${v.version}</option>`)}</select>
    <label for="promote-${m.name}-alias">to alias</label>
    <input id="promote-${m.name}-alias" name="alias" required pattern="[a-z][a-z0-9._\\-]{0,62}" value="${m.aliases[0]?.alias ?? 'champion'}" list="aliases-${m.name}">
    <datalist id="aliases-${m.name}">${m.aliases.map((a) => html`<option value="${a.alias}"></option>`)}</datalist>
    <button type="submit">Promote…</button>
  </form>
</section>`;
}
