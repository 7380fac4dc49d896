set terminal svg size 1840,500 dynamic noenhanced font 'sans,12' background '#ffffff'
set border 3
set tics nomirror
set grid ytics lc rgb '#dddddd'
set key outside top center horizontal noopaque
set style fill solid 0.85 border -1
set title 'Latency percentiles per step'
$latency << EOD
"pgbench take_seats() for one, 1 client" 0.358 0.461 0.551
"pgbench take_seats() for one, 4 clients" 1.435 2.891 4.077
"pgbench take_seats() for one, 8 clients" 2.045 9.597 15.782
"pgbench take_seats() for one, 16 clients" 5.093 25.972 41.122
"pgbench take_seats() for one, 32 clients" 15.216 70.529 111.485
"pgbench take_seats() for one, 64 clients" 37.152 170.706 273.930
"GET /health" 1.150 3.240 5.120
"one per transaction, pool 4" 106.730 120.780 133.330
"one per transaction, pool 8" 127.350 157.110 178.180
"one per transaction, pool 16" 155.540 186.550 208.560
"one per transaction, pool 32" 191.710 273.500 334.000
"batched, pool 4" 6.740 10.020 12.000
"batched, pool 8" 6.800 10.160 12.260
"batched, pool 16" 6.880 10.410 12.520
"batched, pool 32" 6.460 9.540 11.340
"keyed (Idempotency-Key)" 9.090 11.730 14.110
"held (POST /holds)" 7.340 11.150 18.810
"admitted (pass, room on)" 9.890 14.020 16.500
"Redis Lua, appendfsync always" 3.079 5.575 7.839
"Redis Lua, no persistence" 2.271 4.055 5.287
"sold out (409)" 1.790 5.830 8.070
"GET /health, 10000 conns" 66.470 143.420 155.690
"sold out (409), 10000 conns" 78.770 175.790 203.950
"k6 16873/s bookings" 68.313 171.047 235.299
"k6 16873/s GET /health" 0.305 29.034 82.657
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
