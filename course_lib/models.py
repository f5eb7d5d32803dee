"""The models of the course, from a line to a tiny transformer.

* :class:`LinearRegression`: ``price = w * sqft + b`` with the two numbers as named parameters.
* :class:`MLP`: a stack of ``Linear`` layers with an activation between them.
* :class:`CharTransformer`: a small decoder-only transformer over characters, in the spirit of
  nanoGPT (Karpathy, 2022): token and position embeddings, ``n_layer`` pre-LayerNorm blocks of
  causal self-attention and an MLP, a final LayerNorm and a linear head.

Plus :func:`param_groups_for_weight_decay`, which splits a model's parameters into the groups
AdamW should and should not decay, and :func:`count_parameters`.

Every constructor takes ``device=``; weights are initialised from torch's global generator, so
call ``course_lib.device.seed_everything`` first for repeatable models.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.device import resolve_device

__all__ = [
    "LinearRegression",
    "MLP",
    "CausalSelfAttention",
    "TransformerBlock",
    "CharTransformer",
    "param_groups_for_weight_decay",
    "count_parameters",
]


class LinearRegression(nn.Module):
    r"""One input, one output: :math:`\hat y = w x + b`.

    ``w`` and ``b`` are scalar parameters, read them with ``model.w.item()``.

    Args:
        w: initial slope.
        b: initial intercept.
        device: where the parameters live (``None``: the default device).

    Example:
        >>> model = LinearRegression(device="cpu")
        >>> model(torch.tensor([1.0, 2.0], device="cpu")).tolist()
        [0.0, 0.0]
    """

    def __init__(self, w: float = 0.0, b: float = 0.0, device: str | torch.device | None = None):
        super().__init__()
        dev = resolve_device(device)
        self.w = nn.Parameter(torch.tensor(float(w), device=dev))
        self.b = nn.Parameter(torch.tensor(float(b), device=dev))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predictions for inputs ``x`` of any shape (elementwise)."""
        return self.w * x + self.b

    def extra_repr(self) -> str:
        return f"w={self.w.item():.4g}, b={self.b.item():.4g}"


_ACTIVATIONS = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "silu": nn.SiLU,
    "leaky_relu": nn.LeakyReLU,
    "identity": nn.Identity,
}


class MLP(nn.Module):
    """A multi-layer perceptron: ``Linear -> activation -> ... -> Linear``.

    Args:
        sizes: layer widths from input to output, e.g. ``[64, 128, 10]`` for 64 features, one
            hidden layer of 128 units and 10 outputs (logits; no activation after the last layer).
        activation: one of ``relu, gelu, tanh, sigmoid, silu, leaky_relu, identity``.
        device: where the parameters live (``None``: the default device).

    Example:
        >>> MLP([64, 32, 10], device="cpu")(torch.zeros(5, 64)).shape
        torch.Size([5, 10])
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "relu",
        device: str | torch.device | None = None,
    ):
        super().__init__()
        sizes = list(sizes)
        if len(sizes) < 2 or any(not isinstance(s, int) or s < 1 for s in sizes):
            raise ValueError(f"sizes must be >= 2 positive ints (input ... output), got {sizes!r}")
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}; choose one of {sorted(_ACTIVATIONS)}"
            )
        layers: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(n_in, n_out))
            if i < len(sizes) - 2:
                layers.append(_ACTIVATIONS[activation]())
        self.net = nn.Sequential(*layers)
        self.sizes = sizes
        self.activation = activation
        self.to(resolve_device(device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., sizes[0]) -> (..., sizes[-1])``."""
        return self.net(x)


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which position ``t`` only sees positions ``<= t``.

    One ``Linear`` makes queries, keys and values for all heads at once; the heads are computed
    by :func:`torch.nn.functional.scaled_dot_product_attention` with ``is_causal=True`` (which
    applies the causal mask and, on a GPU, a fused kernel), then mixed by an output projection.
    """

    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0):
        super().__init__()
        if n_embd % n_head != 0:
            raise ValueError(f"n_embd ({n_embd}) must be divisible by n_head ({n_head})")
        self.n_head = n_head
        self.qkv = nn.Linear(n_embd, 3 * n_embd)
        self.proj = nn.Linear(n_embd, n_embd)
        self.dropout = dropout
        self.resid_dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape  # batch, time (sequence), channels (n_embd)
        q, k, v = self.qkv(x).split(C, dim=2)
        # (B, T, C) -> (B, n_head, T, head_size): each head attends independently
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True
        )
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # heads side by side again
        return self.resid_dropout(self.proj(y))


class TransformerBlock(nn.Module):
    """``x + attention(LayerNorm(x))``, then ``x + MLP(LayerNorm(x))`` (pre-norm, as GPT-2)."""

    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = nn.Sequential(
            nn.Linear(n_embd, 4 * n_embd),
            nn.GELU(),
            nn.Linear(4 * n_embd, n_embd),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))  # tokens exchange information
        x = x + self.mlp(self.ln_2(x))  # each token thinks on its own
        return x


class CharTransformer(nn.Module):
    """A tiny decoder-only transformer that predicts the next character.

    ``idx`` (B, T) -> token embedding + position embedding -> ``n_layer`` blocks -> LayerNorm
    -> linear head -> logits (B, T, vocab_size); ``logits[b, t]`` scores the character that
    follows ``idx[b, :t+1]``.

    Initialisation follows GPT-2 / nanoGPT: weights ~ N(0, 0.02), biases 0, and the projections
    that write into the residual stream scaled by ``1 / sqrt(2 * n_layer)`` so its variance does
    not grow with depth. At initialisation the predictions are therefore close to uniform and the
    loss close to ``ln(vocab_size)``, the first number to check when training starts.

    Args:
        vocab_size: number of distinct characters.
        block_size: longest context the model can see (size of the position embedding).
        n_layer: number of transformer blocks.
        n_head: attention heads per block (must divide ``n_embd``).
        n_embd: width of the residual stream.
        dropout: dropout probability (0 for small data and for the lessons' determinism).
        tie_weights: share the token embedding matrix with the output head, as GPT-2 does
            (fewer parameters: the same matrix maps a character in and scores it out). Off by
            default: tied, a fresh model already favours repeating its input character, so the
            loss at initialisation sits visibly below ``ln(vocab_size)`` on such text.
        device: where the parameters live (``None``: the default device).

    References:
        Vaswani et al., "Attention Is All You Need", 2017. Radford et al., "Language Models
        are Unsupervised Multitask Learners" (GPT-2), 2019. Karpathy, nanoGPT, 2022.
    """

    def __init__(
        self,
        vocab_size: int,
        block_size: int = 64,
        n_layer: int = 2,
        n_head: int = 4,
        n_embd: int = 64,
        dropout: float = 0.0,
        tie_weights: bool = False,
        device: str | torch.device | None = None,
    ):
        super().__init__()
        for name, value in [
            ("vocab_size", vocab_size),
            ("block_size", block_size),
            ("n_layer", n_layer),
            ("n_head", n_head),
            ("n_embd", n_embd),
        ]:
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if n_embd % n_head != 0:
            raise ValueError(f"n_embd ({n_embd}) must be divisible by n_head ({n_head})")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.vocab_size = vocab_size
        self.block_size = block_size
        self.token_embedding = nn.Embedding(vocab_size, n_embd)
        self.position_embedding = nn.Embedding(block_size, n_embd)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            [TransformerBlock(n_embd, n_head, dropout) for _ in range(n_layer)]
        )
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        if tie_weights:
            self.lm_head.weight = self.token_embedding.weight

        self.apply(self._init_weights)
        for block in self.blocks:  # the two projections into the residual stream
            for proj in (block.attn.proj, block.mlp[2]):
                nn.init.normal_(proj.weight, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))
        self.to(resolve_device(device))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits for every position, and the mean cross-entropy when ``targets`` are given.

        Args:
            idx: (B, T) int64 character ids, ``T <= block_size``.
            targets: (B, T) int64 next-character ids, or ``None``.

        Returns:
            ``(logits, loss)``: logits (B, T, vocab_size); loss a scalar tensor or ``None``.
        """
        if idx.ndim != 2:
            raise ValueError(f"idx must have shape (B, T), got {tuple(idx.shape)}")
        B, T = idx.shape
        if T > self.block_size:
            raise ValueError(f"sequence length {T} exceeds block_size {self.block_size}")
        pos = torch.arange(T, device=idx.device)
        x = self.drop(self.token_embedding(idx) + self.position_embedding(pos))
        for block in self.blocks:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(B * T, -1), targets.reshape(B * T))
        return logits, loss

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
        top_k: int | None = None,
    ) -> torch.Tensor:
        """Extend ``idx`` by sampling ``max_new_tokens`` characters, one at a time.

        Each new character is drawn from ``softmax(logits / temperature)`` at the last position
        (the context is cropped to the last ``block_size`` characters). The model is put in eval
        mode while generating (no dropout) and returned to its previous mode.

        Args:
            idx: (B, T) or (T,) int64 prompt ids (at least one character).
            max_new_tokens: number of characters to add.
            temperature: > 0; below 1 sharpens the distribution, above 1 flattens it. ``0``
                means greedy: always the most likely character.
            generator: a ``torch.Generator`` for the sampling; the same seeded generator gives
                the same text. When it lives on another device than the model (a CPU generator
                with a GPU model), sampling happens on the generator's device.
            top_k: sample only among the ``top_k`` most likely characters.

        Returns:
            ``idx`` with the new ids appended, same number of dimensions as ``idx``.
        """
        if not isinstance(max_new_tokens, int) or max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be a non-negative int, got {max_new_tokens!r}")
        if not temperature >= 0:
            raise ValueError(f"temperature must be >= 0, got {temperature!r}")
        if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
            raise ValueError(f"top_k must be a positive int or None, got {top_k!r}")
        squeeze = idx.ndim == 1
        if squeeze:
            idx = idx[None, :]
        if idx.ndim != 2 or idx.shape[1] == 0:
            raise ValueError(f"idx must have shape (B, T) or (T,) with T >= 1, got {idx.shape}")
        was_training = self.training
        self.eval()
        try:
            for _ in range(max_new_tokens):
                logits, _ = self(idx[:, -self.block_size :])
                logits = logits[:, -1, :]
                if temperature == 0:
                    next_id = logits.argmax(dim=-1, keepdim=True)
                else:
                    logits = logits / temperature
                    if top_k is not None:
                        kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[:, -1:]
                        logits = logits.masked_fill(logits < kth, float("-inf"))
                    probs = F.softmax(logits, dim=-1)
                    if generator is not None and generator.device != probs.device:
                        probs = probs.to(generator.device)
                    next_id = torch.multinomial(probs, 1, generator=generator).to(idx.device)
                idx = torch.cat([idx, next_id], dim=1)
        finally:
            self.train(was_training)
        return idx[0] if squeeze else idx


def param_groups_for_weight_decay(model: nn.Module, weight_decay: float) -> list[dict]:
    """Split a model's trainable parameters into a decayed and a not-decayed group, for AdamW.

    * **decay** (``weight_decay``): tensors with 2 or more dimensions: the weight matrices of
      ``Linear`` layers and the ``Embedding`` tables. These hold most of the capacity, and pulling
      them towards zero is the regularisation we want.
    * **no decay** (0.0): tensors with 0 or 1 dimension: biases and the scales (and shifts) of
      LayerNorm. They are few, so they add little capacity to constrain; and decay would fight
      their purpose: a bias pulled towards 0 shifts every activation, and a LayerNorm scale's
      neutral value is 1, not 0, so decaying it shrinks the signal the normalisation just set.

    Shared (tied) parameters appear once. Parameters with ``requires_grad=False`` are left out.

    Returns:
        ``[{"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0}]``, ready for
        ``torch.optim.AdamW(groups, lr=...)`` (or ``course_lib.optim.AdamW``).

    Example:
        >>> groups = param_groups_for_weight_decay(MLP([4, 8, 2], device="cpu"), 0.1)
        >>> [len(g["params"]) for g in groups]
        [2, 2]
    """
    if not weight_decay >= 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for p in model.parameters():  # .parameters() yields each shared tensor once
        if not p.requires_grad:
            continue
        (decay if p.dim() >= 2 else no_decay).append(p)
    return [
        {"params": decay, "weight_decay": float(weight_decay)},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of scalar parameters (a shared/tied tensor counts once).

    Args:
        model: any ``nn.Module``.
        trainable_only: count only parameters with ``requires_grad=True``.
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
