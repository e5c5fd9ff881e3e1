"""Computation-graph drawing: layout and rendering."""
