set terminal svg size 860,500 dynamic noenhanced font 'sans,12' background '#ffffff'
set border 3
set tics nomirror
set grid ytics lc rgb '#dddddd'
set key outside top center horizontal noopaque
set style fill solid 0.85 border -1
set title 'Bookings per second by pool size'
$service << EOD
4.000 833.865 12200.981
8.000 630.461 12087.843
16.000 719.386 13975.671
32.000 664.587 17197.495
EOD
$pgbench << EOD
1.000 749.990
4.000 662.053
8.000 626.787
16.000 721.573
32.000 605.011
64.000 517.843
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
