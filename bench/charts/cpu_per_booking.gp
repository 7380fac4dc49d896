set terminal svg size 1136,500 dynamic noenhanced font 'sans,12' background '#ffffff'
set border 3
set tics nomirror
set grid ytics lc rgb '#dddddd'
set key outside top center horizontal noopaque
set style fill solid 0.85 border -1
set title 'CPU per booking'
$cpu << EOD
"one per transaction, pool 4" 239.177 1106.593
"one per transaction, pool 8" 292.755 1494.313
"one per transaction, pool 16" 231.032 1541.447
"one per transaction, pool 32" 217.739 1856.772
"batched, pool 4" 51.847 49.075
"batched, pool 8" 53.830 48.117
"batched, pool 16" 47.895 40.951
"batched, pool 32" 37.350 32.584
"keyed (Idempotency-Key)" 43.421 51.427
"held (POST /holds)" 42.734 43.228
"admitted (pass, room on)" 57.211 111.339
"sold out (409)" 33.691 0.263
"GET /health" 20.374 0.057
"k6 6100/s bookings" 74.370 69.494
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
