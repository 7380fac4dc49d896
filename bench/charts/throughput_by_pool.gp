set terminal svg size 860,500 dynamic noenhanced font 'sans,12' background '#ffffff'
set border 3
set tics nomirror
set grid ytics lc rgb '#dddddd'
set key outside top center horizontal noopaque
set style fill solid 0.85 border -1
set title 'Bookings per second by pool size'
$service << EOD
4.000 2005.594 30141.246
8.000 1920.983 32996.016
16.000 1554.640 30808.545
32.000 1327.745 35432.172
EOD
$pgbench << EOD
1.000 2399.027
4.000 2460.966
8.000 2351.028
16.000 1593.624
32.000 1287.695
64.000 1132.006
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
