// Package data reads, splits, preprocesses, augments and batches the image classification
// data sets that netc trains on: MNIST and Fashion-MNIST (IDX files, gzipped or not) and
// CIFAR-10 (the binary version, the cifar-10-batches-bin folder).
//
// Images are float32 in C,H,W order per image, pixels scaled to [0, 1] by dividing the raw
// bytes by 255. A typical training setup is:
//
//	train, test, err := data.Load("cifar10", "")   // "" = default location
//	train, val, err := train.Split(5000)            // last 5,000 training images
//	var pre data.Preprocess
//	err = pre.Fit(train, data.MeanChannel, false)   // statistics of the training split only
//	pre.Apply(train); pre.Apply(val); pre.Apply(test)
//	ld := data.NewLoader(train, 64, seed)
//	ld.Augment = data.Augment{Flip: true, CropPad: 2}
//	x := make([]float32, 64*train.ImageSize())
//	y := make([]int32, 64)
//	for epoch := 0; epoch < epochs; epoch++ {
//		for b := 0; b < ld.BatchesPerEpoch(); b++ {
//			n := ld.Next(x, y) // x[:n*ImageSize()], y[:n]
//			...
//		}
//	}
//
// Randomness: every random choice (the shuffle of each epoch and the augmentation of each
// image) comes from a [nn.RNG] seeded from the loader's Seed, its Epoch and its
// position Pos in the epoch, so one seed reproduces a run and the three numbers
// ([Loader.State]) are all a checkpoint needs to resume it exactly.
//
// Errors: the readers never panic on truncated or malformed files; they return a
// [*FormatError] naming the file and what is wrong. [Load] returns an error wrapping
// [ErrNotFound] when it cannot find a data set, saying what it looked for and where.
package data
