// Package charts draws the charts of a training run from its metrics files (see package
// monitor) with gonum.org/v1/plot: the loss, the accuracies and the learning rate. netc
// train draws them when its program has finished, and netc plot whenever asked; the
// programs that train link none of this.
//
// PlotLoss, PlotAccuracy and PlotLR draw 768×480 PNG charts with gonum.org/v1/plot;
// WriteAll draws all three (loss.png, accuracy.png, lr.png) from a run folder's metrics,
// which is what `netc plot RUNDIR` does:
//
//	if err := charts.WriteAll(runDir, false); err != nil && !errors.Is(err, charts.ErrNoEpochs) {
//		return err
//	}
//
// What to look for (CS231n's advice): a loss that decreases quickly then levels off is
// a good learning rate; one that decreases linearly and slowly is too low a rate, one
// that drops and plateaus early too high, one that explodes (NaN/Inf, counted in the
// title) far too high. A large gap between training and validation accuracy is
// overfitting (more regularization, more data); no gap means the model could be bigger.
package charts
