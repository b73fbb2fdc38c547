# Learning curve from a pgrad CSV log (--csv PATH): charts/episodic_return (mean return of the
# last 100 finished episodes) against global_step. Needs gnuplot >= 5.2 (Debian: gnuplot-nox).
#
#   gnuplot -e "csv='/tmp/cartpole_ppo.csv'; png='examples/cartpole_ppo.png'" examples/plot_learning_curve.gp
#
# Parameters (gnuplot -e "name='value'; ..."):
#   csv    input CSV written by pgrad::CsvLogger (required)
#   png    output image (default: the CSV path with .csv replaced by .png); a name ending in .svg
#          gives an SVG instead
#   title  plot title (default: the CSV file name)
#   threshold  optional: a dashed line at this return (e.g. 475 for CartPole-v1 "solved")
# Columns are found by name, so extra or reordered columns do not matter. Rows logged before
# any episode had finished (episodes = 0) are skipped: their return is not a measurement.

if (!exists("csv")) {
  print "usage: gnuplot -e \"csv='run.csv'; png='run.png'\" plot_learning_curve.gp"
  exit status 2
}
if (!exists("png")) {
  png = (strlen(csv) > 4 && csv[strlen(csv) - 3:] eq ".csv") ? csv[1:strlen(csv) - 4] . ".png" : csv . ".png"
}
if (!exists("title")) {
  title = csv
  while (strstrt(title, "/") > 0) { title = title[strstrt(title, "/") + 1:] }
}

if (png[strlen(png) - 3:] eq ".svg") {
  set terminal svg size 800,480 dynamic enhanced font "sans,12" background rgb "white"
} else {
  set terminal pngcairo size 800,480 enhanced font "sans,11" background rgb "white"
}
set output png

set datafile separator ","
set datafile columnheaders
set title title noenhanced
set xlabel "environment steps (global\\_step)"
set ylabel "episodic return (mean of last 100 episodes)"
set format x "%.0s%c"
set xrange [0:*]
set autoscale xfixmax
set autoscale yfix
set offsets 0, 0, graph 0.05, graph 0.05
set grid xtics ytics lw 1 lc rgb "#c8c8c8" dt 2
set key bottom right
set border 3
set tics nomirror

if (exists("threshold")) {
  set arrow from graph 0, first threshold to graph 1, first threshold nohead dt 2 lw 1.5 lc rgb "#d62728" front
  set label sprintf("%g", threshold) at graph 0.01, first threshold offset 0, 0.6 tc rgb "#d62728" front
}

plot csv using (column("global_step")):(column("episodes") > 0 ? column("charts/episodic_return") : NaN) \
     with lines lw 2 lc rgb "#1f77b4" title "charts/episodic\\_return"

set output
print sprintf("wrote %s", png)
