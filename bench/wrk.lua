-- wrk script for bench/run.sh, counting the statuses of every response.
-- With EVENT_ID set: POST to the URL's path (/bookings, or /holds) for that event,
-- each request by a distinct user (USER_OFFSET+1, +2, ...; run it with one
-- wrk thread), with the user's token: line n of TOKENS_TXT is user n's
-- (after the last line, the users start again from 1). KEYED=1: each
-- request with its own Idempotency-Key. PASSES_TXT: the users are those of
-- its lines (`user_id pass`), each booking with its Admission-Pass; when
-- they are used up the thread stops and RESULT says "passes_ran_out".
-- Without EVENT_ID: wrk's own request to the URL given (GET /health).
local event_id = tonumber(os.getenv("EVENT_ID") or "")
local next_user = tonumber(os.getenv("USER_OFFSET") or "0")
local keyed = os.getenv("KEYED") == "1"
local tokens, passes = {}, nil
if event_id then
    for line in io.lines(os.getenv("TOKENS_TXT")) do
        tokens[#tokens + 1] = line
    end
end
if os.getenv("PASSES_TXT") then
    passes = {}
    for line in io.lines(os.getenv("PASSES_TXT")) do
        local user, pass = line:match("^(%d+) (%S+)$")
        passes[#passes + 1] = { tonumber(user), pass }
    end
end
-- Per-thread state; done() runs in another Lua state and reads it through
-- the thread handles saved in setup().
statuses = {}
passes_ran_out = false
local threads = {}
setup = function(thread)
    threads[#threads + 1] = thread
end

local function post(path, token, extra, body)
    local headers = { ["Authorization"] = "Bearer " .. token }
    headers["Content-Type"] = body and "application/json" or nil
    for name, value in pairs(extra) do
        headers[name] = value
    end
    return wrk.format("POST", path, headers, body)
end

if event_id then
    -- Every request is written once, in init(), before the run starts:
    -- writing each as it is sent (string.format and wrk.format in Lua) cost
    -- wrk about 11 us of CPU a request, on the cores the service shares,
    -- where a crowd pays that on its own machines. GET /health is wrk's own
    -- prepared request, so both sides of the sold-out comparison now pay
    -- the load tool alike.
    local prepared, sent = {}, 0
    local body = string.format('{"event_id":%d}', event_id)
    local function keyed_post(user, n)
        local extra = keyed and { ["Idempotency-Key"] = string.format("bench-%d", n) } or {}
        return post(wrk.path, tokens[user], extra, body)
    end
    init = function()
        if passes then
            for n, entry in ipairs(passes) do
                prepared[n] = post(wrk.path, tokens[entry[1]], { ["Admission-Pass"] = entry[2] }, body)
            end
        else
            for n = 1, #tokens do
                prepared[n] = keyed_post((next_user + n - 1) % #tokens + 1, n)
            end
        end
    end
    request = function()
        sent = sent + 1
        if sent <= #prepared then
            return prepared[sent]
        end
        if passes then
            passes_ran_out = true
            wrk.thread:stop()
            -- wrk still writes what this returns; the stopped thread
            -- reads no answer any more.
            return wrk.format("GET", "/health")
        end
        -- Past the last token the users start again from the first; a keyed
        -- request still gets a key of its own.
        if keyed then
            return keyed_post((next_user + sent - 1) % #tokens + 1, sent)
        end
        return prepared[(sent - 1) % #prepared + 1]
    end
end

response = function(status)
    statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency)
    local totals, ran_out = {}, false
    for _, thread in ipairs(threads) do
        for status, count in pairs(thread:get("statuses")) do
            totals[status] = (totals[status] or 0) + count
        end
        ran_out = ran_out or thread:get("passes_ran_out")
    end
    local parts = {}
    for status, count in pairs(totals) do
        parts[#parts + 1] = string.format('"%d":%d', status, count)
    end
    io.write(string.format(
        'RESULT {"requests":%d,"seconds":%.3f,"socket_errors":%d,"p50_ms":%.2f,"p95_ms":%.2f,"p99_ms":%.2f,"passes_ran_out":%s,"statuses":{%s}}\n',
        summary.requests, summary.duration / 1e6,
        summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
        latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
        tostring(ran_out), table.concat(parts, ",")))
end
