"""Tests of course_lib.plots (Agg backend): return values, artists, ax handling, bad data."""

from __future__ import annotations

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib as mpl  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402

from course_lib.landscapes import LANDSCAPES, run_optimizer  # noqa: E402
from course_lib.plots import (  # noqa: E402
    COURSE_RC,
    course_style,
    plot_grad_norms,
    plot_landscape_contour,
    plot_losses,
    plot_lr_schedule,
    plot_surface_3d,
    plot_trajectory_2d,
)

RES = 40  # coarse grids keep the tests fast


@pytest.fixture(autouse=True)
def _headless(monkeypatch):
    def no_show(*args, **kwargs):
        raise AssertionError("plotting functions must not call plt.show()")

    monkeypatch.setattr(plt, "show", no_show)
    with mpl.rc_context():
        yield
    plt.close("all")


def _legend_texts(ax):
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


def _contour_sets(ax):
    return [c for c in ax.collections if isinstance(c, ContourSet)]


def _named_lines(ax):
    return [line for line in ax.get_lines() if not line.get_label().startswith("_")]


# ----------------------------------------------------------------------------- contours


def test_contour_of_a_landscape():
    land = LANDSCAPES["himmelblau"]
    ax = plot_landscape_contour(land, resolution=RES)
    assert isinstance(ax, mpl.axes.Axes)
    assert len(_contour_sets(ax)) == 2  # filled + lines
    assert len(ax.get_lines()) == 4  # one star per minimum
    assert ax.get_xlim() == land.xlim and ax.get_ylim() == land.ylim
    assert ax.get_title() == land.description
    assert ax.get_xlabel() == "x" and ax.get_ylabel() == "y"


def test_contour_options_and_given_ax():
    fig, axs = plt.subplots(1, 2)
    out = plot_landscape_contour(
        LANDSCAPES["saddle"],
        ax=axs[1],
        levels=10,
        log_scale=False,
        filled=False,
        resolution=RES,
        title="s",
    )
    assert out is axs[1] and len(_contour_sets(axs[0])) == 0
    assert len(_contour_sets(axs[1])) == 1 and axs[1].get_title() == "s"
    assert len(axs[1].get_lines()) == 1  # the saddle point marker
    ax = plot_landscape_contour(
        lambda p: (p**2).sum(-1), (-1, 1), (-2, 2), levels=[0.1, 0.5, 1.0], resolution=RES
    )
    assert ax.get_ylim() == (-2.0, 2.0)
    with pytest.raises(ValueError, match="xlim"):
        plot_landscape_contour(lambda p: (p**2).sum(-1))


def test_contour_survives_non_finite_values():
    def nasty(p):
        z = (p**2).sum(-1)
        return torch.where(p[..., 0] > 0.5, torch.full_like(z, float("nan")), z) / (p[..., 1] != 0)

    plot_landscape_contour(nasty, (-1, 1), (-1, 1), resolution=RES)
    plot_landscape_contour(
        lambda p: torch.full(p.shape[:-1], float("nan")), (-1, 1), (-1, 1), resolution=RES
    )


# ----------------------------------------------------------------------------- trajectories


def test_trajectories_overlay_with_a_legend():
    rosen = LANDSCAPES["rosenbrock"]
    sgd = run_optimizer(rosen, lambda ps: torch.optim.SGD(ps, lr=1e-3), steps=50, device="cpu")
    adam = run_optimizer(rosen, lambda ps: torch.optim.Adam(ps, lr=0.05), steps=50, device="cpu")
    ax = plot_trajectory_2d(rosen, sgd, label="SGD", resolution=RES)
    n_contours = len(_contour_sets(ax))
    assert n_contours == 2
    # minimum star + path + start + end
    assert len(ax.get_lines()) == 4 and len(_named_lines(ax)) == 1
    out = plot_trajectory_2d(rosen, adam["path"], ax=ax, label="Adam")
    assert out is ax
    assert len(_contour_sets(ax)) == n_contours  # contours drawn once
    assert _legend_texts(ax) == ["SGD", "Adam"]
    colors = [line.get_color() for line in _named_lines(ax)]
    assert colors[0] != colors[1]
    assert ax.get_xlim() == rosen.xlim
    path_line = _named_lines(ax)[1]
    np.testing.assert_allclose(path_line.get_xydata(), adam["path"])


def test_diverged_and_non_finite_paths_are_clipped_not_raised():
    rosen = LANDSCAPES["rosenbrock"]
    boom = run_optimizer(rosen, lambda ps: torch.optim.SGD(ps, lr=0.01), steps=50, device="cpu")
    assert boom["diverged"]
    ax = plot_trajectory_2d(rosen, boom, label="SGD lr=0.01", resolution=RES)
    assert _legend_texts(ax) == ["SGD lr=0.01 (diverged)"]
    assert ax.get_xlim() == rosen.xlim and ax.get_ylim() == rosen.ylim
    assert np.abs(_named_lines(ax)[0].get_xydata()).max() <= 50  # clipped near the window
    weird = np.array([[0.0, 0.0], [1e30, -1e30], [np.nan, 1.0], [np.inf, -np.inf], [0.5, 0.5]])
    plot_trajectory_2d(rosen, weird, ax=ax, label="weird")
    plot_trajectory_2d(None, torch.tensor([[0.0, 0.0], [1.0, 2.0]]), label="no contours")
    ax.figure.canvas.draw()  # rendering must work too
    with pytest.raises(ValueError):
        plot_trajectory_2d(rosen, np.zeros((3, 3)))


def test_render_rosenbrock_race_to_png(tmp_path):
    rosen = LANDSCAPES["rosenbrock"]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, make in {
        "SGD": lambda ps: torch.optim.SGD(ps, lr=1e-3),
        "momentum": lambda ps: torch.optim.SGD(ps, lr=1e-3, momentum=0.9),
        "Adam": lambda ps: torch.optim.Adam(ps, lr=0.05),
    }.items():
        plot_trajectory_2d(
            rosen,
            run_optimizer(rosen, make, steps=100, device="cpu"),
            ax=ax,
            label=name,
            resolution=RES,
        )
    out = tmp_path / "race.png"
    fig.savefig(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------- 3-D surface


def test_surface_3d():
    rosen = LANDSCAPES["rosenbrock"]
    run = run_optimizer(rosen, lambda ps: torch.optim.Adam(ps, lr=0.05), steps=30, device="cpu")
    ax = plot_surface_3d(rosen, resolution=20, log_scale=True, path=run)
    assert ax.name == "3d" and ax.get_title() == rosen.description
    assert len(ax.get_lines()) == 1
    fig = plt.figure()
    ax3 = fig.add_subplot(projection="3d")
    assert plot_surface_3d(LANDSCAPES["bowl"], ax=ax3, resolution=10) is ax3
    with pytest.raises(ValueError, match="3-D"):
        plot_surface_3d(rosen, ax=plt.subplots()[1], resolution=10)


# ----------------------------------------------------------------------------- curves


def test_plot_losses():
    hist = {"SGD": [3.0, 2.0, 1.0], "Adam": torch.tensor([3.0, 1.0, 0.1, 0.01])}
    ax = plot_losses(hist, log_y=True, title="race")
    assert [line.get_label() for line in ax.get_lines()] == ["SGD", "Adam"]
    assert _legend_texts(ax) == ["SGD", "Adam"]
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "step" and ax.get_ylabel() == "loss"
    assert len(ax.get_lines()[1].get_xdata()) == 4
    fig, given = plt.subplots()
    out = plot_losses([1.0, float("nan"), float("inf"), -1.0, 0.5], ax=given, log_y=True)
    assert out is given and len(given.get_lines()) == 1
    fig.canvas.draw()


def test_plot_lr_schedule():
    ax = plot_lr_schedule([0.1] * 5 + [0.01] * 5)
    assert len(ax.get_lines()) == 1 and ax.get_ylabel() == "learning rate"
    ax = plot_lr_schedule({"constant": [0.1] * 10, "cosine": np.cos(np.linspace(0, 1.5, 10))})
    assert _legend_texts(ax) == ["constant", "cosine"]


def test_plot_grad_norms():
    norms = np.array([0.5, 3.0, 0.7, np.inf, 5.0, np.nan])
    ax = plot_grad_norms(norms, clip_threshold=1.0, clip_events=norms > 1.0)
    labels = _legend_texts(ax)
    assert labels == ["gradient norm", "clip threshold (1)", "clipped (3 steps)"]
    assert len(ax.get_lines()) == 3
    ax = plot_grad_norms(norms, clip_events=[1, 4], log_y=True)
    assert ax.get_lines()[1].get_xdata().tolist() == [1, 4]
    ax.figure.canvas.draw()
    assert len(plot_grad_norms([1.0, 2.0]).get_lines()) == 1
    with pytest.raises(ValueError):
        plot_grad_norms(norms, clip_events=[True, False])
    with pytest.raises(ValueError):
        plot_grad_norms(norms, clip_events=[7])


# ----------------------------------------------------------------------------- style


def test_course_style_as_function_and_context_manager():
    mpl.rcParams["axes.spines.top"] = True  # matplotlib's default (the fixture restores all)
    with course_style(font__size=13):
        assert mpl.rcParams["axes.spines.top"] is False
        assert mpl.rcParams["font.size"] == 13
    assert mpl.rcParams["axes.spines.top"] is True
    course_style()  # applies for the rest of the session (the rc_context fixture restores it)
    assert mpl.rcParams["axes.spines.top"] is False
    assert COURSE_RC["savefig.format"] == "png"


def test_importing_has_no_side_effects():
    code = (
        "import matplotlib as mpl, numpy as np, torch\n"
        "rc = dict(mpl.rcParams); t = torch.random.get_rng_state(); n = np.random.get_state()[1]\n"
        "import course_lib.data, course_lib.landscapes, course_lib.models, course_lib.plots\n"
        "assert dict(mpl.rcParams) == rc, 'rcParams changed'\n"
        "assert torch.equal(torch.random.get_rng_state(), t), 'torch RNG touched'\n"
        "assert (np.random.get_state()[1] == n).all(), 'numpy RNG touched'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
