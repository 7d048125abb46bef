package compiler

// input gives the shape of one input image; it is the first line of every spec.
var _ = register(&LayerType{
	Kind:   Input,
	Doc:    "the shape of one input image, channels × height × width; the first line",
	Role:   RoleInput,
	Syntax: Syntax{Dims: "shape", Example: "input 3x32x32"},
})
