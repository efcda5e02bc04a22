"""Benchmarks of the Matyan backend, run by ``make bench*``; one module per thing measured."""
