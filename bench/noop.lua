-- wrk script for the baseline: GET /healthz, reported in the same format as action.lua.
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT requests=%d duration_us=%d errors=%d p99_us=%d\n",
    summary.requests, summary.duration, errors, latency:percentile(99)))
end
