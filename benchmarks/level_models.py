"""Which linear level model predicts held-out systems' Λ best: system means alone, or with the measured shares.

For a finished run whose transport measured each ion's share, every system's features (the store of
``--columns`` columns) and labels, one linear k(x) = θ·x̃ + b per variant, scored by the outer-fold R² of Λ
(the recipe's outer folds, read from its ``recipe.yaml``) and by leave-one-system-out:

- ``system means`` (ridge's level): Σ_s (Λ_s − Λ̂_s)²/Δ_s + α|θ|², Λ̂_s = θ·m̃_s + b W_s (m̃_s the weighted
  mean of x̃ over system s, W_s its weight sum), α by leave-one-system-out of the training systems;
- ``joint`` (one likelihood for both kinds): the same plus λ Σ_s q_s(θ), q_s the shares' profiled χ² of
  system s (:mod:`core.learn.shape`: a free level per system, the far part once per valence), α and λ chosen
  together by leave-one-system-out of the training systems' Λ (λ = 0 is the first variant, so it can only
  win by predicting held-out Λ better);
- ``shares' slope``: θ from the shares alone (:func:`core.learn.shape.fit_shape`), then b by the system means
  (how much of the between-system variation the within-system shape explains by itself).

x̃ is the shape design (features centred over one RMS scale) or each column standardised (``--design``).

    python benchmarks/level_models.py --workdir /path/to/precise/run [--columns 468]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shape_designs import run_inputs  # noqa: E402

from core.learn.dataset import load_learning_data  # noqa: E402
from core.learn.scores import prediction_scores  # noqa: E402
from core.learn.shape import data_shape_groups, fit_shape, profiled_normal_equations  # noqa: E402

ALPHAS = np.logspace(-4, 6, 31)
LAMBDAS = np.array([0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0])


class Problem:
    """Per-system sufficient statistics of one run for linear level models (design x̃ (n, p))."""

    def __init__(self, data, design: np.ndarray) -> None:
        n, p = data.n_systems, design.shape[1]
        self.n, self.p = n, p
        self.target, self.variance = np.asarray(data.target), np.asarray(data.variance)
        means = np.zeros((n, p))
        np.add.at(means, data.system_index, data.weight[:, None] * design)
        totals = np.bincount(data.system_index, weights=data.weight, minlength=n)
        self.rows = np.hstack([means, totals[:, None]])          # (n, p + 1): Λ̂_s = rows_s · (θ, b)
        self.blocks, self.rhs = np.zeros((n, p, p)), np.zeros((n, p))
        self.has_shares = data.has_local_labels
        if self.has_shares:
            precision, shares = data.local_precision(), np.nan_to_num(data.local_target)
            self.groups = data_shape_groups(data)
            self.design, self.shares, self.precision = design, shares, precision
            for s in range(n):
                self.blocks[s], self.rhs[s] = profiled_normal_equations(design, shares, precision, self.groups,
                                                                         np.array([s]))

    def solve(self, train: np.ndarray, alpha: float, lam: float) -> np.ndarray:
        """(θ, b) (p + 1,) minimising the training systems' level χ² + λ shares' q + α|θ|²."""
        rows, w = self.rows[train], 1.0 / self.variance[train]
        hessian = rows.T @ (rows * w[:, None])
        gradient = rows.T @ (w * self.target[train])
        if lam > 0:
            hessian[:-1, :-1] += lam * self.blocks[train].sum(axis=0)
            gradient[:-1] += lam * self.rhs[train].sum(axis=0)
        penalty = np.full(self.p + 1, alpha)
        penalty[-1] = 0.0
        return np.linalg.solve(hessian + np.diag(penalty) + 1e-12 * np.eye(self.p + 1), gradient)

    def predict(self, coef: np.ndarray, systems: np.ndarray) -> np.ndarray:
        return self.rows[systems] @ coef

    def choose(self, train: np.ndarray, lambdas: np.ndarray) -> tuple[float, float]:
        """(α, λ) by leave-one-system-out χ² of Λ over ``train``."""
        best, chosen = np.inf, (ALPHAS[0], 0.0)
        for lam in lambdas:
            for alpha in ALPHAS:
                chi2 = 0.0
                for held in train:
                    rest = train[train != held]
                    coef = self.solve(rest, alpha, lam)
                    chi2 += (self.target[held] - self.predict(coef, np.array([held]))[0]) ** 2 / self.variance[held]
                if chi2 < best:
                    best, chosen = chi2, (alpha, lam)
        return chosen

    def shares_slope(self, train: np.ndarray) -> np.ndarray:
        """θ from the training systems' shares alone (penalty by their held-out profiled χ²), b by Λ."""
        keep = np.isin(self.groups.system[self.groups.row_group], train)
        from dataclasses import replace

        groups = replace(self.groups, rows=self.groups.rows[keep], row_group=self.groups.row_group[keep])
        theta = fit_shape(self.design, self.shares, self.precision, groups, ALPHAS).coef
        w = 1.0 / self.variance[train]
        residual = self.target[train] - self.rows[train, :-1] @ theta
        total = self.rows[train, -1]
        b = float(np.sum(w * total * residual) / np.sum(w * total ** 2))
        return np.append(theta, b)


class EmbeddingGP:
    """A Gaussian-process prior on the local function, k ~ GP(b, A·exp(−|x − x'|²/2ℓ²)), observed through the
    system means: Cov(Λ_s, Λ_t) = A W_s W_t ⟨K(x_i, x_j)⟩_{i∈s, j∈t} (+ B W_s W_t for the free constant b),
    plus the label variances Δ_s on the diagonal. The means over environments are taken over ``per_system``
    environments drawn from each system. (A, ℓ) by the training systems' leave-one-out χ² (closed form)."""

    def __init__(self, data, design: np.ndarray, per_system: int = 300, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        n = data.n_systems
        picks = [rng.choice(np.flatnonzero(data.system_index == s), size=min(per_system,
                 int(np.sum(data.system_index == s))), replace=False) for s in range(n)]
        points = np.concatenate([design[p] for p in picks])
        owner = np.concatenate([np.full(len(p), s) for s, p in enumerate(picks)])
        squares = np.sum(points ** 2, axis=1)
        self.distance = np.maximum(squares[:, None] + squares[None, :] - 2 * points @ points.T, 0.0)
        self.median = float(np.median(self.distance))
        totals = np.bincount(data.system_index, weights=data.weight, minlength=n)
        self.average = np.zeros((n, len(points)))
        self.average[owner, np.arange(len(points))] = totals[owner] / np.bincount(owner)[owner]
        self.totals, self.target, self.variance, self.n = totals, np.asarray(data.target), np.asarray(data.variance), n
        self.grams: dict[float, np.ndarray] = {}

    def gram(self, scale: float) -> np.ndarray:
        """(n, n) W_s W_t ⟨K⟩ for the length scale ``scale`` (in units of the median pair distance)."""
        if scale not in self.grams:
            kernel = np.exp(-self.distance / (2 * scale ** 2 * self.median))
            self.grams[scale] = self.average @ kernel @ self.average.T
        return self.grams[scale]

    def covariance(self, scale: float, amplitude: float) -> np.ndarray:
        constant = 1e3 * float(np.mean(self.target ** 2)) / float(np.mean(self.totals ** 2))
        return amplitude * self.gram(scale) + constant * np.outer(self.totals, self.totals)

    def loo_chi2(self, train: np.ndarray, scale: float, amplitude: float) -> float:
        matrix = self.covariance(scale, amplitude)[np.ix_(train, train)] + np.diag(self.variance[train])
        inverse = np.linalg.inv(matrix)
        residual = (inverse @ self.target[train]) / np.diag(inverse)
        return float(np.sum(residual ** 2 / self.variance[train]))

    def predict(self, train: np.ndarray, test: np.ndarray, scales, amplitudes) -> tuple[np.ndarray, tuple]:
        score, scale, amplitude = min((self.loo_chi2(train, s, a), s, a) for s in scales for a in amplitudes)
        cov = self.covariance(scale, amplitude)
        matrix = cov[np.ix_(train, train)] + np.diag(self.variance[train])
        return cov[np.ix_(test, train)] @ np.linalg.solve(matrix, self.target[train]), (scale, amplitude)


GP_SCALES = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
GP_AMPLITUDES = tuple(np.logspace(-6, 3, 37))


def held_out_predictions(problem: Problem, folds: list[np.ndarray], variant: str, gp=None) -> tuple[np.ndarray, list]:
    predicted, chosen = np.full(problem.n, np.nan), []
    for fold in folds:
        train = np.setdiff1d(np.arange(problem.n), fold)
        if variant == "GP on k":
            predicted[fold], c = gp.predict(train, fold, GP_SCALES, GP_AMPLITUDES)
            chosen.append(c)
            continue
        if variant == "shares' slope":
            coef = problem.shares_slope(train)
            chosen.append(None)
        else:
            lambdas = LAMBDAS if variant == "joint" else np.array([0.0])
            alpha, lam = problem.choose(train, lambdas)
            coef = problem.solve(train, alpha, lam)
            chosen.append((alpha, lam))
        predicted[fold] = problem.predict(coef, fold)
    return predicted, chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--columns", type=int, default=468)
    parser.add_argument("--design", choices=("rms", "standardised"), default="rms")
    parser.add_argument("--loo", action="store_true", help="also leave-one-system-out (slow)")
    parser.add_argument("--variants", nargs="+", default=["system means", "joint", "shares' slope", "GP on k"])
    args = parser.parse_args()
    names, stores, transport, attributions = run_inputs(args.workdir, args.columns)
    data = load_learning_data(names, stores, transport, bonded_ions="zero", min_relative_std=0.0, labels="both",
                              attributions=attributions)
    features = np.asarray(data.features, dtype=np.float64)
    centred = features - features.mean(axis=0)
    spread = features.std(axis=0)
    design = (centred / float(np.sqrt(np.mean(spread ** 2))) if args.design == "rms"
              else centred / np.where(spread > 0, spread, 1.0))
    problem = Problem(data, design)
    from core.recipe.loader import load_recipe
    from core.learn.splits import make_split

    resolved = load_recipe(args.workdir / "recipe.yaml", allow_unavailable=True)
    split = make_split(resolved.systems, resolved.recipe.split, stochastic=True)
    position = {name: i for i, name in enumerate(names)}
    schemes = {"outer folds": [np.array([position[n] for n in fold]) for fold in split.outer_folds]}
    if args.loo:
        schemes["leave one out"] = [np.array([i]) for i in range(problem.n)]
    err = np.sqrt(problem.variance)
    table = Table(title=f"linear level models on {args.workdir} ({problem.n} systems, {problem.p} columns, "
                        f"design {args.design})")
    for column in ("variant", "scheme", "R²", "attainable", "chosen (α, λ)"):
        table.add_column(column)
    gp = EmbeddingGP(data, design)
    for variant in args.variants:
        for scheme, folds in schemes.items():
            predicted, chosen = held_out_predictions(problem, folds, variant, gp)
            scores = prediction_scores(problem.target, predicted, err)
            table.add_row(variant, scheme, f"{scores['r2']:.3f}", f"{scores.get('attainable_r2', float('nan')):.3f}",
                          " ".join("-" if c is None else f"({c[0]:.2g},{c[1]:.2g})" for c in chosen))
    Console().print(table)


if __name__ == "__main__":
    main()
