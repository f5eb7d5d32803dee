"""course_lib.predict: the predict-then-run sentence."""

import math

import pytest

from course_lib.predict import verdict


def test_no_prediction_shows_only_the_measurement():
    assert verdict(None, 0.1234) == "Measured: 0.123. (Write your prediction above and run again.)"


@pytest.mark.parametrize(("guess", "measured", "words"), [
    (0.01, 0.02, "2.0x too low"),
    (0.04, 0.02, "2.0x too high"),
    (0.021, 0.02, "close (within 1.5x)"),
    (-1.0, -1.05, "close (within 10%)"),
    (1.0, -3.0, "off by 4"),
])
def test_numbers(guess, measured, words):
    assert words in verdict(guess, measured)


@pytest.mark.parametrize("bad", ["0.5", True, math.nan, [1]])
def test_a_guess_that_is_not_a_number_is_named(bad):
    assert "should be a finite number" in verdict(bad, 1.0)


def test_choices():
    opts = ["diverges", "converges"]
    assert "was right" in verdict(" Diverges ", "diverges", choices=opts)
    assert "look at why" in verdict("converges", "diverges", choices=opts)
    assert "not one of" in verdict("maybe", "diverges", choices=opts)
    assert verdict(None, "diverges", choices=opts).startswith("Measured: diverges.")


def test_measured_must_be_a_number():
    with pytest.raises(TypeError):
        verdict(1.0, "x")
