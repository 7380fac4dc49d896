set terminal svg size 1136,500 dynamic noenhanced font 'sans,12' background '#ffffff'
set border 3
set tics nomirror
set grid ytics lc rgb '#dddddd'
set key outside top center horizontal noopaque
set style fill solid 0.85 border -1
set title 'CPU per booking'
$cpu << EOD
"one per transaction, pool 4" 273.521 1221.490
"one per transaction, pool 8" 246.547 1307.047
"one per transaction, pool 16" 237.333 1594.462
"one per transaction, pool 32" 266.715 2261.691
"batched, pool 4" 52.751 46.263
"batched, pool 8" 58.006 51.574
"batched, pool 16" 53.054 47.041
"batched, pool 32" 37.720 36.173
"keyed (Idempotency-Key)" 58.991 76.094
"held (POST /holds)" 57.891 148.044
"admitted (pass, room on)" 65.429 768.658
"sold out (409)" 47.521 0.530
"GET /health" 25.713 0.107
"k6 6315/s bookings" 102.731 1848.548
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
