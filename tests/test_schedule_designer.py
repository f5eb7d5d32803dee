"""The schedule designer: headless pure functions (extremes included) and the widget's controls."""

from __future__ import annotations

import itertools
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from course_lib import schedule_designer as SD
from course_lib.schedule_designer import (
    SHAPES,
    DesignResult,
    design_figure,
    design_result,
    design_schedule,
    schedule_designer,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- design_schedule


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("warmup", [0, 1, 30, 59])
@pytest.mark.parametrize("floor", [0.0, 0.1, 1.0])
def test_design_schedule_is_valid_everywhere_on_the_sliders(shape, warmup, floor):
    schedule, note = design_schedule(shape, warmup, 60, floor)
    values = [schedule(t) for t in range(61)]
    assert all(math.isfinite(v) and 0.0 <= v <= 1.0 + 1e-12 for v in values)
    assert max(values) == pytest.approx(1.0)                 # the peak is reached
    assert note is None or isinstance(note, str)


def test_design_schedule_shapes():
    cos, _ = design_schedule("cosine", 10, 100, 0.1)
    assert cos(10) == 1.0 and cos(100) == pytest.approx(0.1)
    lin, _ = design_schedule("linear", 10, 100, 0.0)
    assert lin(10) == 1.0 and lin(55) == pytest.approx(0.5) and lin(100) == 0.0
    wsd, _ = design_schedule("wsd", 10, 100, 0.0)
    assert wsd(10) == wsd(79) == wsd(80) == 1.0 and wsd(100) == 0.0    # decays over the last 20%
    one, _ = design_schedule("one-cycle", 10, 100, 0.001)
    assert one(0) == pytest.approx(1 / 25) and one(99) == pytest.approx(0.001)


def test_design_schedule_notes_its_adjustments():
    _, note = design_schedule("one-cycle", 0, 100, 0.01)
    assert "2 steps" in note
    _, note = design_schedule("one-cycle", 10, 100, 0.5)               # above the start: capped
    assert "peak/25" in note
    schedule, note = design_schedule("wsd", 90, 100, 0.0)              # warmup + decay > run
    assert "warmup cut" in note and schedule(100) == 0.0


@pytest.mark.parametrize("args", [("bogus", 1, 10, 0.1), ("cosine", -1, 10, 0.1),
                                  ("cosine", 10, 10, 0.1), ("cosine", 1, 10, 1.5),
                                  ("cosine", 1, 3, 0.1), ("cosine", 1.5, 10, 0.1)])
def test_design_schedule_rejects_bad_settings(args):
    with pytest.raises(ValueError):
        design_schedule(*args)


# --------------------------------------------------------------------------- design_result


def test_the_lr_used_at_every_step_is_the_designed_one():
    res = design_result("cosine", warmup=0.1, peak_lr=3e-2, floor=0.1)
    assert res.error is None and not res.diverged
    assert len(res.lrs) == len(res.losses) == res.steps
    np.testing.assert_allclose(res.lrs, res.planned_lrs, rtol=1e-12)
    assert res.warmup_steps == 12 and res.lrs[12] == pytest.approx(3e-2)
    assert math.isfinite(res.test_loss) and 0.0 <= res.test_accuracy <= 1.0
    assert len(res.lines) == 2 and "test loss" in res.lines[1]


def test_results_are_deterministic():
    a = design_result("wsd", warmup=0.05, peak_lr=1e-2, floor=0.0)
    b = design_result("wsd", warmup=0.05, peak_lr=1e-2, floor=0.0)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert a.readout == b.readout


def test_a_decayed_schedule_beats_constant_at_a_high_peak():
    res = design_result("cosine", warmup=0.1, peak_lr=0.1, floor=0.0)
    assert res.test_loss < res.constant_test_loss


@pytest.mark.parametrize("shape", SHAPES)
def test_extreme_slider_values_never_raise(shape):
    for warmup, peak, floor in itertools.product(SD.WARMUP_RANGE, SD.PEAK_LR_RANGE, (0.0, 1.0)):
        res = design_result(shape, warmup=warmup, peak_lr=peak, floor=floor)
        assert res.error is None
        assert res.lines and all(isinstance(line, str) for line in res.lines)
        if res.diverged:
            assert "diverged at step" in res.readout and math.isnan(res.test_loss)
        else:
            assert math.isfinite(res.test_loss)
        fig = design_figure(res)
        assert isinstance(fig, Figure)


def test_a_blow_up_is_reported_not_raised():
    res = design_result("cosine", warmup=0.0, peak_lr=1.0, floor=1.0)   # constant at lr 1
    assert res.diverged and res.diverged_at is not None
    assert res.constant_diverged_at is not None
    assert "diverged at step" in res.lines[1]
    design_figure(res)


@pytest.mark.parametrize("kwargs", [{"shape": "bogus"}, {"peak_lr": -1.0}, {"peak_lr": 0.0},
                                    {"peak_lr": float("nan")}, {"peak_lr": "0.1"},
                                    {"warmup": 1.5}, {"warmup": -0.1}, {"floor": 2.0},
                                    {"floor": float("inf")}, {"steps": 2}, {"steps": 10.5}])
def test_invalid_settings_give_an_error_result(kwargs):
    res = design_result(**kwargs)
    assert isinstance(res, DesignResult) and res.error
    assert res.lines[0].startswith("invalid setting")
    design_figure(res)                                                  # still draws


def test_design_figure_is_not_managed_by_pyplot():
    before = plt.get_fignums()
    fig = design_figure(design_result())
    assert plt.get_fignums() == before
    assert len(fig.axes) == 2
    with pytest.raises(ValueError):
        design_figure("not a result")


def test_the_figure_blits_the_runs_over_fixed_axes():
    """A peak-lr move redraws only the moving artists, and what it draws is the run's lr."""
    from course_lib.explorers.figures import ExplorerFigure
    from course_lib.explorers.schedule import DesignFigure

    fig = DesignFigure()
    assert isinstance(fig, ExplorerFigure) and fig.blit
    a = design_result("cosine", warmup=0.1, peak_lr=1e-2, floor=0.1)
    b = design_result("cosine", warmup=0.1, peak_lr=3e-2, floor=0.1)
    first = fig.render_rgb(a)
    limits = fig.ax_lr.get_ylim(), fig.ax_loss.get_ylim(), fig.ax_lr.get_xlim()
    np.testing.assert_allclose(fig.lr_line.get_ydata(), a.lrs / 1e-2, rtol=1e-12)
    second = fig.render_rgb(b)
    assert (fig.ax_lr.get_ylim(), fig.ax_loss.get_ylim(), fig.ax_lr.get_xlim()) == limits
    np.testing.assert_allclose(fig.lr_line.get_ydata(), b.lrs / 3e-2, rtol=1e-12)
    assert "peak 0.03" in fig.ax_lr.get_title()
    assert not fig.static_changed and (first != second).any()
    # the blitted picture is the full redraw of the same state, but for where the runs' lines
    # cross a grid line or the legend (drawn on top when blitted): 45 of 388,500 pixels here,
    # while the two peaks' pictures differ in 1.8% of them
    full = DesignFigure()
    full.blit = False
    assert (second != full.render_rgb(b)).any(axis=-1).mean() < 1e-3


# --------------------------------------------------------------------------- the widget


def test_widget_follows_its_controls():
    w = schedule_designer()
    assert w.result.shape == "cosine" and w.png.startswith(PNG_MAGIC)
    w.controls["shape"].value = "wsd"
    assert w.result.shape == "wsd"
    w.controls["warmup"].value = 0.5
    w.controls["floor"].value = 0.0
    w.controls["peak_lr"].value = 1.0                                   # the slider's extreme
    assert w.error is None and w.result.peak_lr == pytest.approx(1.0)
    assert "1" in w.readout.value
    for shape in SHAPES:
        w.controls["shape"].value = shape
        assert w.error is None and w.result.shape == shape
    w.controls["peak_lr"].value = 1e-4
    w.controls["warmup"].value = 0.0
    assert w.error is None and w.image.value == w.png


def test_widget_has_a_static_fallback():
    w = schedule_designer(shape="one-cycle", warmup=0.3, peak_lr=0.01, floor=0.0)
    bundle = w._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "image/png" in bundle and bundle["text/plain"].startswith("Schedule designer (one-cycle")
    assert "0x" not in bundle["text/plain"]


@pytest.mark.parametrize("kwargs", [{"shape": "bogus"}, {"peak_lr": 10.0}, {"warmup": 0.9},
                                    {"floor": -0.1}])
def test_widget_rejects_starting_values_off_its_sliders(kwargs):
    with pytest.raises(ValueError):
        schedule_designer(**kwargs)


def test_redraw_updates_the_picture_for_each_value():
    """Each slider move retrains and redraws (latency is measured in bench/, not asserted here)."""
    w = schedule_designer()
    seen = set()
    for lr in (0.01, 0.02, 0.05, 0.1, 0.2):
        w.controls["peak_lr"].value = lr
        seen.add(bytes(w.image.value))
    assert len(seen) == 5


def test_an_update_that_fails_shows_a_message_and_the_next_good_one_clears_it(monkeypatch):
    w = schedule_designer()

    def broken(values):
        raise RuntimeError("boom")

    monkeypatch.setattr(w, "_compute", broken)
    w.controls["floor"].value = 0.5
    assert w.error == "RuntimeError: boom" and "could not update" in w.readout.value
    monkeypatch.undo()
    w.controls["floor"].value = 0.0
    assert w.error is None and w.result.floor == 0.0
