set terminal svg size 944,500 dynamic noenhanced font 'sans,12' background '#ffffff'
set border 3
set tics nomirror
set grid ytics lc rgb '#dddddd'
set key outside top center horizontal noopaque
set style fill solid 0.85 border -1
set title 'CPU per booking'
$cpu << EOD
"one per transaction, pool 4" 165.081 454.921
"one per transaction, pool 8" 158.438 558.663
"one per transaction, pool 16" 160.222 730.186
"one per transaction, pool 32" 198.150 1202.025
"batched, pool 4" 32.444 97.638
"batched, pool 8" 32.559 96.247
"batched, pool 16" 37.434 100.161
"batched, pool 32" 28.268 49.162
"sold out (409)" 26.358 8.164
"GET /health" 14.450 0.000
"k6 4332/s bookings" 60.021 162.153
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
