"""Task heads on top of a backbone.

Every head has ``in_features`` (the backbone's ``num_features``), ``needs_feature_map`` (True:
it takes the ``(N, C, h, w)`` map from ``forward_features``; False: the pooled ``(N, C)``
vector) and ``spec()``, the plain dict ``build_model`` rebuilds it from. Outputs:

* attributes: logits ``(N, A)`` (sigmoid -> probability of label 1 = attribute present),
* gender: one logit per image ``(N,)`` (sigmoid -> probability of male, label 1),
* landmarks: ``(N, P, 2)`` ``(x, y)`` in normalised input coordinates ``x / W``, ``y / H`` of
  the model input (0..1 inside the image), so the head is resolution independent; P = 5 in
  the order left eye, right eye, nose, left mouth corner, right mouth corner. Use
  :func:`landmarks_to_pixels` / :func:`landmarks_to_normalised` to convert.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "BinaryHead",
    "LandmarkHead",
    "MultiLabelHead",
    "PerLabelHeads",
    "SelfAttentionHead",
    "landmarks_to_normalised",
    "landmarks_to_pixels",
]


def landmarks_to_normalised(points: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """``(..., 2)`` pixel ``(x, y)`` -> normalised ``(x / width, y / height)``."""
    return points / points.new_tensor([float(width), float(height)])


def landmarks_to_pixels(points: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Normalised ``(..., 2)`` ``(x, y)`` -> pixels ``(x * width, y * height)``."""
    return points * points.new_tensor([float(width), float(height)])


class MultiLabelHead(nn.Module):
    """One shared dropout + ``Linear(in_features, num_labels)``: logits ``(N, num_labels)``."""

    needs_feature_map = False

    def __init__(self, in_features: int, num_labels: int, dropout: float = 0.2) -> None:
        super().__init__()
        self.in_features, self.num_labels, self.dropout_p = in_features, num_labels, dropout
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_features, num_labels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(x))

    def spec(self) -> dict[str, Any]:
        return {"type": "multilabel", "num_labels": self.num_labels, "dropout": self.dropout_p}


class PerLabelHeads(nn.Module):
    """``num_labels`` independent classifiers, each dropout + ``Linear(in_features, 1)``.

    ``heads[j]`` is attribute j's own ``nn.Linear``. The forward pass evaluates them together
    (one batched matmul over the stacked weights) and, in training, draws an independent
    dropout mask per head, so it equals running the heads one by one. Output ``(N, A)``.
    """

    needs_feature_map = False

    def __init__(self, in_features: int, num_labels: int, dropout: float = 0.2) -> None:
        super().__init__()
        self.in_features, self.num_labels, self.dropout_p = in_features, num_labels, dropout
        self.heads = nn.ModuleList(nn.Linear(in_features, 1) for _ in range(num_labels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = torch.cat([head.weight for head in self.heads])  # (A, C)
        bias = torch.cat([head.bias for head in self.heads])  # (A,)
        if self.training and self.dropout_p > 0:
            masked = F.dropout(x.unsqueeze(0).expand(self.num_labels, -1, -1), self.dropout_p)
            return torch.einsum("anc,ac->na", masked, weight) + bias
        return F.linear(x, weight, bias)

    def forward_label(self, x: torch.Tensor, index: int) -> torch.Tensor:
        """Logit ``(N,)`` of attribute ``index`` alone (its own dropout and Linear)."""
        return self.heads[index](F.dropout(x, self.dropout_p, self.training)).squeeze(-1)

    def spec(self) -> dict[str, Any]:
        return {"type": "per_label", "num_labels": self.num_labels, "dropout": self.dropout_p}


class BinaryHead(nn.Module):
    """Dropout + ``Linear(in_features, 1)``: one logit per image ``(N,)`` (gender: 1 = male)."""

    needs_feature_map = False

    def __init__(self, in_features: int, dropout: float = 0.2) -> None:
        super().__init__()
        self.in_features, self.dropout_p = in_features, dropout
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(x)).squeeze(-1)

    def spec(self) -> dict[str, Any]:
        return {"type": "binary", "dropout": self.dropout_p}


class LandmarkHead(nn.Module):
    """Linear regression to ``(N, num_points, 2)`` normalised ``(x / W, y / H)`` coordinates.

    The bias starts at 0.5 (image centre) so early predictions are inside the image.
    """

    needs_feature_map = False

    def __init__(self, in_features: int, num_points: int = 5, dropout: float = 0.0) -> None:
        super().__init__()
        self.in_features, self.num_points, self.dropout_p = in_features, num_points, dropout
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_features, num_points * 2)
        nn.init.constant_(self.fc.bias, 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(x)).view(x.shape[0], self.num_points, 2)

    def spec(self) -> dict[str, Any]:
        return {"type": "landmarks", "num_points": self.num_points, "dropout": self.dropout_p}


class SelfAttentionHead(nn.Module):
    """Self-attention over feature-map positions, pooled, then linear (paper 004, eq. 18).

    The ``h * w`` positions of the ``(N, C, h, w)`` map are tokens ``X`` ``(N, hw, C)``;
    ``Q = X W_q``, ``K = X W_k`` (``d_k`` wide), ``V = X W_v`` (``d_v`` wide, default ``d_k``);
    ``Z = softmax(Q K^T / sqrt(d_k)) V``; the mean of ``Z`` over tokens goes through dropout and
    ``Linear(d_v, out_dim)``; the result is reshaped to ``(N, *output_shape)`` (``()`` gives
    ``(N,)`` for gender, ``(P, 2)`` gives landmarks). Attention alone is blind to where a token
    sits, so ``coord_channels=True`` appends each token's normalised ``(x, y)`` centre to its
    features first (an addition to eq. 18, meant for landmarks).
    """

    needs_feature_map = True

    def __init__(self, in_channels: int, out_dim: int, d_k: int = 64, *, d_v: int | None = None,
                 output_shape: Sequence[int] | None = None, dropout: float = 0.0,
                 coord_channels: bool = False) -> None:
        super().__init__()
        shape = (out_dim,) if output_shape is None else tuple(int(s) for s in output_shape)
        if math.prod(shape) != out_dim:
            raise ValueError(f"output_shape {shape} does not hold out_dim={out_dim} values")
        self.in_features, self.out_dim, self.output_shape = in_channels, out_dim, shape
        self.d_k, self.d_v = d_k, d_v or d_k
        self.dropout_p, self.coord_channels = dropout, coord_channels
        token_dim = in_channels + (2 if coord_channels else 0)
        self.query = nn.Linear(token_dim, self.d_k)
        self.key = nn.Linear(token_dim, self.d_k)
        self.value = nn.Linear(token_dim, self.d_v)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.d_v, out_dim)

    def tokens(self, features: torch.Tensor) -> torch.Tensor:
        """``(N, C, h, w)`` -> tokens ``(N, h*w, C [+ 2])``, row-major positions."""
        n, _, h, w = features.shape
        tokens = features.flatten(2).transpose(1, 2)
        if self.coord_channels:
            ys = (torch.arange(h, device=features.device, dtype=features.dtype) + 0.5) / h
            xs = (torch.arange(w, device=features.device, dtype=features.dtype) + 0.5) / w
            grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).reshape(1, h * w, 2)
            tokens = torch.cat([tokens, grid.expand(n, -1, -1)], dim=-1)
        return tokens

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        tokens = self.tokens(features)
        q, k, v = self.query(tokens), self.key(tokens), self.value(tokens)
        attended = F.scaled_dot_product_attention(q, k, v)  # softmax(QK^T / sqrt(d_k)) V
        out = self.fc(self.dropout(attended.mean(dim=1)))
        return out.view(features.shape[0], *self.output_shape)

    def spec(self) -> dict[str, Any]:
        return {"type": "attention", "out_dim": self.out_dim,
                "output_shape": list(self.output_shape), "d_k": self.d_k, "d_v": self.d_v,
                "dropout": self.dropout_p, "coord_channels": self.coord_channels}
