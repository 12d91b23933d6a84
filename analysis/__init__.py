"""Experiment runners, result tables and plots, on the public nnenc API only."""
