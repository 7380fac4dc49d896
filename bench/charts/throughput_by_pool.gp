set terminal svg size 860,500 dynamic noenhanced font 'sans,12' background '#ffffff'
set border 3
set tics nomirror
set grid ytics lc rgb '#dddddd'
set key outside top center horizontal noopaque
set style fill solid 0.85 border -1
set title 'Bookings per second by pool size'
$service << EOD
4.000 2366.806 33746.338
8.000 1953.957 32849.639
16.000 1651.468 32530.703
32.000 1258.088 34975.050
EOD
$pgbench << EOD
1.000 2665.770
4.000 2560.424
8.000 2503.677
16.000 1934.215
32.000 1400.752
64.000 1142.361
EOD

set xlabel 'database connections (service pool size; pgbench clients)'
set ylabel 'bookings per second'
set logscale x 2
set xrange [0.7142857142857143:89.6]
set xtics (1, 4, 8, 16, 32, 64)
set yrange [0:*]
plot $service using 1:3 with linespoints lw 2 pt 7 lc rgb '#4e79a7' title 'service, batched', \
     $service using 1:2 with linespoints lw 2 pt 5 lc rgb '#f28e2b' title 'service, one transaction per booking', \
     $pgbench using 1:2 with linespoints lw 2 dt 2 pt 9 lc rgb '#59a14f' title 'pgbench take_seats() (no service)'
