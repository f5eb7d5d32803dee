"""course_lib.plots.plot_walks_near_minimum: two panels, the right one zoomed on the minimum."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib.plots import plot_walks_near_minimum  # noqa: E402


def bowl(p):
    return (p[..., 0] - 1.0) ** 2 + (p[..., 1] - 2.0) ** 2


def walk(n, seed):
    # a noisy walk from (-3, -2) towards the minimum (1, 2)
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) * np.array([-3.0, -2.0]) + t * np.array([1.0, 2.0]) + 0.05 * rng.normal(size=(n, 2))


def labelled_lines(ax):
    return [line for line in ax.get_lines() if not line.get_label().startswith("_")]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_two_panels_whole_and_zoomed():
    paths = {"A": walk(100, 0), "B": torch.tensor(walk(100, 1))}
    left, right = plot_walks_near_minimum(bowl, paths, (1.0, 2.0), xlim=(-4, 3), ylim=(-3, 4),
                                          zoom=0.5, last=20, xlabel="w", ylabel="b")
    assert left.get_xlim() == (-4, 3) and left.get_ylim() == (-3, 4)
    assert right.get_xlim() == (0.5, 1.5) and right.get_ylim() == (1.5, 2.5)
    for ax in (left, right):
        assert ax.get_aspect() == 1.0
        assert ax.get_xlabel() == "w" and ax.get_ylabel() == "b"
        stars = [line for line in ax.get_lines() if line.get_marker() == "*"]
        assert len(stars) == 1 and tuple(stars[0].get_xydata()[0]) == (1.0, 2.0)
    assert [line.get_label() for line in labelled_lines(left)] == ["A", "B"]
    # the left panel draws each path whole, the right one only its last 20 points
    assert [len(line.get_xydata()) for line in labelled_lines(left)] == [100, 100]
    assert [len(line.get_xydata()) for line in labelled_lines(right)] == [20, 20]
    np.testing.assert_allclose(labelled_lines(right)[0].get_xydata(), paths["A"][-20:])
    assert left.get_legend() is not None and right.get_legend() is None
    assert right.get_title() == "the last 20 steps, zoomed in"
    assert left.get_title() == "the whole walk"


def test_draws_on_given_axes():
    fig, axes = plt.subplots(1, 2)
    got = plot_walks_near_minimum(bowl, {"A": walk(30, 2)}, (1, 2), xlim=(-4, 3), ylim=(-3, 4),
                                  zoom=1.0, axes=axes)
    assert got == tuple(axes)
    assert len(fig.axes) >= 2                     # colour bars aside, no new figure was made
    assert plt.gcf() is fig


@pytest.mark.parametrize("kwargs, message", [
    ({"zoom": 0.0}, "zoom must be"),
    ({"zoom": 1.0, "last": 0}, "last must be"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_walks_near_minimum(bowl, {"A": walk(10, 0)}, (1, 2), xlim=(-4, 3), ylim=(-3, 4),
                                **kwargs)


def test_no_paths_is_an_error():
    with pytest.raises(ValueError, match="paths is empty"):
        plot_walks_near_minimum(bowl, {}, (1, 2), xlim=(-4, 3), ylim=(-3, 4), zoom=1.0)
