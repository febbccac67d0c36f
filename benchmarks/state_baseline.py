"""What a smooth function of the state point alone scores on a run's labels: the reference for the headline.

The paper's claim is that local structure predicts each system's Λ. A model that is told the state point
(c, l_B) itself, and fitted by the run's own outer folds to the same labels with their errors, is not the
headline (it sees no structure), but it measures how much of the labels' variation any smooth model can
predict on held-out systems: where it scores well below the attainable R², the labels scatter about every
smooth surface by more than their errors say (a label outlier, or a bias that varies from system to
system), and no descriptor can close that gap.

Variants, each fitted on the training systems of every outer fold of the run's ``recipe.yaml`` (weights
1/σ², the labels' variances):

- ``plane``: Λ = a + b c + d l_B;
- ``quadratic``: all terms of degree ≤ 2 in (c, l_B);
- ``quadratic in 1/l_B``: the same in (c, 1/l_B) (Bjerrum pairing goes with 1/l_B in the exponent);
- ``GP``: a Gaussian process with an RBF kernel on (c, l_B) scaled to the grid, plus the labels' own
  variances as noise; its length scales and amplitude by marginal likelihood on the training systems.

Beside each score, what the same variant scores on synthetic labels with a known answer: the quadratic
surface fitted to the run's labels taken as the truth, plus Gaussian noise of the labels' stated errors
(``--draws`` realisations; then with the errors × ``--error-scale``). If the labels' errors were right, the
real score would lie within the synthetic spread; in-sample χ²/dof of each polynomial is printed too.

    python benchmarks/state_baseline.py --workdir /path/to/precise/run
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.learn.scores import prediction_scores  # noqa: E402


def design(c: np.ndarray, lb: np.ndarray, variant: str) -> np.ndarray:
    """(n, k) columns of the polynomial variants."""
    u = 1.0 / lb if "1/l_B" in variant else lb
    columns = [np.ones_like(c), c, u]
    if variant != "plane":
        columns += [c * c, c * u, u * u]
    return np.column_stack(columns)


def predict(train: np.ndarray, test: np.ndarray, state: np.ndarray, target: np.ndarray, variance: np.ndarray,
            variant: str) -> np.ndarray:
    """Λ predicted at the ``test`` systems from the ``train`` ones (index arrays)."""
    c, lb = state[:, 0], state[:, 1]
    if variant == "GP":
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel

        scale = state.max(axis=0) - state.min(axis=0)
        x = state / scale
        mean = np.average(target[train], weights=1 / variance[train])
        kernel = ConstantKernel(0.01, (1e-6, 1.0)) * RBF([0.5, 0.5], (0.05, 10.0))
        model = GaussianProcessRegressor(kernel, alpha=variance[train], normalize_y=False,
                                         n_restarts_optimizer=3, random_state=0)
        model.fit(x[train], target[train] - mean)
        return model.predict(x[test]) + mean
    x = design(c, lb, variant)
    w = 1.0 / np.sqrt(variance[train])
    coefficients, *_ = np.linalg.lstsq(x[train] * w[:, None], target[train] * w, rcond=None)
    return x[test] @ coefficients


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--draws", type=int, default=300, help="synthetic label sets per variant")
    parser.add_argument("--error-scale", type=float, default=1.5, help="the second synthetic set's error factor")
    args = parser.parse_args()
    from core.learn.splits import make_split
    from core.recipe.loader import load_recipe
    from core.storage.layout import read_transport

    resolved = load_recipe(args.workdir / "recipe.yaml", allow_unavailable=True)
    split = make_split(resolved.systems, resolved.recipe.split, stochastic=True)
    transport = {p.name.rsplit("-", 1)[0]: read_transport(p) for p in (args.workdir / "transport").iterdir()
                 if p.is_dir()}
    names = sorted(n for fold in split.outer_folds for n in fold)
    rows = [transport[n] for n in names]
    state = np.array([[t.concentration, t.bjerrum_length] for t in rows])
    target = np.array([t.molar_conductivity.value for t in rows])
    variance = np.array([t.molar_conductivity.err for t in rows]) ** 2
    position = {n: i for i, n in enumerate(names)}
    folds = [np.array([position[n] for n in fold]) for fold in split.outer_folds]
    def held_out(labels: np.ndarray, variant: str) -> np.ndarray:
        predicted = np.full(len(names), np.nan)
        for fold in folds:
            train = np.setdiff1d(np.arange(len(names)), fold)
            predicted[fold] = predict(train, fold, state, labels, variance, variant)
        return predicted

    from core.learn.scores import r2_score

    error = np.sqrt(variance)
    x = design(state[:, 0], state[:, 1], "quadratic")
    coefficients, *_ = np.linalg.lstsq(x / error[:, None], target / error, rcond=None)
    truth = x @ coefficients
    rng = np.random.default_rng(0)
    table = Table(title=f"smooth functions of (c, l_B) on {args.workdir}: outer-fold R² of Λ ({len(names)} systems)")
    for column in ("variant", "in-sample χ²/dof", "outer-fold R²", "largest |z| (system)", "synthetic, stated errors",
                   f"synthetic, errors × {args.error_scale:g}"):
        table.add_column(column)
    for variant in ("plane", "quadratic", "quadratic in 1/l_B", "GP"):
        predicted = held_out(target, variant)
        z = (predicted - target) / error
        worst = int(np.argmax(np.abs(z)))
        chi2 = ""
        if variant != "GP":
            columns = design(state[:, 0], state[:, 1], variant)
            fitted, *_ = np.linalg.lstsq(columns / error[:, None], target / error, rcond=None)
            chi2 = f"{np.sum(((target - columns @ fitted) / error) ** 2) / (len(names) - columns.shape[1]):.2f}"
        synthetic = []
        for scale in (1.0, args.error_scale):
            draws = args.draws if variant != "GP" else max(1, args.draws // 10)
            scores = []
            for _ in range(draws):
                labels = truth + rng.normal(size=len(names)) * error * scale
                scores.append(r2_score(labels, held_out(labels, variant)))
            synthetic.append(f"{np.mean(scores):.3f} ± {np.std(scores):.3f}")
        table.add_row(variant, chi2, f"{r2_score(target, predicted):.3f}", f"{z[worst]:+.1f} ({names[worst]})",
                      *synthetic)
    scores = prediction_scores(target, target, error)
    Console(width=200).print(table)
    print(f"attainable R² of the labels as stated: {scores['attainable_r2']:.3f} ± {scores['attainable_r2_std']:.3f}")


if __name__ == "__main__":
    main()
