"""What machine a benchmark ran on, and how busy the rest of it was while it ran.

`machine_info()` returns a dict (for JSON output); `machine_line()` one printable line;
`CpuMeter` measures how many cores *other* processes used during a span, which is how a
benchmark on a shared machine tells a slow stage from a busy neighbour.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import platform
import sys
import time
from dataclasses import dataclass

# (label, distribution name, import name): versions come from package metadata first, so
# nothing heavy is imported just to describe the machine.
KEY_PACKAGES: tuple[tuple[str, str, str], ...] = (
    ("llama_cpp", "llama_cpp_python", "llama_cpp"),
    ("faster_whisper", "faster-whisper", "faster_whisper"),
    ("ctranslate2", "ctranslate2", "ctranslate2"),
    ("piper", "piper-tts", "piper"),
    ("onnxruntime", "onnxruntime", "onnxruntime"),
    ("langgraph", "langgraph", "langgraph"),
    ("numpy", "numpy", "numpy"),
)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _ram_gb() -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    except (ValueError, OSError, AttributeError):
        return None


def package_version(dist: str, module: str) -> str | None:
    """The installed version of a package, or None when it is not installed/importable."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        mod = importlib.import_module(module)
    except Exception:  # any import failure means "not usable here"
        return None
    return str(getattr(mod, "__version__", "?"))


def load_average() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except OSError:
        return None


def machine_info() -> dict:
    """CPU model, cores, affinity, RAM, Python, platform and key package versions."""
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        affinity = os.cpu_count()
    ram = _ram_gb()
    return {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": affinity,
        "ram_gb": round(ram, 1) if ram is not None else None,
        "python": platform.python_version(),
        "python_impl": platform.python_implementation(),
        "platform": platform.platform(terse=True),
        "packages": {label: package_version(dist, mod) for label, dist, mod in KEY_PACKAGES},
        "load_average": load_average(),
        "time": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "argv": sys.argv,
    }


def machine_line(info: dict | None = None) -> str:
    """One line: CPU, cores (usable), RAM, Python, platform, package versions."""
    info = info or machine_info()
    ram = f"{info['ram_gb']:.1f} GB RAM" if info.get("ram_gb") else "RAM ?"
    pkgs = " ".join(f"{k}={v}" for k, v in info["packages"].items() if v)
    load = info.get("load_average")
    load_s = f" | load {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}" if load else ""
    return (f"{info['cpu_model']} | {info['cpu_count']} cores ({info['cpu_affinity']} usable) | "
            f"{ram} | {info['python_impl']} {info['python']} | {info['platform']} | {pkgs}"
            f"{load_s}")


def print_machine(console=None) -> dict:
    """Print the machine line (through a rich console when given) and return the dict."""
    info = machine_info()
    line = "machine: " + machine_line(info)
    if console is not None:
        console.print(line, markup=False)
    else:
        print(line, flush=True)
    return info


def _busy_seconds() -> float | None:
    """CPU seconds all cores spent busy since boot (steal counted as busy: it is taken from us)."""
    try:
        with open("/proc/stat", encoding="utf-8") as fh:
            fields = fh.readline().split()
    except OSError:
        return None
    # cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is in user)
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@dataclass
class CpuReading:
    wall_s: float
    own_cores: float  # cores this process (all its threads) kept busy on average
    other_cores: float | None  # cores everything else on the machine kept busy on average


class CpuMeter:
    """`with CpuMeter() as m: ...` then `m.reading`: average cores used by this process and by
    everyone else during the block (from /proc/stat; jiffy resolution, so spans well over
    100 ms are needed for a meaningful number)."""

    def __enter__(self) -> CpuMeter:
        self._wall = time.perf_counter()
        self._own = _own_cpu_seconds()
        self._busy = _busy_seconds()
        self.reading: CpuReading | None = None
        return self

    def __exit__(self, *exc) -> None:
        wall = max(time.perf_counter() - self._wall, 1e-9)
        own = _own_cpu_seconds() - self._own
        busy_end = _busy_seconds()
        other = None
        if self._busy is not None and busy_end is not None:
            other = max(0.0, (busy_end - self._busy - own) / wall)
        self.reading = CpuReading(wall_s=wall, own_cores=own / wall, other_cores=other)


if __name__ == "__main__":
    print(machine_line())
