-- wrk script for bench/run.sh, counting the statuses of every response.
-- With EVENT_ID set: POST /bookings for that event, each request by a
-- distinct user (USER_OFFSET+1, +2, ...; run it with one wrk thread), with
-- the user's token: line n of TOKENS_TXT is user n's (after the last line,
-- the users start again from 1).
-- Without: wrk's own request to the URL given (GET /health).
local event_id = tonumber(os.getenv("EVENT_ID") or "")
local next_user = tonumber(os.getenv("USER_OFFSET") or "0")
local tokens = {}
if event_id then
    for line in io.lines(os.getenv("TOKENS_TXT")) do
        tokens[#tokens + 1] = line
    end
end
-- Per-thread state; done() runs in another Lua state and reads it through
-- the thread handles saved in setup().
statuses = {}
local threads = {}
setup = function(thread)
    threads[#threads + 1] = thread
end

if event_id then
    request = function()
        next_user = next_user % #tokens + 1
        return wrk.format("POST", "/bookings",
            { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. tokens[next_user] },
            string.format('{"event_id":%d}', event_id))
    end
end

response = function(status)
    statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency)
    local totals = {}
    for _, thread in ipairs(threads) do
        for status, count in pairs(thread:get("statuses")) do
            totals[status] = (totals[status] or 0) + count
        end
    end
    local parts = {}
    for status, count in pairs(totals) do
        parts[#parts + 1] = string.format('"%d":%d', status, count)
    end
    io.write(string.format(
        'RESULT {"requests":%d,"seconds":%.3f,"socket_errors":%d,"p50_ms":%.2f,"p95_ms":%.2f,"p99_ms":%.2f,"statuses":{%s}}\n',
        summary.requests, summary.duration / 1e6,
        summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
        latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
        table.concat(parts, ",")))
end
