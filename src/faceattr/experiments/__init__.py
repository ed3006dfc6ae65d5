"""Paper reproductions: one command per paper, one YAML config per experiment.

``faceattr experiment paper000 --budget smoke|full`` trains every configuration of the paper
(resuming runs that were interrupted), evaluates each on the test split, and writes the
results next to the paper's published numbers.
"""
