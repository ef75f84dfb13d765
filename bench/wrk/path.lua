-- GET the URL given on wrk's command line (with the bearer token): lists, the feed, the baseline.
dofile(os.getenv("BENCH_DIR") .. "/wrk/common.lua")
