"""course_lib.distributed and distributed clipping, on real process groups (2 ranks, gloo).

- DistributedDataParallel's gradient equals the single-process gradient of the whole batch,
  and N DDP steps equal N steps of one process on the doubled batch;
- ZeroRedundancyOptimizer runs course_lib's AdamW unchanged (param groups, a changing lr, a
  consolidated state dict) and gives torch.optim.AdamW's weights and state;
- clip_grad_norm_distributed_ on disjoint shards gives torch.nn.utils.clip_grad_norm_'s norm and
  clipped gradients in one process;
- run_ranks leaves no process behind: after a result, a failing rank, a timeout, a
  KeyboardInterrupt, an interrupted Jupyter cell, and a parent that dies;
- the cost formulas reproduce lesson 06's table and the ring all-reduce's byte count.
"""

from __future__ import annotations

import _thread
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import torch
import torch.nn.functional as F

from course_lib.distributed import (
    RankError,
    pick_backend,
    ring_allreduce_bytes,
    run_ranks,
    traffic_bytes_per_step,
    zero_bytes_per_rank,
)
from course_lib.distributed.experiments import (
    clipping_across_ranks,
    ddp_sgd_steps,
    whoami,
    zero_steps,
)
from course_lib.models import MLP
from course_lib.optim import SGD, AdamW

TESTS = Path(__file__).resolve().parent
SIZES = [8, 16, 16, 4]


@pytest.fixture(autouse=True)
def ranks_import_test_functions(monkeypatch):
    """Ranks are fresh processes: let them import tests/distributed_ranks.py."""
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", str(TESTS) if not path else str(TESTS) + os.pathsep + path)
    yield
    assert not _workers(), "a rank outlived the test"


def _workers(root: psutil.Process | None = None) -> list[psutil.Process]:
    """Live rank processes below ``root`` (default: this process)."""
    root = root or psutil.Process()
    found = []
    for child in root.children(recursive=True):
        try:
            if "course_lib.distributed.worker" in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def _problem(seed=0, batch=16, steps=4):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    state = {k: v.clone() for k, v in MLP(SIZES, device="cpu").double().state_dict().items()}
    batches = [(torch.randn(batch, SIZES[0], generator=gen, dtype=torch.float64),
                torch.randint(0, SIZES[-1], (batch,), generator=gen)) for _ in range(steps)]
    return state, batches


def _model(state):
    model = MLP(SIZES, device="cpu").double()
    model.load_state_dict(state)
    return model


def _assert_all_close(got, want, atol):
    assert len(got) == len(want)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=0, atol=atol)


# ------------------------------------------------------------------ the launcher

def test_run_ranks_returns_one_result_per_rank_on_gloo():
    assert pick_backend(2) == "gloo"            # the tests run with COURSE_DEVICE=cpu
    assert run_ranks(whoami, 2) == [(0, 2), (1, 2)]


def test_run_ranks_refuses_functions_the_ranks_cannot_import():
    def local():
        return 1

    with pytest.raises(ValueError, match="notebook cell"):
        run_ranks(local, 2)
    notebook_fn = lambda: 1  # noqa: E731
    notebook_fn.__module__ = "__main__"
    with pytest.raises(ValueError, match="notebook cell"):
        run_ranks(notebook_fn, 2)
    with pytest.raises(ValueError, match="backend"):
        run_ranks(whoami, 2, backend="mpi")


def test_a_failing_rank_stops_the_others_and_its_traceback_is_reported():
    from distributed_ranks import fail_on_rank

    with pytest.raises(RankError, match=r"(?s)rank 1 of 2 failed.*rank 1 gives up on purpose"):
        run_ranks(fail_on_rank, 2, args=(1,))


def test_a_timeout_stops_every_rank():
    from distributed_ranks import sleep_forever

    with pytest.raises(RankError):
        run_ranks(sleep_forever, 2, timeout=5)


def test_keyboard_interrupt_stops_every_rank():
    from distributed_ranks import sleep_forever

    me = psutil.Process()
    seen = []

    def interrupt_once_the_ranks_run():
        # never dies silently (a psutil error in a dying thread left run_ranks waiting its full
        # timeout once, on a loaded CI machine): retry, and interrupt after 120 s in any case
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if len(_workers(me)) >= 2:
                    seen.append(True)
                    break
            except psutil.Error:
                pass
            threading.Event().wait(0.05)
        _thread.interrupt_main()                 # what Jupyter's "interrupt" raises in a cell

    # Python's own Ctrl-C handler, as in a kernel: a test that ran earlier in this pytest worker
    # may have left another one installed (the whole suite hung here twice; alone it passes)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Thread(target=interrupt_once_the_ranks_run, daemon=True).start()
        with pytest.raises(KeyboardInterrupt):
            run_ranks(sleep_forever, 2, timeout=240)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert seen, "the ranks were never seen running"
    assert not _workers(me)


@pytest.mark.slow
def test_ranks_exit_when_their_parent_dies():
    code = ("from course_lib.distributed import run_ranks\n"
            "from distributed_ranks import sleep_forever\n"
            "run_ranks(sleep_forever, 2)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc = psutil.Process(parent.pid)
        ranks = []
        while len(ranks) < 2:
            assert parent.poll() is None, "the parent exited before starting its ranks"
            ranks = _workers(proc)
            threading.Event().wait(0.05)
        folder = Path(ranks[0].cmdline()[-2])     # worker FOLDER RANK
        assert folder.is_dir()
        parent.kill()                             # a kernel killed without a chance to clean up
        parent.wait()
        _, alive = psutil.wait_procs(ranks, timeout=60)
        assert not alive, "ranks outlived their parent"
        assert not folder.exists(), "the run's folder outlived its ranks"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


@pytest.mark.slow
def test_an_interrupted_jupyter_cell_leaves_no_rank_and_no_output(tmp_path):
    """The real thing: a kernel runs a cell that starts ranks; the cell is interrupted."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        kernel = psutil.Process(km.provisioner.process.pid)
        kc.execute_interactive("from course_lib.distributed import run_ranks\n"
                               "from course_lib.distributed.experiments import whoami\n"
                               "print(run_ranks(whoami, 2))", timeout=120)
        msg_id = kc.execute("from distributed_ranks import sleep_forever\nrun_ranks(sleep_forever, 2)")
        while len(_workers(kernel)) < 2:
            threading.Event().wait(0.05)
        km.interrupt_kernel()
        outputs = []
        while True:
            msg = kc.get_iopub_msg(timeout=60)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
            outputs.append(msg)
        errors = [m["content"]["ename"] for m in outputs if m["msg_type"] == "error"]
        streams = [m["content"]["text"] for m in outputs if m["msg_type"] == "stream"]
        assert errors == ["KeyboardInterrupt"]
        assert not streams, f"the ranks wrote into the notebook: {streams}"
        assert not _workers(kernel)
        assert km.is_alive()
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


# ------------------------------------------------------------------ data parallelism

def test_ddp_gradient_and_steps_equal_one_process_on_the_whole_batch():
    from distributed_ranks import ddp_gradients

    state, batches = _problem()
    x, y = batches[0]
    model = _model(state)
    F.cross_entropy(model(x), y).backward()
    whole = [p.grad for p in model.parameters()]
    for grads in run_ranks(ddp_gradients, 2, args=(SIZES, state, x, y)):
        _assert_all_close(grads, whole, atol=1e-15)

    model = _model(state)
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    ranks = run_ranks(ddp_sgd_steps, 2, args=(SIZES, state, batches, 0.1, 0.9))
    for t, (xb, yb) in enumerate(batches):
        opt.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        opt.step()
        _assert_all_close(ranks[0][t], [p.detach() for p in model.parameters()], atol=1e-14)
        _assert_all_close(ranks[1][t], ranks[0][t], atol=0)


# ------------------------------------------------------------------ ZeRO + course_lib's AdamW

def test_zero_over_course_lib_adamw_matches_torch_adamw():
    from distributed_ranks import zero_adamw_param_groups

    state, batches = _problem(seed=1, steps=5)
    lrs = [1e-2, 2e-2, 1.5e-2, 5e-3, 1e-3]
    ranks = run_ranks(zero_adamw_param_groups, 2, args=(SIZES, state, batches, lrs))

    model = _model(state)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    reference = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=lrs[0], betas=(0.9, 0.95), foreach=False)
    for (x, y), lr in zip(batches, lrs):
        for group in reference.param_groups:
            group["lr"] = lr
        reference.zero_grad()
        F.cross_entropy(model(x), y).backward()
        reference.step()
    for result in ranks:
        _assert_all_close(result["params"], [p.detach() for p in model.parameters()], atol=1e-12)

    # each rank keeps a part of the state; together exactly course_lib's unsharded AdamW state
    ours = AdamW([{"params": [p.detach().clone().requires_grad_() for p in decay]}])
    for p, q in zip(ours.param_groups[0]["params"], decay):
        p.grad = torch.ones_like(q)
    ours.step()
    unsharded_per_param = 16 * sum(p.numel() for p in model.parameters()) + 4 * len(state)
    assert all(0 < r["state_bytes"] < unsharded_per_param for r in ranks)
    assert sum(r["state_bytes"] for r in ranks) == unsharded_per_param

    # the consolidated state dict is torch's AdamW state, and loads into course_lib's AdamW
    full = ranks[0]["state_dict"]
    assert ranks[1]["state_dict"] is None
    params = list(model.parameters())
    ordered = decay + no_decay                          # ZeRO numbers the params group by group
    for index, p in enumerate(ordered):
        for key in ("exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(full["state"][index][key], reference.state[p][key], rtol=0, atol=1e-12)
    copy = AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}])
    copy.load_state_dict(full)
    assert len(copy.state) == len(params)


def test_zero_state_is_sharded_and_training_unchanged_with_sgd_too():
    state, batches = _problem(seed=2)
    ranks = run_ranks(zero_steps, 2, args=(SIZES, state, batches, SGD, {"lr": 0.1, "momentum": 0.9}))
    model = _model(state)
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in batches:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    for result in ranks:
        _assert_all_close(result["params"], [p.detach() for p in model.parameters()], atol=1e-14)
    n = sum(p.numel() for p in model.parameters())
    assert sum(r["owned_params"] for r in ranks) == n
    assert sum(r["state_bytes"] for r in ranks) == 8 * n      # one float64 momentum buffer per parameter


# ------------------------------------------------------------------ clipping across ranks

def _shards(gen, scale):
    def r(*shape):
        return torch.randn(shape, generator=gen, dtype=torch.float64) * scale
    return [[r(3, 4), r(5), r()], [r(2, 2, 3), r(7)]]


@pytest.mark.parametrize("norm_type", [2.0, math.inf, 1.5])
def test_distributed_clipping_matches_one_process(norm_type):
    from distributed_ranks import clip_shards

    gen = torch.Generator().manual_seed(int(norm_type * 10) if math.isfinite(norm_type) else 99)
    big = _shards(gen, 3.0)
    configs = [
        (big, 1.0, norm_type),                               # clips
        (_shards(gen, 1e-3), 1.0, norm_type),                # does not clip
        ([[], big[0] + big[1]], 0.5, norm_type),             # rank 0 holds nothing
        ([[big[0][0]], [torch.zeros(4, dtype=torch.float64)]], 0.1, norm_type),
    ]
    results = run_ranks(clip_shards, 2, args=(configs,))
    for i, (shards, max_norm, p) in enumerate(configs):
        params = []
        for grad in shards[0] + shards[1]:
            q = torch.zeros_like(grad, requires_grad=True)
            q.grad = grad.clone()
            params.append(q)
        expected_norm = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=p, foreach=False)
        expected = [q.grad for q in params]
        got = results[0][i][1] + results[1][i][1]
        for rank in range(2):
            torch.testing.assert_close(results[rank][i][0], expected_norm, rtol=1e-13, atol=0)
        _assert_all_close(got, expected, atol=1e-13)


def test_clipping_by_the_local_norm_is_the_bug_the_global_norm_fixes():
    state, batches = _problem(seed=3)
    optimizers = {"sgd": (SGD, {"lr": 0.1, "momentum": 0.9})}
    ranks = run_ranks(clipping_across_ranks, 2, args=(SIZES, state, batches, optimizers, 0.05))
    model = _model(state)
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    norms = []
    for x, y in batches:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), 0.05).item())
        opt.step()
    single = [p.detach() for p in model.parameters()]
    fixed, buggy = ranks[0]["sgd", "distributed"], ranks[0]["sgd", "local"]
    _assert_all_close(fixed["params"], single, atol=1e-14)
    assert fixed["norms"] == pytest.approx(norms, rel=1e-12)
    assert max((a - b).abs().max().item() for a, b in zip(buggy["params"], single)) > 1e-4
    assert all(local < true for local, true in zip(buggy["norms"], norms))


def test_without_a_process_group_distributed_clipping_is_plain_clipping():
    from course_lib.clipping import clip_grad_norm_, clip_grad_norm_distributed_

    gen = torch.Generator().manual_seed(0)
    a = [torch.nn.Parameter(torch.zeros(3)) for _ in range(2)]
    b = [torch.nn.Parameter(torch.zeros(3)) for _ in range(2)]
    for p, q in zip(a, b):
        p.grad = torch.randn(3, generator=gen)
        q.grad = p.grad.clone()
    assert clip_grad_norm_distributed_(a, 0.5) == clip_grad_norm_(b, 0.5)
    assert all(torch.equal(p.grad, q.grad) for p, q in zip(a, b))
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm_distributed_(a, 0.0)


# ------------------------------------------------------------------ the formulas

def test_zero_bytes_reproduce_lesson_06_table():
    # lesson 06, section 6: 70B parameters, float32, Adam: ZeRO-1 = n (4 + 4 + 8/N), ...
    n = 70e9
    for world in (8, 64):
        assert zero_bytes_per_rank(n, world, 0) == n * 16
        assert zero_bytes_per_rank(n, world, 1) == pytest.approx(n * (4 + 4 + 8 / world))
        assert zero_bytes_per_rank(n, world, 2) == pytest.approx(n * (4 + (4 + 8) / world))
        assert zero_bytes_per_rank(n, world, 3) == pytest.approx(n * 16 / world)
    with pytest.raises(ValueError, match="stage"):
        zero_bytes_per_rank(n, 8, 4)


def test_ring_formula_and_traffic_per_stage():
    assert ring_allreduce_bytes(1000, 1) == 0
    assert ring_allreduce_bytes(1000, 2, bytes_per_value=2) == 2000
    assert ring_allreduce_bytes(1000, 4) == pytest.approx(6000)
    assert traffic_bytes_per_step(1000, 4, 0) == ring_allreduce_bytes(1000, 4, bytes_per_value=2)
    assert traffic_bytes_per_step(1000, 4, 3) == pytest.approx(1.5 * traffic_bytes_per_step(1000, 4, 2))
    with pytest.raises(ValueError, match="world_size"):
        ring_allreduce_bytes(1000, 0)


# ------------------------------------------------------------------ the lesson's exercises

def test_whole_batch_gradient_reference_is_autograds_gradient_of_the_whole_batch():
    from course_lib.exercises.core import get

    ex = get("l13_whole_batch_gradient")
    state, batches = _problem(seed=4, batch=40)
    x, y = batches[0]
    model = _model(state)
    F.cross_entropy(model(x), y).backward()
    whole = [p.grad.clone() for p in model.parameters()]
    for sizes in ([20, 20], [30, 10], [1, 7, 32], [40]):
        rank_grads, start = [], 0
        for n in sizes:
            model.zero_grad()
            F.cross_entropy(model(x[start:start + n]), y[start:start + n]).backward()
            rank_grads.append([p.grad.clone() for p in model.parameters()])
            start += n
        _assert_all_close(ex.reference(rank_grads, sizes), whole, atol=1e-15)


def test_ring_exercise_reference_is_the_library_formula():
    from course_lib.exercises.core import get

    ex = get("l13_ring_allreduce_bytes")
    for seed in (0, 1):
        for case in ex.cases(seed):
            assert ex.reference(*case.args, **case.kwargs) == pytest.approx(
                ring_allreduce_bytes(*case.args, **case.kwargs), rel=1e-12)
