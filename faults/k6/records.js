// What every fault-scenario request leaves behind: one console line
// "FB {json}" per HTTP request, read back by verify faults load (verify/src/faults.rs). Run k6 with
// --console-output=FILE --log-format=raw so the file holds only these lines.

import { problemCode } from '../../k6/lib/summary.js';

export const MARKER = 'FB ';

// The id a 201 names: null for any other status, -1 for a 201 without a
// readable id (verify faults load flags it).
export function bookingId(res) {
  if (res.status !== 201) {
    return null;
  }
  try {
    return JSON.parse(res.body).id;
  } catch (_) {
    return -1;
  }
}

// Writes the record of one request: `fields` plus its status, problem code,
// start/end times (t0/t1, epoch ms), k6 duration (d, ms), Retry-After (ra)
// and k6 error code (e, 0 when an answer came).
export function record(res, t0, fields) {
  const line = Object.assign({}, fields, {
    s: res.status,
    c: problemCode(res) || null,
    t0,
    t1: Date.now(),
    d: Math.round(res.timings.duration * 10) / 10,
    ra: res.headers['Retry-After'] || null,
    e: res.error_code || 0,
  });
  console.log(MARKER + JSON.stringify(line));
  return line;
}

// The summary verify faults load reads: enough to see that every request was recorded.
export function summary(data, file) {
  const metric = (name) => (data.metrics[name] ? data.metrics[name].values : {});
  return {
    [file]: JSON.stringify({
      http_reqs: metric('http_reqs').count || 0,
      iterations: metric('iterations').count || 0,
      duration_ms: data.state.testRunDurationMs,
      http_req_duration: metric('http_req_duration'),
    }),
  };
}
