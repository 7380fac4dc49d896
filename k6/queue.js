// The queue load of run_tests.sh's third proof: a sale behind the waiting
// room. setup() turns the event's waiting room on (PUT
// /events/{id}/waiting-room, admin token) with RATE admissions a second,
// opening OPEN_IN_SECONDS later. Then BUYERS buyers, BUYERS / VUS per VU
// (a VU drives its buyers together with http.batch, so 10,000 buyers need no
// 10,000 VUs):
//   1. the first half of each VU's buyers join the line at once (before the
//      opening: random order among them), the second half just after the
//      opening (arrival order, after all early ones);
//   2. each polls its ticket (GET /queue/{ticket}) no more often than its
//      estimated wait suggests (half the estimate, 1 to 10 s);
//   3. once admitted, books at once (POST /bookings with Admission-Pass):
//      201 a seat, or 409 sold_out.
// A 503 (the database busy; nothing was done) is retried after its
// Retry-After, as a client should: a booking's pass is still unused then.
// A join or poll without an answer is retried too (both are safe to repeat);
// so is a booking: each buyer's booking carries an Idempotency-Key, so a
// repeat after a lost answer replays the first one's answer if it was
// decided, and books if it never arrived. (The key also lets k6's HTTP
// client resend a POST the balancer closed its idle connection under.)
// At SALE_SECONDS after the start the buyers stop; a buyer still in line
// then ends with its last position. Every buyer ends with a final answer:
// a seat, sold out, or still queued with a position; a 403, an expired pass,
// an answer the API does not document, or a buyer without a ticket fails the
// run through the thresholds. verify --queue (verify/src/queue.rs) compares
// the 201s with the database and checks the line there.
//
// Environment (k6 run -e NAME=value):
//   BASE_URL         service address                       (default http://127.0.0.1:8080)
//   EVENT_ID         the event                             (default 3)
//   ADMIN_TOKEN      bearer token for the admin route      (required)
//   BUYERS           buyers, users FIRST_USER..            (default 10000)
//   VUS              virtual users driving them            (default 200)
//   FIRST_USER       buyer n is user FIRST_USER+n-1        (default 1)
//   TOKENS_FILE      the users' tokens (seed --tokens; k6/lib/tokens.js), required
//   RATE             admissions per second                 (default 200)
//   PASS_SECONDS     an admission pass's lifetime          (default 30)
//   OPEN_IN_SECONDS  the room opens this long after setup  (default 10)
//   SALE_SECONDS     the buyers' time bound                (default 120)
//   SUMMARY_FILE     JSON summary written here             (default k6-queue-summary.json)

import http from 'k6/http';
import exec from 'k6/execution';
import { check, sleep } from 'k6';
import { Rate } from 'k6/metrics';
import { BASE_URL, TREND_STATS, counted, counters, intFromEnv, problemCode, retryAfter, summary } from './lib/summary.js';
import { asBuyer } from './lib/tokens.js';

const EVENT_ID = intFromEnv('EVENT_ID', 3);
const ADMIN_TOKEN = __ENV.ADMIN_TOKEN || '';
const BUYERS = intFromEnv('BUYERS', 10000);
const VUS = intFromEnv('VUS', 200);
const FIRST_USER = intFromEnv('FIRST_USER', 1);
const RATE = intFromEnv('RATE', 200);
const PASS_SECONDS = intFromEnv('PASS_SECONDS', 30);
const OPEN_IN_SECONDS = intFromEnv('OPEN_IN_SECONDS', 10);
const SALE_SECONDS = intFromEnv('SALE_SECONDS', 120);
const SUMMARY_FILE = __ENV.SUMMARY_FILE || 'k6-queue-summary.json';
const REQUEST_TIMEOUT = '10s';
const TICK_SECONDS = 0.25;

// verify reads these names (QueueSummary::from_json).
const { count, zero } = counters([
  'join_201', 'join_200', 'join_503', 'join_no_answer', 'join_other',
  'poll_200', 'poll_503', 'poll_no_answer', 'poll_other',
  'book_201', 'book_409_sold_out', 'book_503', 'book_no_answer', 'book_403', 'book_409_other_code', 'book_other',
  'buyers', 'buyers_booked', 'buyers_sold_out', 'buyers_still_queued', 'buyers_pass_lost',
  'buyers_without_answer',
]);
const unexpected = new Rate('unexpected');

// 503 (the database busy, with Retry-After) is an answer the buyer retries.
http.setResponseCallback(http.expectedStatuses(200, 201, 409, 503));

export const options = {
  scenarios: {
    queue: {
      executor: 'per-vu-iterations',
      vus: VUS,
      iterations: 1,
      maxDuration: `${SALE_SECONDS + 30}s`,
    },
  },
  setupTimeout: '60s',
  // A VU's buyers poll and book together, 20 requests at a time: 200 VUs
  // then open at most 4,000 connections, within the service's backlog.
  batch: 20,
  batchPerHost: 20,
  thresholds: {
    unexpected: ['rate==0'],
    checks: ['rate==1'],
  },
  summaryTrendStats: TREND_STATS,
};

function params(name, headers = {}) {
  return { headers, tags: { name }, timeout: REQUEST_TIMEOUT };
}

// A buyer's request: their token (k6/lib/tokens.js) with `headers`.
function buyerParams(name, user, headers = {}) {
  return params(name, asBuyer(user, headers));
}

// Turns the room on, opening OPEN_IN_SECONDS from now.
export function setup() {
  if (!ADMIN_TOKEN) {
    throw new Error('ADMIN_TOKEN is needed to turn the waiting room on');
  }
  const opensAt = Date.now() + OPEN_IN_SECONDS * 1000;
  const res = http.put(
    `${BASE_URL}/events/${EVENT_ID}/waiting-room`,
    JSON.stringify({
      admission_per_second: RATE,
      pass_seconds: PASS_SECONDS,
      opens_at: new Date(opensAt).toISOString(),
    }),
    params('PUT /events/{id}/waiting-room', {
      'Content-Type': 'application/json',
      Authorization: `Bearer ${ADMIN_TOKEN}`,
    }),
  );
  if (res.status !== 200) {
    throw new Error(`PUT /events/${EVENT_ID}/waiting-room answered ${res.status}: ${String(res.body).slice(0, 200)}`);
  }
  // Every replica reloads the rooms within a second.
  sleep(1.5);
  return { opensAt, started: Date.now() };
}

function recordTicket(buyer, body, now) {
  buyer.ticket = body.ticket;
  if (body.status === 'admitted') {
    buyer.state = 'admitted';
    buyer.pass = body.pass;
  } else if (body.status === 'waiting') {
    buyer.state = 'waiting';
    buyer.position = body.position;
    const wait = Math.min(10, Math.max(1, (body.estimated_wait_seconds || 0) / 2));
    buyer.nextPoll = now + wait * 1000;
  } else {
    // used or expired before this buyer booked: the pass is lost.
    buyer.state = 'pass_lost';
  }
}

// No answer from the API: the connection failed (0), or the server's HTTP
// layer gave up reading the request (408, actix's client request timeout:
// the request never reached a handler). Either way nothing happened.
function noAnswer(res) {
  return res.status === 0 || res.status === 408;
}

function join(buyers) {
  const requests = buyers.map((buyer) => ({
    method: 'POST',
    url: `${BASE_URL}/events/${EVENT_ID}/queue`,
    body: null,
    params: buyerParams('POST /events/{id}/queue', buyer.user),
  }));
  const answers = http.batch(requests);
  const now = Date.now();
  answers.forEach((res, i) => {
    const ok = res.status === 201 || res.status === 200;
    if (res.status === 503 || noAnswer(res)) {
      // Nothing joined (503), or no answer: joining again is safe, a
      // repeat answers the same ticket. Try again after Retry-After.
      count(res.status === 503 ? 'join_503' : 'join_no_answer');
      buyers[i].joinAt = now + retryAfter(res);
      return;
    }
    unexpected.add(!ok);
    count(res.status === 201 ? 'join_201' : res.status === 200 ? 'join_200' : 'join_other');
    if (ok) {
      recordTicket(buyers[i], res.json(), now);
    } else {
      buyers[i].state = 'failed';
    }
  });
}

function poll(buyers) {
  const answers = http.batch(buyers.map((buyer) => ({
    method: 'GET',
    url: `${BASE_URL}/queue/${buyer.ticket}`,
    params: buyerParams('GET /queue/{ticket}', buyer.user),
  })));
  const now = Date.now();
  answers.forEach((res, i) => {
    const ok = res.status === 200;
    if (res.status === 503 || noAnswer(res)) {
      count(res.status === 503 ? 'poll_503' : 'poll_no_answer');
      buyers[i].nextPoll = now + retryAfter(res);
      return;
    }
    unexpected.add(!ok);
    count(ok ? 'poll_200' : 'poll_other');
    if (!ok) console.warn(`GET /queue/{ticket}: unexpected ${res.status} ${res.body}`);
    if (ok) {
      recordTicket(buyers[i], res.json(), now);
    } else {
      buyers[i].nextPoll = now + 1000;
    }
  });
}

function book(buyers) {
  const answers = http.batch(buyers.map((buyer) => ({
    method: 'POST',
    url: `${BASE_URL}/bookings`,
    body: JSON.stringify({ event_id: EVENT_ID }),
    params: buyerParams('POST /bookings', buyer.user, {
      'Content-Type': 'application/json',
      'Admission-Pass': buyer.pass,
      'Idempotency-Key': `queue-${EVENT_ID}-buyer-${buyer.user}`,
    }),
  })));
  answers.forEach((res, i) => {
    const buyer = buyers[i];
    if (res.status === 503 || noAnswer(res)) {
      // Nothing committed (503), or no answer: book again with the same
      // key, which answers what the first attempt decided, if it did.
      count(res.status === 503 ? 'book_503' : 'book_no_answer');
      return;
    }
    if (res.status === 201) {
      count('book_201');
      buyer.state = 'booked';
      unexpected.add(false);
    } else if (res.status === 409 && problemCode(res) === 'sold_out') {
      count('book_409_sold_out');
      buyer.state = 'sold_out';
      unexpected.add(false);
    } else {
      count(res.status === 403 ? 'book_403' : res.status === 409 ? 'book_409_other_code' : 'book_other');
      console.warn(`POST /bookings: unexpected ${res.status} ${res.body}`);
      // A pass refused: this buyer has no seat and no pass.
      buyer.state = 'pass_lost';
      unexpected.add(true);
    }
  });
}

export default function (data) {
  const perVu = Math.ceil(BUYERS / VUS);
  const index = exec.vu.idInTest - 1;
  const buyers = [];
  for (let n = index * perVu; n < Math.min(BUYERS, (index + 1) * perVu); n += 1) {
    buyers.push({ user: FIRST_USER + n, state: 'new', nextPoll: 0 });
  }
  zero();
  count('buyers', buyers.length);
  const deadline = data.started + SALE_SECONDS * 1000;
  // The first half join at once, before the opening; the second half just
  // after it.
  const half = Math.ceil(buyers.length / 2);
  buyers.forEach((buyer, i) => {
    buyer.joinAt = i < half ? 0 : data.opensAt + 200;
  });
  while (true) {
    const now = Date.now();
    if (now >= deadline || buyers.every((b) => ['booked', 'sold_out', 'pass_lost', 'failed'].includes(b.state))) {
      break;
    }
    const joining = buyers.filter((b) => b.state === 'new' && b.joinAt <= now);
    if (joining.length > 0) {
      join(joining);
    }
    const due = buyers.filter((b) => b.state === 'waiting' && b.nextPoll <= now);
    if (due.length > 0) {
      poll(due);
    }
    const admitted = buyers.filter((b) => b.state === 'admitted');
    if (admitted.length > 0) {
      book(admitted);
    }
    sleep(TICK_SECONDS);
  }
  for (const buyer of buyers) {
    const final = {
      booked: 'buyers_booked',
      sold_out: 'buyers_sold_out',
      waiting: 'buyers_still_queued',
      pass_lost: 'buyers_pass_lost',
    }[buyer.state];
    if (final === 'buyers_still_queued' && !(buyer.position >= 1)) {
      count('buyers_without_answer');
      unexpected.add(true);
      continue;
    }
    count(final || 'buyers_without_answer');
    unexpected.add(!final || final === 'buyers_pass_lost');
  }
  check(buyers, { 'every buyer has a final answer': (all) => all.every((b) => b.state !== 'new') });
}

export function handleSummary(data) {
  const n = (name) => counted(data, name);
  return summary(data, SUMMARY_FILE, `queue: ${BUYERS} buyers (${VUS} VUs) on event ${EVENT_ID}, ${RATE} admitted/s, against ${BASE_URL}`, [
    ['POST /events/{id}/queue', `201 ${n('join_201')}, 200 ${n('join_200')}, 503 (retried) ${n('join_503')}, ` +
      `no answer (retried) ${n('join_no_answer')}, other ${n('join_other')}`],
    ['GET /queue/{ticket}', `200 ${n('poll_200')}, 503 (retried) ${n('poll_503')}, ` +
      `no answer (retried) ${n('poll_no_answer')}, other ${n('poll_other')}`],
    ['POST /bookings (with pass)', `201 ${n('book_201')}, 409 sold_out ${n('book_409_sold_out')}, 503 (retried) ${n('book_503')}, ` +
      `no answer (retried) ${n('book_no_answer')}, ` +
      `403 ${n('book_403')}, 409 other ${n('book_409_other_code')}, other ${n('book_other')}`],
    ['buyers', `${n('buyers')}: booked ${n('buyers_booked')}, sold out ${n('buyers_sold_out')}, ` +
      `still queued ${n('buyers_still_queued')}, pass lost ${n('buyers_pass_lost')}, ` +
      `no answer ${n('buyers_without_answer')}`],
  ]);
}
