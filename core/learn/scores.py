"""Scores of predicted against true molar conductivities."""

from __future__ import annotations

import numpy as np


def r2_score(true: np.ndarray, predicted: np.ndarray) -> float:
    """Coefficient of determination 1 − SS_res / SS_tot (nan with fewer than 2 systems or no spread).

    >>> r2_score(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]))
    1.0
    """
    true, predicted = np.asarray(true, dtype=float), np.asarray(predicted, dtype=float)
    spread = float(np.sum((true - true.mean()) ** 2)) if len(true) else 0.0
    if len(true) < 2 or spread == 0:
        return float("nan")
    return 1.0 - float(np.sum((true - predicted) ** 2)) / spread


def prediction_scores(true: np.ndarray, predicted: np.ndarray, true_err: np.ndarray, draws: int = 1000,
                      seed: int = 0) -> dict[str, float]:
    """How well ``predicted`` Λ matches ``true`` Λ (each (n_systems,)) whose standard errors are ``true_err``:
    ``n_systems``, ``rmse``, ``r2`` and the ``attainable_r2`` (± ``attainable_r2_std``) of a perfect model
    under that label noise (nan with fewer than two systems).

    >>> prediction_scores(np.array([1.0, 2.0]), np.array([1.0, 2.0]), np.zeros(2))["r2"]
    1.0
    """
    true, predicted = np.asarray(true, dtype=float), np.asarray(predicted, dtype=float)
    attainable, attainable_std = attainable_r2(true, true_err, draws, seed)
    return {"n_systems": int(len(true)), "rmse": float(np.sqrt(np.mean((true - predicted) ** 2))),
            "r2": r2_score(true, predicted), "attainable_r2": attainable, "attainable_r2_std": attainable_std}


def attainable_r2(true: np.ndarray, std: np.ndarray, draws: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Mean and std of the R² a perfect model would score given label noise.

    Each draw replaces Λ_s by a sample of N(Λ_s, std_s²) and scores it against
    Λ_s (the paper's bound: 0.96 ± 0.02).
    """
    true, std = np.asarray(true, dtype=float), np.asarray(std, dtype=float)
    rng = np.random.default_rng(seed)
    scores = np.array([r2_score(true, true + rng.normal(size=len(true)) * std) for _ in range(draws)])
    return float(np.mean(scores)), float(np.std(scores))
