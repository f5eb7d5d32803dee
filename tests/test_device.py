import random

import numpy as np
import pytest
import torch

from course_lib.device import (
    accelerator_summary,
    default_device,
    resolve_device,
    seed_everything,
    set_deterministic,
)


def test_default_device_honours_override(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert default_device() == torch.device("cpu")


def test_default_device_is_usable(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    dev = default_device()
    assert torch.ones(2, device=dev).sum().item() == 2.0


def test_resolve_device_rejects_missing_cuda():
    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")


def test_seed_everything_repeats_all_generators():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    seed_everything(7)
    a = draw()
    seed_everything(7)
    assert draw() == a
    g1, g2 = seed_everything(3), seed_everything(3)
    assert torch.rand(2, generator=g1).tolist() == torch.rand(2, generator=g2).tolist()


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_seed_everything_rejects_bad_seeds(bad):
    with pytest.raises(ValueError, match="seed"):
        seed_everything(bad)


def test_set_deterministic_round_trip():
    set_deterministic(True)
    assert torch.are_deterministic_algorithms_enabled()
    set_deterministic(False)
    assert not torch.are_deterministic_algorithms_enabled()


def test_accelerator_summary_names_no_hardware():
    text = accelerator_summary()
    assert "GPU" in text or "CPU" in text
    assert "/" not in text.replace("lessons will run", "")
