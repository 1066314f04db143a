"""Standardising and an L2-penalised logistic regression fitted by Newton's method (numpy only),
shared by the training scripts."""

from __future__ import annotations

import numpy as np


def standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column's mean and standard deviation (1 for a constant column)."""
    mean = x.mean(axis=0, dtype=np.float64)
    scale = x.std(axis=0, dtype=np.float64)
    scale[scale < 1e-9] = 1.0
    return mean, scale


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float, *, balanced: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(mean, scale, coefficients, intercept): standardise, then Newton's method on the
    L2-penalised log loss (the intercept unpenalised); ``balanced``: the two classes weigh
    equally."""
    mean, scale = standardise(x)
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    sample = np.ones(len(y))
    if balanced:
        sample = np.where(y == 1, 0.5 / max(y.sum(), 1), 0.5 / max((1 - y).sum(), 1)) * len(y)
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-(z @ w)))
        grad = z.T @ (sample * (p - y)) + penalty * w
        hess = (z * (sample * p * (1 - p))[:, None]).T @ z + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return mean, scale, w[:-1], float(w[-1])
