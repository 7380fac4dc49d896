// What the proofs' k6 scripts (k6/*.js) share: their -e options, the
// problem+json code of an answer, the wait its Retry-After asks for, and the
// end of the run: a compact text summary on stdout and the whole summary as
// JSON in SUMMARY_FILE, which verify reads. Built here because k6's own textSummary is a remote jslib
// module that an offline machine cannot import; only built-in modules, so the
// scripts run offline and in the grafana/k6 image alike.

import { Counter } from 'k6/metrics';

export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');

// Milliseconds the answer's Retry-After asks for (1 s when absent).
export function retryAfter(res) {
  const seconds = Number(res.headers['Retry-After']);
  return (Number.isFinite(seconds) && seconds > 0 ? seconds : 1) * 1000;
}

// The integer option NAME (k6 run -e NAME=value), at least min.
export function intFromEnv(name, fallback, min = 1) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') {
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

// The problem+json `code` of an error answer, or '' when it has none.
export function problemCode(res) {
  if (res.status < 400) {
    return '';
  }
  try {
    const parsed = res.json();
    return parsed && typeof parsed.code === 'string' ? parsed.code : '';
  } catch (_) {
    return '';
  }
}

// Counters by name (create them in the init context): count(name, n) adds to
// one; zero(), once a VU, gives each a 0 so that every one is in the
// summary, zero or not.
export function counters(names) {
  const all = Object.fromEntries(names.map((name) => [name, new Counter(name)]));
  return {
    count: (name, n = 1) => all[name].add(n),
    zero: () => Object.values(all).forEach((counter) => counter.add(0)),
  };
}

export const TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'];

// handleSummary's answer: `title`, then run duration and request rate,
// `rows` ([label, value] pairs, from counted(data, name) mostly), the latency
// of `latency.metric` as `latency.label` when given, checks and thresholds;
// the JSON to `file`.
export function summary(data, file, title, rows, latency) {
  const metrics = data.metrics;
  const lines = ['', title];
  const row = (label, value) => lines.push(`  ${(label + ' ').padEnd(34, '.')} ${value}`);
  row('run duration', `${(data.state.testRunDurationMs / 1000).toFixed(2)} s`);
  row('http requests', `${counted(data, 'http_reqs')} (${metrics.http_reqs ? metrics.http_reqs.values.rate.toFixed(1) : 0} /s)`);
  rows.forEach(([label, value]) => row(label, value));
  if (latency && metrics[latency.metric]) {
    const v = metrics[latency.metric].values;
    row(latency.label, latency.stats.map((k) => `${k}=${v[k] === undefined ? '-' : `${v[k].toFixed(1)}ms`}`).join(' '));
  }
  if (metrics.checks) {
    const c = metrics.checks.values;
    row('checks passed', `${(c.rate * 100).toFixed(2)}% (${c.passes} of ${c.passes + c.fails})`);
  }
  lines.push('  thresholds:');
  for (const name of Object.keys(metrics).sort()) {
    for (const [expr, result] of Object.entries(metrics[name].thresholds || {})) {
      lines.push(`    ${result.ok ? 'ok    ' : 'FAILED'} ${name} ${expr}`);
    }
  }
  lines.push(`  summary JSON: ${file}`, '');
  return { stdout: lines.join('\n'), [file]: JSON.stringify(data, null, 2) };
}

// A counter's count in the summary, 0 when it has none.
export function counted(data, name) {
  return data.metrics[name] ? data.metrics[name].values.count : 0;
}
