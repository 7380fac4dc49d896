set terminal svg size 1136,500 dynamic noenhanced font 'sans,12' background '#ffffff'
set border 3
set tics nomirror
set grid ytics lc rgb '#dddddd'
set key outside top center horizontal noopaque
set style fill solid 0.85 border -1
set title 'CPU per booking'
$cpu << EOD
"one per transaction, pool 4" 114.716 383.512
"one per transaction, pool 8" 114.251 511.068
"one per transaction, pool 16" 112.455 690.850
"one per transaction, pool 32" 122.758 992.116
"batched, pool 4" 17.186 16.754
"batched, pool 8" 17.788 16.940
"batched, pool 16" 18.795 17.103
"batched, pool 32" 17.834 15.197
"keyed (Idempotency-Key)" 18.095 22.476
"held (POST /holds)" 17.532 19.691
"admitted (pass, room on)" 18.675 29.544
"sold out (409)" 12.817 0.060
"GET /health" 8.522 0.006
"k6 16873/s bookings" 31.469 24.624
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
