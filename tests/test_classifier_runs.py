"""course_lib.classifier_runs: the shared mini-batch loop is the loop written by hand."""

import copy

import pytest
import torch
import torch.nn.functional as F

from course_lib.classifier_runs import batch_sampler, evaluate_classifier, train_classifier
from course_lib.models import MLP
from course_lib.optim import SGD, Adam, AdamW, Muon, split_for_muon


def toy_data(n=90, seed=0):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 8, generator=gen)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).long() + (X[:, 2] > 1).long()
    return X, y


def by_hand_random(model, optimizers, X, y, steps, batch, seed):
    """Reference: lesson 05's loop before it moved (random batches with replacement)."""
    batches = torch.Generator().manual_seed(seed)
    losses = []
    for _step in range(steps):
        idx = torch.randint(len(y), (batch,), generator=batches)
        loss = F.cross_entropy(model(X[idx]), y[idx])
        for opt in optimizers:
            opt.zero_grad()
        loss.backward()
        for opt in optimizers:
            opt.step()
        losses.append(loss.item())
    return losses


def by_hand_epochs(model, opt, X, y, steps, batch, seed):
    """Reference: lesson 06's loop before it moved (a new permutation every epoch)."""
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for step in range(steps):
        if step % (len(y) // batch) == 0:
            order = torch.randperm(len(y), generator=gen)
        idx = order[(step * batch) % len(y):][:batch]
        loss = F.cross_entropy(model(X[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def same_parameters(a, b):
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_random_batches_with_two_optimizers_match_the_loop_by_hand():
    X, y = toy_data()
    torch.manual_seed(0)
    model = MLP([8, 16, 16, 3], device="cpu")
    twin = copy.deepcopy(model)

    def muon_and_adamw(m):
        matrices, rest = split_for_muon(m, exclude=("net.4",))
        return [Muon(matrices, lr=0.02), AdamW(rest, lr=3e-3, weight_decay=0.01)]

    got = train_classifier(model, muon_and_adamw(model), X, y, steps=25, batch_size=16, seed=3)
    expected = by_hand_random(twin, muon_and_adamw(twin), X, y, 25, 16, 3)
    assert got == expected
    assert same_parameters(model, twin)


def test_epoch_batches_match_the_loop_by_hand():
    X, y = toy_data(n=90)
    torch.manual_seed(1)
    model = MLP([8, 16, 3], device="cpu")
    twin = copy.deepcopy(model)
    got = train_classifier(model, [Adam(model.parameters(), lr=1e-2)], X, y, steps=20, batch_size=30,
                           seed=5, sampling="epochs")
    expected = by_hand_epochs(twin, Adam(twin.parameters(), lr=1e-2), X, y, 20, 30, 5)
    assert got == expected
    assert same_parameters(model, twin)


def test_an_epoch_visits_every_example_once_and_reshuffles():
    next_batch = batch_sampler(12, 4, seed=0, sampling="epochs")
    epochs = [torch.cat([next_batch(3 * e + s) for s in range(3)]) for e in range(2)]
    for epoch in epochs:
        assert sorted(epoch.tolist()) == list(range(12))
    assert not torch.equal(epochs[0], epochs[1])


def test_random_batches_depend_on_the_seed_only():
    a, b, c = (batch_sampler(50, 10, seed=s) for s in (7, 7, 8))
    first_a, first_b, first_c = a(0), b(0), c(0)
    assert torch.equal(first_a, first_b) and not torch.equal(first_a, first_c)
    assert first_a.min() >= 0 and first_a.max() < 50 and len(first_a) == 10


def test_training_learns_the_toy_task():
    X, y = toy_data(n=300)
    torch.manual_seed(0)
    model = MLP([8, 32, 3], device="cpu")
    before, _ = evaluate_classifier(model, X, y)
    losses = train_classifier(model, [SGD(model.parameters(), lr=0.2, momentum=0.9)], X, y,
                              steps=200, batch_size=30)
    after, accuracy = evaluate_classifier(model, X, y)
    assert len(losses) == 200 and after < 0.5 * before and accuracy > 0.85


def test_evaluate_classifier_is_cross_entropy_and_accuracy():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 3.0], [0.0, 5.0, 0.0], [1.0, 0.0, 0.0]])
    y = torch.tensor([0, 1, 1, 2])

    class Fixed(torch.nn.Module):
        def forward(self, x):
            return logits[x.long().flatten()]

    loss, accuracy = evaluate_classifier(Fixed(), torch.arange(4.0).reshape(4, 1), y)
    assert loss == pytest.approx(F.cross_entropy(logits, y).item())
    assert accuracy == 0.5


@pytest.mark.parametrize("kwargs, message", [
    (dict(batch_size=0), "batch_size"), (dict(batch_size=91), "batch_size"),
    (dict(sampling="shuffle"), "sampling"), (dict(steps=0), "steps"), (dict(optimizers=[]), "optimizers"),
])
def test_bad_arguments_are_refused_by_name(kwargs, message):
    X, y = toy_data()
    model = MLP([8, 4, 3], device="cpu")
    args = dict(optimizers=[SGD(model.parameters(), lr=0.1)], steps=5, batch_size=10)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        train_classifier(model, args.pop("optimizers"), X, y, **args)
