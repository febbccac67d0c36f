"""The ``ridge`` model: a linear local conductivity k_i = a·x̃_i + b, fitted on system means.

The mean of a linear function is that function of the mean, so with system
weights w_i (summing to W_s ≤ 1; below 1 when bonded ions count as zero)

    Λ̂_s = Σ_i w_i (a·x̃_i + b) = a·m̃_s + b·W_s,   m̃_s = Σ_i w_i x̃_i,

where x̃ are features standardised on the training environments. Ridge
regression of Λ_s on (m̃_s, W_s) with sample weights 1/Δ_s (scikit-learn
``RidgeCV``, its efficient leave-one-system-out cross-validation choosing the
penalty among ``alphas``) gives a and b; b is (almost) unpenalised by
scaling its column by ``INTERCEPT_SCALE``. Deterministic: one member per fold.

With measured local labels (``model.labels``: ``both`` or ``attribution``), k_i = ḡ_s + d(x_i) − d̄_s: the
level is, for ``both``, one linear k on the shape design fitted to the system means and the shares' profiled
likelihood together, the shares' weight λ among ``share_weights`` and the penalty among ``alphas`` chosen by
leave-one-system-out χ² of Λ (:func:`core.api.fit_joint_level`), and for ``attribution`` the ridge above on
the shares' own system means; the shape d a second
linear model on the descriptor's shape design, fitted in closed form to the shares' profiled likelihood,
its penalty among ``alphas`` chosen by the held-out profiled χ² of whole training systems
(:func:`core.api.fit_shape`; docs/learn.md).

Per-environment confidence: with prior precision α (the chosen penalty) and
noise Δ_s, the posterior covariance of (a, b) is (DᵀΔ⁻¹D + αI)⁻¹ for the design D
above, and ``local_variance`` is each environment's r_iᵀ(…)⁻¹r_i with
r_i = (x̃_i, INTERCEPT_SCALE) (:mod:`core.learn.rigidity`); with a shape, var(ḡ_s) + var(d_i − d̄_s).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pydantic import Field

from core.api import (SHARE_WEIGHTS, LearningData, ModelPlugin, PluginConfig, decomposed_k, data_shape_groups,
                      fit_joint_level, fit_shape, local_variance, posterior_covariance, shape_design,
                      shape_design_scale, share_level_data, system_statistics)

COEFFICIENTS_FILE = "ridge.npz"
#: The intercept column is multiplied by this, so the penalty on b is negligible.
INTERCEPT_SCALE = 1e3


class RidgeConfig(PluginConfig):
    """Penalty grid for the cross-validated choice (on standardised features)."""

    alphas: list[float] = Field(default_factory=lambda: np.logspace(-4, 4, 33).tolist(), min_length=1)
    share_weights: list[float] = Field(
        default_factory=lambda: list(SHARE_WEIGHTS), min_length=1,
        description="with model.labels: both, the weights λ (multiples of the shares' stated precision) tried for "
                    "the measured shares in the level's likelihood, chosen with the penalty by leave-one-system-out "
                    "χ² of Λ; [0]: the level from the system means alone")


class RidgeMember:
    """fit / predict_local / save; learned state ends in ``_``."""

    def __init__(self, config: RidgeConfig) -> None:
        self.config = config

    def fit(self, train: LearningData, validation: LearningData | None = None) -> RidgeMember:
        """The level (a, b) by RidgeCV on the system means; with local labels, the shape θ by the shares'
        profiled likelihood (module docstring); returns self."""
        from sklearn.linear_model import RidgeCV

        features = np.asarray(train.features, dtype=np.float64)
        self.feature_mean_ = features.mean(axis=0)
        std = features.std(axis=0)
        self.feature_std_ = np.where(std > 1e-12 * max(1.0, float(std.max(initial=0.0))), std, 1.0)
        self.level_design_ = "standardised"
        self.share_weight_ = 0.0
        self.shape_coef_ = self.shape_covariance_ = None
        self.shape_alpha_ = float("nan")
        if train.has_local_labels and train.fit_system_means:
            self._fit_joint(train)
            return self
        level = train.without_local_labels() if train.fit_system_means else share_level_data(train)
        design, target, variance = self._design(level), np.asarray(level.target, np.float64), np.asarray(level.variance)
        if len(self.config.alphas) > 1 and len(target) > 2:
            regression = RidgeCV(alphas=self.config.alphas, fit_intercept=False)
        else:
            from sklearn.linear_model import Ridge

            regression = Ridge(alpha=self.config.alphas[0], fit_intercept=False)
        regression.fit(design, target, sample_weight=1.0 / variance)
        self.coef_ = regression.coef_[:-1] / self.feature_std_
        self.intercept_ = float(regression.coef_[-1] * INTERCEPT_SCALE - self.coef_ @ self.feature_mean_)
        self.alpha_ = float(getattr(regression, "alpha_", self.config.alphas[0]))
        self.covariance_ = posterior_covariance(design, variance, self.alpha_)
        if train.has_local_labels:
            self._fit_shape(train)
        return self

    def _fit_joint(self, train: LearningData) -> None:
        """``labels: both``: the level θ·x̃ + b by both label kinds in one likelihood (:func:`core.api.
        fit_joint_level`: α and the shares' weight λ by leave-one-system-out χ² of Λ), on the shape design;
        the shape as with ``attribution`` (:meth:`_fit_shape`), from the same per-system statistics."""
        self.shape_mean_, self.shape_scale_ = shape_design_scale(train.features)
        design = shape_design(train.features, self.shape_mean_, self.shape_scale_)
        shares, precision = np.nan_to_num(np.asarray(train.local_target, np.float64)), train.local_precision()
        groups = data_shape_groups(train)
        stats = system_statistics(design, train.system_index, train.weight, train.n_systems, shares, precision, groups)
        level = fit_joint_level(stats, train.target, train.variance, self.config.alphas, self.config.share_weights)
        self.level_design_ = "shape"
        self.coef_ = level.coef / self.shape_scale_
        self.intercept_ = float(level.intercept - self.coef_ @ self.shape_mean_)
        self.alpha_, self.share_weight_, self.covariance_ = level.alpha, level.share_weight, level.covariance
        self.level_held_out_chi2_ = level.held_out_chi2
        fitted = fit_shape(design, shares, precision, groups, np.asarray(self.config.alphas),
                           blocks=(stats.blocks, stats.rhs))
        self.shape_alpha_ = fitted.alpha
        self.shape_coef_ = fitted.coef / self.shape_scale_
        self.shape_covariance_ = fitted.covariance

    def _fit_shape(self, train: LearningData) -> None:
        """θ by the shares' profiled likelihood on the shape design (the centred features over one RMS scale,
        :func:`core.api.shape_design_scale`; :func:`core.api.fit_shape`: the penalty among ``alphas`` by the
        held-out profiled χ² of whole training systems)."""
        self.shape_mean_, self.shape_scale_ = shape_design_scale(train.features)
        fitted = fit_shape(shape_design(train.features, self.shape_mean_, self.shape_scale_),
                           np.nan_to_num(np.asarray(train.local_target, dtype=np.float64)),
                           train.local_precision(), data_shape_groups(train), np.asarray(self.config.alphas))
        self.shape_alpha_ = fitted.alpha
        self.shape_coef_ = fitted.coef / self.shape_scale_     # d = features · shape_coef (+ a constant)
        self.shape_covariance_ = fitted.covariance

    def _representation(self, features: np.ndarray) -> np.ndarray:
        """r_i = (x̃_i, INTERCEPT_SCALE): the vector whose product with the ridge coefficients is k_i (with a
        joint level: (shape design x̃_i, 1))."""
        if getattr(self, "level_design_", "standardised") == "shape":
            design = shape_design(features, self.shape_mean_, self.shape_scale_)
            return np.hstack([design, np.ones((len(design), 1))])
        standardised = (np.asarray(features, dtype=np.float64) - self.feature_mean_) / self.feature_std_
        return np.hstack([standardised, np.full((len(standardised), 1), INTERCEPT_SCALE)])

    def local_variance(self, features: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
        """Posterior variance of k for each row of ``features`` ((n, dim) -> (n,)), units of Λ²; with a shape
        (rows of one system, as for :meth:`predict_local`): var(ḡ) + var(d_i − d̄)."""
        level = self._representation(features)
        if self.shape_coef_ is None:
            return local_variance(level, self.covariance_)
        weight = np.ones(len(level)) if weight is None else np.asarray(weight, np.float64)
        total = max(float(weight.sum()), 1e-300)
        mean_level = (weight @ level / total)[None, :]
        design = shape_design(features, self.shape_mean_, self.shape_scale_)
        centred = design - weight @ design / total
        return local_variance(mean_level, self.covariance_)[0] + local_variance(centred, self.shape_covariance_)

    def _design(self, data: LearningData) -> np.ndarray:
        standardised = (np.asarray(data.features, dtype=np.float64) - self.feature_mean_) / self.feature_std_
        means = np.zeros((data.n_systems, standardised.shape[1]))
        np.add.at(means, data.system_index, data.weight[:, None] * standardised)
        totals = np.bincount(data.system_index, weights=data.weight, minlength=data.n_systems)
        return np.hstack([means, INTERCEPT_SCALE * totals[:, None]])

    def predict_local(self, features: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
        """k of each row (n, dim) -> (n,); with a shape the rows are one system's environments and ``weight``
        (n,) their weights in its mean (uniform by default): k = ḡ + d − d̄."""
        features = np.asarray(features, dtype=np.float64)
        level = features @ self.coef_ + self.intercept_
        if self.shape_coef_ is None:
            return level
        return decomposed_k(level, features @ self.shape_coef_, weight)

    def save(self, directory: Path) -> None:
        shape = {} if self.shape_coef_ is None else {"shape_coef": self.shape_coef_,
                                                      "shape_covariance": self.shape_covariance_,
                                                      "shape_mean": self.shape_mean_,
                                                      "shape_scale": self.shape_scale_}
        np.savez(directory / COEFFICIENTS_FILE, coef=self.coef_, intercept=self.intercept_,
                 feature_mean=self.feature_mean_, feature_std=self.feature_std_, covariance=self.covariance_, **shape)
        (directory / "ridge.json").write_text(json.dumps({"alpha": self.alpha_, "shape_alpha": self.shape_alpha_,
                                                          "level_design": self.level_design_,
                                                          "share_weight": self.share_weight_}))

    @classmethod
    def load(cls, directory: Path, config: RidgeConfig) -> RidgeMember:
        member = cls(config)
        with np.load(directory / COEFFICIENTS_FILE) as saved:
            member.coef_ = saved["coef"]
            member.intercept_ = float(saved["intercept"])
            member.feature_mean_ = saved["feature_mean"]
            member.feature_std_ = saved["feature_std"]
            member.covariance_ = saved["covariance"]
            member.shape_coef_ = saved["shape_coef"] if "shape_coef" in saved else None
            member.shape_covariance_ = saved["shape_covariance"] if "shape_covariance" in saved else None
            if "shape_mean" in saved:
                member.shape_mean_, member.shape_scale_ = saved["shape_mean"], float(saved["shape_scale"])
        chosen = json.loads((directory / "ridge.json").read_text())
        member.alpha_ = chosen["alpha"]
        member.shape_alpha_ = chosen.get("shape_alpha", float("nan"))
        member.level_design_ = chosen.get("level_design", "standardised")
        member.share_weight_ = chosen.get("share_weight", 0.0)
        return member


class RidgeModel(ModelPlugin):
    name = "ridge"
    version = "1.5"
    Config = RidgeConfig
    stochastic = False
    fits_local_labels = True
    requires = ("sklearn",)
    install_hint = "pip install 'localcond[sklearn]'"
    description = "linear k on standardised features, ridge on system means (scikit-learn)"

    def create(self, seed: int, threads: int) -> RidgeMember:
        return RidgeMember(self.config)

    def load(self, directory: Path) -> RidgeMember:
        return RidgeMember.load(directory, self.config)
