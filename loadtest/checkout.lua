-- Durable order placements: each user adds one unit of the hot product, then places the
-- order; 201s are counted as orders. Users (token and address) come from make_users.py.
-- With CREATE_PRODUCTS set to an admin token, each request creates a product instead (one
-- log record each: records for a replication catch-up), and 201s are counted as created.
local users = {}
local n = 0
local threads = {}

-- done() runs in wrk's main Lua state: counts are collected from each thread's state.
function setup(thread)
  table.insert(threads, thread)
end
local product = os.getenv("PRODUCT") or "hot"
local admin = os.getenv("CREATE_PRODUCTS")
local label = admin and "created" or "orders"

function init(args)
  if admin then return end
  for line in io.lines(os.getenv("USERS") or "users.txt") do
    local token, addr = line:match("(%S+) (%S+)")
    users[#users + 1] = {token = token, addr = addr}
  end
end

function request()
  n = n + 1
  if admin then
    local headers = {["Authorization"] = "Bearer " .. admin, ["Content-Type"] = "application/json"}
    return wrk.format("POST", "/v1/admin/products", headers,
                      '{"id":"c' .. tostring(n) .. "-" .. tostring(math.random(1e9)) ..
                      '","name":"Catch-up","price":100,"on_hand":5}')
  end
  local u = users[(math.floor(n / 2) % #users) + 1]
  local headers = {["Authorization"] = "Bearer " .. u.token, ["Content-Type"] = "application/json"}
  if n % 2 == 0 then
    return wrk.format("POST", "/v1/cart/items", headers, '{"product_id":"' .. product .. '","quantity":1}')
  end
  return wrk.format("POST", "/v1/orders", headers,
                    '{"shipping_address_id":"' .. u.addr .. '","shipping_method":"standard"}')
end

orders = 0
function response(status, headers, body)
  if status == 201 then orders = orders + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("orders") end
  io.write(string.format("%s %d in %.1f s: %.0f %s/s; p99 %.2f ms\n", label, total,
                         summary.duration / 1e6, total / (summary.duration / 1e6), label,
                         latency:percentile(99) / 1000))
end
