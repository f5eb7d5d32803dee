"""course_lib.sharpness_study: lesson 11's epoch loop against the loop written by hand, with
plain SGD and through SAM, and its table."""
import pytest
import torch
import torch.nn.functional as F

from course_lib.models import MLP
from course_lib.sam import SAM
from course_lib.sharpness_study import sharpness_table, train_epochs


def _data():
    torch.manual_seed(0)
    return torch.randn(50, 6), torch.randint(0, 3, (50,))


def _model():
    torch.manual_seed(1)
    return MLP([6, 8, 3])


def _by_hand(model, optimizer, X, y, batch_size, epochs, seed, sam):
    gen = torch.Generator().manual_seed(seed)
    steps = 0
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=gen)
        for i in range(0, len(X), batch_size):
            idx = order[i:i + batch_size]

            def closure(idx=idx):
                loss = F.cross_entropy(model(X[idx]), y[idx])
                loss.backward()
                return loss

            if sam:
                optimizer.step(closure)
            else:
                optimizer.zero_grad(set_to_none=True)
                closure()
                optimizer.step()
            steps += 1
    return steps


def _same(a, b):
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


@pytest.mark.parametrize("sam", [False, True])
def test_train_epochs_is_the_loop_written_by_hand(sam):
    X, y = _data()
    ours, ref = _model(), _model()
    make = (lambda m: SAM(torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9), rho=0.3)) if sam \
        else (lambda m: torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9))
    steps = train_epochs(ours, make(ours), X, y, batch_size=16, epochs=3,
                         generator=torch.Generator().manual_seed(4))
    ref_steps = _by_hand(ref, make(ref), X, y, 16, 3, 4, sam)
    assert steps == ref_steps == 3 * 4                     # 50 examples: batches of 16, 16, 16, 2
    assert _same(ours, ref)
    assert not _same(ours, _model())                       # it did train


def test_sam_with_rho_zero_is_the_base_optimizer():
    X, y = _data()
    plain, wrapped = _model(), _model()
    train_epochs(plain, torch.optim.SGD(plain.parameters(), lr=0.1), X, y, batch_size=10, epochs=2,
                 generator=torch.Generator().manual_seed(0))
    train_epochs(wrapped, SAM(torch.optim.SGD(wrapped.parameters(), lr=0.1), rho=0.0), X, y,
                 batch_size=10, epochs=2, generator=torch.Generator().manual_seed(0))
    assert _same(plain, wrapped)


def test_full_batch_takes_one_step_per_epoch_and_lowers_the_loss():
    X, y = _data()
    model = _model()
    before = F.cross_entropy(model(X), y).item()
    steps = train_epochs(model, torch.optim.SGD(model.parameters(), lr=0.5), X, y,
                         batch_size=len(X), epochs=20, generator=torch.Generator().manual_seed(0))
    assert steps == 20
    assert F.cross_entropy(model(X), y).item() < before


def test_train_epochs_refuses_a_bad_batch_size():
    X, y = _data()
    model = _model()
    with pytest.raises(ValueError, match="batch_size"):
        train_epochs(model, torch.optim.SGD(model.parameters(), lr=0.1), X, y, batch_size=0,
                     epochs=1, generator=torch.Generator())


def test_sharpness_table_aligns_one_line_per_run():
    run = {"steps": 660, "train loss": 0.03374, "lambda_max": 1.9412, "dL(r=2)": 0.00351,
           "test correct": 439, "test acc": 439 / 450}
    text = sharpness_table({"batch 128": run, "full batch": {**run, "steps": 60}}, n_test=450)
    header, first, second = text.splitlines()
    assert header.split() == ["run", "steps", "train", "loss", "lambda_max", "dL", "(r=2)",
                              "test", "accuracy"]
    assert first.split() == ["batch", "128", "660", "0.0337", "1.94", "0.0035", "97.56%", "(439/450)"]
    assert len(first) == len(second)                       # the columns line up
    assert second.split()[2] == "60"


def test_sharpness_table_names_a_missing_measurement():
    with pytest.raises(ValueError, match="lambda_max"):
        sharpness_table({"run": {"steps": 1, "train loss": 0.1}}, n_test=10)
