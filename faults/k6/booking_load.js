// The load of the fault scenarios: booking attempts on one event, each
// iteration by a different user, with a record of every answer so that
// verify faults load (verify/src/faults.rs) can compare what clients were told with the database.
//
// Every HTTP request writes one console line "FB {json}" (records.js):
//   u   user id            s   HTTP status (0: no response: refused, reset, timed out)
//   b   booking id of a 201, else null      c   problem `code`, else null
//   t0  start, t1 end (epoch ms)            d   k6's request duration (ms)
//   ra  Retry-After header, else null
//   n   base URL index     a   attempt (1..) of this user
//   k   1 when the request carried an Idempotency-Key
//   r   1 when the answer was a replay (Idempotent-Replayed: true)
//   e   k6 error code of a failed request, else 0
//
// Environment (-e NAME=value):
//   BASE_URLS      comma-separated service addresses; user u uses (u % n)
//   EVENT_ID       event to book (default 1)
//   ITERATIONS     booking attempts; iteration i is user i+1 (users 1..ITERATIONS must exist)
//   TOKENS_FILE    their tokens (seed --tokens; k6/lib/tokens.js)
//   VUS            virtual users (default 200)
//   PAUSE_MS       mean pause after each iteration (0.5 to 1.5 times this), to spread
//                  the load over time (default 0)
//   TIMEOUT        k6 request timeout (default 30s)
//   IDEMPOTENT     1: send Idempotency-Key KEY_PREFIX-u<user> and retry every
//                  answer that is not final (no response, 503, 409 request_in_progress);
//                  mixed: so do users 0, 1, 4, 5, ... (mod 4 below 2); the others send
//                  one plain request, so each process's batches mix keyed and plain
//   FAILOVER       1 (with IDEMPOTENT): a retry after no response goes to the next base URL
//   KEY_PREFIX     unique per run (default fb)
//   MAX_ATTEMPTS   attempts per user in IDEMPOTENT mode (default 30)
//   RETRY_PAUSE_MS pause before a retry, plus up to the same again at random (default 200)
//   MAX_DURATION   k6 maxDuration of the scenario (default 90s)
//   SUMMARY_FILE   k6 summary JSON

import http from 'k6/http';
import exec from 'k6/execution';
import { sleep } from 'k6';
import { intFromEnv } from '../../k6/lib/summary.js';
import { bookingId, record, summary } from './records.js';
import { asBuyer } from '../../k6/lib/tokens.js';

const BASE_URLS = (__ENV.BASE_URLS || 'http://127.0.0.1:8080')
  .split(',')
  .map((url) => url.trim().replace(/\/+$/, ''))
  .filter((url) => url !== '');
const EVENT_ID = intFromEnv('EVENT_ID', 1);
const ITERATIONS = intFromEnv('ITERATIONS', 1000);
const VUS = intFromEnv('VUS', 200);
const PAUSE_MS = intFromEnv('PAUSE_MS', 0, 0);
const TIMEOUT = __ENV.TIMEOUT || '30s';
const keyed = (userId) => __ENV.IDEMPOTENT === '1' || (__ENV.IDEMPOTENT === 'mixed' && userId % 4 < 2);
const FAILOVER = __ENV.FAILOVER === '1';
const KEY_PREFIX = __ENV.KEY_PREFIX || 'fb';
const MAX_ATTEMPTS = intFromEnv('MAX_ATTEMPTS', 30);
const RETRY_PAUSE_MS = intFromEnv('RETRY_PAUSE_MS', 200, 0);
const SUMMARY_FILE = __ENV.SUMMARY_FILE || 'summary.json';

// Every status is an answer to record, not a failed k6 request.
http.setResponseCallback(http.expectedStatuses({ min: 100, max: 599 }));

export const options = {
  scenarios: {
    bookings: {
      executor: 'shared-iterations',
      vus: VUS,
      iterations: ITERATIONS,
      maxDuration: __ENV.MAX_DURATION || '90s',
    },
  },
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max', 'count'],
};

function attempt(userId, urlIndex, attemptNo) {
  const headers = asBuyer(userId, { 'Content-Type': 'application/json' });
  if (keyed(userId)) {
    headers['Idempotency-Key'] = `${KEY_PREFIX}-u${userId}`;
  }
  const body = JSON.stringify({ event_id: EVENT_ID });
  const t0 = Date.now();
  const res = http.post(`${BASE_URLS[urlIndex]}/bookings`, body, {
    headers,
    timeout: TIMEOUT,
    tags: { name: 'POST /bookings' },
  });
  return record(res, t0, {
    u: userId,
    b: bookingId(res),
    n: urlIndex,
    a: attemptNo,
    k: keyed(userId) ? 1 : 0,
    r: res.headers['Idempotent-Replayed'] === 'true' ? 1 : 0,
  });
}

// An answer the client can act on; anything else is retried with the key.
function isFinal(answer) {
  if (answer.s === 0 || answer.s === 503) {
    return false;
  }
  return !(answer.s === 409 && answer.c === 'request_in_progress');
}

export default function () {
  const userId = exec.scenario.iterationInTest + 1;
  let urlIndex = userId % BASE_URLS.length;
  if (!keyed(userId)) {
    attempt(userId, urlIndex, 1);
  } else {
    for (let n = 1; n <= MAX_ATTEMPTS; n++) {
      const answer = attempt(userId, urlIndex, n);
      if (isFinal(answer)) {
        break;
      }
      if (FAILOVER && answer.s === 0) {
        urlIndex = (urlIndex + 1) % BASE_URLS.length;
      }
      if (n < MAX_ATTEMPTS) {
        sleep((RETRY_PAUSE_MS * (1 + Math.random())) / 1000);
      }
    }
  }
  if (PAUSE_MS > 0) {
    // Jittered, so that the VUs do not stay in lock-step waves with quiet
    // gaps a short fault could fall into unnoticed.
    sleep((PAUSE_MS * (0.5 + Math.random())) / 1000);
  }
}

export function handleSummary(data) {
  return summary(data, SUMMARY_FILE);
}
