set terminal svg size 1136,500 dynamic noenhanced font 'sans,12' background '#ffffff'
set border 3
set tics nomirror
set grid ytics lc rgb '#dddddd'
set key outside top center horizontal noopaque
set style fill solid 0.85 border -1
set title 'CPU per booking'
$cpu << EOD
"one per transaction, pool 4" 417.084 1795.128
"one per transaction, pool 8" 406.986 2014.658
"one per transaction, pool 16" 348.525 2168.760
"one per transaction, pool 32" 388.331 3241.144
"batched, pool 4" 74.308 100.738
"batched, pool 8" 71.864 99.176
"batched, pool 16" 64.498 91.632
"batched, pool 32" 67.936 98.120
"keyed (Idempotency-Key)" 91.711 135.331
"held (POST /holds)" 76.060 195.869
"admitted (pass, room on)" 74.410 173.535
"sold out (409)" 40.010 0.577
"GET /health" 21.780 0.000
"k6 3264/s bookings" 112.246 2766.478
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
