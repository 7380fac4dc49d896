set terminal svg size 1840,500 dynamic noenhanced font 'sans,12' background '#ffffff'
set border 3
set tics nomirror
set grid ytics lc rgb '#dddddd'
set key outside top center horizontal noopaque
set style fill solid 0.85 border -1
set title 'Latency percentiles per step'
$latency << EOD
"pgbench take_seats() for one, 1 client" 1.089 2.055 3.364
"pgbench take_seats() for one, 4 clients" 5.644 12.494 19.633
"pgbench take_seats() for one, 8 clients" 9.466 32.223 51.752
"pgbench take_seats() for one, 16 clients" 21.554 104.490 169.218
"pgbench take_seats() for one, 32 clients" 57.397 282.172 443.270
"pgbench take_seats() for one, 64 clients" 173.124 774.050 1206.026
"GET /health" 3.480 8.270 11.110
"one per transaction, pool 4" 615.850 900.100 997.880
"one per transaction, pool 8" 584.630 713.440 779.330
"one per transaction, pool 16" 530.990 655.030 767.850
"one per transaction, pool 32" 684.920 957.890 1151.310
"batched, pool 4" 34.860 48.890 74.910
"batched, pool 8" 33.760 46.810 61.770
"batched, pool 16" 30.680 41.220 51.380
"batched, pool 32" 31.980 44.760 58.900
"keyed (Idempotency-Key)" 55.360 73.500 91.850
"held (POST /holds)" 53.860 88.230 176.040
"admitted (pass, room on)" 44.990 69.000 118.360
"Redis Lua, appendfsync always" 9.991 15.103 18.031
"Redis Lua, no persistence" 6.031 9.831 12.591
"sold out (409)" 6.640 16.720 27.730
"GET /health, 10000 conns" 162.230 324.560 369.830
"sold out (409), 10000 conns" 260.830 551.340 715.050
"k6 3264/s bookings" 2665.990 5176.179 5583.396
"k6 3264/s GET /health" 0.299 11.119 99.385
EOD

set ylabel 'milliseconds (log scale)'
set logscale y
set yrange [0.1:*]
set style data histogram
set style histogram clustered gap 1
set boxwidth 0.9
set xtics rotate by -35 left font ',10'
set bmargin 9
set rmargin 12
plot $latency using 2:xtic(1) lc rgb '#4e79a7' title 'p50', \
     '' using 3 lc rgb '#f28e2b' title 'p95', \
     '' using 4 lc rgb '#e15759' title 'p99'
