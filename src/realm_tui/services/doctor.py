"""`realm doctor`: is this machine and this realm ready to train? Pure checks, no UI."""

from __future__ import annotations

import platform
import shutil
import sys
from dataclasses import dataclass
from typing import Literal

from realm_tui.paths import RealmPaths

Status = Literal["ok", "warn", "fail"]
MIN_FREE_GB = 1.0


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str


def check_python() -> Check:
    ok = sys.version_info >= (3, 11)
    return Check("Python", "ok" if ok else "fail", f"{platform.python_version()} ({sys.executable})")


def check_torch() -> Check:
    try:
        import torch
    except Exception as err:  # noqa: BLE001 - any import failure blocks training
        return Check("torch", "fail", f"cannot import: {err}")
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        bf16 = torch.cuda.is_bf16_supported()
        return Check("torch", "ok", f"{torch.__version__}, CUDA {torch.version.cuda} on {name}, bf16 {bf16}")
    capability = torch.backends.cpu.get_cpu_capability()
    return Check("torch", "ok", f"{torch.__version__}, CPU only ({capability}, {torch.get_num_threads()} threads)")


def check_gpu() -> Check:
    try:
        import pynvml
    except ImportError:
        return Check("GPU", "ok", "no GPU (nvidia-ml-py not installed); training runs on the CPU")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as err:
        return Check("GPU", "ok", f"no GPU ({err}); training runs on the CPU")
    try:
        count = pynvml.nvmlDeviceGetCount()
        parts = []
        for i in range(count):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(handle)
            mem = pynvml.nvmlDeviceGetMemoryInfo(handle)
            parts.append(
                f"{i}: {name if isinstance(name, str) else name.decode()} "
                f"{int(mem.total) / 2**30:.1f} GiB total, {int(mem.free) / 2**30:.1f} GiB free"
            )
        return Check("GPU", "ok", "; ".join(parts) or "no GPU")
    finally:
        pynvml.nvmlShutdown()


def check_disk(realm: RealmPaths) -> Check:
    free = shutil.disk_usage(realm.root).free / 2**30
    status: Status = "ok" if free >= MIN_FREE_GB else "fail"
    return Check("Disk", status, f"{free:.1f} GiB free at {realm.root}")


def check_configs(realm: RealmPaths) -> Check:
    from realm_tui.config.realm_config import validate_realm_configs

    problems = validate_realm_configs(realm.configs)
    if not problems:
        return Check("Configs", "ok", f"all valid in {realm.configs}")
    text = "; ".join(str(p) for p in problems[:3])
    more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
    return Check("Configs", "fail", text + more)


def check_store(realm: RealmPaths) -> Check:
    from realm_tui.errors import RealmError
    from realm_tui.store.snapshot import open_snapshot

    path = realm.store_file
    if not path.exists() and not path.is_symlink():
        from realm_tui.store.storage import newest_good_backup

        backup = newest_good_backup(path)
        if backup is not None:  # not a new realm: the next writer (or --repair) restores it
            return Check("Store", "warn", f"{path} is missing; `realm doctor --repair` restores {backup}")
        return Check("Store", "ok", f"{path} (new realm: created on first battle)")
    try:
        with open_snapshot(path) as store:  # never refused, while a battle writes it too
            heroes = len(store.heroes.all())
            checkpoints = len(store.ledger.all())
            warnings = list(store.warnings)
    except RealmError as err:
        return Check("Store", "fail", str(err))
    detail = f"{path}: {heroes} hero(es), {checkpoints} checkpoint(s)"
    if warnings:
        return Check("Store", "warn", detail + "; " + "; ".join(warnings))
    return Check("Store", "ok", detail)


BATTLE_CHECK = "Battle"


def check_battle(realm: RealmPaths) -> Check:
    """Whether another process holds the store (a battle: who, since when, at which step); a lock
    note left by a writer that died is cleared here, and said."""
    from realm_tui.services.battle_status import battle_elsewhere, clear_stale

    running = battle_elsewhere(realm)
    if running is not None:
        return Check(BATTLE_CHECK, "warn", running.line())
    cleared = clear_stale(realm)
    if cleared is not None:
        return Check(BATTLE_CHECK, "ok", f"none running; {cleared}")
    return Check(BATTLE_CHECK, "ok", "none running: the store is free")


def battle_running(checks: list[Check]) -> str | None:
    """The doctor's line about a running battle (another process holds the store), or None."""
    return next((c.detail for c in checks if c.name == BATTLE_CHECK and c.status == "warn"), None)


def repair_store_of(realm: RealmPaths) -> str:
    """`realm doctor --repair`: what was restored (or why nothing was), in one line."""
    from realm_tui.errors import RealmError
    from realm_tui.store.repair import repair_store

    try:
        return repair_store(realm.store_file).message
    except RealmError as err:
        return f"cannot repair: {err}"


def run_checks(realm: RealmPaths | None) -> list[Check]:
    checks = [check_python(), check_torch(), check_gpu()]
    if realm is not None:
        checks += [check_disk(realm), check_configs(realm), check_store(realm), check_battle(realm)]
    return checks


def usable(checks: list[Check]) -> bool:
    return all(c.status != "fail" for c in checks)
