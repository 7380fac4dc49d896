// The checkout load of run_tests.sh's second proof: a sale through holds and
// the waiting list. Each VU is one buyer (one user) who, all at once with the
// others:
//   1. holds 1..max_per_user seats (POST /holds), pauses, and then confirms
//      (POST /holds/{id}/confirm) with CONFIRM_PROBABILITY, otherwise walks
//      away and lets the hold expire;
//   2. when refused (409 sold_out or not_enough_seats) joins the waiting list
//      (POST /events/{id}/waitlist) and polls its entry (GET /waitlist/{id});
//      an offer is confirmed (POST /holds/{hold_id}/confirm) with the same
//      probability, otherwise left to expire (it goes to the next entry);
//   3. leaves the list (DELETE /waitlist/{id}) once the event is sold out, or
//      at the sale's time bound.
// A waiting buyer whose quantity no longer fits the seats that stay free
// (the same free seats, booked and held seen twice SETTLE_SECONDS apart: no
// waiting entry fits them, so nobody gets them) leaves and joins again for
// the seats that are free, as a buyer would take fewer seats rather than none.
// Without that, seats no waiting entry fits would stay unsold while the list
// keeps everybody else out.
//
// Every loop is bounded in count and in time (SALE_SECONDS from the start);
// every answer is counted by request, status and problem code, and an answer
// the API does not document for the request (any other status, a 409 with
// another code, no answer) fails the run through the thresholds. verify
// --checkout (verify/src/checkout.rs) compares the 201 confirms and their seats with
// the database.
//
// Environment (k6 run -e NAME=value, or the process environment):
//   BASE_URL             service address                  (default http://127.0.0.1:8080)
//   EVENT_ID             the checkout event               (default 2)
//   VUS                  buyers, one VU each              (default 1000)
//   FIRST_USER           buyer n is user FIRST_USER+n-1   (default 1)
//   TOKENS_FILE          the users' tokens (seed --tokens; k6/lib/tokens.js), required
//   CONFIRM_PERCENT      how often a hold or offer is confirmed (default 70)
//   SALE_SECONDS         the sale's time bound            (default 180)
//   POLL_SECONDS         between two looks at an entry    (default 1)
//   SUMMARY_FILE         JSON summary written here        (default k6-checkout-summary.json)
// The event's capacity, max_per_user and hold time are read in setup().
//
// Uses only modules built into k6 (and k6/lib/summary.js), so it runs
// offline and in the official grafana/k6 image alike.

import http from 'k6/http';
import exec from 'k6/execution';
import { check, sleep } from 'k6';
import { Rate, Trend } from 'k6/metrics';
import { BASE_URL, TREND_STATS, counted, counters, intFromEnv, problemCode, retryAfter, summary } from './lib/summary.js';
import { asBuyer } from './lib/tokens.js';

const EVENT_ID = intFromEnv('EVENT_ID', 2);
const VUS = intFromEnv('VUS', 1000);
const FIRST_USER = intFromEnv('FIRST_USER', 1);
const CONFIRM_PERCENT = intFromEnv('CONFIRM_PERCENT', 70, 0);
const SALE_SECONDS = intFromEnv('SALE_SECONDS', 180);
const POLL_SECONDS = intFromEnv('POLL_SECONDS', 1);
const SUMMARY_FILE = __ENV.SUMMARY_FILE || 'k6-checkout-summary.json';

// Bounds of every loop, beside the time bound.
const MAX_ROUNDS = 8; // hold / join attempts of one buyer
const MAX_POLLS = Math.ceil((SALE_SECONDS / POLL_SECONDS) * 1.5); // looks at one entry
const EVENT_LOOK_EVERY = 3; // polls between two looks at the event
const SETTLE_SECONDS = 4; // longer than the service's expiry sweep (2 s)
const REQUEST_TIMEOUT = '10s';
// A 503 database_unavailable (no pooled connection free within the pool
// wait: nothing was done) is retried after its Retry-After, as a client
// should, at most this many times per request.
const MAX_RETRIES_BUSY = 5;

// Answers by request, status and code; verify reads these names
// (CheckoutSummary::from_json).
const { count, zero } = counters([
  'hold_201', 'hold_409_sold_out', 'hold_409_not_enough_seats', 'hold_409_other_code', 'hold_other',
  'confirm_201', 'confirm_seats', 'confirm_409_hold_expired', 'confirm_409_other_code', 'confirm_other',
  'join_201', 'join_201_offered', 'join_409_seats_available', 'join_409_other_code', 'join_other',
  'poll_200', 'poll_other', 'leave_200', 'leave_other', 'event_200', 'event_other',
  // What the buyers did and what became of them.
  'buyers_confirmed', 'holds_walked_away', 'offers_seen', 'offers_declined', 'offers_missed',
  'buyers_left_sold_out', 'buyers_downsized', 'buyers_gave_up',
  'retried_database_busy',
]);
const unexpected = new Rate('unexpected');
const requestDuration = new Trend('checkout_request_duration', true);

// 409 is an answer the buyer expects, not a failed request; 503 one it retries.
http.setResponseCallback(http.expectedStatuses(200, 201, 409, 503));

export const options = {
  scenarios: {
    checkout: {
      executor: 'per-vu-iterations',
      vus: VUS,
      iterations: 1,
      // The buyers stop themselves at SALE_SECONDS; this only ends a run
      // whose requests hang past their own timeouts.
      maxDuration: `${SALE_SECONDS + 30}s`,
    },
  },
  thresholds: {
    unexpected: ['rate==0'],
    checks: ['rate==1'],
  },
  summaryTrendStats: TREND_STATS,
};

const JSON_HEADERS = { 'Content-Type': 'application/json' };

// A Content-Type only on requests with a body (the confirm, GET and DELETE
// have none); the buyer's token on the buyer's requests; the action's
// Idempotency-Key on the actions (POST, DELETE).
function params(name, withBody = false, userId = undefined, key = undefined) {
  let headers = withBody ? JSON_HEADERS : {};
  if (key !== undefined) {
    headers = Object.assign({ 'Idempotency-Key': key }, headers);
  }
  return {
    headers: userId === undefined ? headers : asBuyer(userId, headers),
    tags: { name },
    timeout: REQUEST_TIMEOUT,
  };
}

// The event as the sale starts: it must exist and allow what the buyers ask.
export function setup() {
  const res = http.get(`${BASE_URL}/events/${EVENT_ID}`, params('GET /events/{id}'));
  if (res.status !== 200) {
    throw new Error(`GET /events/${EVENT_ID} answered ${res.status}: ${String(res.body).slice(0, 200)}`);
  }
  const event = res.json();
  for (const field of ['capacity', 'booked', 'held', 'max_per_user', 'hold_seconds', 'offer_seconds']) {
    if (typeof event[field] !== 'number') {
      throw new Error(`GET /events/${EVENT_ID} has no number ${field}: ${res.body}`);
    }
  }
  if (event.booked !== 0 || event.held !== 0) {
    throw new Error(`event ${EVENT_ID} is not a fresh sale: ${res.body}`);
  }
  return {
    capacity: event.capacity,
    maxPerUser: event.max_per_user,
    holdSeconds: event.hold_seconds,
    offerSeconds: event.offer_seconds,
    deadline: Date.now() + SALE_SECONDS * 1000,
  };
}

export default function (sale) {
  zero();
  const buyer = new Buyer(sale, FIRST_USER + exec.vu.idInTest - 1);
  buyer.run();
}

class Buyer {
  constructor(sale, userId) {
    this.sale = sale;
    this.userId = userId;
    this.quantity = 1 + Math.floor(Math.random() * sale.maxPerUser);
    this.logged = false;
    this.actions = 0; // numbers this buyer's actions for their keys
  }

  timeLeft() {
    return Date.now() < this.sale.deadline;
  }

  run() {
    // Each round is a hold attempt or a (re)join of the waiting list.
    let next = 'hold';
    for (let round = 0; round < MAX_ROUNDS && next !== 'done'; round++) {
      if (!this.timeLeft()) {
        count('buyers_gave_up');
        return;
      }
      next = next === 'hold' ? this.hold() : this.waitlist();
    }
    if (next !== 'done') {
      count('buyers_gave_up');
    }
  }

  // POST /holds; returns the next step: 'done' or 'join'.
  hold() {
    const res = this.request('POST', '/holds', 'POST /holds', {
      event_id: EVENT_ID,
      quantity: this.quantity,
    });
    const code = problemCode(res);
    if (res.status === 201) {
      count('hold_201');
      this.expect(res, res.json('status') === 'held' && typeof res.json('id') === 'number', 'a held hold');
      // The buyer types in a card number: well inside the hold time.
      sleep(0.3 + Math.random() * Math.min(2, this.sale.holdSeconds / 2));
      if (this.decides()) {
        this.confirm(res.json('id'));
      } else {
        count('holds_walked_away');
      }
      return 'done';
    }
    if (res.status === 409 && (code === 'sold_out' || code === 'not_enough_seats')) {
      count(`hold_409_${code}`);
      return 'join';
    }
    this.unexpectedAnswer(res, res.status === 409 ? 'hold_409_other_code' : 'hold_other');
    return 'done';
  }

  // POST /events/{id}/waitlist, then the wait; returns 'done', 'hold' (seats
  // are free: buy them) or 'join' (join again for fewer seats).
  waitlist() {
    const res = this.request('POST', `/events/${EVENT_ID}/waitlist`, 'POST /events/{id}/waitlist', {
      quantity: this.quantity,
    });
    const code = problemCode(res);
    if (res.status === 201) {
      count('join_201');
      const entry = res.json();
      this.expect(res, entry.status === 'waiting' || entry.status === 'offered', 'a waiting or offered entry');
      if (entry.status === 'offered') {
        count('join_201_offered');
        this.offer(entry);
        return 'done';
      }
      return this.wait(entry.id);
    }
    if (res.status === 409 && code === 'seats_available') {
      count('join_409_seats_available');
      return 'hold';
    }
    this.unexpectedAnswer(res, res.status === 409 ? 'join_409_other_code' : 'join_other');
    return 'done';
  }

  // Polls the entry until it is offered, the event sells out, its seats
  // stall, or the time is up.
  wait(entryId) {
    let last = null; // the event's seats when last looked at: [booked, held, at]
    for (let poll = 1; poll <= MAX_POLLS; poll++) {
      if (!this.timeLeft()) {
        this.leave(entryId);
        count('buyers_gave_up');
        return 'done';
      }
      sleep(POLL_SECONDS * (0.75 + Math.random() * 0.5));
      const res = this.request('GET', `/waitlist/${entryId}`, 'GET /waitlist/{id}');
      if (res.status !== 200) {
        this.unexpectedAnswer(res, 'poll_other');
        return 'done';
      }
      count('poll_200');
      const entry = res.json();
      if (entry.status === 'offered') {
        this.offer(entry);
        return 'done';
      }
      if (entry.status === 'expired') {
        // The offer came and went between two polls.
        count('offers_missed');
        return 'done';
      }
      if (entry.status !== 'waiting') {
        // confirmed, declined, left: nothing this buyer did.
        this.unexpectedAnswer(res, 'poll_other');
        return 'done';
      }
      if (poll % EVENT_LOOK_EVERY !== 0) {
        continue;
      }
      const event = this.event();
      if (event === null) {
        return 'done';
      }
      if (event.booked >= event.capacity) {
        this.leave(entryId);
        count('buyers_left_sold_out');
        return 'done';
      }
      const free = event.capacity - event.booked - event.held;
      const now = Date.now();
      if (free > 0 && free < this.quantity) {
        if (last && last[0] === event.booked && last[1] === event.held && now - last[2] >= SETTLE_SECONDS * 1000) {
          // Stalled: no waiting entry fits the free seats. Take those instead.
          this.leave(entryId);
          count('buyers_downsized');
          this.quantity = free;
          return 'join';
        }
        if (!last || last[0] !== event.booked || last[1] !== event.held) {
          last = [event.booked, event.held, now];
        }
      } else {
        last = null;
      }
    }
    this.leave(entryId);
    count('buyers_gave_up');
    return 'done';
  }

  // An offer: confirm it with CONFIRM_PERCENT, otherwise let it expire.
  offer(entry) {
    count('offers_seen');
    this.expect(null, typeof entry.hold_id === 'number' && typeof entry.expires_at === 'string', 'an offer with a hold');
    if (this.decides()) {
      this.confirm(entry.hold_id);
    } else {
      count('offers_declined');
    }
  }

  confirm(holdId) {
    const res = this.request('POST', `/holds/${holdId}/confirm`, 'POST /holds/{id}/confirm');
    const code = problemCode(res);
    if (res.status === 201) {
      count('confirm_201');
      const quantity = res.json('quantity');
      this.expect(res, res.json('status') === 'confirmed' && Number.isInteger(quantity), 'a confirmed booking');
      count('confirm_seats', Number.isInteger(quantity) ? quantity : 0);
      count('buyers_confirmed');
    } else if (res.status === 409 && code === 'hold_expired') {
      count('confirm_409_hold_expired');
    } else {
      this.unexpectedAnswer(res, res.status === 409 ? 'confirm_409_other_code' : 'confirm_other');
    }
  }

  leave(entryId) {
    const res = this.request('DELETE', `/waitlist/${entryId}`, 'DELETE /waitlist/{id}');
    if (res.status === 200) {
      count('leave_200');
    } else {
      this.unexpectedAnswer(res, 'leave_other');
    }
  }

  // GET /events/{id}, or null after an unexpected answer.
  event() {
    const res = this.request('GET', `/events/${EVENT_ID}`, 'GET /events/{id}');
    if (res.status !== 200) {
      this.unexpectedAnswer(res, 'event_other');
      return null;
    }
    count('event_200');
    return res.json();
  }

  decides() {
    return Math.random() * 100 < CONFIRM_PERCENT;
  }

  // Every action carries its own Idempotency-Key, the same in each of its
  // attempts, as a retrying client's should: a retry after a 503 replays
  // nothing twice, and k6's HTTP client (Go's) resends a POST whose reused
  // connection the balancer closed as it was sent (an EOF, no answer), which
  // it does only for a request with a key. Without the key, such a POST
  // came back as an error with no status (17 of them at one instant in one
  // run_tests.sh --compose, none in the balancer's log).
  request(method, path, name, body) {
    const withBody = body !== undefined;
    const key = method === 'GET' ? undefined : `checkout-${this.sale.deadline}-buyer-${this.userId}-${++this.actions}`;
    let res;
    for (let attempt = 0; ; attempt++) {
      res = http.request(method, `${BASE_URL}${path}`, withBody ? JSON.stringify(body) : null, params(name, withBody, this.userId, key));
      requestDuration.add(res.timings.duration, { name });
      if (res.status !== 503 || problemCode(res) !== 'database_unavailable' || attempt >= MAX_RETRIES_BUSY) {
        break;
      }
      count('retried_database_busy');
      sleep(retryAfter(res) / 1000);
    }
    // Every answer is one sample: the rate's denominator is all requests.
    unexpected.add(false);
    return res;
  }

  // Counts an answer the API does not give to this request in this flow.
  unexpectedAnswer(res, counter) {
    count(counter);
    unexpected.add(true);
    this.expect(res, false, counter);
  }

  expect(res, ok, what) {
    check(null, { [what]: () => ok });
    if (!ok && !this.logged && exec.vu.idInTest <= 20) {
      this.logged = true;
      const answer = res ? `${res.request.method} ${res.request.url}: ${res.status} ${res.error || ''} ${String(res.body || '').slice(0, 200)}` : '';
      console.error(`user ${this.userId}: expected ${what}; ${answer}`);
    }
  }
}

export function handleSummary(data) {
  const n = (name) => counted(data, name);
  return summary(data, SUMMARY_FILE, `checkout: ${VUS} buyers on event ${EVENT_ID} against ${BASE_URL}`, [
    ['POST /holds', `201 ${n('hold_201')}, 409 sold_out ${n('hold_409_sold_out')}, ` +
      `409 not_enough_seats ${n('hold_409_not_enough_seats')}, 409 other ${n('hold_409_other_code')}, other ${n('hold_other')}`],
    ['POST /holds/{id}/confirm', `201 ${n('confirm_201')} (${n('confirm_seats')} seats), ` +
      `409 hold_expired ${n('confirm_409_hold_expired')}, 409 other ${n('confirm_409_other_code')}, other ${n('confirm_other')}`],
    ['POST /events/{id}/waitlist', `201 ${n('join_201')} (offered at once ${n('join_201_offered')}), ` +
      `409 seats_available ${n('join_409_seats_available')}, 409 other ${n('join_409_other_code')}, other ${n('join_other')}`],
    ['GET /waitlist/{id}', `200 ${n('poll_200')}, other ${n('poll_other')}`],
    ['DELETE /waitlist/{id}', `200 ${n('leave_200')}, other ${n('leave_other')}`],
    ['GET /events/{id}', `200 ${n('event_200')}, other ${n('event_other')}`],
    ['buyers who confirmed', n('buyers_confirmed')],
    ['holds walked away from', n('holds_walked_away')],
    ['offers seen / declined / missed', `${n('offers_seen')} / ${n('offers_declined')} / ${n('offers_missed')}`],
    ['left the list: sold out', n('buyers_left_sold_out')],
    ['rejoined for fewer seats', n('buyers_downsized')],
    ['stopped at a bound', n('buyers_gave_up')],
    ['503 database busy, retried', n('retried_database_busy')],
  ], { metric: 'checkout_request_duration', label: 'request latency', stats: ['avg', 'med', 'p(95)', 'p(99)', 'max'] });
}
