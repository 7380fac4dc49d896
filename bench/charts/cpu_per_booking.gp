set terminal svg size 1136,500 dynamic noenhanced font 'sans,12' background '#ffffff'
set border 3
set tics nomirror
set grid ytics lc rgb '#dddddd'
set key outside top center horizontal noopaque
set style fill solid 0.85 border -1
set title 'CPU per booking'
$cpu << EOD
"one per transaction, pool 4" 96.978 336.126
"one per transaction, pool 8" 94.358 412.747
"one per transaction, pool 16" 90.603 553.789
"one per transaction, pool 32" 99.735 783.635
"batched, pool 4" 13.255 13.620
"batched, pool 8" 13.690 13.547
"batched, pool 16" 14.995 14.459
"batched, pool 32" 16.708 15.184
"keyed (Idempotency-Key)" 14.834 20.356
"held (POST /holds)" 13.397 16.613
"admitted (pass, room on)" 15.531 27.253
"sold out (409)" 10.539 0.049
"GET /health" 9.226 0.000
"k6 20918/s bookings" 40.629 37.293
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
