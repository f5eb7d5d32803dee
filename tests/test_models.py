"""Tests of course_lib.models: shapes, causality, initial loss, sampling, param groups, training."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from course_lib.models import (
    MLP,
    CharTransformer,
    LinearRegression,
    count_parameters,
    param_groups_for_weight_decay,
)

CPU = "cpu"


def _tiny(vocab=20, **kw):
    torch.manual_seed(0)
    cfg = {"block_size": 16, "n_layer": 2, "n_head": 2, "n_embd": 32, "device": CPU} | kw
    return CharTransformer(vocab, **cfg)


# ----------------------------------------------------------------------------- linear and MLP


def test_linear_regression_parameters_and_gradient():
    model = LinearRegression(w=2.0, b=1.0, device=CPU)
    assert [name for name, _ in model.named_parameters()] == ["w", "b"]
    x = torch.tensor([1.0, 2.0, 3.0])
    torch.testing.assert_close(model(x), torch.tensor([3.0, 5.0, 7.0]))
    loss = ((model(x) - torch.tensor([0.0, 0.0, 0.0])) ** 2).mean()
    loss.backward()
    # d/dw mean((wx+b)^2) = mean(2 (wx+b) x)
    assert model.w.grad.item() == pytest.approx(2 * (3 * 1 + 5 * 2 + 7 * 3) / 3)
    assert model.b.grad.item() == pytest.approx(2 * (3 + 5 + 7) / 3)
    assert "w=2" in repr(model)
    assert LinearRegression(device=CPU).w.item() == 0.0


def test_mlp_structure_and_shapes():
    torch.manual_seed(0)
    mlp = MLP([64, 32, 16, 10], activation="tanh", device=CPU)
    assert mlp(torch.zeros(7, 64)).shape == (7, 10)
    kinds = [type(m) for m in mlp.net]
    assert kinds == [nn.Linear, nn.Tanh, nn.Linear, nn.Tanh, nn.Linear]
    assert count_parameters(MLP([4, 8, 2], device=CPU)) == 4 * 8 + 8 + 8 * 2 + 2
    with pytest.raises(ValueError, match="activation"):
        MLP([2, 2], activation="swishy", device=CPU)
    with pytest.raises(ValueError):
        MLP([3], device=CPU)


# ----------------------------------------------------------------------------- transformer


def test_transformer_shapes_and_loss():
    model = _tiny()
    idx = torch.randint(0, 20, (3, 16))
    logits, loss = model(idx)
    assert logits.shape == (3, 16, 20) and loss is None
    logits, loss = model(idx[:, :5], idx[:, 1:6])
    assert logits.shape == (3, 5, 20) and loss.ndim == 0
    with pytest.raises(ValueError, match="block_size"):
        model(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(ValueError):
        CharTransformer(20, n_embd=30, n_head=4, device=CPU)


def test_transformer_is_causal():
    model = _tiny()
    idx = torch.randint(0, 20, (2, 16))
    changed = idx.clone()
    changed[:, 10] = (changed[:, 10] + 1) % 20
    with torch.no_grad():
        a, _ = model(idx)
        b, _ = model(changed)
    torch.testing.assert_close(a[:, :10], b[:, :10], rtol=0, atol=1e-6)
    assert (a[:, 10:] - b[:, 10:]).abs().max() > 1e-4  # the future does change


@pytest.mark.parametrize("vocab", [20, 96])
def test_initial_loss_is_close_to_uniform(vocab):
    model = _tiny(vocab)
    g = torch.Generator().manual_seed(1)
    idx = torch.randint(0, vocab, (8, 16), generator=g)
    targets = torch.randint(0, vocab, (8, 16), generator=g)
    _, loss = model(idx, targets)
    assert abs(loss.item() - math.log(vocab)) < 0.3


def test_generate_is_deterministic_with_a_seeded_generator():
    model = _tiny()
    prompt = torch.tensor([[1, 2, 3]])
    a = model.generate(prompt, 20, generator=torch.Generator().manual_seed(7))
    b = model.generate(prompt, 20, generator=torch.Generator().manual_seed(7))
    c = model.generate(prompt, 20, generator=torch.Generator().manual_seed(8))
    assert a.shape == (1, 23) and torch.equal(a[:, :3], prompt)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.min() >= 0 and a.max() < 20
    # 1-D prompt in, 1-D out; greedy needs no generator; context longer than block_size is cropped
    one = model.generate(torch.tensor([1, 2, 3]), 5, temperature=0)
    assert one.shape == (8,) and torch.equal(one, model.generate(torch.tensor([1, 2, 3]), 5, 0))
    long = model.generate(
        torch.zeros(2, 30, dtype=torch.long), 3, top_k=3, generator=torch.Generator().manual_seed(0)
    )
    assert long.shape == (2, 33)
    with pytest.raises(ValueError):
        model.generate(prompt, 5, temperature=-1.0)


def test_generate_restores_training_mode():
    model = _tiny(dropout=0.1)
    model.train()
    model.generate(torch.tensor([[1]]), 3, generator=torch.Generator().manual_seed(0))
    assert model.training
    model.eval()
    model.generate(torch.tensor([[1]]), 3, generator=torch.Generator().manual_seed(0))
    assert not model.training


def test_weight_tying():
    tied = _tiny(tie_weights=True)
    untied = _tiny(tie_weights=False)
    assert tied.lm_head.weight is tied.token_embedding.weight
    assert count_parameters(untied) - count_parameters(tied) == 20 * 32


# ----------------------------------------------------------------------------- param groups


@pytest.mark.parametrize("tie", [False, True])
def test_param_groups_partition_all_parameters(tie):
    model = _tiny(tie_weights=tie)
    decay, no_decay = param_groups_for_weight_decay(model, 0.1)
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    ids = [id(p) for p in decay["params"] + no_decay["params"]]
    assert len(ids) == len(set(ids))  # no duplicates
    assert set(ids) == {id(p) for p in model.parameters()}  # nothing missing
    assert all(p.dim() >= 2 for p in decay["params"])
    assert all(p.dim() < 2 for p in no_decay["params"])
    norm_and_bias = {id(p) for n, p in model.named_parameters() if "ln" in n or n.endswith("bias")}
    assert norm_and_bias <= {id(p) for p in no_decay["params"]}
    assert id(model.token_embedding.weight) in {id(p) for p in decay["params"]}
    torch.optim.AdamW([decay, no_decay], lr=1e-3)  # accepted as is


def test_param_groups_skip_frozen_and_validate():
    mlp = MLP([3, 4, 2], device=CPU)
    mlp.net[0].weight.requires_grad_(False)
    decay, no_decay = param_groups_for_weight_decay(mlp, 0.0)
    assert len(decay["params"]) == 1 and len(no_decay["params"]) == 2
    assert count_parameters(mlp) == 4 + 4 * 2 + 2
    assert count_parameters(mlp, trainable_only=False) == 3 * 4 + 4 + 4 * 2 + 2
    with pytest.raises(ValueError):
        param_groups_for_weight_decay(mlp, -0.1)


# ----------------------------------------------------------------------------- training


def test_two_layer_transformer_overfits_a_tiny_batch():
    model = _tiny()
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 20, (4, 16), generator=g)
    y = torch.randint(0, 20, (4, 16), generator=g)
    opt = torch.optim.AdamW(param_groups_for_weight_decay(model, 0.01), lr=1e-2)
    _, first = model(x, y)
    for _ in range(40):
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    _, last = model(x, y)
    assert last.item() < 0.5 * first.item()
