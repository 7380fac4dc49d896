set terminal svg size 1840,500 dynamic noenhanced font 'sans,12' background '#ffffff'
set border 3
set tics nomirror
set grid ytics lc rgb '#dddddd'
set key outside top center horizontal noopaque
set style fill solid 0.85 border -1
set title 'Latency percentiles per step'
$latency << EOD
"pgbench take_seats() for one, 1 client" 0.396 0.531 0.627
"pgbench take_seats() for one, 4 clients" 1.468 3.093 4.345
"pgbench take_seats() for one, 8 clients" 2.196 10.179 16.732
"pgbench take_seats() for one, 16 clients" 6.058 31.838 50.652
"pgbench take_seats() for one, 32 clients" 16.642 75.855 118.709
"pgbench take_seats() for one, 64 clients" 36.960 175.183 273.184
"GET /health" 1.230 4.870 5.770
"one per transaction, pool 4" 120.900 175.470 199.610
"one per transaction, pool 8" 129.820 154.050 169.520
"one per transaction, pool 16" 159.000 210.730 245.250
"one per transaction, pool 32" 178.700 272.720 336.890
"batched, pool 4" 7.530 11.340 13.980
"batched, pool 8" 6.750 10.000 11.760
"batched, pool 16" 7.330 10.610 12.720
"batched, pool 32" 6.410 9.740 13.050
"keyed (Idempotency-Key)" 13.270 19.440 21.700
"held (POST /holds)" 8.570 13.860 20.410
"admitted (pass, room on)" 10.980 17.480 20.820
"Redis Lua, appendfsync always" 3.103 5.895 8.199
"Redis Lua, no persistence" 2.191 3.951 5.223
"sold out (409)" 2.360 6.110 8.420
"GET /health, 10000 conns" 64.840 142.410 179.070
"sold out (409), 10000 conns" 80.690 184.860 222.190
"k6 15070/s bookings" 76.743 202.176 294.683
"k6 15070/s GET /health" 0.310 17.443 101.433
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
