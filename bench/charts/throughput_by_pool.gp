set terminal svg size 860,500 dynamic noenhanced font 'sans,12' background '#ffffff'
set border 3
set tics nomirror
set grid ytics lc rgb '#dddddd'
set key outside top center horizontal noopaque
set style fill solid 0.85 border -1
set title 'Bookings per second by pool size'
$service << EOD
4.000 2726.952 41837.086
8.000 2413.598 41801.235
16.000 2093.856 38414.825
32.000 1634.072 36565.837
EOD
$pgbench << EOD
1.000 2806.706
4.000 2940.357
8.000 2769.750
16.000 2262.247
32.000 1626.622
64.000 1149.951
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
