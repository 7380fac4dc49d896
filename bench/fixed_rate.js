// k6, bench/run.sh's latency step: requests at a fixed arrival rate (RATE per
// second for DURATION) from 1,000 pre-allocated VUs. An open model: a slow
// answer does not slow the arrivals, so the percentiles are free of the
// closed-loop effect of wrk's fixed connection count.
//
// Environment (k6 run -e NAME=value):
//   BASE_URL      service address                 (default http://127.0.0.1:8080)
//   TARGET        bookings | health               (default bookings)
//                 bookings: POST /bookings on EVENT_ID, each by a distinct
//                 user USER_OFFSET+1, USER_OFFSET+2, ...
//                 health: GET /health at the same rate, a control that shows
//                 what k6 itself adds to the latency on this machine
//   EVENT_ID      (default 1)   USER_OFFSET (default 0)
//   TOKENS_FILE   the users' tokens (seed --tokens; k6/lib/tokens.js)
//   RATE          requests per second (default 1000)
//   DURATION      (default 10s)
//   SUMMARY_FILE  JSON summary written here (default fixed-rate-summary.json)
//
// Only built-in modules (and k6/lib/tokens.js): runs offline.

import http from 'k6/http';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import { asBuyer } from '../k6/lib/tokens.js';

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
const TARGET = __ENV.TARGET || 'bookings';
const EVENT_ID = Number(__ENV.EVENT_ID || 1);
const OFFSET = Number(__ENV.USER_OFFSET || 0);
const PREALLOCATED_VUS = 1000;

if (TARGET !== 'bookings' && TARGET !== 'health') {
  throw new Error(`TARGET must be bookings or health, got ${JSON.stringify(TARGET)}`);
}

// One counter per status bench/run.sh tells apart; anything else is "other".
const KNOWN = [200, 201, 409, 503];
const byStatus = Object.fromEntries(KNOWN.map((s) => [s, new Counter(`status_${s}`)]));
const other = new Counter('status_other');
let reported = false;

// Every status counts as "expected" here: run.sh judges them from the counters.
http.setResponseCallback(http.expectedStatuses({ min: 100, max: 599 }));

export const options = {
  discardResponseBodies: true, // less work for k6 on a 2-core machine
  scenarios: {
    fixed_rate: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.RATE || 1000),
      timeUnit: '1s',
      duration: __ENV.DURATION || '10s',
      preAllocatedVUs: PREALLOCATED_VUS,
      maxVUs: PREALLOCATED_VUS,
    },
  },
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
};

const GET_PARAMS = { timeout: '30s' };

export default function () {
  let res;
  if (TARGET === 'health') {
    res = http.get(`${BASE_URL}/health`, GET_PARAMS);
  } else {
    const user = OFFSET + exec.scenario.iterationInTest + 1;
    const body = JSON.stringify({ event_id: EVENT_ID });
    const params = { headers: asBuyer(user, { 'Content-Type': 'application/json' }), timeout: '30s' };
    res = http.post(`${BASE_URL}/bookings`, body, params);
  }
  const counter = byStatus[res.status];
  if (counter) {
    counter.add(1);
  } else {
    other.add(1);
    if (!reported) {
      reported = true;
      console.error(`unexpected status ${res.status} ${res.error || ''}`);
    }
  }
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY_FILE || 'fixed-rate-summary.json']: JSON.stringify(data) };
}
