"""Benchmarks: measured numbers, printed as numbers and ratios, never asserted."""
