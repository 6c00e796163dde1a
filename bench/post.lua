-- bench/post.lua -- wrk script for bench/http.sh: POST /post with one grid.
--
-- The body is read from the file named by IPBORG_BENCH_BODY (a grid as the
-- ipythonblocks client posts it). When IPBORG_BENCH_ACKS is set, every 200
-- answer's body ({"url": ...}) is written as one line to IPBORG_BENCH_ACKS.N
-- (N: wrk's thread number), so that the bench can check afterwards that every
-- acknowledged grid survived a kill -9. Lines are flushed as they are written:
-- wrk does not close its threads' files when it exits.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open(assert(os.getenv("IPBORG_BENCH_BODY"), "IPBORG_BENCH_BODY unset"), "rb"))
wrk.body = f:read("*a")
f:close()

local threads = 0
function setup(thread)
   threads = threads + 1
   thread:set("n", threads)
end

local acks = nil
function init(args)
   local path = os.getenv("IPBORG_BENCH_ACKS")
   if path then
      acks = assert(io.open(path .. "." .. n, "w"))
      acks:setvbuf("line")
   end
end

function response(status, headers, body)
   if status == 200 and acks then
      acks:write(body, "\n")
   end
end
