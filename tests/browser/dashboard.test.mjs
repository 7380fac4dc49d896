// The live dashboard in a real browser: headless Chromium (Debian's chromium,
// driven by playwright-core through its executablePath) opens
// /dashboard/?event=N while this test drives the service with plain fetches.
// - A sale: the event sells out; #booked reaches the capacity, #remaining 0,
//   the chart (#rate-chart data-points) receives points.
// - A checkout: buyers hold seats, some confirm, the rest release; at each
//   step #booked, #held and #remaining show what GET /events/{id} shows.
// Screenshots: SCREENSHOT_DIR/dashboard-during.png (mid-sale), dashboard.png
// (sold out) and dashboard-checkout.png (seats held).
//
// Run by tests/browser/run.sh, which starts PostgreSQL and the service and
// seeds both events. Environment:
//   BASE_URL        the service (required)
//   TOKENS_FILE     the buyers' tokens, [{user_id, token}, ...] (seed --tokens; required)
//   EVENT_ID        the event to sell (default 1); it must have no bookings yet
//   CHECKOUT_EVENT_ID  the event to hold seats of (default 2); no bookings or
//                   holds yet, and at least HOLDERS seats
//   HOLDERS         buyers who hold a seat each, users 1..HOLDERS (default 20)
//   ATTEMPTS        booking attempts, by users 1..ATTEMPTS (default 400)
//   RATE            attempts per second (default 60): the sale lasts seconds,
//                   so the page shows it in progress
//   CHROMIUM        the browser (default /usr/bin/chromium)
//   SCREENSHOT_DIR  where the screenshots go (default target/browser)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE_URL = (process.env.BASE_URL || '').replace(/\/+$/, '');
const TOKENS = new Map(
  JSON.parse(readFileSync(process.env.TOKENS_FILE || assert.fail('TOKENS_FILE is required'), 'utf8'))
    .map((entry) => [entry.user_id, entry.token]),
);
// `Authorization: Bearer` of a seeded user, with `headers`.
const asBuyer = (user, headers = {}) => ({ ...headers, authorization: `Bearer ${TOKENS.get(user)}` });
const EVENT_ID = positive('EVENT_ID', 1);
const CHECKOUT_EVENT_ID = positive('CHECKOUT_EVENT_ID', 2);
const HOLDERS = positive('HOLDERS', 20);
const ATTEMPTS = positive('ATTEMPTS', 400);
const RATE = positive('RATE', 60);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR || 'target/browser';
const PAGE_WAIT_MS = 15_000; // the page's own updates: status, a snapshot
const SALE_WAIT_MS = 60_000; // the sale, and the page catching up with it

function positive(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// One attempt per user 1..ATTEMPTS, started on a fixed schedule (RATE per
// second, at most 50 in flight); returns how many got each answer.
async function sell() {
  const tally = { 201: 0, 409: 0, other: [] };
  const started = Date.now();
  const inFlight = new Set();
  for (let user = 1; user <= ATTEMPTS; user += 1) {
    const due = started + ((user - 1) * 1000) / RATE;
    await sleep(Math.max(0, due - Date.now()));
    while (inFlight.size >= 50) await Promise.race(inFlight);
    const request = book(user).then((status) => {
      if (status === 201 || status === 409) tally[status] += 1;
      else tally.other.push(status);
    });
    inFlight.add(request);
    request.finally(() => inFlight.delete(request));
  }
  await Promise.all(inFlight);
  return tally;
}

async function book(user) {
  try {
    const response = await fetch(`${BASE_URL}/bookings`, {
      method: 'POST',
      headers: asBuyer(user, { 'content-type': 'application/json' }),
      body: JSON.stringify({ event_id: EVENT_ID }),
      signal: AbortSignal.timeout(10_000),
    });
    await response.arrayBuffer();
    return response.status;
  } catch (error) {
    return `error: ${error.message}`;
  }
}

// A request (as `user`, if given) that must get `expected`; returns the
// answer's JSON.
async function call(method, url, body, expected, user = undefined) {
  const headers = body === undefined ? {} : { 'content-type': 'application/json' };
  const response = await fetch(`${BASE_URL}${url}`, {
    method,
    headers: user === undefined ? headers : asBuyer(user, headers),
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const answer = await response.json();
  assert.equal(response.status, expected, `${method} ${url} answered ${response.status}: ${JSON.stringify(answer)}`);
  return answer;
}

const eventState = (eventId) => call('GET', `/events/${eventId}`, undefined, 200);

// Waits until the element's text, trimmed, is `expected`; on a timeout the
// message names the element and what it showed.
async function waitForText(page, selector, expected, timeout) {
  try {
    await page.waitForFunction(
      ([sel, want]) => document.querySelector(sel)?.textContent.trim() === want,
      [selector, String(expected)],
      { timeout, polling: 100 },
    );
  } catch (error) {
    const shown = await page.locator(selector).textContent({ timeout: 1_000 }).catch(() => '(no element)');
    assert.fail(`${selector} did not show ${JSON.stringify(String(expected))} within ${timeout} ms; it shows ${JSON.stringify(shown)}`);
  }
}

// Waits until the page shows these seat figures, then checks that
// GET /events/{id} shows the same.
async function expectSeats(page, eventId, seats) {
  for (const [field, value] of Object.entries(seats)) await waitForText(page, `#${field}`, value, PAGE_WAIT_MS);
  const event = await eventState(eventId);
  for (const [field, value] of Object.entries(seats)) {
    assert.equal(event[field], value, `GET /events/${eventId} ${field} is ${event[field]}; the page shows ${value}`);
  }
}

// Headless Chromium on /dashboard/?event=N, live. `problems` collects the
// page's errors and any request to outside the service (the assets are
// embedded); the test asserts it stays empty.
async function openDashboard(t, eventId) {
  const profile = await mkdtemp(path.join(tmpdir(), 'flashbook-chromium-'));
  // One hook, browser first: with two, the profile was removed while
  // Chromium still ran, and Chromium wrote it again as it closed.
  let context;
  t.after(async () => {
    await context?.close();
    await rm(profile, { recursive: true, force: true });
  });
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = [];
  page.on('pageerror', (error) => problems.push(String(error)));
  page.on('console', (message) => {
    // A browser asks for /favicon.ico on its own; a page need not have one.
    if (message.type() === 'error' && !message.location().url.endsWith('/favicon.ico')) {
      problems.push(`${message.text()} (${message.location().url})`);
    }
  });
  page.on('request', (request) => {
    if (!request.url().startsWith(BASE_URL) && !request.url().startsWith('data:')) {
      problems.push(`fetched from outside the service: ${request.url()}`);
    }
  });
  await mkdir(SCREENSHOT_DIR, { recursive: true });

  const response = await page.goto(`${BASE_URL}/dashboard/?event=${eventId}`, { timeout: PAGE_WAIT_MS });
  assert.equal(response?.status(), 200, `GET /dashboard/ answered ${response?.status()}`);
  assert.equal(await page.inputValue('#event-id'), String(eventId), '#event-id holds the event of ?event=');
  await waitForText(page, '#status', 'live', PAGE_WAIT_MS);
  return { page, problems };
}

async function dataPoints(page) {
  const value = await page.getAttribute('#rate-chart', 'data-points', { timeout: PAGE_WAIT_MS });
  assert.match(String(value), /^\d+$/, `#rate-chart data-points is ${JSON.stringify(value)}, not a count`);
  return Number(value);
}

test('the dashboard shows a sale until it is sold out', { timeout: 180_000 }, async (t) => {
  assert.ok(BASE_URL, 'BASE_URL must name the service (tests/browser/run.sh sets it)');
  const before = await eventState(EVENT_ID);
  assert.equal(before.booked, 0, `event ${EVENT_ID} must start with no bookings; it has ${before.booked}`);
  assert.ok(ATTEMPTS > before.capacity, `ATTEMPTS (${ATTEMPTS}) must exceed the capacity (${before.capacity}) to sell out`);
  const capacity = before.capacity;

  const { page, problems } = await openDashboard(t, EVENT_ID);
  await waitForText(page, '#capacity', capacity, PAGE_WAIT_MS);
  await waitForText(page, '#booked', 0, PAGE_WAIT_MS);
  const pointsBefore = await dataPoints(page);

  const started = Date.now();
  const sale = sell();
  // Mid-sale: some seats sold, some left.
  const during = path.join(SCREENSHOT_DIR, 'dashboard-during.png');
  const midSale = await page
    .waitForFunction(
      (cap) => {
        const booked = Number(document.querySelector('#booked')?.textContent);
        return booked >= cap / 3 && booked < cap;
      },
      capacity,
      { timeout: SALE_WAIT_MS, polling: 100 },
    )
    .then(() => true, () => false);
  if (midSale) await page.screenshot({ path: during });
  const tally = await sale;
  const saleSeconds = (Date.now() - started) / 1000;

  assert.deepEqual(tally.other, [], 'every answer is 201 or 409');
  assert.equal(tally[201], capacity, `${tally[201]} bookings for ${capacity} seats`);
  await waitForText(page, '#booked', capacity, SALE_WAIT_MS);
  await waitForText(page, '#remaining', 0, PAGE_WAIT_MS);
  await waitForText(page, '#status', 'live', PAGE_WAIT_MS);
  const pointsAfter = await dataPoints(page);
  assert.ok(pointsAfter > pointsBefore, `#rate-chart data-points grew from ${pointsBefore} to ${pointsAfter}`);
  const latency = (await page.textContent('#latency')).trim();
  assert.match(latency, /^\d+(\.\d+)? ms$/, `#latency shows ${JSON.stringify(latency)}`);
  const shot = path.join(SCREENSHOT_DIR, 'dashboard.png');
  await page.screenshot({ path: shot });
  assert.deepEqual(problems, [], 'the page logged no errors and fetched nothing from outside the service');

  t.diagnostic(`sale: ${ATTEMPTS} attempts at ${RATE}/s in ${saleSeconds.toFixed(1)} s: ${tally[201]} booked, ${tally[409]} refused`);
  t.diagnostic(`page: #booked ${capacity}, #remaining 0, #latency ${latency}, data-points ${pointsBefore} -> ${pointsAfter}`);
  t.diagnostic(`screenshots: ${midSale ? `${during} (mid-sale), ` : '(no mid-sale screenshot: the page skipped from under a third to sold out) '}${shot}`);
});

test('the dashboard shows seats held in checkout until confirmed or released', { timeout: 120_000 }, async (t) => {
  assert.ok(BASE_URL, 'BASE_URL must name the service (tests/browser/run.sh sets it)');
  const before = await eventState(CHECKOUT_EVENT_ID);
  assert.equal(before.booked + before.held, 0,
    `event ${CHECKOUT_EVENT_ID} must start with no bookings or holds; it has ${before.booked} booked, ${before.held} held`);
  assert.ok(before.capacity >= HOLDERS, `event ${CHECKOUT_EVENT_ID} has ${before.capacity} seats for ${HOLDERS} holders`);
  const capacity = before.capacity;

  const { page, problems } = await openDashboard(t, CHECKOUT_EVENT_ID);
  await expectSeats(page, CHECKOUT_EVENT_ID, { capacity, booked: 0, held: 0, remaining: capacity });

  // Every buyer holds a seat at once, as a checkout sale opens.
  const buyers = Array.from({ length: HOLDERS }, (_, i) => i + 1);
  const holds = await Promise.all(buyers.map((user) =>
    call('POST', '/holds', { event_id: CHECKOUT_EVENT_ID, quantity: 1 }, 201, user)));
  await expectSeats(page, CHECKOUT_EVENT_ID, { booked: 0, held: HOLDERS, remaining: capacity - HOLDERS });
  const shot = path.join(SCREENSHOT_DIR, 'dashboard-checkout.png');
  await page.screenshot({ path: shot });

  // Three in five pay; the others give their seat back.
  const paying = holds.slice(0, Math.ceil((HOLDERS * 3) / 5));
  const leaving = holds.slice(paying.length);
  await Promise.all(paying.map((hold) => call('POST', `/holds/${hold.id}/confirm`, undefined, 201, hold.user_id)));
  await expectSeats(page, CHECKOUT_EVENT_ID,
    { booked: paying.length, held: leaving.length, remaining: capacity - HOLDERS });
  await Promise.all(leaving.map((hold) => call('DELETE', `/holds/${hold.id}`, undefined, 200, hold.user_id)));
  await expectSeats(page, CHECKOUT_EVENT_ID, { booked: paying.length, held: 0, remaining: capacity - paying.length });
  assert.deepEqual(problems, [], 'the page logged no errors and fetched nothing from outside the service');

  t.diagnostic(`checkout: ${HOLDERS} held, ${paying.length} confirmed, ${leaving.length} released; the page matched GET /events/${CHECKOUT_EVENT_ID} at each step`);
  t.diagnostic(`screenshot: ${shot} (seats held)`);
});
