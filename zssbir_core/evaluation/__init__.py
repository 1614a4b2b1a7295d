"""Retrieval metrics (mAP@all, mAP@200, P@k) and model evaluation on a dataset."""
