// Package monitor is what one watches while a netc network trains ("babysitting the
// learning process"): the metrics files of a run folder, the progress display of an
// epoch, a picture of the first convolution layer's filters and the confusion matrix of a
// labelled set. The charts of the loss, accuracy and learning rate are package charts,
// apart, so that a program that trains does not link the plotting library.
//
// # Metrics files
//
// A run folder holds two CSV files with a header line, written by a MetricsWriter and
// read by ReadMetrics:
//
//	iters.csv   iter,epoch,loss,lr                                   one row per iteration
//	epochs.csv  epoch,loss,train_acc,val_acc,lr,img_per_s,seconds    one row per epoch
//
// iter and epoch (in epochs.csv) are 1-based integers; epoch in iters.csv is fractional
// (1.25 = a quarter into the second epoch); accuracies are fractions in [0, 1], NaN when
// not measured; numbers are in Go's shortest exact notation (NaN, +Inf and -Inf
// included). A resumed run appends to the files (OpenMetricsWriter with appendMode);
// when it repeats iterations or epochs, the later rows win.
//
// # Progress
//
// A Progress per epoch draws a progress bar (iterations, running loss, img/s, elapsed
// and remaining time) when writing to a terminal, and stays quiet otherwise except for
// one plain line per DefaultPlainInterval in slow epochs.
//
// # Confusion matrix
//
// A Confusion counts, per true class, the images predicted as each class (Predicted:
// the highest score); WriteTable prints per-class accuracy and the matrix, WritePNG
// draws it (confusion.png in a run folder), cells colored by their share of the row, the
// counts and class names kept exactly in the PNG's text chunks. A bright cell off the
// diagonal is a pair of classes the network mixes up; a whole column filled is a network
// that predicts one class for everything, as a dead network does.
//
// # Filters
//
// FilterGrid draws the first convolution layer's filters as a PNG grid, each filter
// normalized on its own. Trained filters on natural images look like oriented edges and
// color blobs; noise means too little training (or too high a learning rate), and
// identical filters a symmetry problem in initialization.
package monitor
