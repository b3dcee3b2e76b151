// Gateway console: a one-page app over the admin API (/__gateway/…), served by the worker
// itself. Hash routes (#/overview, #/routes, #/versions, #/health, #/traffic); the admin token
// lives in sessionStorage and goes out as the bearer header, never as a cookie. No external
// requests, no inline script or style (the page's Content-Security-Policy forbids both), and
// no innerHTML: every text from the API goes in with textContent. Charts are inline SVG.
'use strict';

const API = '/__gateway/';
const TOKEN_KEY = 'gateway.admin-token';
const AUTO_KEY = 'gateway.auto-refresh';
const AUTO_MS = 15_000;
const VIEWS = { overview: 'Overview', routes: 'Routes', versions: 'Versions', health: 'Health', traffic: 'Traffic' };
const WINDOWS = { '15m': 30, '1h': 60, '6h': 300, '24h': 900 }; // window → step in seconds

// ── DOM ───────────────────────────────────────────────────────────────────────────────────

/** An element: `props` sets attributes (`class`, `text`, `onclick`…); children may nest. */
function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  setProps(el, props);
  for (const kid of kids.flat(Infinity)) if (kid != null && kid !== false) el.append(kid);
  return el;
}

/** An SVG element, the same way. */
function s(tag, props, ...kids) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  setProps(el, props);
  for (const kid of kids.flat(Infinity)) if (kid != null && kid !== false) el.append(kid);
  return el;
}

function setProps(el, props) {
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

const $ = (id) => document.getElementById(id);
const main = () => $('main');

/** A polite message in the status line (cleared by the next view). */
function say(text) { $('status').textContent = text; }

const alertBox = (text) => h('div', { class: 'alert', role: 'alert', text });

// ── Formatting ────────────────────────────────────────────────────────────────────────────

const num = (v, digits = 0) => (v == null || Number.isNaN(v) ? '–'
  : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 }));
const ms = (v) => (v == null ? '–' : `${num(v, v < 10 ? 1 : 0)} ms`);
const pct = (v) => (v == null ? '–' : `${num(v * 100, v > 0 && v < 0.01 ? 2 : 1)}%`);
const clock = (t, seconds = false) => new Date(t).toLocaleTimeString('en-GB', {
  hour: '2-digit', minute: '2-digit', ...(seconds ? { second: '2-digit' } : {}),
});
const when = (t) => (t == null ? '–' : new Date(t).toLocaleString('en-GB', {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
}));
/** A D1 timestamp (ISO text, SQLite `YYYY-MM-DD HH:MM:SS` in UTC, or ms) as a date. */
function stamp(v) {
  if (v == null || v === '') return '–';
  if (typeof v === 'number') return when(v);
  const t = Date.parse(/^\d{4}-\d\d-\d\d \d/.test(v) ? `${v.replace(' ', 'T')}Z` : v);
  return Number.isNaN(t) ? v : when(t);
}
const duration = (sec) => (sec % 3600 === 0 ? `${sec / 3600} h` : sec % 60 === 0 ? `${sec / 60} min` : `${sec} s`);
const perStep = (sec) => (sec === 60 ? 'min' : duration(sec));
const badge = (status, text = status) => h('span', { class: `badge b-${status}`, text });
const tag = (text) => h('span', { class: 'tag', text });

// ── Session and API ───────────────────────────────────────────────────────────────────────

const token = () => sessionStorage.getItem(TOKEN_KEY);

class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

/** Calls the admin API with the bearer token; parses JSON; throws ApiError on a non-2xx
 *  answer (a 401 also signs out). */
async function api(path, { method = 'GET', body, bearer = token() } = {}) {
  const headers = { authorization: `Bearer ${bearer}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(API + path, {
    method, headers, cache: 'no-store', credentials: 'omit',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const type = res.headers.get('content-type') ?? '';
  const data = type.includes('json') ? await res.json() : await res.text();
  if (!res.ok) {
    const detail = typeof data === 'object' && data ? data.detail || data.title : data;
    if (res.status === 401 && bearer === token()) signOut('The admin token was refused; sign in again.');
    throw new ApiError(res.status, `${res.status}: ${detail || res.statusText}`);
  }
  return data;
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  render(message);
}

// ── Confirmation ──────────────────────────────────────────────────────────────────────────

/** Asks in the <dialog>; resolves to { note } when confirmed, null when cancelled. */
function confirmAction(title, text, action) {
  const dialog = $('confirm');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = action;
  $('confirm-note').value = '';
  dialog.returnValue = '';
  const opener = document.activeElement;
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      if (opener && opener.isConnected) opener.focus();
      resolve(dialog.returnValue === 'ok' ? { note: $('confirm-note').value.trim() } : null);
    }, { once: true });
  });
}

/** Runs a release action (rollback, promote, abort) after confirmation; re-renders. */
async function act(title, text, action, path, body = {}) {
  const answer = await confirmAction(title, text, action);
  if (!answer) return;
  if (answer.note) body.note = answer.note;
  try {
    const result = await api(path, { method: 'POST', body });
    await render();
    say(`${action}: done — ${result.active_version} is active. Recorded in the history.`);
  } catch (e) {
    if (e.status === 401) return;
    await render();
    main().prepend(alertBox(`${action} failed — ${e.message}`));
  }
}

// ── Charts (inline SVG) ───────────────────────────────────────────────────────────────────

/** Tick values from 0 to at least `max`: about `n` steps of 1, 2, 2.5 or 5 × 10^k. */
function ticks(max, n = 4, integer = false) {
  if (!(max > 0)) return [0, 1];
  const raw = max / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((v) => v >= raw);
  if (integer) step = Math.max(1, Math.ceil(step));
  const out = [0];
  while (out[out.length - 1] < max) out.push(+(out[out.length - 1] + step).toFixed(9));
  return out;
}

/** Local-time tick instants between from and to, on round minutes or hours. */
function timeTicks(from, to, n = 6) {
  const spans = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720].map((m) => m * 60_000);
  const span = spans.find((v) => (to - from) / v <= n) ?? spans[spans.length - 1];
  const offset = new Date(from).getTimezoneOffset() * 60_000;
  const out = [];
  for (let t = Math.ceil((from - offset) / span) * span + offset; t <= to; t += span) out.push(t);
  return out;
}

/** Chart width: the room the container has now (charts are redrawn on resize). */
const room = () => Math.max(260, Math.min(main().clientWidth - 40, 1100));
/** Width of one chart of a side-by-side pair (one above the other when there is no room). */
const half = () => (room() >= 760 ? Math.floor((room() - 16) / 2) : room());

/** A time chart with axes, grid, units and a legend. `series`: [{ name, cls, points: [[t, v]] }];
 *  `bars`: stacked bars of `step` ms (counts), otherwise lines (null breaks a line). */
function timeChart({ caption, unit, series, from, to, step = 0, bars = false, integer = false, width = room(), H = 200 }) {
  const L = 54; const R = 14; const T = 22; const B = 26;
  const x = (t) => L + ((t - from) / Math.max(1, to - from)) * (width - L - R);
  let max = 0;
  if (bars) {
    const sums = new Map();
    for (const se of series) for (const [t, v] of se.points) sums.set(t, (sums.get(t) ?? 0) + (v ?? 0));
    for (const v of sums.values()) max = Math.max(max, v);
  } else {
    for (const se of series) for (const [, v] of se.points) if (v != null) max = Math.max(max, v);
  }
  const ys = ticks(max, 4, integer);
  const top = ys[ys.length - 1];
  const y = (v) => T + (1 - v / top) * (H - T - B);
  const label = `${caption}: ${series.map((se) => se.name).join(', ')}; ${clock(from)}–${clock(to)}; ${unit}`;
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${width} ${H}`, width, height: H, role: 'img', 'aria-label': label });
  svg.append(s('text', { x: 4, y: 12, text: unit }));
  for (const v of ys) {
    svg.append(s('line', { class: 'grid', x1: L, x2: width - R, y1: y(v), y2: y(v) }));
    svg.append(s('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', text: num(v, 2) }));
  }
  const axis = s('g', { class: 'axis' }, s('line', { x1: L, x2: width - R, y1: H - B, y2: H - B }),
    s('line', { x1: L, x2: L, y1: T, y2: H - B }));
  for (const t of timeTicks(from, to, Math.max(2, Math.floor(width / 110)))) {
    axis.append(s('line', { x1: x(t), x2: x(t), y1: H - B, y2: H - B + 4 }));
    axis.append(s('text', { x: x(t), y: H - 8, 'text-anchor': 'middle', text: clock(t) }));
  }
  svg.append(axis);
  if (!series.some((se) => se.points.some(([, v]) => v))) {
    svg.append(s('text', { x: (L + width - R) / 2, y: (T + H - B) / 2, 'text-anchor': 'middle', text: 'no data in this window' }));
  }
  if (bars) {
    const base = new Map();
    const bw = Math.max(1, x(from + step) - x(from) - 1);
    for (const se of series) {
      for (const [t, v] of se.points) {
        if (!v) continue;
        const b0 = base.get(t) ?? 0;
        base.set(t, b0 + v);
        svg.append(s('rect', { class: se.cls, x: x(t) + 0.5, width: bw, y: y(b0 + v), height: y(b0) - y(b0 + v) },
          s('title', { text: `${clock(t)}: ${num(v)} ${se.name}` })));
      }
    }
  } else {
    for (const se of series) {
      let d = '';
      let pen = false;
      for (const [t, v] of se.points) {
        if (v == null) { pen = false; continue; }
        d += `${pen ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
        pen = true;
      }
      if (d) svg.append(s('path', { class: `line ${se.cls}`, d }));
      if (se.points.length <= 90) {
        for (const [t, v] of se.points) {
          if (v != null) {
            svg.append(s('circle', { class: se.cls, cx: x(t), cy: y(v), r: 2.5 },
              s('title', { text: `${clock(t, true)}: ${se.name} ${num(v, 1)} ${unit}` })));
          }
        }
      }
    }
  }
  return h('figure', null, h('figcaption', { text: caption }), svg, legend(series));
}

const legend = (items) => h('ul', { class: 'legend' },
  items.map((it) => h('li', null, h('span', { class: `swatch ${it.cls}`, 'aria-hidden': 'true' }), it.name)));

/** A status timeline: one band, a segment per snapshot until the next one, or until it is no
 *  longer fresh (`freshMs`): a gap in the probes stays a gap. */
function timeline({ caption, from, to, snapshots, freshMs, width = room() }) {
  const H = 46; const L = 54; const R = 14; const band = 22;
  const x = (t) => L + ((Math.min(Math.max(t, from), to) - from) / Math.max(1, to - from)) * (width - L - R);
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${width} ${H}`, width, height: H, role: 'img',
    'aria-label': `${caption}: ${snapshots.length} probes, ${clock(from)}–${clock(to)}; latest ${snapshots.at(-1)?.status ?? 'none'}` });
  svg.append(s('text', { x: 4, y: 15, text: 'status' }));
  snapshots.forEach((snap, i) => {
    const end = Math.min(snapshots[i + 1]?.checked_at ?? to, snap.checked_at + freshMs);
    if (end < from) return;
    const w = Math.max(2, x(end) - x(snap.checked_at));
    svg.append(s('rect', { class: `s-${snap.status}`, x: x(snap.checked_at), y: 2, width: w, height: band },
      s('title', { text: `${clock(snap.checked_at, true)}: ${snap.status}${snap.http_status ? ` (HTTP ${snap.http_status})` : ''}, ${ms(snap.latency_ms)} — ${snap.detail ?? ''}` })));
  });
  const axis = s('g', { class: 'axis' }, s('line', { x1: L, x2: width - R, y1: band + 4, y2: band + 4 }));
  for (const t of timeTicks(from, to, Math.max(2, Math.floor(width / 110)))) {
    axis.append(s('line', { x1: x(t), x2: x(t), y1: band + 4, y2: band + 8 }));
    axis.append(s('text', { x: x(t), y: H - 4, 'text-anchor': 'middle', text: clock(t) }));
  }
  svg.append(axis);
  const seen = ['healthy', 'degraded', 'unhealthy', 'unknown'].filter((st) => snapshots.some((sn) => sn.status === st));
  return h('figure', null, h('figcaption', { text: caption }), svg,
    legend(seen.map((st) => ({ name: st, cls: `s-${st}` }))));
}

// ── Data ──────────────────────────────────────────────────────────────────────────────────

/** The release in force: `{ stable, candidate: { version, percent, steps, … } | null, shadow }`. */
async function release() {
  const r = await api('release');
  return r?.release ?? r;
}

/** Sums the route series of a stats report into one series per status class. */
function classes(report, entries = report.routes) {
  const keys = [['s2xx', '2xx', 'k2xx'], ['s3xx', '3xx', 'k3xx'], ['s4xx', '4xx', 'k4xx'], ['s5xx', '5xx', 'k5xx']];
  const byT = new Map();
  for (const r of entries) {
    for (const p of r.series) {
      const acc = byT.get(p.start_ms) ?? { s2xx: 0, s3xx: 0, s4xx: 0, s5xx: 0, requests: 0 };
      for (const [k] of keys) acc[k] += p[k];
      acc.requests += p.requests;
      byT.set(p.start_ms, acc);
    }
  }
  const times = [...byT.keys()].sort((a, b) => a - b);
  return keys.map(([k, name, cls]) => ({ name, cls, points: times.map((t) => [t, byT.get(t)[k]]) }))
    .filter((se) => se.name === '2xx' || se.points.some(([, v]) => v > 0));
}

/** Totals over several StatsCounts. */
function total(list) {
  const t = { requests: 0, s4xx: 0, s5xx: 0 };
  for (const c of list) { t.requests += c.requests; t.s4xx += c.s4xx; t.s5xx += c.s5xx; }
  return t;
}

const statsQuery = (since) => `stats?since=${since}&step=${WINDOWS[since]}s`;

// ── Views ─────────────────────────────────────────────────────────────────────────────────

function signIn(root, message) {
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const error = h('div', { id: 'signin-error' });
  if (message) error.append(alertBox(message));
  const form = h('form', { 'aria-describedby': 'signin-help' },
    h('label', { for: 'token', text: 'Admin token' }), input,
    h('p', { id: 'signin-help', class: 'muted',
      text: 'The gateway\'s ADMIN_TOKEN. It stays in this tab (session storage) and is sent as a bearer header only.' }),
    h('button', { type: 'submit', class: 'primary', text: 'Sign in' }), error);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.replaceChildren();
    const value = input.value.trim();
    try {
      await api('routes', { bearer: value });
    } catch (err) {
      error.append(alertBox(err.status === 401 ? 'That token was refused.' : `Could not sign in — ${err.message}`));
      input.select();
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, value);
    if (!location.hash || location.hash === '#/') location.hash = '#/overview';
    else render();
  });
  root.append(h('section', { class: 'signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title', tabindex: '-1', text: 'Sign in to the gateway console' }), form));
  return () => input.focus();
}

async function overview(root) {
  const [routes, health, stats, rel, versions] = await Promise.all([
    api('routes'), api('health'), api(statsQuery('1h')), release(), api('versions'),
  ]);
  const t = total(stats.versions.map((v) => v.totals));
  const seconds = Math.max(1, (stats.until_ms - stats.from_ms) / 1000);
  const record = versions.versions.find((v) => v.version === routes.active_version);
  const counts = {};
  for (const o of health.origins) counts[o.status] = (counts[o.status] ?? 0) + 1;
  const cand = rel?.candidate;
  root.append(h('div', { class: 'cards' },
    h('section', { class: 'card', 'aria-labelledby': 'c-active' },
      h('h2', { id: 'c-active', text: 'Active version' }),
      h('div', { class: 'big mono', id: 'active-version', text: routes.active_version ?? 'none' }),
      h('div', { class: 'muted' }, record ? `${stamp(record.created_at)} by ${record.author}${record.note ? ` — ${record.note}` : ''}` : '',
        routes.serving_version !== routes.active_version ? ` (this isolate still serves ${routes.serving_version})` : ''),
      h('div', { class: 'muted', text: `${routes.route_count} routes, environment ${routes.environment}` })),
    h('section', { class: 'card', 'aria-labelledby': 'c-canary' },
      h('h2', { id: 'c-canary', text: 'Canary' }),
      cand ? [
        h('div', { class: 'big mono', id: 'candidate-version', text: cand.version }),
        h('div', null, badge('canary', `${num(cand.percent, 2)}% of requests`), ' ', stepText(cand)),
        h('div', { class: 'buttons' }, canaryButtons(cand)),
      ] : h('div', { class: 'muted', text: 'No canary running.' }),
      rel?.shadow ? h('div', { class: 'muted' }, 'Shadow: ', h('span', { class: 'mono', text: rel.shadow })) : null),
    h('section', { class: 'card', 'aria-labelledby': 'c-health' },
      h('h2', { id: 'c-health', text: 'Overall health' }),
      h('div', { class: 'big' }, badge(health.status)),
      h('div', { class: 'muted', text: Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ') || 'no origins' }),
      h('div', { class: 'muted', text: `last probe ${when(health.checked_at)}` })),
    h('section', { class: 'card', 'aria-labelledby': 'c-traffic' },
      h('h2', { id: 'c-traffic', text: 'Last hour' }),
      h('div', { class: 'big', id: 'rps', text: `${num(t.requests / seconds, 2)} req/s` }),
      h('div', null, `${num(t.requests)} requests · error rate `, h('strong', { id: 'error-rate', text: pct(t.requests ? t.s5xx / t.requests : 0) }),
        ` (5xx) · ${pct(t.requests ? t.s4xx / t.requests : 0)} 4xx`))));
  root.append(h('section', { class: 'panel', 'aria-label': 'Requests in the last hour' },
    timeChart({ caption: 'Requests per minute by status class, last hour', unit: `requests / ${perStep(stats.step_ms / 1000)}`,
      series: classes(stats), from: stats.from_ms, to: stats.until_ms, step: stats.step_ms, bars: true, integer: true })));
}

function stepText(cand) {
  const steps = cand.steps ?? [];
  if (!steps.length) return h('span', { class: 'muted', text: 'no automatic steps (promote or abort by hand)' });
  const at = steps.findIndex((st) => st >= cand.percent);
  const step = at < 0 ? steps.length : at + 1;
  return h('span', { id: 'canary-step', text: `step ${step} of ${steps.length} (${steps.map((v) => `${num(v, 2)}%`).join(' → ')})` });
}

/** Promote and abort; each names the candidate, so a canary changed meanwhile is refused (409). */
function canaryButtons(cand) {
  const guard = () => ({ candidate: cand.version });
  return [
    h('button', { type: 'button', class: 'primary', text: 'Promote canary',
      onclick: () => act('Promote the canary?', `${cand.version} will serve every request and become the active version.`, 'Promote', 'promote', guard()) }),
    h('button', { type: 'button', class: 'danger', text: 'Abort canary',
      onclick: () => act('Abort the canary?', `${cand.version} will stop serving; every request goes back to the stable version.`, 'Abort', 'abort', guard()) })];
}

/** A route's conditions in words: `header x-beta = "1" and cookie beta present`. */
function whenText(when) {
  return Object.entries(when).flatMap(([kind, tests]) => Object.entries(tests ?? {}).map(([name, test]) => {
    if (typeof test === 'string') return `${kind} ${name} = "${test}"`;
    if (typeof test?.prefix === 'string') return `${kind} ${name} starts with "${test.prefix}"`;
    return test?.present ? `${kind} ${name} present` : `${kind} ${name} ${JSON.stringify(test)}`;
  })).join(' and ');
}

/** What a route's rewrite does, in words. */
function rewriteText(rw) {
  if (!rw) return '–';
  if (rw.strip_prefix != null) return `strip ${rw.strip_prefix}`;
  if (rw.template != null) return `→ ${rw.template}`;
  return JSON.stringify(rw);
}

async function routesView(root, query) {
  const report = await api('routes');
  const doc = report.document;
  const defaults = doc.default_policies ?? [];
  const search = h('input', { id: 'route-search', type: 'search', value: query.get('q') ?? '', autocomplete: 'off',
    'aria-controls': 'route-table' });
  const count = h('p', { id: 'route-count', class: 'muted', 'aria-live': 'polite' });
  const rows = doc.routes.map((r) => {
    const up = doc.upstreams[r.upstream] ?? {};
    const timeout = r.timeout_ms ?? up.timeout_ms;
    const policies = [...new Set([...defaults, ...(r.policies ?? [])])];
    const extra = [];
    if (r.split) extra.push(`split: ${Object.entries(r.split.to ?? {}).map(([k, v]) => `${k} ${v}%`).join(', ')}, sticky ${r.split.sticky ?? 'ip'}`);
    if (r.when) extra.push(`when ${whenText(r.when)}`);
    const text = [r.id, r.host ?? '', r.path, r.upstream, ...(r.methods ?? ['any']), ...policies, rewriteText(r.rewrite), ...extra].join(' ').toLowerCase();
    const tr = h('tr', null,
      h('td', { 'data-label': 'Route' }, h('strong', { text: r.id })),
      h('td', { 'data-label': 'Methods', text: r.methods?.length ? r.methods.join(', ') : 'any' }),
      h('td', { 'data-label': 'Path', class: 'mono', text: `${r.host ?? ''}${r.path}` }),
      h('td', { 'data-label': 'Upstream' }, h('div', null, r.upstream, extra.map((x) => h('div', { class: 'muted', text: x })))),
      h('td', { 'data-label': 'Rewrite', class: 'mono', text: rewriteText(r.rewrite) }),
      h('td', { 'data-label': 'Timeout', class: 'num', text: timeout != null ? ms(timeout) : '–' }),
      h('td', { 'data-label': 'Policies' }, h('div', { class: 'tags' }, policies.length ? policies.map(tag) : '–')));
    return { tr, text };
  });
  const tbody = h('tbody', null, rows.map((r) => r.tr));
  const filter = () => {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const r of rows) {
      r.tr.hidden = !words.every((w) => r.text.includes(w));
      if (!r.tr.hidden) shown += 1;
    }
    count.textContent = `${shown} of ${rows.length} routes · version ${report.serving_version}`;
    const q = search.value ? `?q=${encodeURIComponent(search.value)}` : '';
    history.replaceState(null, '', `#/routes${q}`);
  };
  search.addEventListener('input', filter);
  root.append(h('div', { class: 'controls' },
    h('div', { class: 'field' }, h('label', { for: 'route-search', text: 'Search routes' }), search)), count,
  h('div', { class: 'scroll' }, h('table', { id: 'route-table', class: 'stack' },
    h('caption', { class: 'muted', text: 'The served route table' }),
    h('thead', null, h('tr', null, ['Route', 'Methods', 'Path', 'Upstream', 'Rewrite', 'Timeout', 'Policies']
      .map((c) => h('th', { scope: 'col', class: c === 'Timeout' ? 'num' : null, text: c })))), tbody)));
  root.append(h('h2', { text: 'Upstreams' }), h('div', { class: 'scroll' }, h('table', { class: 'stack' },
    h('thead', null, h('tr', null, ['Upstream', 'Origins', 'Timeout', 'Health check'].map((c) => h('th', { scope: 'col', text: c })))),
    h('tbody', null, Object.entries(doc.upstreams).map(([name, u]) => h('tr', null,
      h('td', { 'data-label': 'Upstream' }, h('strong', { text: name })),
      h('td', { 'data-label': 'Origins', class: 'mono', text: u.binding ? `binding ${u.binding}` : (u.origins ?? []).map((o) => (typeof o === 'string' ? o : o.url)).join(' ') }),
      h('td', { 'data-label': 'Timeout', text: ms(u.timeout_ms) }),
      h('td', { 'data-label': 'Health check', class: 'mono', text: `${u.health_path ?? '–'}` })))))));
  filter();
}

async function versionsView(root, query) {
  const [data, rel] = await Promise.all([api('versions'), release()]);
  const list = data.versions;
  const active = data.active_version;
  const cand = rel?.candidate;
  // What the latest activation that set the stable version replaced: a plain rollback's target.
  const previous = data.activations.find((x) => ['publish', 'rollback', 'promote'].includes(x.action))?.previous;
  const from = query.get('from') ?? previous ?? list[1]?.version ?? '';
  const to = query.get('to') ?? active ?? list[0]?.version ?? '';
  const pick = (id, label, value) => h('div', { class: 'field' }, h('label', { for: id, text: label }),
    h('select', { id }, list.map((v) => h('option', { value: v.version, selected: v.version === value,
      text: `${v.version}${v.version === active ? ' (active)' : ''}${v.note ? ` — ${v.note}` : ''}` }))));
  const form = h('form', { class: 'controls', 'aria-label': 'Compare two versions' },
    pick('diff-from', 'From version', from), pick('diff-to', 'To version', to),
    h('button', { type: 'submit', text: 'Show diff' }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `#/versions?from=${encodeURIComponent($('diff-from').value)}&to=${encodeURIComponent($('diff-to').value)}`;
  });

  const actions = h('div', { class: 'buttons', role: 'group', 'aria-label': 'Release actions' });
  const alsoEnds = cand ? ` The canary of ${cand.version} ends with it.` : '';
  if (previous) {
    actions.append(h('button', { type: 'button', class: 'danger', id: 'rollback-previous', text: 'Roll back to the previous version',
      onclick: () => act('Roll back?', `${previous} (the version the current one replaced) becomes active again, replacing ${active}.${alsoEnds}`, 'Roll back', 'rollback', { from: active }) }));
  }
  if (cand) actions.append(...canaryButtons(cand));
  root.append(h('section', { class: 'panel', 'aria-labelledby': 'v-active' },
    h('h2', { id: 'v-active', text: 'In force' }),
    h('p', null, 'Active: ', h('strong', { class: 'mono', text: active ?? 'none' }),
      cand ? [' · canary ', h('strong', { class: 'mono', text: cand.version }), ` on ${num(cand.percent, 2)}% `, stepText(cand)] : null,
      rel?.shadow ? [' · shadow ', h('span', { class: 'mono', text: rel.shadow })] : null),
    actions));

  root.append(h('h2', { text: 'Compare versions' }), form);
  if (query.get('from') && query.get('to')) {
    const out = h('section', { id: 'diff', 'aria-label': 'Diff' });
    root.append(out);
    try {
      const [a, b] = [query.get('from'), query.get('to')];
      out.append(diffView(await api(`diff?from=${encodeURIComponent(a)}&to=${encodeURIComponent(b)}`), a, b));
    } catch (e) {
      if (e.status === 401) throw e;
      out.append(alertBox(`No diff — ${e.message}`));
    }
  }

  root.append(h('h2', { text: 'Versions' }), h('div', { class: 'scroll' }, h('table', { class: 'stack', id: 'version-table' },
    h('thead', null, h('tr', null, ['Version', 'Created', 'Author', 'Note', 'Routes', 'Action'].map((c) => h('th', { scope: 'col', text: c })))),
    h('tbody', null, list.map((v) => h('tr', { class: v.version === active ? 'current' : null },
      h('td', { 'data-label': 'Version', class: 'mono' }, v.version, ' ',
        v.version === active ? badge('active') : null, v.version === cand?.version ? badge('candidate') : null),
      h('td', { 'data-label': 'Created', text: stamp(v.created_at) }),
      h('td', { 'data-label': 'Author', text: v.author }),
      h('td', { 'data-label': 'Note', text: v.note || '–' }),
      h('td', { 'data-label': 'Routes', class: 'num', text: v.route_count }),
      h('td', { 'data-label': 'Action' }, v.version === active || v.version === cand?.version ? null : h('button', {
        type: 'button', 'aria-label': `Roll back to this version: ${v.version}`, text: 'Roll back to this',
        onclick: () => act('Roll back?', `${v.version} becomes active again, replacing ${active}.${alsoEnds}`, 'Roll back', 'rollback', { to: v.version, from: active }),
      }))))))));

  root.append(h('h2', { text: 'History' }), h('div', { class: 'scroll' }, h('table', { class: 'stack', id: 'history-table' },
    h('thead', null, h('tr', null, ['#', 'Action', 'Version', 'Previous', 'By', 'When', 'Reason'].map((c) => h('th', { scope: 'col', text: c })))),
    h('tbody', null, data.activations.map((a) => h('tr', null,
      h('td', { 'data-label': '#', text: a.id }),
      h('td', { 'data-label': 'Action' }, badge(a.action)),
      h('td', { 'data-label': 'Version', class: 'mono', text: a.version }),
      h('td', { 'data-label': 'Previous', class: 'mono', text: a.previous ?? '–' }),
      h('td', { 'data-label': 'By', text: a.author }),
      h('td', { 'data-label': 'When', text: stamp(a.activated_at) }),
      h('td', { 'data-label': 'Reason', text: a.reason || '–' })))))));
}

/** A diff as `gatewayctl diff` prints it: the route-level changes, then the sample requests
 *  that would be served differently (each entry carries the CLI's line). */
function diffView(d, from, to) {
  const changes = d.changes ?? [];
  const moved = d.moved ?? [];
  const line = (text, cls) => h('div', { class: cls, text });
  const sign = { added: 'add', removed: 'del', changed: 'chg' };
  return h('div', null,
    h('h3', null, 'From ', h('span', { class: 'mono', text: from }), ' to ', h('span', { class: 'mono', text: to })),
    h('pre', { class: 'diff', tabindex: '0', 'aria-label': 'Route changes and affected sample requests' },
      line(changes.length ? 'routes:' : 'routes: no changes', 'head'),
      changes.map((c) => line(`  ${c.line}`, sign[c.op])),
      line(`requests that would be served differently: ${moved.length} of ${d.samples ?? moved.length}`, 'head'),
      moved.map((m) => line(`  ${m.line}`))));
}

async function healthView(root, query) {
  const since = WINDOWS[query.get('since')] ? query.get('since') : '1h';
  const [now, hist] = await Promise.all([api('health'), api(`health/history?since=${since}`)]);
  const { from_ms: from, until_ms: to } = hist;
  const key = (o) => `${o.upstream} ${o.origin}`;
  const snaps = new Map(hist.origins.map((o) => [key(o), [...o.snapshots].sort((a, b) => a.checked_at - b.checked_at)]));
  root.append(windowPicker('health', since, query),
    h('p', null, 'Overall: ', badge(now.status), h('span', { class: 'muted', text: ` · last probe ${when(now.checked_at)} · a probe steers traffic for ${duration(Math.round(now.fresh_ms / 1000))} · version ${now.route_version}` })));
  if (hist.truncated) root.append(h('p', { class: 'muted', text: 'The window holds more snapshots than one answer carries: the oldest are left out.' }));
  // The active table's origins, then any the window still has snapshots of that it dropped.
  const current = new Set(now.origins.map(key));
  const origins = [...now.origins, ...hist.origins.filter((o) => !current.has(key(o)) && o.snapshots.length)
    .map((o) => ({ ...o, status: o.snapshots.at(-1).status, gone: true }))];
  if (!origins.length) root.append(h('p', { class: 'muted', text: 'No origins yet: publish a route table and run a probe round.' }));
  origins.forEach((o, i) => {
    const list = snaps.get(key(o)) ?? [];
    const id = `origin-${i}`;
    const facts = o.gone ? ['no longer in the active table']
      : [o.detail, o.http_status && !String(o.detail).includes(o.http_status) ? `HTTP ${o.http_status}` : null, ms(o.latency_ms),
        `checked ${when(o.checked_at)}${o.fresh === false ? ' (stale: not steering traffic)' : ''}`];
    root.append(h('section', { class: 'panel origin', 'aria-labelledby': id, 'data-origin': o.origin },
      h('h2', { id }, `${o.upstream} · `, h('span', { class: 'mono', text: o.origin }), ' ', badge(o.status)),
      h('p', { class: 'muted', text: facts.filter(Boolean).join(' · ') }),
      timeline({ caption: `Status, last ${since}`, from, to, snapshots: list, freshMs: now.fresh_ms }),
      timeChart({ caption: `Probe latency, last ${since}`, unit: 'ms', from, to, H: 160,
        series: [{ name: 'latency', cls: 'c0', points: gaps(list.map((sn) => [sn.checked_at, sn.latency_ms]), now.fresh_ms) }] })));
  });
}

/** Points with a break (null) wherever two are further apart than `ms`. */
const gaps = (points, ms) => points.flatMap((p, i) => (i > 0 && p[0] - points[i - 1][0] > ms ? [[p[0] - 1, null], p] : [p]));

function windowPicker(view, since, query) {
  const select = h('select', { id: 'window' }, Object.keys(WINDOWS).map((w) => h('option', { value: w, selected: w === since, text: `last ${w}` })));
  select.addEventListener('change', () => {
    query.set('since', select.value);
    location.hash = `#/${view}?${query}`;
  });
  return h('div', { class: 'controls' }, h('div', { class: 'field' }, h('label', { for: 'window', text: 'Time window' }), select));
}

async function trafficView(root, query) {
  const since = WINDOWS[query.get('since')] ? query.get('since') : '1h';
  const stats = await api(statsQuery(since));
  const route = query.get('route') ?? '';
  const version = query.get('version') ?? '';
  const unit = `requests / ${perStep(stats.step_ms / 1000)}`;
  const choose = (id, label, values, value, key) => {
    const select = h('select', { id }, h('option', { value: '', text: 'all' }),
      values.map((v) => h('option', { value: v, selected: v === value, text: v || '(none)' })));
    select.addEventListener('change', () => {
      if (select.value) query.set(key, select.value); else query.delete(key);
      location.hash = `#/traffic?${query}`;
    });
    return h('div', { class: 'field' }, h('label', { for: id, text: label }), select);
  };
  const picker = windowPicker('traffic', since, query);
  picker.append(
    choose('traffic-route', 'Route', [...new Set(stats.routes.map((r) => r.route))].sort(), route, 'route'),
    choose('traffic-version', 'Version', stats.versions.map((v) => v.version), version, 'version'));
  root.append(picker);
  const entries = stats.routes.filter((r) => (!route || r.route === route) && (!version || r.version === version));
  const cells = (c) => [
    h('td', { 'data-label': 'Requests', class: 'num', text: num(c.requests) }),
    h('td', { 'data-label': '4xx', class: 'num', text: num(c.s4xx) }),
    h('td', { 'data-label': '5xx', class: 'num', text: num(c.s5xx) }),
    h('td', { 'data-label': 'Error rate', class: 'num', text: pct(c.error_rate) }),
    h('td', { 'data-label': 'p50', class: 'num', text: ms(c.p50_ms) }),
    h('td', { 'data-label': 'p95', class: 'num', text: ms(c.p95_ms) })];
  const heads = (first) => h('thead', null, h('tr', null, [...first, 'Requests', '4xx', '5xx', 'Error rate', 'p50', 'p95']
    .map((c, i) => h('th', { scope: 'col', class: i >= first.length ? 'num' : null, text: c }))));
  root.append(h('h2', { text: route ? 'Per version (all routes)' : 'Per version' }), h('div', { class: 'scroll' }, h('table', { class: 'stack', id: 'traffic-versions' },
    heads(['Version']), h('tbody', null, stats.versions.filter((v) => !version || v.version === version).map((v) => h('tr', null,
      h('td', { 'data-label': 'Version', class: 'mono', text: v.version || '(no table)' }), cells(v.totals)))))));
  root.append(h('h2', { text: 'Per route' }), h('div', { class: 'scroll' }, h('table', { class: 'stack', id: 'traffic-routes' },
    heads(['Route', 'Upstream', 'Version']), h('tbody', null, entries.map((r) => h('tr', null,
      h('th', { scope: 'row', 'data-label': 'Route', text: r.route || '(no route)' }),
      h('td', { 'data-label': 'Upstream', text: r.upstream || '–' }),
      h('td', { 'data-label': 'Version', class: 'mono', text: r.version }), cells(r.totals)))))));
  if (!entries.length) root.append(h('p', { class: 'muted', text: `No requests in the last ${since}.` }));
  for (const r of entries.filter((e) => e.totals.requests > 0).slice(0, 24)) {
    const pts = (k) => r.series.map((p) => [p.start_ms, p.requests ? p[k] : null]);
    root.append(h('section', { class: 'panel', 'aria-label': `Traffic of ${r.route || 'no route'} on ${r.version}` },
      h('h3', null, r.route || '(no route)', h('span', { class: 'muted', text: ` → ${r.upstream || '–'} · ` }), h('span', { class: 'mono', text: r.version })),
      h('div', { class: 'pair' },
        timeChart({ caption: 'Requests by status class', unit, series: classes(stats, [r]), from: stats.from_ms, to: stats.until_ms,
          step: stats.step_ms, bars: true, integer: true, width: half() }),
        timeChart({ caption: 'Latency', unit: 'ms', from: stats.from_ms, to: stats.until_ms, width: half(),
          series: [{ name: 'p50', cls: 'c0', points: pts('p50_ms') }, { name: 'p95', cls: 'c1', points: pts('p95_ms') }] }))));
  }
}

const RENDER = { overview, routes: routesView, versions: versionsView, health: healthView, traffic: trafficView };

// ── Router ────────────────────────────────────────────────────────────────────────────────

let generation = 0;

/** Renders the view the hash names (or the sign-in form) into <main>; `focus`: move the
 *  focus to its heading (after a navigation, not on the first load). */
async function render(message, focus = true) {
  const gen = ++generation;
  const [, name = 'overview', q = ''] = location.hash.match(/^#\/([a-z]+)?\??(.*)$/) ?? [];
  const view = VIEWS[name] ? name : 'overview';
  const signedIn = Boolean(token());
  $('nav').hidden = !signedIn;
  $('session').hidden = !signedIn;
  for (const a of $('nav').querySelectorAll('a')) {
    if (a.getAttribute('href') === `#/${view}` && signedIn) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const root = h('div');
  if (!signedIn) {
    document.title = 'Sign in · Gateway console';
    const focusInput = signIn(root, message);
    main().replaceChildren(root);
    focusInput();
    return;
  }
  document.title = `${VIEWS[view]} · Gateway console`;
  const heading = h('h1', { tabindex: '-1', text: VIEWS[view] });
  const busy = main().firstChild?.dataset?.view === view;
  if (!busy) main().replaceChildren(h('div', { 'data-view': view }, heading, h('p', { class: 'muted', text: 'Loading…' })));
  main().setAttribute('aria-busy', 'true');
  root.dataset.view = view;
  root.append(heading);
  try {
    await RENDER[view](root, new URLSearchParams(q));
  } catch (e) {
    if (e.status === 401 || gen !== generation) return;
    root.append(alertBox(`Could not load ${VIEWS[view].toLowerCase()} — ${e.message}`));
  }
  if (gen !== generation) return;
  const focused = document.activeElement?.id;
  main().replaceChildren(root);
  main().removeAttribute('aria-busy');
  if (focused && $(focused)) $(focused).focus();
  else if (!busy && focus) heading.focus();
}

function start() {
  $('signout').addEventListener('click', () => signOut('Signed out.'));
  $('refresh').addEventListener('click', () => { say(''); render(); });
  const auto = $('auto');
  auto.checked = sessionStorage.getItem(AUTO_KEY) === '1';
  auto.addEventListener('change', () => sessionStorage.setItem(AUTO_KEY, auto.checked ? '1' : '0'));
  setInterval(() => {
    const typing = ['INPUT', 'SELECT'].includes(document.activeElement?.tagName);
    if (auto.checked && token() && !$('confirm').open && !document.hidden && !typing) render();
  }, AUTO_MS);
  $('confirm-note').addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); $('confirm').close('ok'); }
  });
  window.addEventListener('hashchange', () => { say(''); render(); });
  let width = main().clientWidth;
  window.addEventListener('resize', () => {
    if (Math.abs(main().clientWidth - width) > 40 && token()) { width = main().clientWidth; render(); }
  });
  render(undefined, false);
}

start();
