-- wrk request generator: GET /l/<i> over N seeded links. With HOT > 0, 90% of
-- requests go to the first HOT links (a skewed, realistic mix); HOT=0 is uniform.
local n = tonumber(os.getenv("BENCH_LINKS") or "100000")
local hot = tonumber(os.getenv("BENCH_HOT") or "1000")

function init(args)
  -- request.cf as the edge hands it over (bench/cf.mjs), parsed by workerd
  local cf = os.getenv("BENCH_CF")
  if cf and cf ~= "" then wrk.headers["MF-CF-Blob"] = cf end
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

function request()
  local i
  if hot > 0 and math.random() < 0.9 then
    i = math.random(0, hot - 1)
  else
    i = math.random(0, n - 1)
  end
  return wrk.format("GET", "/l/" .. i .. "?utm_source=bench")
end
