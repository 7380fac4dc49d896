// A flood of malformed requests while a flash sale runs: the `good` scenario
// books (one attempt per user, records as in booking_load.js), the `bad` one
// sends, round-robin, every kind of request a client should not send. Each
// bad request records {x: case, s: status, ok: answered as expected}; the
// good ones must still get only 201/409 and sell exactly the capacity
// (verify faults load, verify/src/faults.rs).
//
// Environment (-e NAME=value):
//   BASE_URL      service address (default http://127.0.0.1:8080)
//   EVENT_ID      event on sale (default 1)
//   ITERATIONS    good booking attempts, user i+1 for iteration i (default 4000)
//   USERS         users 1..USERS exist (default ITERATIONS); bad request n carries the
//                 token of user n % USERS + 1 (many clients, as a crowd sends them; one
//                 token would meet its per-token rate limit, not the case's refusal)
//   TOKENS_FILE   their tokens (seed --tokens; k6/lib/tokens.js)
//   VUS           good virtual users (default 200)
//   PAUSE_MS      mean pause after each good attempt (default 400)
//   BAD_VUS       malformed-request virtual users (default 20)
//   BAD_DURATION  how long they flood (default 8s)
//   BAD_PAUSE_MS  pause after each malformed request (default 20)
//   SUMMARY_FILE  k6 summary JSON

import http from 'k6/http';
import exec from 'k6/execution';
import { sleep } from 'k6';
import { intFromEnv } from '../../k6/lib/summary.js';
import { bookingId, record, summary } from './records.js';
import { asBuyer } from '../../k6/lib/tokens.js';

const BASE = (__ENV.BASE_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
const EVENT_ID = intFromEnv('EVENT_ID', 1);
const ITERATIONS = intFromEnv('ITERATIONS', 4000);
const USERS = intFromEnv('USERS', ITERATIONS);
const PAUSE_MS = intFromEnv('PAUSE_MS', 400, 0);
const BAD_PAUSE_MS = intFromEnv('BAD_PAUSE_MS', 20, 0);
const SUMMARY_FILE = __ENV.SUMMARY_FILE || 'summary.json';

http.setResponseCallback(http.expectedStatuses({ min: 100, max: 599 }));

export const options = {
  scenarios: {
    good: {
      executor: 'shared-iterations',
      exec: 'good',
      vus: intFromEnv('VUS', 200),
      iterations: ITERATIONS,
      maxDuration: '90s',
    },
    bad: {
      executor: 'constant-vus',
      exec: 'bad',
      vus: intFromEnv('BAD_VUS', 20),
      duration: __ENV.BAD_DURATION || '8s',
    },
  },
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max', 'count'],
};

// Bad requests come from signed-in buyers, so each is refused for what is
// wrong with it, not for a missing token: this stands for a buyer's
// `Authorization`, filled in per request (bad()).
const BUYER = { Authorization: 'buyer' };
const JSON_TYPE = Object.assign({ 'Content-Type': 'application/json' }, BUYER);
// Books nothing however it is read: the event does not exist (the largest
// id a JavaScript number writes exactly).
const NO_EVENT = Number.MAX_SAFE_INTEGER;
const booking = (fields) => JSON.stringify(Object.assign({ event_id: NO_EVENT }, fields));
const bytes = (text, extra) => {
  const encoded = [];
  for (let i = 0; i < text.length; i++) {
    encoded.push(text.charCodeAt(i));
  }
  return new Uint8Array(encoded.concat(extra)).buffer;
};
const SQL_NAME = "Robert'); DROP TABLE bookings; --";

// name, method, path, body, headers, expected statuses.
const CASES = [
  ['truncated JSON', 'POST', '/bookings', '{"event_id": 1, "quantity": ', JSON_TYPE, [422]],
  ['not JSON', 'POST', '/bookings', 'event_id=1&user_id=1', JSON_TYPE, [422]],
  ['empty body', 'POST', '/bookings', '', JSON_TYPE, [422]],
  ['JSON array', 'POST', '/bookings', '[1, 1]', JSON_TYPE, [422]],
  ['JSON null', 'POST', '/bookings', 'null', JSON_TYPE, [422]],
  ['JSON string', 'POST', '/bookings', '"book me"', JSON_TYPE, [422]],
  ['missing field', 'POST', '/bookings', '{"quantity": 1}', JSON_TYPE, [422]],
  ['unknown field', 'POST', '/bookings', booking({ admin: true }), JSON_TYPE, [422]],
  ['a user_id in the body', 'POST', '/bookings', `{"event_id": ${EVENT_ID}, "user_id": 1}`, JSON_TYPE, [422]],
  ['text/plain', 'POST', '/bookings', booking({}), Object.assign({ 'Content-Type': 'text/plain' }, BUYER), [415]],
  ['form content type', 'POST', '/bookings', 'event_id=1',
    Object.assign({ 'Content-Type': 'application/x-www-form-urlencoded' }, BUYER), [415]],
  ['no content type', 'POST', '/bookings', booking({}), BUYER, [415]],
  ['xml', 'POST', '/bookings', '<booking event_id="1"/>', Object.assign({ 'Content-Type': 'application/xml' }, BUYER), [415]],
  ['invalid UTF-8 in a string', 'POST', '/bookings',
    bytes('{"event_id": 1, "quantity": "', [0xff, 0xfe, 0x22, 0x7d]), JSON_TYPE, [422]],
  ['invalid UTF-8 in a key', 'POST', '/bookings',
    bytes('{"', [0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]), JSON_TYPE, [422]],
  ['huge id', 'POST', '/bookings', '{"event_id": 99999999999999999999999}', JSON_TYPE, [422]],
  ['i64 overflow', 'POST', '/bookings', '{"event_id": 9223372036854775808}', JSON_TYPE, [422]],
  ['unknown event', 'POST', '/bookings', booking({}), JSON_TYPE, [404]],
  ['i64 max id', 'POST', '/bookings', '{"event_id": 9223372036854775807}', JSON_TYPE, [404]],
  ['negative id', 'POST', '/bookings', '{"event_id": -1}', JSON_TYPE, [422]],
  ['zero id', 'POST', '/bookings', '{"event_id": 0}', JSON_TYPE, [422]],
  ['float id', 'POST', '/bookings', '{"event_id": 1.5}', JSON_TYPE, [422]],
  ['1e400', 'POST', '/bookings', '{"event_id": 1e400}', JSON_TYPE, [422]],
  ['SQL in an id', 'POST', '/bookings', '{"event_id": "1; DROP TABLE bookings; --", "quantity": "1 OR 1=1"}',
    JSON_TYPE, [422]],
  ['no token', 'POST', '/bookings', `{"event_id": ${EVENT_ID}}`, { 'Content-Type': 'application/json' }, [401]],
  ['forged token', 'POST', '/bookings', `{"event_id": ${EVENT_ID}}`,
    { 'Content-Type': 'application/json', Authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJmbGFzaGJvb2tfdXNlcl9pZCI6MX0.' }, [401]],
  ['nested 1000 deep', 'POST', '/bookings', `{"event_id": ${'['.repeat(1000)}${']'.repeat(1000)}}`,
    JSON_TYPE, [422]],
  ['5 KiB body', 'POST', '/bookings', booking({ pad: 'a'.repeat(5 * 1024) }), JSON_TYPE, [422]],
  ['256 KiB body', 'POST', '/bookings', 'x'.repeat(256 * 1024), JSON_TYPE, [422]],
  ['Idempotency-Key too long', 'POST', '/bookings', booking({}),
    Object.assign({ 'Idempotency-Key': 'k'.repeat(256) }, JSON_TYPE), [422]],
  ['Idempotency-Key with a space', 'POST', '/bookings', booking({}),
    Object.assign({ 'Idempotency-Key': 'a b' }, JSON_TYPE), [422]],
  ['negative path id', 'GET', '/bookings/-1', null, BUYER, [422]],
  ['huge path id', 'GET', '/bookings/99999999999999999999', null, BUYER, [422]],
  ['SQL in a path', 'GET', "/events/1'%20OR%20'1'='1", null, {}, [422]],
  ['delete negative id', 'DELETE', '/bookings/-7', null, BUYER, [422]],
  ['delete huge id', 'DELETE', '/bookings/99999999999999999999', null, BUYER, [422]],
  ['delete unknown id', 'DELETE', '/bookings/9223372036854775807', null, BUYER, [404]],
  ['bad query', 'GET', '/me/bookings?limit=-1', null, BUYER, [422]],
  ['SQL in a query', 'GET', '/me/bookings?after_id=0%20OR%201=1', null, BUYER, [422]],
  ['method not allowed', 'PUT', '/bookings', booking({}), JSON_TYPE, [405]],
  ['unknown route', 'GET', '/bookings/1/../../etc/passwd', null, {}, [404, 422]],
  ['admin route without token', 'POST', '/venues', '{"name": "x", "capacity": 1}',
    { 'Content-Type': 'application/json' }, [401]],
  ['admin route, a buyer token', 'POST', '/venues', '{"name": "x", "capacity": 1}', JSON_TYPE, [403]],
  ['admin route, wrong token', 'POST', '/events',
    '{"venue_id": 1, "name": "x", "starts_at": "2030-01-01T00:00:00Z"}',
    // 429 once the guessed token passes its rate (FLASHBOOK_RATE_PER_TOKEN):
    // about 16 a second here, near the 20 a second a token may send.
    { 'Content-Type': 'application/json', Authorization: 'Bearer guess' }, [403, 429]],
];

export function good() {
  const userId = exec.scenario.iterationInTest + 1;
  const t0 = Date.now();
  const res = http.post(`${BASE}/bookings`, JSON.stringify({ event_id: EVENT_ID }), {
    headers: asBuyer(userId, { 'Content-Type': 'application/json' }),
    tags: { name: 'POST /bookings' },
  });
  record(res, t0, { u: userId, b: bookingId(res), n: 0, a: 1, k: 0, r: 0 });
  if (PAUSE_MS > 0) {
    // Jittered, so that the VUs do not stay in lock-step waves with quiet
    // gaps a short fault could fall into unnoticed.
    sleep((PAUSE_MS * (0.5 + Math.random())) / 1000);
  }
}

export function bad() {
  const n = exec.scenario.iterationInTest;
  // One in every CASES.length + 1 requests stores a SQL-looking text, which
  // must come back verbatim.
  if (n % (CASES.length + 1) === CASES.length) {
    sqlLookingUser(n);
  } else {
    const [name, method, path, body, template, expected] = CASES[n % (CASES.length + 1)];
    const headers = template.Authorization === BUYER.Authorization
      ? asBuyer((n % USERS) + 1, template)
      : template;
    const t0 = Date.now();
    const res = http.request(method, `${BASE}${path}`, body, { headers, tags: { name: 'malformed' } });
    record(res, t0, { x: name, ok: expected.includes(res.status) });
  }
  if (BAD_PAUSE_MS > 0) {
    sleep(BAD_PAUSE_MS / 1000);
  }
}

// A sign-up with SQL-looking text: accepted (202) or, past this client's
// sign-up limit, 429; malformed_flood.sh then finds the text stored verbatim.
function sqlLookingUser(n) {
  const email = `o'brien';drop--table--users${n}@example.com`;
  const t0 = Date.now();
  const body = JSON.stringify({ email, name: SQL_NAME, password: "pass'word; --" });
  const created = http.post(`${BASE}/users`, body, {
    headers: { 'Content-Type': 'application/json' },
    tags: { name: 'malformed' },
  });
  record(created, t0, { x: 'SQL-looking sign-up', ok: created.status === 202 || created.status === 429 });
}

export function handleSummary(data) {
  return summary(data, SUMMARY_FILE);
}
