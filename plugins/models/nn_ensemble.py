"""The ``nn-ensemble`` model: the paper's multilayer perceptron k_i = f_θ(x_i), in torch.

Each ensemble member (core trains 25 by default: 5 folds × 5 seeds) is an MLP
(two hidden layers of 100 ReLU units by default) fitted by Adam to the paper's
eq. 12, Σ_s (Λ_s − Λ̂_s)² / Δ_s, where Λ̂_s is the weighted mean of f over
all environments of system s (a segment sum with ``index_add_``). Features
are standardised with the training systems' mean and standard deviation, and
k is learnt in units of the training systems' mean |Λ| (both stored with the
weights); the output bias starts at the best constant k. Training stops early
at the epoch of lowest validation RMSE of Λ (patience ``patience`` epochs)
and keeps that epoch's weights.

``environments_per_step`` = m (default 64; null for full batch) subsamples environments: each
optimiser step estimates every chosen system's Σ_i w_i k_i from m environments
drawn uniformly with replacement (n_s · mean of w_i k_i, unbiased), and
subtracts that estimate's own variance (n_s² s²/m, s² the draws' sample
variance) from the squared error, so the step's loss, and hence its gradient,
is an unbiased estimate of the full-batch one (without the correction the
subsample variance would add a penalty on the spread of k within a system).
An epoch is then ⌈n̄/m⌉ steps, n̄ the mean environments per system, so that
it still visits about as many environments as a full-batch epoch.

``prior_scale`` = β > 0 gives each member a randomized prior (Osband et
al. 2018): its k is the trained network plus β times a fixed random network
drawn from its own seed. Where the system means constrain k, training cancels
the prior; where they do not, each member keeps its own, so the members'
spread (``k_std``) grows there.

Measured local labels (the recipe's ``model.labels``: ``both``, the default, or ``attribution``): the
member's k is ḡ_s + d(x_i) − d̄_s (:func:`core.api.decomposed_k`). With ``both`` and ``linear_level`` (the
default) the level g is a linear k fitted to both label kinds in one likelihood (:func:`core.api.fit_joint_level`,
the ridge plugin's level) plus the network above trained on eq. 12 of what it leaves, its last layer starting
at zero and the untrained state early stopping's first candidate; otherwise g is the network alone, trained
exactly as with ``system-means`` (for ``attribution``, on the shares' own system means). The shape d
is linear in the descriptor's shape design (:func:`core.api.shape_design_scale`), fitted in closed form to
the shares' profiled likelihood, its penalty among ``shape_alphas`` chosen by the held-out profiled χ² of
whole training systems (:func:`core.api.fit_shape`; docs/learn.md). The shape never moves a system's
mean, and no weight between the two label kinds is set by hand: the linear level's share weight is chosen
by leave-one-system-out χ² of Λ. ``predict_local`` then takes one
system's rows (and their weights in its mean).

Per-environment confidence (``local_variance``): the network is linear in
its last hidden layer h, so with the labels' errors Δ_s and a Gaussian prior
of standard deviation ``rigidity_prior_std`` (in units of the target scale) on
the output weights, the posterior variance of k_i is r_iᵀA⁻¹r_i, r = (h, 1)
(:mod:`core.learn.rigidity`), computed once after training on the training systems and stored with the
weights; with a shape, var(ḡ_s) + var(d_i − d̄_s), the second from the shape's own posterior.

Training runs inside :func:`core.memory.retained_heap`: without it, glibc
returns each step's large activations to the kernel and page-faults them
back, which took half the CPU time of a full-batch run.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from core.api import (SHARE_WEIGHTS, LearningData, ModelPlugin, PluginConfig, data_shape_groups, decomposed_k,
                      fit_joint_level, fit_shape, label_rows, local_variance, posterior_covariance, retained_heap,
                      shape_design, shape_design_scale, share_level_data, system_statistics)

WEIGHTS_FILE = "nn-member.pt"
#: A member's random prior network is drawn with its seed plus this (so it differs from its initialisation).
PRIOR_SEED_OFFSET = 7919
#: What a member saves of its shape (attributes with a trailing underscore).
SHAPE_STATE = ("shape_coef", "shape_covariance", "shape_mean")
#: What a member saves of its linear level (attributes with a trailing underscore).
LINEAR_STATE = ("linear_coef", "linear_covariance")


class NNEnsembleConfig(PluginConfig):
    """Network and optimiser; defaults are the paper's."""

    hidden: list[int] = Field(default=[100, 100], min_length=1, description="hidden layer widths")
    learning_rate: float = Field(default=5e-4, gt=0)
    max_epochs: int = Field(default=1000, ge=1)
    patience: int = Field(default=100, ge=1, description="epochs without a better validation RMSE before stopping")
    systems_per_batch: int | None = Field(
        default=None, ge=1, description="systems per optimiser step; null: all training systems (full batch)")
    environments_per_step: int | None = Field(
        default=64, ge=2, description="environments drawn per system for each optimiser step (unbiased, "
                                      "variance-corrected); null: every environment (full batch, the 1.0 loop)")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    weight_decay: float = Field(default=0.0, ge=0)
    prior_scale: float = Field(
        default=0.0, ge=0, description="randomized prior: each member adds this times a fixed random network of "
                                       "its own seed to its output (0: none), so members differ where the labels "
                                       "do not constrain k")
    shape_alphas: list[float] = Field(
        default_factory=lambda: np.logspace(-4, 4, 33).tolist(), min_length=1,
        description="penalties tried for the shape fitted to measured shares (model.labels: both or attribution), "
                    "chosen by the held-out profiled χ² of whole training systems")
    linear_level: bool = Field(
        default=True, description="with model.labels: both, the network learns the residual of a linear k fitted "
                                  "to both label kinds in one likelihood (the ridge plugin's level), its last "
                                  "layer starting at zero so that early stopping may keep the linear k; false: "
                                  "the network alone fits the system means")
    share_weights: list[float] = Field(
        default_factory=lambda: list(SHARE_WEIGHTS), min_length=1,
        description="the linear level's weights λ for the measured shares (multiples of their stated precision), "
                    "chosen with its penalty (among shape_alphas) by leave-one-system-out χ² of Λ")
    rigidity_prior_std: float = Field(
        default=1.0, gt=0, description="prior std of the output-layer weights (target-scale units) for the "
                                       "per-environment posterior variance of k")


def _network(dim: int, hidden: list[int]):
    import torch

    layers: list[torch.nn.Module] = []
    width = dim
    for size in hidden:
        layers += [torch.nn.Linear(width, size), torch.nn.ReLU()]
        width = size
    layers.append(torch.nn.Linear(width, 1))
    return torch.nn.Sequential(*layers)


#: Above this many values, feature statistics are accumulated in row blocks instead of on a float64 copy.
WHOLE_ARRAY_STATISTICS = 1 << 26


def column_mean_std(features: np.ndarray, chunk: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and (population) standard deviation of an (n, dim) array, both (dim,) float64.

    Up to :data:`WHOLE_ARRAY_STATISTICS` values, numpy's on a float64 copy (as nn-ensemble 1.0 did, so the
    same data standardise bit for bit as before); above, accumulated in float64 over row blocks, which
    needs no float64 copy of the whole array (9 GB at the paper's size) and agrees to ~10⁻¹⁴.
    """
    if np.size(features) <= WHOLE_ARRAY_STATISTICS:
        whole = np.asarray(features, dtype=np.float64)
        return whole.mean(axis=0), whole.std(axis=0)
    n = len(features)
    total = np.zeros(np.shape(features)[1])
    for start in range(0, n, chunk):
        total += np.sum(features[start:start + chunk], axis=0, dtype=np.float64)
    mean = total / max(n, 1)
    squares = np.zeros_like(mean)
    for start in range(0, n, chunk):
        squares += np.sum((np.asarray(features[start:start + chunk], dtype=np.float64) - mean) ** 2, axis=0)
    return mean, np.sqrt(squares / max(n, 1))


def _best_constant(data: LearningData) -> float:
    """The constant k minimising eq. 12: Σ_s W_s Λ_s / Δ_s / Σ_s W_s² / Δ_s, W_s the system's weight sum."""
    totals = np.bincount(data.system_index, weights=data.weight, minlength=data.n_systems)
    denominator = float(np.sum(totals ** 2 / data.variance))
    return float(np.sum(totals * data.target / data.variance)) / denominator if denominator > 0 else 0.0


class SystemBatch:
    """One LearningData's tensors on a device, for repeated segment means."""

    def __init__(self, data: LearningData, feature_mean: np.ndarray, feature_std: np.ndarray, target_scale: float,
                 device) -> None:
        import torch

        self.n_systems = data.n_systems
        order = np.argsort(data.system_index, kind="stable")   # each system's rows contiguous, for sampling
        standardised = (np.asarray(data.features, dtype=np.float32)[order] - feature_mean) / feature_std
        self.features = torch.as_tensor(standardised, dtype=torch.float32, device=device)
        self.system_index = torch.as_tensor(data.system_index[order], dtype=torch.int64, device=device)
        self.weight = torch.as_tensor(data.weight[order], dtype=torch.float32, device=device)
        sizes = np.bincount(data.system_index, minlength=data.n_systems)
        self.sizes = torch.as_tensor(sizes, dtype=torch.int64, device=device)
        self.offsets = torch.as_tensor(np.cumsum(sizes) - sizes, dtype=torch.int64, device=device)
        self.target = torch.as_tensor(data.target / target_scale, dtype=torch.float32, device=device)
        self.inverse_variance = torch.as_tensor(target_scale ** 2 / data.variance, dtype=torch.float32, device=device)
        self.order = order

    def system_means(self, network, rows=None):
        """Λ̂_s / scale for every system, (n_systems,), from the network's k of every environment."""
        import torch

        features, index, weight = self.features, self.system_index, self.weight
        if rows is not None:
            features, index, weight = features[rows], index[rows], weight[rows]
        local = network(features).squeeze(-1)
        return torch.zeros(self.n_systems, dtype=local.dtype, device=local.device).index_add_(0, index,
                                                                                               weight * local)

    def sampled_means(self, network, systems, per_system: int, generator):
        """(estimates of Λ̂_s / scale, their variances), both (len(systems),), from ``per_system`` draws each.

        Draws are uniform with replacement within each system: n_s·w_i·k_i is then an unbiased estimate of
        Σ_i w_i k_i, and its sample variance over the draws / ``per_system`` an unbiased estimate of the
        variance of their mean. A system without environments gets 0 and 0.
        """
        import torch

        sizes = self.sizes[systems]
        uniform = torch.rand(len(systems), per_system, generator=generator).to(sizes.device)
        position = torch.minimum((uniform * sizes[:, None]).long(), (sizes - 1).clamp(min=0)[:, None])
        draws = (self.offsets[systems][:, None] + position).reshape(-1)
        local = network(self.features[draws]).squeeze(-1).view(len(systems), per_system)
        terms = local * self.weight[draws].view(len(systems), per_system) * sizes[:, None].to(local.dtype)
        present = (sizes > 0).to(local.dtype)
        means, variances = terms.mean(dim=1) * present, terms.var(dim=1, unbiased=True) / per_system * present
        return means, variances


class NNMember:
    """One member: fit, predict_local, save (learned state in attributes ending in ``_``)."""

    def __init__(self, config: NNEnsembleConfig, seed: int, threads: int) -> None:
        self.config = config
        self.seed = seed
        self.threads = threads

    def _device(self):
        import torch

        wanted = self.config.device
        if wanted == "auto":
            wanted = "cuda" if torch.cuda.is_available() else "cpu"
        return torch.device(wanted)

    def fit(self, train: LearningData, validation: LearningData | None = None) -> NNMember:
        """Fit the level network to the system means and, with local labels, the shape network to the shares
        (module docstring); returns self."""
        import torch

        torch.set_num_threads(max(1, self.threads))
        generator = torch.Generator().manual_seed(self.seed)
        torch.manual_seed(self.seed)
        device = self._device()
        mean, std = column_mean_std(train.features)
        self.feature_mean_ = mean.astype(np.float32)
        self.feature_std_ = np.where(std > 1e-8 * max(1.0, float(std.max(initial=0.0))), std, 1.0).astype(np.float32)
        level_train, level_validation = train.without_local_labels(), None
        if validation is not None:
            level_validation = validation.without_local_labels()
        if not train.fit_system_means:   # labels: attribution: the level from the shares' own system means
            level_train = share_level_data(train)
            level_validation = share_level_data(validation) if validation is not None else None
        self.target_scale_ = float(np.mean(np.abs(level_train.target))) or 1.0
        self.dim_ = int(np.shape(train.features)[1])
        self.prior_ = self._random_prior().to(device) if self.config.prior_scale > 0 else None
        self.linear_coef_ = self.shape_coef_ = self.shape_covariance_ = None
        statistics = None
        if train.has_local_labels and train.fit_system_means and self.config.linear_level:
            statistics = self._fit_linear_level(train)
            level_train = self._residual(level_train)
            level_validation = self._residual(level_validation) if level_validation is not None else None
        network, best, history = self._train_level(level_train, level_validation, device, generator,
                                                   residual=self.linear_coef_ is not None)
        self.network_ = network.cpu().eval()
        if self.prior_ is not None:
            self.prior_ = self.prior_.cpu().eval()
        rows, variances = label_rows(self._representation(train.features), level_train, self.target_scale_)
        self.covariance_ = posterior_covariance(rows, variances, 1.0 / self.config.rigidity_prior_std ** 2)
        self.best_epoch_ = best[1]
        self.validation_rmse_ = best[0] * self.target_scale_
        self.history_ = [h * self.target_scale_ for h in history]
        if train.has_local_labels:
            self._fit_shape(train, statistics)
        return self

    def _fit_linear_level(self, train: LearningData):
        """The linear level k = θ·x̃ + b by both label kinds in one likelihood (:func:`core.api.fit_joint_level`,
        the ridge plugin's ``labels: both`` level), on the shape design; returns the per-system statistics
        (reused by the shape)."""
        self.shape_mean_, self.shape_scale_ = shape_design_scale(train.features)
        design = shape_design(train.features, self.shape_mean_, self.shape_scale_)
        shares = np.nan_to_num(np.asarray(train.local_target, dtype=np.float64))
        statistics = system_statistics(design, train.system_index, train.weight, train.n_systems, shares,
                                       train.local_precision(), data_shape_groups(train))
        level = fit_joint_level(statistics, train.target, train.variance, self.config.shape_alphas,
                                self.config.share_weights)
        self.linear_coef_ = level.coef / self.shape_scale_                  # Λ units per feature unit
        self.linear_intercept_ = float(level.intercept - self.linear_coef_ @ self.shape_mean_)
        self.linear_covariance_, self.linear_alpha_ = level.covariance, level.alpha
        self.linear_share_weight_ = level.share_weight
        return statistics

    def _linear(self, features: np.ndarray) -> np.ndarray:
        """The linear level of each row (n,), Λ units (0 without one)."""
        if getattr(self, "linear_coef_", None) is None:
            return np.zeros(len(features))
        return np.asarray(features, dtype=np.float64) @ self.linear_coef_ + self.linear_intercept_

    def _residual(self, data: LearningData) -> LearningData:
        """``data`` with each system label Λ_s replaced by what the linear level leaves: Λ_s − Σ_i w_i lin(x_i)."""
        linear = np.bincount(data.system_index, weights=data.weight * self._linear(data.features),
                             minlength=data.n_systems)
        return replace(data, target=np.asarray(data.target, np.float64) - linear)

    def _train_level(self, train: LearningData, validation: LearningData | None, device, generator,
                     residual: bool = False):
        """Eq. 12 by Adam, early stopping on the validation systems' RMSE of Λ: (network, (score, epoch,
        state), history). ``residual`` (the labels are what a linear level leaves): the last layer starts at
        zero output and the untrained state (epoch −1) is the first candidate, so early stopping can keep the
        linear level alone."""
        import torch

        network = _network(self.dim_, self.config.hidden)
        with torch.no_grad():  # start from the best constant k, so early stopping never keeps a biased start
            network[-1].bias.fill_(_best_constant(train) / self.target_scale_)
            if residual:
                network[-1].weight.zero_()
        network = network.to(device)
        forward = self._combined(network)
        optimiser = torch.optim.Adam(network.parameters(), lr=self.config.learning_rate,
                                     weight_decay=self.config.weight_decay)
        train_batch = SystemBatch(train, self.feature_mean_, self.feature_std_, self.target_scale_, device)
        valid_batch = (SystemBatch(validation, self.feature_mean_, self.feature_std_, self.target_scale_, device)
                       if validation is not None and validation.n_systems else None)
        per_step = self.config.systems_per_batch or train.n_systems
        sampled = self.config.environments_per_step
        repeats = 1 if sampled is None else max(1, math.ceil(len(train.system_index) / train.n_systems / sampled))
        best = (math.inf, 0, {k: v.detach().clone() for k, v in network.state_dict().items()})
        if residual and valid_batch is not None:
            best = (self._rmse(forward, valid_batch), -1, best[2])
        history: list[float] = []
        with retained_heap():
            for epoch in range(self.config.max_epochs):
                for _ in range(repeats):
                    order = torch.randperm(train.n_systems, generator=generator)
                    for start in range(0, train.n_systems, per_step):
                        loss = self._loss(forward, train_batch, order[start:start + per_step].to(device), generator)
                        optimiser.zero_grad()
                        loss.backward()
                        optimiser.step()
                score = self._rmse(forward, valid_batch if valid_batch is not None else train_batch)
                history.append(score)
                if score < best[0]:
                    best = (score, epoch, {k: v.detach().clone() for k, v in network.state_dict().items()})
                elif valid_batch is not None and epoch - best[1] >= self.config.patience:
                    break
        network.load_state_dict(best[2])
        return network, best, history

    def _fit_shape(self, train: LearningData, statistics=None) -> None:
        """The shape d = θ·x̃, linear in the shape design x̃ (the centred features over one RMS scale,
        :func:`core.api.shape_design_scale`: the linear kernel of the descriptor, as ridge's), by the shares'
        profiled likelihood in closed form (:func:`core.api.fit_shape`: the penalty among ``shape_alphas`` by
        the held-out profiled χ² of whole training systems), in target-scale units."""
        if statistics is None:
            self.shape_mean_, self.shape_scale_ = shape_design_scale(train.features)
        scale = self.target_scale_
        groups = data_shape_groups(train)
        groups = replace(groups, variance=groups.variance / scale ** 2)
        blocks = None if statistics is None else (statistics.blocks * scale ** 2, statistics.rhs * scale)
        fitted = fit_shape(shape_design(train.features, self.shape_mean_, self.shape_scale_),
                           np.nan_to_num(np.asarray(train.local_target, dtype=np.float64)) / scale,
                           train.local_precision() * scale ** 2, groups, np.asarray(self.config.shape_alphas),
                           blocks=blocks)
        self.shape_coef_, self.shape_alpha_, self.shape_covariance_ = fitted.coef, fitted.alpha, fitted.covariance
        self.shape_held_out_chi2_ = fitted.held_out_chi2

    def _shape_representation(self, features: np.ndarray) -> np.ndarray:
        """x̃ (n, dim): the shape design of ``features``."""
        return shape_design(features, self.shape_mean_, self.shape_scale_)

    def _random_prior(self):
        """A fixed random network of this member's seed (the same architecture, never trained)."""
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed + PRIOR_SEED_OFFSET)
            prior = _network(self.dim_, self.config.hidden)
        for parameter in prior.parameters():
            parameter.requires_grad_(False)
        return prior

    def _combined(self, network):
        """The member's k (target-scale units) as a function of standardised features: the trained network,
        plus ``prior_scale`` × its fixed random prior where there is one."""
        if getattr(self, "prior_", None) is None:
            return network
        prior, scale = self.prior_, self.config.prior_scale
        return lambda features: network(features) + scale * prior(features)

    def _loss(self, network, batch: SystemBatch, chosen, generator):
        """Eq. 12 over the ``chosen`` systems (scaled units): exact, or its unbiased subsampled estimate."""
        import torch

        if self.config.environments_per_step is None:
            mask = torch.zeros(batch.n_systems, dtype=torch.bool, device=chosen.device)
            mask[chosen] = True
            rows = mask[batch.system_index] if len(chosen) < batch.n_systems else None
            weight = batch.inverse_variance * mask
            return torch.sum(weight * (batch.target - batch.system_means(network, rows)) ** 2) / torch.sum(weight)
        weight = batch.inverse_variance[chosen]
        estimate, variance = batch.sampled_means(network, chosen, self.config.environments_per_step, generator)
        return torch.sum(weight * ((batch.target[chosen] - estimate) ** 2 - variance)) / torch.sum(weight)

    def _rmse(self, network, batch: SystemBatch) -> float:
        import torch

        with torch.no_grad():
            means = batch.system_means(network)
            return float(torch.sqrt(torch.mean((batch.target - means) ** 2)))

    def _outputs(self, network, features: np.ndarray, chunk: int = 65536, prior: bool = True) -> np.ndarray:
        """``network``'s output for each row of ``features`` (n,), target-scale units (with the random prior
        where ``prior`` and the member has one)."""
        import torch

        standardised = (np.asarray(features, dtype=np.float32) - self.feature_mean_) / self.feature_std_
        forward = self._combined(network) if prior else network
        out = np.empty(len(standardised), dtype=np.float64)
        with torch.no_grad():
            for start in range(0, len(standardised), chunk):
                block = torch.as_tensor(standardised[start:start + chunk])
                out[start:start + chunk] = forward(block).squeeze(-1).double().numpy()
        return out

    def predict_local(self, features: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
        """k of each row of ``features`` (n, dim) -> (n,), Λ units. With a shape (local labels were fitted)
        the rows are one system's environments and ``weight`` (n,) their weights in its mean (uniform by
        default): k = ḡ + d − d̄ (:func:`core.api.decomposed_k`)."""
        level = self._outputs(self.network_, features) * self.target_scale_ + self._linear(features)
        if getattr(self, "shape_coef_", None) is None:
            return level
        shape = self._shape_representation(features) @ self.shape_coef_ * self.target_scale_
        return decomposed_k(level, shape, weight)

    def _representation(self, features: np.ndarray, network=None, chunk: int = 65536) -> np.ndarray:
        """r_i = (h_i, 1), (n, width + 1): the last hidden layer of ``network`` (the level network by default),
        whose product with its output layer is its output."""
        import torch

        network = self.network_ if network is None else network
        standardised = (np.asarray(features, dtype=np.float32) - self.feature_mean_) / self.feature_std_
        hidden = network[:-1]
        width = network[-1].in_features
        out = np.ones((len(standardised), width + 1), dtype=np.float64)
        with torch.no_grad():
            for start in range(0, len(standardised), chunk):
                out[start:start + chunk, :width] = hidden(torch.as_tensor(standardised[start:start + chunk])).numpy()
        return out

    def local_variance(self, features: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
        """Posterior variance of k for each row of ``features`` ((n, dim) -> (n,)), units of Λ². With a shape
        (rows of one system, as for :meth:`predict_local`): var(ḡ) + var(d_i − d̄), from the level
        network's system-mean posterior and the shape's."""
        level = self._representation(features)
        if getattr(self, "shape_coef_", None) is None:
            return local_variance(level, self.covariance_) * self.target_scale_ ** 2
        weight = np.ones(len(level)) if weight is None else np.asarray(weight, np.float64)
        total = max(float(weight.sum()), 1e-300)
        shape = self._shape_representation(features)
        centred = shape - weight @ shape / total
        linear = 0.0
        if getattr(self, "linear_coef_", None) is not None:   # the linear level's posterior at the system mean
            mean_design = np.append(weight @ shape / total, 1.0)[None, :]
            linear = local_variance(mean_design, self.linear_covariance_)[0]
        return (local_variance((weight @ level / total)[None, :], self.covariance_)[0]
                + local_variance(centred, self.shape_covariance_)) * self.target_scale_ ** 2 + linear

    def save(self, directory: Path) -> None:
        import torch

        prior = {"prior_state_dict": self.prior_.state_dict(), "prior_scale": self.config.prior_scale} \
            if self.prior_ is not None else {}
        torch.save({"state_dict": self.network_.state_dict(), "hidden": list(self.config.hidden), "dim": self.dim_,
                    **prior,
                    "covariance": torch.as_tensor(self.covariance_),
                    "feature_mean": torch.as_tensor(self.feature_mean_),
                    "feature_std": torch.as_tensor(self.feature_std_), "target_scale": self.target_scale_,
                    "best_epoch": self.best_epoch_, "validation_rmse": self.validation_rmse_, **self._shape_state()},
                   directory / WEIGHTS_FILE)

    def _shape_state(self) -> dict:
        import torch

        state = {}
        if getattr(self, "linear_coef_", None) is not None:
            state = {name: torch.as_tensor(getattr(self, f"{name}_")) for name in LINEAR_STATE} | {
                "linear_intercept": self.linear_intercept_, "linear_alpha": self.linear_alpha_,
                "linear_share_weight": self.linear_share_weight_}
        if getattr(self, "shape_coef_", None) is None:
            return state
        return state | {name: torch.as_tensor(getattr(self, f"{name}_")) for name in SHAPE_STATE} | {
            "shape_alpha": self.shape_alpha_, "shape_scale": self.shape_scale_}

    @classmethod
    def load(cls, directory: Path, config: NNEnsembleConfig) -> NNMember:
        import torch

        saved = torch.load(directory / WEIGHTS_FILE, map_location="cpu", weights_only=True)
        member = cls(config, seed=0, threads=1)
        member.dim_ = int(saved["dim"])
        member.network_ = _network(member.dim_, list(saved["hidden"]))
        member.network_.load_state_dict(saved["state_dict"])
        member.network_.eval()
        member.prior_ = None
        if "prior_state_dict" in saved:
            member.config = config.model_copy(update={"prior_scale": float(saved["prior_scale"])})
            member.prior_ = _network(member.dim_, list(saved["hidden"]))
            member.prior_.load_state_dict(saved["prior_state_dict"])
            member.prior_.eval()
        member.covariance_ = saved["covariance"].numpy()
        member.feature_mean_ = saved["feature_mean"].numpy()
        member.feature_std_ = saved["feature_std"].numpy()
        member.target_scale_ = float(saved["target_scale"])
        member.best_epoch_ = int(saved["best_epoch"])
        member.validation_rmse_ = float(saved["validation_rmse"])
        member.shape_coef_ = member.shape_covariance_ = None
        if "shape_coef" in saved:
            for name in SHAPE_STATE:
                setattr(member, f"{name}_", saved[name].numpy())
            member.shape_alpha_ = float(saved["shape_alpha"])
            member.shape_scale_ = float(saved["shape_scale"])
        member.linear_coef_ = None
        if "linear_coef" in saved:
            for name in LINEAR_STATE:
                setattr(member, f"{name}_", saved[name].numpy())
            member.linear_intercept_ = float(saved["linear_intercept"])
            member.linear_alpha_ = float(saved["linear_alpha"])
            member.linear_share_weight_ = float(saved["linear_share_weight"])
        return member


class NNEnsemble(ModelPlugin):
    name = "nn-ensemble"
    version = "1.7"
    Config = NNEnsembleConfig
    stochastic = True
    fits_local_labels = True
    requires = ("torch",)
    install_hint = "pip install torch  (CPU: pip install torch --index-url https://download.pytorch.org/whl/cpu)"
    description = "the paper's MLP ensemble fitted to system molar conductivities (torch)"

    @classmethod
    def missing_hardware(cls, config: NNEnsembleConfig) -> tuple[str, str] | None:
        """``device: cuda`` where torch sees no CUDA device (``auto`` falls back to the CPU)."""
        if config.device != "cuda":
            return None
        import torch

        if torch.cuda.is_available():
            return None
        build = f"built with CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        return "device", (f"device 'cuda' asked for, but torch {torch.__version__} ({build}) sees no CUDA device "
                          "here; available: cpu. Use device: auto or cpu, or run the recipe on a cluster whose "
                          "workers have a GPU (executor: slurm or address)")

    def create(self, seed: int, threads: int) -> NNMember:
        return NNMember(self.config, seed, threads)

    def load(self, directory: Path) -> NNMember:
        return NNMember.load(directory, self.config)
