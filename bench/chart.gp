# SPDX-License-Identifier: MIT
# bench/chart.gp: requests/s by server and point, from bench/run's data file.
#   gnuplot -e "datafile='plot.dat'; outfile='latest.png'" bench/chart.gp
set terminal pngcairo size 1200,600 font ",10"
set output outfile
set title "urnet echo benchmark: requests/s, median over rounds (higher is better; servers not built are left out)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key outside right top vertical
set ylabel "requests/s"
set yrange [0:*]
set offsets 0, 0, graph 0.08, 0
set bmargin 5
set grid ytics
set format y "%.0s%c"
ncol = system("head -n 1 '" . datafile . "' | wc -w") + 0
plot for [i=2:ncol] datafile using i:xtic(1) title columnheader(i)
