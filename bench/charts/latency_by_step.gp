set terminal svg size 1840,500 dynamic noenhanced font 'sans,12' background '#ffffff'
set border 3
set tics nomirror
set grid ytics lc rgb '#dddddd'
set key outside top center horizontal noopaque
set style fill solid 0.85 border -1
set title 'Latency percentiles per step'
$latency << EOD
"pgbench take_seats() for one, 1 client" 0.709 1.014 1.210
"pgbench take_seats() for one, 4 clients" 4.163 8.711 12.464
"pgbench take_seats() for one, 8 clients" 7.243 26.981 41.256
"pgbench take_seats() for one, 16 clients" 16.919 82.202 133.805
"pgbench take_seats() for one, 32 clients" 43.373 214.520 337.183
"pgbench take_seats() for one, 64 clients" 106.718 505.863 812.169
"GET /health" 5.040 9.280 12.670
"one per transaction, pool 4" 346.930 411.470 432.540
"one per transaction, pool 8" 328.090 424.200 464.910
"one per transaction, pool 16" 355.340 429.500 496.000
"one per transaction, pool 32" 432.020 628.110 914.680
"batched, pool 4" 18.530 26.910 32.570
"batched, pool 8" 20.460 29.220 34.840
"batched, pool 16" 18.570 26.850 31.590
"batched, pool 32" 13.940 21.480 26.580
"keyed (Idempotency-Key)" 30.600 39.150 45.320
"held (POST /holds)" 39.330 64.530 78.010
"admitted (pass, room on)" 180.600 478.680 555.770
"Redis Lua, appendfsync always" 9.751 16.047 19.999
"Redis Lua, no persistence" 5.703 9.695 11.719
"sold out (409)" 7.070 16.460 22.480
"GET /health, 10000 conns" 176.530 346.080 400.680
"sold out (409), 10000 conns" 211.850 479.540 541.940
"k6 6315/s bookings" 2000.818 3233.171 3432.328
"k6 6315/s GET /health" 0.743 95.985 211.647
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
