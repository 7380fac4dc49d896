// k6: bookings at a fixed arrival rate (RATE per second for DURATION), each by
// a distinct user from USER_OFFSET+1, 1,000 pre-allocated VUs. Latency under
// a load the service can carry, free of the closed-loop effect.
import http from 'k6/http';
import exec from 'k6/execution';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8080';
const OFFSET = Number(__ENV.USER_OFFSET || 0);

export const options = {
  scenarios: {
    fixed_rate: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.RATE || 1000),
      timeUnit: '1s',
      duration: __ENV.DURATION || '10s',
      preAllocatedVUs: 1000,
      maxVUs: 1000,
    },
  },
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
};

export default function () {
  const user = OFFSET + exec.scenario.iterationInTest + 1;
  http.post(`${BASE_URL}/bookings`, JSON.stringify({ event_id: 1, user_id: user }), {
    headers: { 'Content-Type': 'application/json' },
  });
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY_FILE || 'fixed-rate-summary.json']: JSON.stringify(data) };
}
