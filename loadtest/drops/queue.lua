-- A drop's queue over HTTP, for bench.sh. MODE=join: POST /v1/drops/{DROP}/queue, each
-- request as the next user of tokens.txt (made by make_tokens.py) from the first line on:
-- with more tokens than requests, every request is a distinct user's first join (201); past
-- the end the users come round again (200). MODE=ticket: GET /v1/drops/{DROP}/queue/me,
-- each request as the next of the first READERS users (who joined in the join run before).
local tokens = {}
local next_token = 0
local join = (os.getenv("MODE") or "join") == "join"
local path = "/v1/drops/" .. (os.getenv("DROP") or "bench") .. (join and "/queue" or "/queue/me")

function init(args)
  local want = join and math.huge or tonumber(os.getenv("READERS") or "10000")
  for line in io.lines(os.getenv("TOKENS") or "tokens.txt") do
    if #tokens >= want then break end
    tokens[#tokens + 1] = line
  end
end

function request()
  next_token = next_token % #tokens + 1
  return wrk.format(join and "POST" or "GET", path, {["Authorization"] = "Bearer " .. tokens[next_token]})
end

-- Each wrk thread tallies its statuses; done() (in the main state) reads them off the threads.
local threads = {}
function setup(thread) threads[#threads + 1] = thread end

statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local all = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do all[status] = (all[status] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(all) do parts[#parts + 1] = status .. " x" .. n end
  table.sort(parts)
  io.write("statuses " .. table.concat(parts, ", ") .. "\n")
end
