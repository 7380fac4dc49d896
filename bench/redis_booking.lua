-- The reference a buyer's architect might pick instead (issue 22): a seat
-- sale in Redis, one EVALSHA per request, run by bench/run.sh. KEYS[1]: the
-- stock counter; KEYS[2]: the request's idempotency key. A key seen before
-- gets its stored answer again; otherwise the stock is decremented when
-- above 0 (booked), else the answer is sold_out; the answer is stored under
-- the key for 24 h.
local stored = redis.call('GET', KEYS[2])
if stored then
    return stored
end
local answer = 'sold_out'
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then
    redis.call('DECR', KEYS[1])
    answer = 'booked'
end
redis.call('SET', KEYS[2], answer, 'EX', 86400)
return answer
