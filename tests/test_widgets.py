"""Tests of course_lib.widgets: the pure functions, the pictures, and the widgets headlessly.

The explorers are driven the way JupyterLab drives them: by setting a control's ``.value``.
"""

from __future__ import annotations

import base64
import io
import math
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import PIL.Image  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_lib.explorers.figures import figure_png  # noqa: E402
from course_lib.explorers.momentum import momentum_stable_below  # noqa: E402
from course_lib.explorers.problems import get_problem  # noqa: E402
from course_lib.explorers.results import BLOWUP, TOL  # noqa: E402
from course_lib.landscapes import (  # noqa: E402
    LANDSCAPES,
    Landscape,
    get_landscape,
    make_ravine,
    run_optimizer,
)
from course_lib.widgets import (  # noqa: E402
    Explorer,
    ExplorerResult,
    adam_explorer,
    adam_figure,
    adam_result,
    lr_explorer,
    lr_figure,
    lr_result,
    momentum_explorer,
    momentum_figure,
    momentum_rate,
    momentum_result,
)

NAN, INF = float("nan"), float("inf")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _strict():
    """Any warning is a failure (a lesson would show it on stderr); no pyplot figure leaks."""
    before = set(plt.get_fignums())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
    assert set(plt.get_fignums()) == before, "a widget function created a pyplot figure"


def _png_array(data) -> np.ndarray:
    data = bytes(data)  # the Image widget hands out a memoryview
    assert data.startswith(PNG_SIGNATURE)
    return np.asarray(PIL.Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)


def _check_result(res: ExplorerResult) -> None:
    """Invariants every result keeps, whatever the settings."""
    assert isinstance(res, ExplorerResult)
    assert res.path.ndim == 2 and len(res.path) == len(res.losses) >= 1
    assert np.isfinite(res.path).all(), "a recorded point is never NaN or inf"
    assert len(res.lines) == 2 and all(isinstance(line, str) and line for line in res.lines)
    if res.diverged:
        assert res.diverged_at == len(res.path) - 1 or not np.isfinite(res.losses[-1]) or \
            res.diverged_at == len(res.path), res
        assert f"diverged at step {res.diverged_at}" in res.readout
        assert res.converged_at is None or res.converged_at < res.diverged_at
    else:
        assert res.diverged_at is None
        assert "diverged" not in res.lines[1]
    if res.error is not None:
        assert res.readout.endswith(f"invalid setting: {res.error}")


# ----------------------------------------------------------------------------- lr: the 1-D quadratic


def test_quadratic_iterates_are_the_lessons_numbers():
    res = lr_result(1.1, steps=4)
    np.testing.assert_allclose(res.path[:, 0], [5.0, -6.0, 7.2, -8.64, 10.368], rtol=1e-12)
    np.testing.assert_allclose(lr_result(0.3, steps=4).path[:, 0], [5, 2, 0.8, 0.32, 0.128])
    np.testing.assert_allclose(lr_result(0.001, steps=2).path[:, 0], [5, 4.99, 4.98002])
    assert res.stable_below == pytest.approx(1.0)


def test_quadratic_divergence_and_convergence_steps_follow_the_closed_form():
    # |w_t| = 5 |1 - 2 lr|^t; diverged = loss passes 1e6 times its start, converged = loss < 1e-6
    for lr in (1.1, 1.3, 2.0, -0.5):
        q = abs(1 - 2 * lr)
        want = next(t for t in range(1, 1000) if q ** (2 * t) > BLOWUP)
        res = lr_result(lr, steps=200)
        assert res.diverged and res.diverged_at == want, (lr, res.diverged_at, want)
        _check_result(res)
    for lr in (0.3, 0.05, 0.9):
        q = abs(1 - 2 * lr)
        want = next(t for t in range(1000) if 25 * q ** (2 * t) <= TOL)
        res = lr_result(lr, steps=300)
        assert not res.diverged and res.converged_at == want, (lr, res.converged_at, want)


def test_quadratic_edge_cases():
    at_one = lr_result(1.0)  # |1 - lr L| = 1: bounces between +5 and -5 forever
    assert not at_one.diverged and at_one.converged_at is None
    np.testing.assert_allclose(np.abs(at_one.path[:, 0]), 5.0)
    half = lr_result(0.5)  # lr = 1/L: one step to the minimum
    assert half.converged_at == 1 and half.final_loss == 0.0
    zero = lr_result(0.0)
    assert not zero.diverged and (zero.path == 5.0).all() and "lr = 0 " in zero.readout


@pytest.mark.parametrize("lr", [0.0, 1e-8, 1e-4, 0.3, 0.999, 1.0, 1.001, 1e3, 1e9, 1e300,
                                NAN, INF, -INF, -1.0])
@pytest.mark.parametrize("landscape", ["quadratic", "bowl", "ravine", "rosenbrock", "beale",
                                       "saddle"])
def test_lr_result_never_raises(lr, landscape):
    res = lr_result(lr, landscape)
    _check_result(res)
    assert res.settings["lr"] == lr or (math.isnan(lr) and math.isnan(res.settings["lr"]))
    if math.isnan(lr) or abs(lr) >= 1e9:
        assert res.diverged and res.diverged_at == 1
    if lr == 1e3:
        assert res.diverged and res.diverged_at <= 2
    if math.isnan(lr):
        assert "NaN" in res.lines[1]
    if abs(lr) == 1e300 and landscape != "quadratic":  # the step overflows float32
        assert "overflowed to inf" in res.lines[1]
    if lr in (0.0, 1e-8):
        assert not res.diverged


def test_lr_result_rejects_what_is_not_a_slider_value():
    assert lr_result("fast").error == "lr must be a number, got 'fast'"
    _check_result(lr_result(None))
    with pytest.raises(ValueError, match="unknown landscape"):
        lr_result(0.1, "moon")
    with pytest.raises(ValueError, match="steps"):
        lr_result(0.1, steps=-1)


# ----------------------------------------------------------------------------- 2-D runs vs torch.optim


def _torch_run(name, make, steps):
    return run_optimizer(get_landscape(name), make, steps=steps, device="cpu")


@pytest.mark.parametrize("name,lr", [("ravine", 0.05), ("bowl", 0.3), ("rosenbrock", 1e-3),
                                     ("beale", 1e-3)])
def test_gradient_descent_matches_torch_sgd(name, lr):
    ours = lr_result(lr, name, steps=60, device="cpu")
    ref = _torch_run(name, lambda p: torch.optim.SGD(p, lr=lr), 60)
    assert len(ours.path) == len(ref["path"])
    np.testing.assert_allclose(ours.path, ref["path"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.losses, ref["losses"], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_matches_torch_sgd(nesterov):
    ours = momentum_result(0.03, 0.8, nesterov, "ravine", steps=80, device="cpu")
    ref = _torch_run("ravine", lambda p: torch.optim.SGD(p, lr=0.03, momentum=0.8,
                                                         nesterov=nesterov), 80)
    np.testing.assert_allclose(ours.path, ref["path"], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.5, 0.9), (0.0, 0.99)])
def test_adam_matches_torch_adam(betas):
    ours = adam_result(0.02, *betas, "rosenbrock", steps=60, device="cpu")
    ref = _torch_run("rosenbrock", lambda p: torch.optim.Adam(p, lr=0.02, betas=betas), 60)
    np.testing.assert_allclose(ours.path, ref["path"], rtol=1e-3, atol=1e-4)


def test_runs_follow_run_optimizers_divergence_rule():
    ours = lr_result(1e9, "ravine", device="cpu")
    ref = _torch_run("ravine", lambda p: torch.optim.SGD(p, lr=1e9), 10)
    assert ours.diverged_at == ref["diverged_at"] == 1
    nan = lr_result(NAN, "rosenbrock", device="cpu")
    assert nan.diverged_at == 1 and len(nan.path) == 1  # the NaN point is not recorded


def test_gradients_come_from_autograd_on_any_landscape():
    """Every run goes through run_optimizer (torch autograd), so a landscape written with any
    torch function works and gives run_optimizer's numbers exactly."""
    softplus = Landscape(name="softplus", fn=lambda p: torch.nn.functional.softplus(p).sum(-1)
                         + 0.5 * (p ** 2).sum(-1), minima=((-0.5 + 0.0, -0.5),), f_min=0.0,
                         xlim=(-2, 2), ylim=(-2, 2), start=(1.5, -1.0))
    res = lr_result(0.5, softplus, steps=20, device="cpu")
    ref = run_optimizer(softplus, lambda p: torch.optim.SGD(p, lr=0.5), steps=20, device="cpu")
    np.testing.assert_allclose(res.path, ref["path"], rtol=1e-6)
    for name in LANDSCAPES:
        assert get_problem(name, allow_1d=False).landscape is LANDSCAPES[name]


def test_a_real_error_in_a_landscape_is_raised_not_reported_as_a_setting():
    def broken(p):
        raise ZeroDivisionError("a bug in the landscape")

    bad = Landscape(name="broken", fn=broken, minima=(), f_min=0.0, xlim=(-1, 1),
                    ylim=(-1, 1), start=(0.5, 0.5))
    with pytest.raises(ZeroDivisionError):
        lr_result(0.1, bad, steps=3, device="cpu")


# ----------------------------------------------------------------------------- momentum, adam extremes


@pytest.mark.parametrize("lr", [1e-8, 0.02, 1e3, 1e9, NAN])
@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.999, 1.0, 1.5, NAN])
@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_result_never_raises(lr, momentum, nesterov):
    res = momentum_result(lr, momentum, nesterov, "ravine", steps=100)
    _check_result(res)
    if lr >= 1e9 or math.isnan(lr):
        assert res.diverged and res.diverged_at == 1
    if lr == 1e3:
        assert res.diverged and res.diverged_at <= 2
    if math.isnan(momentum) and not math.isnan(lr) and lr < 1e3:
        # b_1 = g_1, so the NaN enters at step 2; Nesterov's g + mu*b uses it at step 1
        assert res.diverged and res.diverged_at == (1 if nesterov else 2)


def test_momentum_converges_where_gradient_descent_crawls():
    kappa = 100
    ravine = make_ravine(kappa=kappa)
    gd = momentum_result(2 / (1 + kappa), 0.0, False, ravine, steps=600)
    mu = ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2
    lr = (2 / (1 + math.sqrt(kappa))) ** 2
    heavy = momentum_result(lr, mu, False, ravine, steps=600)
    assert gd.converged_at is not None and heavy.converged_at is not None
    assert heavy.converged_at * 4 < gd.converged_at, (heavy.converged_at, gd.converged_at)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_rate_predicts_the_measured_rate_and_the_stability_limit(nesterov):
    lam = np.array([1.0, 20.0])
    for lr, mu in [(0.05, 0.5), (0.02, 0.9), (0.09, 0.0)]:
        rho = max(momentum_rate(lr, mu, v, nesterov=nesterov) for v in lam)
        res = momentum_result(lr, mu, nesterov, "ravine", steps=150, device="cpu")
        dist = np.linalg.norm(res.path, axis=1)
        measured = (dist[-1] / dist[-51]) ** (1 / 50)  # over the last 50 steps
        assert measured == pytest.approx(rho, rel=0.05), (lr, mu, measured, rho)
    for mu in (0.0, 0.3, 0.9):
        bound = momentum_stable_below(mu, 20.0, nesterov)
        assert momentum_rate(bound * 0.99, mu, 20.0, nesterov=nesterov) < 1
        assert momentum_rate(bound * 1.01, mu, 20.0, nesterov=nesterov) > 1
    assert momentum_rate(NAN, 0.5, 1.0) == INF


@pytest.mark.parametrize("beta1,beta2", [(0.9, 0.999), (0.0, 0.0), (0.99, 0.0), (0.9, 0.9999)])
@pytest.mark.parametrize("lr", [1e-8, 0.05, 1e3, 1e9, NAN])
def test_adam_result_never_raises(lr, beta1, beta2):
    res = adam_result(lr, beta1, beta2, "rosenbrock", steps=60)
    _check_result(res)
    assert res.error is None
    if math.isnan(lr):
        assert res.diverged and res.diverged_at == 1


@pytest.mark.parametrize("beta1,beta2,bad", [(1.0, 0.999, "beta1"), (0.9, 1.0, "beta2"),
                                             (NAN, 0.9, "beta1"), (-0.1, 0.9, "beta1"),
                                             (0.9, 2.0, "beta2")])
def test_adam_reports_invalid_betas_instead_of_raising(beta1, beta2, bad):
    res = adam_result(0.05, beta1, beta2)
    _check_result(res)
    assert res.error.startswith(f"{bad} must be in [0, 1)")
    assert not res.diverged and len(res.path) == 1


def test_adam_steps_are_about_lr():
    res = adam_result(0.01, 0.9, 0.999, "ravine", steps=30, device="cpu")
    steps = np.abs(np.diff(res.path, axis=0))
    assert steps.max() <= 0.01 * 1.01  # |m_hat / sqrt(v_hat)| <= 1 with beta1 < sqrt(beta2)


# ----------------------------------------------------------------------------- figures


@pytest.mark.parametrize("make", [
    lambda: lr_figure(lr_result(1.1)),
    lambda: lr_figure(lr_result(1e9, "rosenbrock")),
    lambda: lr_figure(lr_result(NAN, "ravine")),
    lambda: lr_figure(lr_result(0.0, "bowl")),
    lambda: momentum_figure(momentum_result(0.02, 0.9, True)),
    lambda: momentum_figure(momentum_result(1e9, 0.999)),
    lambda: adam_figure(adam_result(0.05, 0.9, 0.0)),
    lambda: adam_figure(adam_result(0.05, 1.0, 0.9)),
])
def test_figures_draw_for_normal_and_extreme_settings(make):
    fig = make()
    assert isinstance(fig, Figure) and len(fig.axes) >= 3
    assert fig.canvas.figure is fig
    png = figure_png(fig)
    assert png.startswith(PNG_SIGNATURE)


def test_figures_show_as_png_without_pyplot():
    fig = lr_figure(lr_result(0.3))
    assert fig._repr_png_().startswith(PNG_SIGNATURE)  # IPython displays it, inline backend or not
    assert repr(fig) == "<Figure size 1050x370 with 3 Axes>"


def test_a_diverged_figure_says_so_and_keeps_its_window():
    res = lr_result(1e9, "rosenbrock")
    fig = lr_figure(res)
    path_ax, loss_ax, _ = fig.axes[:3]
    assert loss_ax.get_title() == f"loss: diverged at step {res.diverged_at}"
    assert path_ax.get_xlim() == get_landscape("rosenbrock").xlim
    assert loss_ax.get_yscale() == "log"
    x, y = path_ax.lines[-3].get_data()  # the path, clipped near the window
    assert np.abs(np.asarray(x)).max() < 10 and np.abs(np.asarray(y)).max() < 10


def test_figure_functions_check_what_they_are_given():
    with pytest.raises(ValueError, match="momentum_result"):
        momentum_figure(lr_result(0.1))


def test_custom_landscape_figure_uses_that_landscape():
    steep = make_ravine(kappa=100)
    res = lr_result(0.019, steep, steps=30)
    assert res.stable_below == pytest.approx(0.02)
    fig = lr_figure(res)
    assert "κ = 100" in fig.axes[0].get_title()


# ----------------------------------------------------------------------------- the widgets


def test_explorer_mimebundle_has_the_widget_view_a_png_and_stable_text():
    ex = lr_explorer(lr=0.1)
    bundle = ex._repr_mimebundle_()
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == ex.model_id and view["version_major"] == 2
    png = base64.b64decode(bundle["image/png"])
    assert png.startswith(PNG_SIGNATURE) and len(png) < 150_000
    assert bundle["text/plain"] == ("Learning-rate explorer (landscape = quadratic, lr = 0.1). "
                                    "Run the notebook in Jupyter to use the controls.")
    assert "0x" not in bundle["text/plain"]
    assert lr_explorer(lr=0.1)._repr_mimebundle_()["text/plain"] == bundle["text/plain"]


def test_moving_the_slider_updates_the_readout_and_the_image():
    ex = lr_explorer(lr=0.1)
    slider = ex.controls["lr"]
    assert slider.continuous_update is False
    before_png, before_text = ex.image.value, ex.readout.value
    assert "lr = 0.1 " in before_text
    slider.value = 10 ** (-1 + 3 * 0.05)  # three arrow-key presses
    assert ex.error is None
    assert "lr = 0.141 " in ex.readout.value and ex.readout.value != before_text
    want = lr_result(slider.value)
    assert ex.result.readout == want.readout
    for line in want.lines:
        assert line.replace("<", "&lt;") in ex.readout.value
    assert ex.image.value != before_png
    diff = np.abs(_png_array(ex.image.value) - _png_array(before_png))
    assert diff.max() > 100
    static = base64.b64decode(ex._repr_mimebundle_()["image/png"])
    assert np.abs(_png_array(static) - _png_array(ex.image.value)).mean() < 3  # the new picture


def test_the_live_picture_is_the_pure_figure():
    """The widget draws by blitting; the pure function draws in full. Same picture."""
    ex = lr_explorer(lr=0.5, landscape="ravine")
    ex.controls["lr"].value = 10 ** -1.05
    live = _png_array(ex.image.value)
    full = _png_array(figure_png(lr_figure(lr_result(ex.controls["lr"].value, "ravine"))))
    assert live.shape == full.shape
    assert np.abs(live - full).mean() < 2.0


def test_switching_landscape_and_extreme_values_in_the_widget():
    ex = lr_explorer(lr=0.1)
    ex.controls["landscape"].value = "rosenbrock"
    assert "rosenbrock" in ex.readout.value and ex.error is None
    for value in (1e-4, 10.0):
        ex.controls["lr"].value = value
        assert ex.error is None
    assert "diverged at step" in ex.readout.value


def test_momentum_and_adam_widgets_react_to_every_control():
    m = momentum_explorer()
    assert all(getattr(c, "continuous_update", False) is False
               for k, c in m.controls.items() if k in ("lr", "momentum"))
    texts = [m.readout.value]
    for name, value in (("momentum", 0.5), ("nesterov", True), ("lr", 10 ** -0.5),
                        ("landscape", "bowl")):
        m.controls[name].value = value
        assert m.error is None
        texts.append(m.readout.value)
    assert len(set(texts)) == len(texts)
    assert "Nesterov momentum = 0.5 on bowl" in m.readout.value

    a = adam_explorer()
    before = a.image.value
    a.controls["beta2"].value = 0.0
    a.controls["beta1"].value = 0.0
    assert a.error is None and "beta1 = 0, beta2 = 0 on rosenbrock" in a.readout.value
    assert a.image.value != before


def test_an_update_that_fails_shows_a_message_not_a_traceback(monkeypatch):
    ex = lr_explorer()

    def broken(values):
        raise RuntimeError("boom")

    monkeypatch.setattr(ex, "_compute", broken)
    ex.controls["lr"].value = 0.2
    assert ex.error == "RuntimeError: boom"
    assert "could not update: RuntimeError: boom" in ex.readout.value
    monkeypatch.undo()
    ex.controls["lr"].value = 0.3  # the next update that works clears the error
    assert ex.error is None and "lr = 0.3 " in ex.readout.value


def test_widget_arguments_are_checked():
    with pytest.raises(ValueError, match="slider"):
        lr_explorer(lr=100.0)
    with pytest.raises(ValueError, match="one of landscapes"):
        lr_explorer(landscape="beale")
    with pytest.raises(ValueError, match="only available"):
        momentum_explorer(landscape="quadratic", landscapes=("quadratic",))
    with pytest.raises(ValueError, match="beta2"):
        adam_explorer(beta2=0.42)
    assert isinstance(lr_explorer(landscapes=("quadratic",)), Explorer)
