"""pytest setup for the whole repository (kept out of notebooks/, which learners browse).

Kernels started by nbval inherit the same environment as ``make notebooks``
(``course_lib.notebook_env``), and the report header names the processor and the code paths
PyTorch picked, so a CI log says on what kind of machine the stored outputs were compared.
"""

import os
import platform

from course_lib.notebook_env import apply_notebook_env

apply_notebook_env(os.environ)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def pytest_report_header(config):
    import torch

    return (f"cpu: {_cpu_model()} ({os.cpu_count()} cores); torch {torch.__version__}, "
            f"kernels {torch.backends.cpu.get_cpu_capability()} "
            f"(ATEN_CPU_CAPABILITY={os.environ.get('ATEN_CPU_CAPABILITY')}, "
            f"MKL_CBWR={os.environ.get('MKL_CBWR')})")
