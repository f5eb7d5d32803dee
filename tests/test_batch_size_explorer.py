"""Tests of the batch-size explorer (lesson 02): values against independent computations, odd
settings, the picture, and the widget driven as JupyterLab drives it (through ``.value``)."""

from __future__ import annotations

import io
import itertools
import math
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import PIL.Image  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib.explorers.batch_size import (  # noqa: E402
    BatchSizeResult,
    batch_size_explorer,
    batch_size_figure,
    batch_size_result,
    linear_fit,
    minibatch_path,
    noise_variance,
)
from course_lib.explorers.figures import figure_png  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _strict():
    """Any warning is a failure (a lesson would show it on stderr); no pyplot figure leaks."""
    before = set(plt.get_fignums())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
    assert set(plt.get_fignums()) == before, "an explorer function created a pyplot figure"


def _data(n: int = 200, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    z = (z - z.mean()) / z.std()
    y = 3.0 * z + 10.0 + rng.normal(scale=2.0, size=n)
    return torch.tensor(z), torch.tensor(y)


def _png_array(data) -> np.ndarray:
    data = bytes(data)
    assert data.startswith(PNG_SIGNATURE)
    return np.asarray(PIL.Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)


# ----------------------------------------------------------------------------- the pure functions

def test_linear_fit_against_numpy():
    z, y = _data(n=57, seed=3)
    z = 2.0 * z + 1.5  # not standardised: the moments and the Hessian are general
    fit = linear_fit(z, y)
    w, b = np.polyfit(z.numpy(), y.numpy(), 1)
    assert fit.theta_star == pytest.approx((w, b), rel=1e-10)
    r = w * z.numpy() + b - y.numpy()
    g = np.stack([2 * r * z.numpy(), 2 * r], axis=1)
    assert fit.sigma2 == pytest.approx(((g - g.mean(0)) ** 2).sum(1).mean(), rel=1e-10)
    hess = torch.autograd.functional.hessian(lambda t: ((t[0] * z + t[1] - y) ** 2).mean(),
                                             torch.zeros(2, dtype=torch.float64))
    assert fit.lambda_max == pytest.approx(torch.linalg.eigvalsh(hess).max().item(), rel=1e-10)
    ws, bs = np.meshgrid([-1.0, 0.3, 4.0], [2.0, -7.0])
    direct = ((ws[..., None] * z.numpy() + bs[..., None] - y.numpy()) ** 2).mean(-1)
    np.testing.assert_allclose(fit.loss(ws, bs), direct, rtol=1e-10)


@pytest.mark.parametrize("batch_size", [1, 7, 200])
def test_minibatch_path_is_the_lessons_loop_step_for_step(batch_size):
    """The lesson writes the loop in torch; the explorer in numpy. Same shuffles, same steps."""
    z, y = _data()
    gen = torch.Generator().manual_seed(4)
    theta = torch.zeros(2, dtype=torch.float64)
    want = [theta.clone()]
    order, pos = torch.randperm(len(z), generator=gen), 0
    for _ in range(60):
        if pos + batch_size > len(z):
            order, pos = torch.randperm(len(z), generator=gen), 0
        idx = order[pos:pos + batch_size]
        pos += batch_size
        r = theta[0] * z[idx] + theta[1] - y[idx]
        theta = theta - 0.1 * torch.stack([2 * (r * z[idx]).mean(), 2 * r.mean()])
        want.append(theta.clone())
    got = minibatch_path(z, y, batch_size, 0.1, 60, seed=4)
    np.testing.assert_allclose(got, torch.stack(want).numpy(), rtol=1e-12, atol=1e-12)


def test_the_law_is_the_exact_variance_of_sampling_without_replacement():
    """Enumerate every batch of a tiny data set: the variance is exactly sigma^2/B (N-B)/(N-1)."""
    z, y = _data(n=9, seed=1)
    fit = linear_fit(z, y)
    g = fit.per_example.numpy()
    for b in range(1, 10):
        means = np.array([g[list(s)].mean(0) for s in itertools.combinations(range(9), b)])
        exact = ((means - g.mean(0)) ** 2).sum(1).mean()
        res = batch_size_result(b, fit, steps=50)
        assert res.variance_law == pytest.approx(exact, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_measured_noise_follows_the_law_on_random_data(seed):
    z, y = _data(n=300, seed=seed)
    fit = linear_fit(z, y)
    n = fit.n
    for b in (1, 4, 32, 100, 200, 299):
        law = fit.sigma2 / b * (n - b) / (n - 1)
        measured = noise_variance(fit, b, batches=6000, seed=seed)
        assert measured == pytest.approx(law, rel=0.08), b
    assert noise_variance(fit, n) == 0.0
    # the log-log slope over small B is -1: the 1/B law
    bs = np.array([1, 2, 4, 8, 16])
    vs = [noise_variance(fit, int(b), batches=4000, seed=seed) for b in bs]
    assert np.polyfit(np.log(bs), np.log(vs), 1)[0] == pytest.approx(-1.0, abs=0.08)


def test_noise_is_deterministic_and_cached():
    z, y = _data()
    fit = linear_fit(z, y)
    first = noise_variance(fit, 8, seed=5)
    assert (8, 400, 5) in fit.variance_cache
    assert noise_variance(fit, 8, seed=5) == first  # the cache answers
    # A fresh fit draws the same batches. LAPACK's least squares may differ in the last bit
    # between two calls (it did on CI: 4.28031754650823 vs 4.280317546508231), so "the same"
    # is to 1e-12 relative; a different draw would differ by percent.
    again = linear_fit(z, y)
    assert noise_variance(again, 8, seed=5) == pytest.approx(first, rel=1e-12)
    assert noise_variance(again, 8, seed=6) != pytest.approx(first, rel=1e-3)


def test_result_numbers():
    z, y = _data()
    res = batch_size_result(16, z, y, lr=0.05, steps=120, seed=2)
    assert res.error is None and res.diverged_at is None
    assert res.examples_used == 16 * 120 and len(res.path) == 121
    dist = np.linalg.norm(res.path - np.array(res.theta_star), axis=1)
    assert res.wander == pytest.approx(dist[-50:].mean())
    assert res.variance_law == pytest.approx(res.sigma2 / 16 * (200 - 16) / 199)
    assert res.lines[0].startswith("B = 16 of N = 200: 120 steps use 1,920 examples")
    assert "gradient-noise variance" in res.lines[2]
    full = batch_size_result(200, z, y, lr=0.05, steps=120, seed=2)
    assert full.variance == 0.0 and full.variance_law == 0.0
    np.testing.assert_allclose(full.path, full.full_path)
    # more noise, more wander: B = 1 ends farther from the minimum than the full batch
    assert batch_size_result(1, z, y, steps=120).wander > 10 * full.wander


@pytest.mark.parametrize("bad", [0, -3, 201, 2.5, "16", None, True, float("nan")])
def test_bad_batch_sizes_are_invalid_settings(bad):
    z, y = _data()
    res = batch_size_result(bad, z, y)
    assert isinstance(res, BatchSizeResult) and res.error
    assert res.readout.startswith("invalid setting: ")
    assert np.isfinite(res.path).all()
    fig = batch_size_figure(res)
    assert figure_png(fig).startswith(PNG_SIGNATURE)
    assert fig.ax_path.get_title() == "invalid setting"


@pytest.mark.parametrize("kwargs", [dict(lr=0.0), dict(lr=-1.0), dict(lr=float("nan")),
                                    dict(lr=float("inf")), dict(lr="fast"), dict(steps=3),
                                    dict(steps=100.0)])
def test_bad_settings_are_invalid_settings(kwargs):
    z, y = _data()
    res = batch_size_result(8, z, y, **kwargs)
    assert res.error and res.readout.startswith("invalid setting: ")
    assert figure_png(batch_size_figure(res)).startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("lr,batch_size", [(1.5, 200), (1.5, 1), (1e6, 8), (1e300, 1)])
def test_a_run_that_blows_up_is_reported_as_diverged(lr, batch_size):
    z, y = _data()
    res = batch_size_result(batch_size, z, y, lr=lr)
    assert res.error is None and res.diverged_at is not None
    assert f"diverged at step {res.diverged_at}" in res.readout
    assert np.isfinite(res.path).all() and math.isnan(res.wander)
    fig = batch_size_figure(res)
    assert figure_png(fig).startswith(PNG_SIGNATURE)
    assert fig.ax_path.get_title().endswith("diverged")


def test_figure_function_checks_its_argument():
    with pytest.raises(ValueError, match="batch_size_result"):
        batch_size_figure("not a result")


def test_linear_fit_rejects_bad_data():
    with pytest.raises(ValueError):
        linear_fit(torch.zeros(3), torch.zeros(4))
    with pytest.raises(ValueError):
        linear_fit(torch.tensor([1.0, float("nan")]), torch.zeros(2))


# ----------------------------------------------------------------------------- the widget

def test_the_slider_updates_the_readout_and_the_picture():
    z, y = _data()
    ex = batch_size_explorer(z, y, batch_size=16)
    slider = ex.controls["batch_size"]
    assert slider.continuous_update is False
    assert [v for _, v in slider.options] == [1, 2, 4, 8, 16, 32, 64, 128, 200]
    before_png, before_text = bytes(ex.image.value), ex.readout.value
    assert "B = 16 of N = 200" in before_text
    slider.value = 1
    assert ex.error is None
    want = batch_size_result(1, z, y)
    assert ex.result.readout == want.readout
    assert "B = 1 of N = 200" in ex.readout.value and ex.readout.value != before_text
    assert np.abs(_png_array(ex.image.value) - _png_array(before_png)).max() > 100
    # the live picture (blitted) is the pure function's picture
    full = _png_array(figure_png(batch_size_figure(want)))
    live = _png_array(ex.image.value)
    assert live.shape == full.shape and np.abs(live - full).mean() < 2.0
    for value in (200, 128, 1):
        slider.value = value
        assert ex.error is None
    bundle = ex._repr_mimebundle_()
    assert bundle["text/plain"] == ("Batch-size explorer (batch_size = 1). "
                                    "Run the notebook in Jupyter to use the controls.")
    assert "image/png" in bundle


def test_the_explorer_refuses_a_start_value_off_the_slider():
    z, y = _data()
    with pytest.raises(ValueError, match="batch size B"):
        batch_size_explorer(z, y, batch_size=3)
