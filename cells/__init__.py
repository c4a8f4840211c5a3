"""The parametric cell library of layoutgen: one module per cell family."""
