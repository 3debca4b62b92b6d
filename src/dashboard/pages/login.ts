/** The login page: the API token (never kept by the browser) and an optional name for the audit trail. */
import { html, type Html } from '../html.js';
import { page } from './layout.js';

export function loginPage(opts: { next: string; error?: string | undefined }): Html {
  return page(
    { section: 'login' },
    { title: 'Log in' },
    html`<section class="login card" aria-labelledby="login-title">
  <h1 id="login-title">Log in to nightshift</h1>
  ${opts.error ? html`<p class="problem" role="alert">${opts.error}</p>` : ''}
  <form method="post" action="/ui/login">
    <input type="hidden" name="next" value="${opts.next}">
    <p><label for="token">API token</label>
    <input id="token" name="token" type="password" autocomplete="current-password" required></p>
    <p><label for="name">Your name <span class="muted">(recorded on approvals and promotions)</span></label>
    <input id="name" name="name" autocomplete="username" maxlength="100"></p>
    <p><button type="submit" class="primary">Log in</button></p>
  </form>
  <p class="muted">The token is the server's <code>NIGHTSHIFT_API_TOKEN</code>. It is checked once; the browser then keeps only an HttpOnly session cookie.</p>
</section>`,
  );
}

export function errorPage(ctx: Parameters<typeof page>[0], status: number, message: string): Html {
  return page(
    ctx,
    { title: `Error ${status}` },
    html`<section class="card"><h1>Error ${status}</h1><p class="problem">${message}</p><p><a href="/ui/runs">Back to the runs</a></p></section>`,
  );
}
