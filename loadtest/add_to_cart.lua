-- POST /v1/cart/items of one unit of one hot product, each request as the next of 10,000
-- users (tokens from tokens.txt, made by make_tokens.py).
local tokens = {}
local next_token = 1
local product = os.getenv("PRODUCT") or "hot"
local body = '{"product_id":"' .. product .. '","quantity":1}'

function init(args)
  for line in io.lines(os.getenv("TOKENS") or "tokens.txt") do tokens[#tokens + 1] = line end
  next_token = math.random(#tokens)
end

function request()
  next_token = next_token % #tokens + 1
  return wrk.format("POST", "/v1/cart/items",
                    {["Authorization"] = "Bearer " .. tokens[next_token],
                     ["Content-Type"] = "application/json"}, body)
end

local statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  io.write(string.format("p50 %.0f us, p99 %.0f us, non-2xx %d\n",
                         latency:percentile(50), latency:percentile(99),
                         summary.errors.status))
end
