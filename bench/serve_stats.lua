-- wrk script: GET /stats/ cycling over 10 symbols and k = 1..8.
local n = 0
function request()
  n = n + 1
  return wrk.format("GET", "/stats/?symbol=S" .. (n % 10) .. "&k=" .. (n % 8 + 1))
end
