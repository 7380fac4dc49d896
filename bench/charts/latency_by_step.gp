set terminal svg size 1392,500 dynamic noenhanced font 'sans,12' background '#ffffff'
set border 3
set tics nomirror
set grid ytics lc rgb '#dddddd'
set key outside top center horizontal noopaque
set style fill solid 0.85 border -1
set title 'Latency percentiles per step'
$latency << EOD
"pgbench book_seat(), 1 client" 0.413 0.574 0.819
"pgbench book_seat(), 4 clients" 1.566 3.172 4.850
"pgbench book_seat(), 8 clients" 2.348 10.980 19.161
"pgbench book_seat(), 16 clients" 6.014 29.793 53.410
"pgbench book_seat(), 32 clients" 14.551 70.648 114.688
"pgbench book_seat(), 64 clients" 42.606 214.757 357.554
"GET /health" 2.370 6.660 9.720
"one per transaction, pool 4" 127.770 169.440 186.430
"one per transaction, pool 8" 141.230 172.220 203.100
"one per transaction, pool 16" 162.030 195.910 232.550
"one per transaction, pool 32" 232.880 322.100 378.990
"batched, pool 4" 26.470 49.060 58.700
"batched, pool 8" 26.480 48.140 56.350
"batched, pool 16" 29.720 54.460 124.160
"batched, pool 32" 13.810 32.570 38.000
"sold out (409)" 5.670 10.700 16.730
"k6 4332/s bookings" 30.976 150.577 245.549
"k6 4332/s GET /health" 0.225 22.194 74.035
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
