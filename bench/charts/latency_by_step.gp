set terminal svg size 1840,500 dynamic noenhanced font 'sans,12' background '#ffffff'
set border 3
set tics nomirror
set grid ytics lc rgb '#dddddd'
set key outside top center horizontal noopaque
set style fill solid 0.85 border -1
set title 'Latency percentiles per step'
$latency << EOD
"pgbench take_seats() for one, 1 client" 0.349 0.419 0.466
"pgbench take_seats() for one, 4 clients" 1.267 2.432 3.233
"pgbench take_seats() for one, 8 clients" 1.879 8.700 14.149
"pgbench take_seats() for one, 16 clients" 4.461 21.802 34.880
"pgbench take_seats() for one, 32 clients" 13.255 59.533 94.054
"pgbench take_seats() for one, 64 clients" 37.233 168.702 270.910
"GET /health" 1.260 5.280 6.650
"one per transaction, pool 4" 93.390 98.570 102.630
"one per transaction, pool 8" 100.870 122.500 128.530
"one per transaction, pool 16" 122.540 144.200 161.540
"one per transaction, pool 32" 149.590 206.090 258.040
"batched, pool 4" 5.500 7.780 9.370
"batched, pool 8" 5.520 7.800 9.130
"batched, pool 16" 6.000 8.670 10.510
"batched, pool 32" 6.290 9.260 10.840
"keyed (Idempotency-Key)" 8.010 9.770 11.090
"held (POST /holds)" 6.040 8.800 12.670
"admitted (pass, room on)" 8.810 12.730 15.560
"Redis Lua, appendfsync always" 2.879 4.863 6.567
"Redis Lua, no persistence" 2.719 5.543 7.487
"sold out (409)" 1.330 5.460 8.210
"GET /health, 10000 conns" 52.500 110.950 130.790
"sold out (409), 10000 conns" 83.090 179.650 215.260
"k6 20918/s bookings" 80.522 207.883 290.600
"k6 20918/s GET /health" 16.838 56.180 100.151
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
