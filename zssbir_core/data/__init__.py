"""Datasets for training and evaluation: folder layouts, benchmark readers, splits, sampling."""
