// The flash-sale load of the one-shot proof (run_tests.sh): ITERATIONS booking
// attempts for one event, spread over VUS virtual users, each attempt by a
// different user. Every answer must be 201 (booked) or 409 (sold_out /
// already_booked); anything else fails the run through the thresholds below.
//
// Environment (k6 run -e NAME=value, or the process environment):
//   BASE_URL      service address            (default http://127.0.0.1:8080)
//   EVENT_ID      event to book              (default 1)
//   USERS         user ids 1..USERS exist    (default 10000)
//   TOKENS_FILE   their tokens (seed --tokens; k6/lib/tokens.js), required
//   VUS           concurrent virtual users   (default 1000)
//   ITERATIONS    booking attempts in total  (default 10000)
//   SUMMARY_FILE  JSON summary written here  (default k6-summary.json)
//   SEND_LOG      1: log one line per attempt, `SENT <ms since the epoch when
//                 sent> <status>`, for the fairness figure (bench/run.sh runs
//                 k6 --console-output=FILE and bench/probe.py fairness reads
//                 it); default off, so run_tests.sh's output stays as it is
//
// Uses only modules built into k6 (and k6/lib/summary.js), so it runs
// offline and in the official grafana/k6 image alike.

import http from 'k6/http';
import exec from 'k6/execution';
import { check } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';
import { BASE_URL, TREND_STATS, counted, intFromEnv, problemCode, summary } from './lib/summary.js';
import { asBuyer } from './lib/tokens.js';

const EVENT_ID = intFromEnv('EVENT_ID', 1);
const USERS = intFromEnv('USERS', 10000);
const VUS = intFromEnv('VUS', 1000);
const ITERATIONS = intFromEnv('ITERATIONS', 10000);
const SUMMARY_FILE = __ENV.SUMMARY_FILE || 'k6-summary.json';
const SEND_LOG = __ENV.SEND_LOG === '1';

// Every counter gets a sample on every attempt (1 or 0), so each one is in the
// summary even when it stays at zero.
const status201 = new Counter('status_201');
const status409 = new Counter('status_409');
const soldOut = new Counter('status_409_sold_out');
const alreadyBooked = new Counter('status_409_already_booked');
const conflictOther = new Counter('status_409_other_code');
const statusOther = new Counter('status_other');
const unexpectedStatus = new Rate('unexpected_status');
// Latency of the booking requests alone, whatever k6 adds to http_req_*.
const bookingDuration = new Trend('booking_duration', true);
// Unexpected answers are logged by the first 10 VUs, once each: enough to
// diagnose without flooding the output.
let unexpectedLogged = false;

// 409 is an answer the client expects, not a failed request.
http.setResponseCallback(http.expectedStatuses(201, 409));

export const options = {
  scenarios: {
    flash_sale: {
      executor: 'shared-iterations',
      vus: VUS,
      iterations: ITERATIONS,
      maxDuration: '5m',
    },
  },
  thresholds: {
    unexpected_status: ['rate==0'],
    checks: ['rate==1'],
  },
  summaryTrendStats: TREND_STATS,
};


export default function () {
  // iterationInTest runs 0..ITERATIONS-1 across all VUs, so with
  // ITERATIONS <= USERS each attempt is made by a distinct user.
  const userId = (exec.scenario.iterationInTest % USERS) + 1;
  const body = JSON.stringify({ event_id: EVENT_ID });
  const params = {
    headers: asBuyer(userId, { 'Content-Type': 'application/json' }),
    tags: { name: 'POST /bookings' },
    timeout: '30s',
  };
  // Milliseconds: k6 has no finer wall clock; ties are counted where used.
  const sentAt = Date.now();
  const res = http.post(`${BASE_URL}/bookings`, body, params);
  if (SEND_LOG) {
    console.log(`SENT ${sentAt} ${res.status}`);
  }

  const code = res.status === 409 ? problemCode(res) : '';
  const expected = res.status === 201 || res.status === 409;
  status201.add(res.status === 201 ? 1 : 0);
  status409.add(res.status === 409 ? 1 : 0);
  soldOut.add(code === 'sold_out' ? 1 : 0);
  alreadyBooked.add(code === 'already_booked' ? 1 : 0);
  conflictOther.add(res.status === 409 && code !== 'sold_out' && code !== 'already_booked' ? 1 : 0);
  statusOther.add(expected ? 0 : 1);
  unexpectedStatus.add(!expected);
  bookingDuration.add(res.timings.duration);

  const ok = check(res, { 'status is 201 or 409': () => expected });
  if (!ok && !unexpectedLogged && exec.vu.idInTest <= 10) {
    unexpectedLogged = true;
    console.error(
      `user ${userId}: unexpected status ${res.status} ${res.error || ''} ${String(res.body || '').slice(0, 200)}`,
    );
  }
}

export function handleSummary(data) {
  const n = (name) => counted(data, name);
  return summary(data, SUMMARY_FILE, `flash sale: ${ITERATIONS} attempts on event ${EVENT_ID} by ${VUS} VUs against ${BASE_URL}`, [
    ['201 booked', n('status_201')],
    ['409 sold_out', n('status_409_sold_out')],
    ['409 already_booked', n('status_409_already_booked')],
    ['409 other code', n('status_409_other_code')],
    ['other statuses', n('status_other')],
  ], { metric: 'booking_duration', label: 'booking latency', stats: ['avg', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'] });
}
