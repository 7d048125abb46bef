// Package monitor is what one watches while a netc network trains ("babysitting the
// learning process"): the metrics files of a run folder, the progress display of an
// epoch, charts of the loss, accuracy and learning rate, and a picture of the first
// convolution layer's filters.
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
// # Charts
//
// PlotLoss, PlotAccuracy and PlotLR draw 768×480 PNG charts with gonum.org/v1/plot;
// WriteAll draws all three (loss.png, accuracy.png, lr.png) from a run folder's metrics,
// which is what `netc plot RUNDIR` does:
//
//	if err := monitor.WriteAll(runDir, false); err != nil && !errors.Is(err, monitor.ErrNoEpochs) {
//		return err
//	}
//
// What to look for (CS231n's advice): a loss that decreases quickly then levels off is
// a good learning rate; one that decreases linearly and slowly is too low a rate, one
// that drops and plateaus early too high, one that explodes (NaN/Inf, counted in the
// title) far too high. A large gap between training and validation accuracy is
// overfitting (more regularization, more data); no gap means the model could be bigger.
//
// # Filters
//
// FilterGrid draws the first convolution layer's filters as a PNG grid, each filter
// normalized on its own. Trained filters on natural images look like oriented edges and
// color blobs; noise means too little training (or too high a learning rate), and
// identical filters a symmetry problem in initialization.
package monitor
