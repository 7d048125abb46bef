package compiler

// LayerPlan says how a layer is computed.
type LayerPlan struct{}
