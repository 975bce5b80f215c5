"""Sorted-array primitives shared by the books (numba, inlined into their callers).

Levels are kept in arrays sorted by *key* ascending with the best level last (key = tick for
bids, -tick for asks, so "better" is "larger" on both sides). Most updates land a few levels
from the best, i.e. at the end of the array, where searching and shifting are cheapest.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, inline="always")
def lower_bound_nb(keys, n, key):
    """First index in [0, n) whose key is >= ``key`` (n if none).

    Scans the top 8 levels linearly (predictable branches), then binary-searches the rest.
    """
    j = n - 1
    stop = n - 8 if n > 8 else 0
    while j >= stop:
        if keys[j] < key:
            return j + 1
        if keys[j] == key:
            return j
        j -= 1
    if stop == 0:
        return 0
    lo = 0
    hi = stop  # keys[stop] > key
    while lo < hi:
        mid = (lo + hi) >> 1
        if keys[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def shift_up_nb(row, i, n):
    """row[i:n] -> row[i+1:n+1] (an explicit loop: numba's overlapping slice assignment goes
    through a temporary array, ~100x slower for the few slots moved here)."""
    for j in range(n, i, -1):
        row[j] = row[j - 1]


@njit(cache=True, inline="always")
def shift_down_nb(row, i, n, by):
    """row[i+by:n] -> row[i:n-by]."""
    for j in range(i, n - by):
        row[j] = row[j + by]
