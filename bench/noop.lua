-- wrk script for the baseline: GET /healthz (the URL wrk is given), reported like the others.
package.path = "bench/?.lua;" .. package.path
require("common")
