#!/usr/bin/python3
# test/quality/blobs_silhouette.py -- the exact silhouette of the 200,000-row
# data set of test/t/040_segment_quality.pl, computed once with Debian's
# python3-sklearn (silhouette_score over all rows, no sampling) and recorded
# in that test as BLOBS_EXACT_SILHOUETTE.  Run: /usr/bin/python3 test/quality/blobs_silhouette.py
# Row i (0-based) belongs to blob i % 5 and is the blob's center plus, per
# coordinate j, ((i * P[j]) % 10007) / 10007 * 8 - 4; the test generates the
# same values in SQL (the same IEEE operations in the same order).
import numpy as np
from sklearn.metrics import silhouette_score

N = 200000
CENTERS = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 10], [10, 10, 10]], dtype=float)
P = [7919, 104729, 1299709]
i = np.arange(N, dtype=np.int64)
labels = i % 5
X = CENTERS[labels].copy()
for j, p in enumerate(P):
    X[:, j] += ((i * p) % 10007) / 10007 * 8 - 4
print(repr(silhouette_score(X, labels)))
