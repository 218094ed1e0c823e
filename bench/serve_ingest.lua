-- wrk script: POST /add_batch/ with 10,000-value batches, cycling over 10 symbols.
local bodies = {}
local counter = 0

function init(args)
  math.randomseed(42 + counter)
  for s = 0, 9 do
    local values = {}
    for i = 1, 10000 do
      values[i] = string.format("%.6f", 100 + math.random() * 10)
    end
    bodies[s] = '{"symbol": "S' .. s .. '", "values": [' .. table.concat(values, ",") .. ']}'
  end
end

function setup(thread)
  thread:set("offset", counter)
  counter = counter + 1
end

local n = 0
function request()
  n = n + 1
  local body = bodies[(n + (offset or 0) * 5) % 10]
  return wrk.format("POST", "/add_batch/", {["Content-Type"] = "application/json"}, body)
end
