set terminal svg size 860,500 dynamic noenhanced font 'sans,12' background '#ffffff'
set border 3
set tics nomirror
set grid ytics lc rgb '#dddddd'
set key outside top center horizontal noopaque
set style fill solid 0.85 border -1
set title 'The sold-out path against GET /health'
$rates << EOD
"GET /health" 115176.498 5.120
"POST /bookings, sold out (409)" 76969.022 8.070
EOD

set ylabel 'answers per second'
set y2label 'p99 latency, ms'
set yrange [0:*]
set y2range [0:*]
set y2tics
set style data histogram
set style histogram clustered gap 1
set boxwidth 0.8
set arrow from graph 0, first 57588.2 to graph 1, first 57588.2 nohead dt 2 lw 2 lc rgb '#e15759'
set label 'goal: 0.5 x /health' at graph 0.02, first 57588.2 offset 0,0.7 tc rgb '#e15759'
plot $rates using 2:xtic(1) lc rgb '#4e79a7' title 'answers per second', \
     '' using 3 axes x1y2 lc rgb '#f28e2b' title 'p99 ms (right axis)'
