set terminal svg size 1840,500 dynamic noenhanced font 'sans,12' background '#ffffff'
set border 3
set tics nomirror
set grid ytics lc rgb '#dddddd'
set key outside top center horizontal noopaque
set style fill solid 0.85 border -1
set title 'Latency percentiles per step'
$latency << EOD
"pgbench take_seats() for one, 1 client" 1.128 2.451 3.807
"pgbench take_seats() for one, 4 clients" 5.151 11.863 18.090
"pgbench take_seats() for one, 8 clients" 9.292 33.948 54.549
"pgbench take_seats() for one, 16 clients" 14.974 64.775 108.530
"pgbench take_seats() for one, 32 clients" 35.038 157.252 250.553
"pgbench take_seats() for one, 64 clients" 80.690 374.931 612.568
"GET /health" 3.400 8.130 10.390
"one per transaction, pool 4" 303.300 367.330 380.690
"one per transaction, pool 8" 392.420 497.540 521.890
"one per transaction, pool 16" 346.910 434.230 537.660
"one per transaction, pool 32" 360.840 539.570 780.640
"batched, pool 4" 19.140 27.360 31.530
"batched, pool 8" 19.310 27.960 32.250
"batched, pool 16" 16.810 24.110 27.630
"batched, pool 32" 13.260 20.480 25.030
"keyed (Idempotency-Key)" 20.980 30.370 35.530
"held (POST /holds)" 15.730 23.640 33.870
"admitted (pass, room on)" 31.770 48.570 162.320
"Redis Lua, appendfsync always" 8.991 14.591 17.615
"Redis Lua, no persistence" 4.831 9.087 10.623
"sold out (409)" 5.450 11.160 16.150
"GET /health, 10000 conns" 126.570 257.760 297.800
"sold out (409), 10000 conns" 168.200 348.970 449.920
"k6 6100/s bookings" 118.391 317.868 484.014
"k6 6100/s GET /health" 0.189 25.061 98.574
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
