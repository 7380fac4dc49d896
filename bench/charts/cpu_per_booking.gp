set terminal svg size 1136,500 dynamic noenhanced font 'sans,12' background '#ffffff'
set border 3
set tics nomirror
set grid ytics lc rgb '#dddddd'
set key outside top center horizontal noopaque
set style fill solid 0.85 border -1
set title 'CPU per booking'
$cpu << EOD
"one per transaction, pool 4" 124.859 456.598
"one per transaction, pool 8" 117.822 525.696
"one per transaction, pool 16" 115.871 729.861
"one per transaction, pool 32" 114.752 943.576
"batched, pool 4" 18.885 19.238
"batched, pool 8" 16.783 17.608
"batched, pool 16" 18.411 18.798
"batched, pool 32" 16.307 15.633
"keyed (Idempotency-Key)" 27.433 31.956
"held (POST /holds)" 21.909 24.398
"admitted (pass, room on)" 21.625 35.586
"sold out (409)" 15.096 0.088
"GET /health" 7.404 0.010
"k6 15070/s bookings" 37.624 32.965
EOD

set ylabel 'CPU microseconds per answer'
set yrange [0:*]
set style data histogram
set style histogram rowstacked
set boxwidth 0.7
set xtics rotate by -35 left font ',10'
set bmargin 9
set rmargin 12
plot $cpu using 2:xtic(1) lc rgb '#4e79a7' title 'service', \
     '' using 3 lc rgb '#59a14f' title 'PostgreSQL'
