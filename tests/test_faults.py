"""Fault injection (issue 13): every data-loss and crash case of the reliability campaign, reproduced.

Each case asserts what the issue's acceptance asks: nothing lost (the files that were there are
byte-identical), one line on stderr starting ``calolib: error:``, exit code 2 (130/143 for signals), no
traceback and no ``.NAME.tmp-PID`` file left.  Kills and signals run in subprocesses; a full disk is
simulated portably by ``RLIMIT_FSIZE`` (a real subprocess) and by a monkeypatched free-space probe or an
injected ENOSPC; unwritable directories by a parent path that is a file (root ignores ``chmod``).
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from calolib.cli import main
from calolib.training.checkpoint import FORMAT, read_checkpoint, save_checkpoint
from calolib.training.testing import write_tiny_dataset

TINY = ["--set", "model.encoder_hidden=[16]", "--set", "model.decoder_hidden=[16]", "--set", "model.rbm_sizes=[8,8,8,8]",
        "--set", "model.topology=full", "--set", "n_neg_chains=16", "--set", "batch_size=16",
        "--set", "lr_schedule=constant", "--quiet", "--device", "cpu"]
GEN = ["--gibbs-steps", "2", "--quiet", "--device", "cpu"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# ------------------------------------------------------------------------------------------ helpers
def run(capsys, *args) -> tuple[int, str, str]:
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_refused(rc: int, err: str, fragment: str = "") -> None:
    """Exit 2, exactly one line on stderr (warnings aside), no traceback, the fragment in it."""
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith("calolib: warning:")]
    assert rc == 2, err
    assert len(lines) == 1 and lines[0].startswith("calolib: error:"), err
    assert "Traceback" not in err and fragment.lower() in lines[0].lower(), err


def temps(root: Path) -> list[str]:
    return [str(p) for p in Path(root).rglob("*") if ".tmp-" in p.name]


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(Path(root).rglob("*")) if p.is_file()}


def cli_subprocess(*args, prelude: str = "", timeout: float = 120, **kw) -> subprocess.Popen:
    code = f"import sys\n{prelude}\nfrom calolib.cli import main\nsys.argv = ['calolib'] + sys.argv[1:]\nsys.exit(main())\n"
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A tiny data file and a 1-epoch run trained on it (copied by the tests that alter it)."""
    d = tmp_path_factory.mktemp("faults")
    data = write_tiny_dataset(d / "tiny.h5", n=60, seed=3)
    assert main(["train", "--data", str(data), "--out", str(d / "run"), "--epochs", "1", *TINY]) == 0
    return d, data, d / "run"


@pytest.fixture()
def run_copy(base, tmp_path):
    _, data, run_dir = base
    dst = tmp_path / "run"
    shutil.copytree(run_dir, dst)
    return data, dst


def rewrite_last(run_dir: Path, change) -> None:
    state = read_checkpoint(run_dir / "last.pt")
    change(state)
    save_checkpoint(run_dir / "last.pt", state)  # a valid digest: only the content is wrong


# ------------------------------------------------------------------------------------------ D1: outputs
def test_d1_generate_refuses_existing_out_unless_force(base, tmp_path, capsys):
    _, _, run_dir = base
    out = tmp_path / "real.h5"
    write_tiny_dataset(out, n=4, seed=9)
    before = out.read_bytes()
    rc, _, err = run(capsys, "generate", "--model", run_dir, "--n", 3, "--out", out, *GEN)
    assert_refused(rc, err, "already exists")
    assert out.read_bytes() == before and not temps(tmp_path)
    rc, _, _ = run(capsys, "generate", "--model", run_dir, "--n", 3, "--out", out, "--force", *GEN)
    assert rc == 0 and out.read_bytes() != before


@pytest.mark.parametrize("how", ["same path", "run dir", "hard link", "symlink"])
def test_d1_generate_never_writes_over_its_model(run_copy, capsys, how):
    _, run_dir = run_copy
    best = run_dir / "best.pt"
    before = best.read_bytes()
    model, out = {"same path": (best, best), "run dir": (run_dir, best), "hard link": (best, run_dir / "hard.h5"),
                  "symlink": (best, run_dir / "sym.h5")}[how]
    if how == "hard link":
        os.link(best, out)
    if how == "symlink":
        out.symlink_to(best)
    rc, _, err = run(capsys, "generate", "--model", model, "--n", 2, "--out", out, "--force", *GEN)
    assert_refused(rc, err, "also an input")
    assert best.read_bytes() == before and read_checkpoint(best)["format"] == FORMAT


def test_d1_data_make_refuses_existing_out(tmp_path, capsys):
    out = tmp_path / "real.h5"
    write_tiny_dataset(out, n=4, seed=1)
    before = out.read_bytes()
    for extra in ([], ["--if-missing"]):  # --if-missing: a valid file of another geometry is not replaced either
        rc, _, err = run(capsys, "data", "make", "--n", 3, "--geometry", "ds1-photons", "--out", out, "--no-progress", *extra)
        assert rc == 2 and out.read_bytes() == before, err
    rc, _, _ = run(capsys, "data", "make", "--n", 3, "--geometry", "ds1-photons", "--out", out, "--no-progress", "--force")
    assert rc == 0 and out.read_bytes() != before and not temps(tmp_path)


# ------------------------------------------------------------------------------------------ D2: kill -9 between the epoch's writes
@pytest.mark.parametrize("kill_in", ["calolib.training.rundir._copy_atomic", "calolib.training.history.write_history"])
def test_d2_kill9_between_last_and_best_or_history_is_repaired_on_resume(base, tmp_path, capsys, kill_in):
    _, data, _ = base
    run_dir = tmp_path / "run"
    module, name = kill_in.rsplit(".", 1)
    prelude = (f"import os, signal, importlib\nm = importlib.import_module('{module}')\nreal = m.{name}\n"
               "def boom(*a, **k):\n    if os.path.exists(sys.argv[sys.argv.index('--out') + 1] + '/last.pt'):\n"
               "        os.kill(os.getpid(), signal.SIGKILL)\n    return real(*a, **k)\n"
               f"m.{name} = boom")
    p = cli_subprocess("train", "--data", data, "--out", run_dir, "--epochs", 1, *TINY, prelude=prelude)
    p.communicate(timeout=120)
    assert p.returncode == -signal.SIGKILL
    assert (run_dir / "last.pt").is_file()
    stale = read_checkpoint(run_dir / "last.pt")
    # the state the kill left: best.pt or the epoch's history row missing
    assert not (run_dir / "best.pt").exists() or len(json.loads((run_dir / "history.json").read_text())) == 1
    rc, out, err = run(capsys, "train", "--data", data, "--out", run_dir, "--resume", "--quiet", "--device", "cpu")
    assert rc == 0 and "trained 0 epoch(s)" in out and "calolib: repaired" in err, err
    best = read_checkpoint(run_dir / "best.pt")
    assert best["epoch"] == stale["epoch"] == 1 and (run_dir / "best.pt").read_bytes() == (run_dir / "last.pt").read_bytes()
    rows = json.loads((run_dir / "history.json").read_text())
    assert [r["epoch"] for r in rows] == [0, 1] and len((run_dir / "history.csv").read_text().splitlines()) == 3
    assert not temps(run_dir) and not (run_dir / "train.lock").exists()


# ------------------------------------------------------------------------------------------ D3, D4, D5
@pytest.mark.parametrize("resume", [False, True])
def test_d3_best_without_last_is_not_restarted_over(run_copy, capsys, resume):
    data, run_dir = run_copy
    (run_dir / "last.pt").unlink()
    before = snapshot(run_dir)
    rc, _, err = run(capsys, "train", "--data", data, "--out", run_dir, "--epochs", 1, *TINY, *(["--resume"] if resume else []))
    assert_refused(rc, err, "best.pt but no last.pt")
    assert snapshot(run_dir) == before


def test_d4_second_training_is_refused_while_the_first_holds_the_lock(run_copy, capsys):
    data, run_dir = run_copy
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom calolib.training.rundir import RunDirLock\n"
                               "RunDirLock(sys.argv[1]).acquire(); print('locked', flush=True); time.sleep(120)", str(run_dir)],
                              env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = snapshot(run_dir)
        rc, _, err = run(capsys, "train", "--data", data, "--out", run_dir, "--resume", "--epochs", 2, "--quiet", "--device", "cpu")
        assert_refused(rc, err, f"in use by another training (PID {holder.pid}")
        assert snapshot(run_dir) == before
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    # the holder died by SIGKILL: its lock file stays, but a stale lock does not block
    assert json.loads((run_dir / "train.lock").read_text())["pid"] == holder.pid
    rc, out, err = run(capsys, "train", "--data", data, "--out", run_dir, "--resume", "--epochs", 2, "--quiet", "--device", "cpu")
    assert rc == 0 and "trained 1 epoch(s)" in out, err
    assert not (run_dir / "train.lock").exists()


@pytest.mark.parametrize("where", ["model buffer", "optimizer state", "chains"])
def test_d5_nan_in_a_resumed_tensor_is_refused(run_copy, capsys, where):
    data, run_dir = run_copy

    def poison(state):
        if where == "model buffer":
            key = next(k for k, v in state["model"].items() if v.is_floating_point() and "empty_value" in k)
            state["model"][key][0] = float("nan")
        elif where == "optimizer state":
            st = next(iter(state["optimizer"]["state"].values()))
            st["exp_avg"].view(-1)[0] = float("inf")
        else:
            state["chains"]["mu"] = torch.full((32,), float("nan"))

    rewrite_last(run_dir, poison)
    before = snapshot(run_dir)
    rc, _, err = run(capsys, "train", "--data", data, "--out", run_dir, "--resume", "--epochs", 3, "--quiet", "--device", "cpu")
    assert_refused(rc, err, "NaN/inf")
    assert snapshot(run_dir) == before  # best.pt not overwritten


# ------------------------------------------------------------------------------------------ C1, C5: full disk, unwritable places
def test_c1_file_size_limit_during_data_make_in_a_real_process(tmp_path):
    prelude = ("import resource, signal\nsignal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
               "resource.setrlimit(resource.RLIMIT_FSIZE, (3_000_000, 3_000_000))")
    p = cli_subprocess("data", "make", "--n", 400, "--chunk", 200, "--out", tmp_path / "x.h5", "--no-progress", prelude=prelude)
    _, err = p.communicate(timeout=120)
    assert_refused(p.returncode, err, "file size limit")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("precheck", [True, False])
def test_c1_full_disk_during_generate_leaves_no_temp(base, tmp_path, capsys, monkeypatch, precheck):
    """The free-space check refuses before HDF5 writes; an ENOSPC it could not foresee is cleaned up too."""
    import calolib.io.files as files

    _, _, run_dir = base
    if precheck:
        monkeypatch.setattr(files, "free_bytes", lambda d: 100_000)
    else:
        real = h5py.Dataset.__setitem__

        def enospc(self, key, value):
            if self.name == "/showers":
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(self, key, value)

        monkeypatch.setattr(h5py.Dataset, "__setitem__", enospc)
    rc, _, err = run(capsys, "generate", "--model", run_dir, "--n", 3, "--out", tmp_path / "g.h5", *GEN)
    assert_refused(rc, err, "disk is full")
    assert list(tmp_path.iterdir()) == []


def test_c1_c5_full_disk_during_train_keeps_the_last_good_epoch(run_copy, capsys, monkeypatch):
    data, run_dir = run_copy
    before = snapshot(run_dir)
    real = torch.save

    def enospc(obj, f, *a, **kw):
        real(obj, f, *a, **kw)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", enospc)
    rc, _, err = run(capsys, "train", "--data", data, "--out", run_dir, "--resume", "--epochs", 2, "--quiet", "--device", "cpu")
    assert_refused(rc, err, "disk is full")
    assert not temps(run_dir) and not (run_dir / "train.lock").exists()
    assert (run_dir / "last.pt").read_bytes() == before["last.pt"] and read_checkpoint(run_dir / "last.pt")["epoch"] == 1


@pytest.mark.parametrize("case", ["out is a file", "parent is a file", "generate out parent is a file"])
def test_c5_unwritable_locations(base, tmp_path, capsys, case):
    _, data, run_dir = base
    blocker = tmp_path / "afile"
    blocker.write_text("mine")
    if case == "out is a file":
        rc, _, err = run(capsys, "train", "--data", data, "--out", blocker, "--epochs", 1, *TINY)
    elif case == "parent is a file":
        rc, _, err = run(capsys, "train", "--data", data, "--out", blocker / "run", "--epochs", 1, *TINY)
    else:
        rc, _, err = run(capsys, "generate", "--model", run_dir, "--n", 2, "--out", blocker / "g.h5", *GEN)
    assert_refused(rc, err)
    assert blocker.read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories; the parent-is-a-file cases cover it")
def test_c5_read_only_directory(base, tmp_path, capsys):  # pragma: no cover - CI runs as root here
    _, _, run_dir = base
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        rc, _, err = run(capsys, "generate", "--model", run_dir, "--n", 2, "--out", ro / "g.h5", *GEN)
        assert_refused(rc, err, "permission denied")
    finally:
        ro.chmod(0o755)


# ------------------------------------------------------------------------------------------ C2, C11: bad input files
def _corrupt(src: Path, dst: Path, offset: int) -> Path:
    b = bytearray(src.read_bytes())
    b[offset:offset + 256] = np.random.default_rng(offset).integers(0, 256, 256, dtype=np.uint8).tobytes()
    dst.write_bytes(bytes(b))
    return dst


def _links(tmp_path: Path) -> list[Path]:
    soft, ext = tmp_path / "soft.h5", tmp_path / "ext.h5"
    for p, link in ((soft, h5py.SoftLink("/nowhere")), (ext, h5py.ExternalLink("missing.h5", "/showers"))):
        with h5py.File(p, "w") as f:
            f["incident_energies"] = np.full((3, 1), 1e3)
            f["showers"] = link
    return [soft, ext]


@pytest.mark.parametrize("command", ["data check", "train", "data make --if-missing"])
def test_c2_corrupt_metadata_and_dangling_links(base, tmp_path, capsys, command):
    _, data, _ = base
    bad = [_corrupt(data, tmp_path / f"c{o}.h5", o) for o in (500, 1000, 1250, 1500)] + _links(tmp_path)
    for p in bad:
        before = p.read_bytes()
        if command == "data check":
            rc, _, err = run(capsys, "data", "check", p)
        elif command == "train":
            rc, _, err = run(capsys, "train", "--data", p, "--out", tmp_path / "r", "--epochs", 1, *TINY)
        else:
            rc, _, err = run(capsys, "data", "make", "--n", 2, "--out", p, "--if-missing", "--no-progress")
        assert_refused(rc, err, str(p.name))
        assert p.read_bytes() == before and not (tmp_path / "r").exists()


def test_c2_load_showers_raises_one_line(base, tmp_path):
    from calolib.io import ShowerFileError, load_showers

    _, data, _ = base
    for p in [_corrupt(data, tmp_path / "c.h5", 1000), *_links(tmp_path)]:
        with pytest.raises(ShowerFileError) as exc:
            load_showers(p)
        assert "\n" not in str(exc.value)


def test_c11_fifo_is_refused_without_hanging(base, tmp_path):
    """``data check``, ``generate --model`` and ``train --data`` on a FIFO without a writer (one process)."""
    _, _, run_dir = base
    fifo = tmp_path / "pipe.h5"
    os.mkfifo(fifo)
    calls = [["data", "check", fifo],
             ["generate", "--model", fifo, "--n", 2, "--out", tmp_path / "g.h5", *GEN],
             ["train", "--data", fifo, "--out", tmp_path / "r", "--epochs", 1, *TINY]]
    code = ("import json, sys\nfrom calolib.cli import main\n"
            "print(json.dumps([main(a) for a in json.loads(sys.argv[1])]))")
    p = subprocess.run([sys.executable, "-c", code, json.dumps([[str(a) for a in c] for c in calls])], env=ENV,
                       capture_output=True, text=True, timeout=60)  # used to block forever in open()
    assert json.loads(p.stdout) == [2, 2, 2], p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 3 and all(ln.startswith("calolib: error:") and "FIFO" in ln for ln in lines), p.stderr
    assert sorted(x.name for x in tmp_path.iterdir()) == ["pipe.h5"]


# ------------------------------------------------------------------------------------------ C3, C4, C7, C8, C9, C10: bad arguments
@pytest.mark.parametrize("sampler,option", [
    ("sa", "num_sweeps=-5"), ("sa", "num_sweeps=abc"), ("sa", "num_sweeps=2.5"), ("sa", "beta_range=[10,-1]"),
    ("sa", "beta_range=[10,"), ("sa", "clamp=glue"), ("pimc", "num_sweeps=-1"), ("pimc", "Hp_field=[0,-1]"),
    ("mock-qpu", "beta_device=-1"), ("mock-qpu", "embedding=magic"), ("gibbs", "beta=nan"), ("gibbs", "n_steps=0"),
])
def test_c3_bad_sampler_options(base, tmp_path, capsys, sampler, option):
    _, _, run_dir = base
    rc, _, err = run(capsys, "generate", "--model", run_dir, "--n", 2, "--out", tmp_path / "g.h5", "--sampler", sampler,
                     "--sampler-option", option, *GEN)
    assert_refused(rc, err, option.split("=")[0])
    assert not (tmp_path / "g.h5").exists()


def test_c3_sampler_options_are_checked_in_the_api_too():
    from calolib.errors import SamplerError
    from calolib.samplers import get_sampler

    for kw in ({"num_sweeps": -5}, {"beta_range": (10, -1)}):
        with pytest.raises(SamplerError, match="sampler option"):
            get_sampler("sa", **kw)


@pytest.mark.parametrize("args", [
    ["data", "make", "--n", "2", "--seed", "-1", "--out", "{tmp}/x.h5"],
    ["train", "--data", "{data}", "--out", "{tmp}/r", "--set", "seed=99999999999999999999", *TINY],
    ["train", "--data", "{data}", "--out", "{tmp}/r", "--set", "seed=-1", *TINY],
    ["generate", "--model", "{run}", "--n", "2", "--out", "{tmp}/g.h5", "--seed", "-1", *GEN],
    ["generate", "--model", "{run}", "--n", "2", "--out", "{tmp}/g.h5", "--energies", "1e3,inf", *GEN],
    ["generate", "--model", "{run}", "--n", "2", "--out", "{tmp}/g.h5", "--energy", "1e300", *GEN],
    ["generate", "--model", "{run}", "--n", "2", "--out", "{tmp}/g.h5", "--threads", "100000", *GEN],
    ["train", "--data", "{data}", "--out", "{tmp}/r", "--threads", "100000", *TINY],
    ["train", "--data", "{data}", "--out", "{tmp}/r", *TINY, "--set", "n_neg_chains=100000000000"],
    ["generate", "--model", "{run}", "--n", "1e13", "--out", "{tmp}/g.h5", *GEN],
    ["train", "--data", "{data}", "--out", "{tmp}/r", "--set", "model.topology_kwargs={{foo=1}}", *TINY],
    ["train", "--data", "{data}", "--out", "{tmp}/r", "--config", "{tmp}/latin1.toml", "--quiet"],
    ["train", "--data", "{data}", "--out", "{tmp}/r", "--set", "kl_max=-1e9", *TINY],
    ["train", "--data", "{data}", "--out", "{tmp}/r", "--set", "model.esum_weight=nan", *TINY],
    ["train", "--data", "{data}", "--out", "{tmp}/r", "--set", "gen_check_events=-5", *TINY],
    ["train", "--data", "{data}", "--out", "{tmp}/r", "--set", "val_fraction=0.9999", "--set", "max_events=50", *TINY],
], ids=["data-seed-neg", "train-seed-huge", "train-seed-neg", "gen-seed-neg", "C7-energies-inf", "M5-energy-1e300",
        "C8-gen-threads", "C8-train-threads", "C8-chains", "C8-n-1e13", "C9-topology-kwargs", "C10-latin1-config",
        "M6-kl-max", "M6-esum-nan", "M6-gen-check", "M5-val-fraction"])
def test_bad_arguments_one_line_and_nothing_written(base, tmp_path, capsys, args):
    _, data, run_dir = base
    (tmp_path / "latin1.toml").write_bytes("epochs = 1 # r\xe9sum\xe9\n".encode("latin-1"))
    before = snapshot(run_dir)
    rc, _, err = run(capsys, *[a.format(tmp=tmp_path, data=data, run=run_dir) for a in args])
    assert_refused(rc, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latin1.toml"] and snapshot(run_dir) == before


def test_c8_training_split_larger_than_memory(base, tmp_path, capsys, monkeypatch):
    import calolib.checks

    _, data, _ = base
    monkeypatch.setattr(calolib.checks, "available_memory", lambda: 10_000)
    rc, _, err = run(capsys, "train", "--data", data, "--out", tmp_path / "r", "--epochs", 1, *TINY)
    assert_refused(rc, err, "memory")
    assert not (tmp_path / "r").exists()  # no empty run directory left behind


# ------------------------------------------------------------------------------------------ C6: inconsistent checkpoints
@pytest.mark.parametrize("change", [
    lambda s: s.update(epoch=5),
    lambda s: s.update(step=-3),
    lambda s: s.update(rng={"torch": torch.zeros(3, dtype=torch.uint8), "numpy": {}, "python": []}),
    lambda s: s.update(optimizer={"state": {}, "param_groups": []}),
    lambda s: s["optimizer"]["state"][0].update(exp_avg=torch.zeros(3, 3)),
    lambda s: s["model"].update({next(iter(s["model"])): torch.zeros(2, 2)}),
    lambda s: s["chains"]["chains"].update(z=torch.zeros(3, 5)),
    lambda s: s.update(history="oops"),
], ids=["epoch", "step", "rng", "optimizer-groups", "optimizer-shape", "model-shape", "chains-shape", "history"])
def test_c6_inconsistent_checkpoint_fields(run_copy, capsys, change):
    data, run_dir = run_copy
    rewrite_last(run_dir, change)
    before = snapshot(run_dir)
    rc, _, err = run(capsys, "train", "--data", data, "--out", run_dir, "--resume", "--epochs", 2, "--quiet", "--device", "cpu")
    assert_refused(rc, err, "last.pt")
    assert snapshot(run_dir) == before


# ------------------------------------------------------------------------------------------ M1: integrity
def _tensor_offset(path: Path) -> int:
    """File offset inside the largest tensor record of a torch zip checkpoint."""
    with zipfile.ZipFile(path) as z:
        info = max((i for i in z.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    with open(path, "rb") as fh:  # local header: 30 bytes + name + extra
        fh.seek(info.header_offset + 26)
        n, m = np.frombuffer(fh.read(4), dtype="<u2")
    return info.header_offset + 30 + int(n) + int(m) + info.file_size // 2


def test_m1_overwritten_bytes_are_detected(run_copy, tmp_path, capsys):
    _, run_dir = run_copy
    best = run_dir / "best.pt"
    b = bytearray(best.read_bytes())
    off = _tensor_offset(best)
    b[off:off + 4096] = bytes(4096)
    best.write_bytes(bytes(b))
    assert torch.load(best, weights_only=True)["format"] == FORMAT  # torch alone loads it silently
    rc, _, err = run(capsys, "generate", "--model", best, "--n", 2, "--out", tmp_path / "g.h5", *GEN)
    assert_refused(rc, err, "SHA-256")
    assert not (tmp_path / "g.h5").exists()


def test_m1_version_1_files_without_digest_still_load(run_copy):
    from calolib.training import load_checkpoint

    _, run_dir = run_copy
    state = torch.load(run_dir / "best.pt", weights_only=True)
    state.pop("sha256")
    state["format_version"] = 1
    torch.save(state, run_dir / "old.pt")
    assert load_checkpoint(run_dir / "old.pt").epoch == 1
    state["format_version"] = 2
    torch.save(state, run_dir / "stripped.pt")
    from calolib.errors import CheckpointError

    with pytest.raises(CheckpointError, match="lacks its SHA-256"):
        load_checkpoint(run_dir / "stripped.pt")


# ------------------------------------------------------------------------------------------ M2-M9, usability, cosmetic
def test_m2_file_in_gev_warns_in_check_and_train(tmp_path, capsys):
    from calolib.io import load_showers, save_showers

    s = load_showers(write_tiny_dataset(tmp_path / "mev.h5", n=40, seed=2))
    gev = tmp_path / "gev.h5"
    save_showers(gev, s.energies / 1e3, s.showers / 1e3)  # all in GeV: E_inc 1..1000 "MeV" for a ds2 file
    save_showers(tmp_path / "ratio.h5", s.energies / 1e3, s.showers)  # E_inc in GeV only: E_dep/E_inc ~ 25
    for p in (gev, tmp_path / "ratio.h5"):
        rc, out, err = run(capsys, "data", "check", p)
        assert rc == 0 and "calolib: warning:" in err and "GeV" in err, err
    rc, _, err = run(capsys, "train", "--data", tmp_path / "ratio.h5", "--out", tmp_path / "r", "--epochs", 1, *TINY)
    assert "calolib: warning:" in err and "E_dep/E_inc" in err


def test_m3_generation_outside_the_trained_range_warns(base, tmp_path, capsys):
    _, _, run_dir = base
    for e in ("1e-3", "1e12"):
        rc, out, err = run(capsys, "generate", "--model", run_dir, "--n", 2, "--out", tmp_path / f"g{e}.h5",
                           "--energy", e, *GEN)
        assert rc == 0 and err.count("calolib: warning:") == 1 and "trained on" in err, err


def test_m4_resume_on_other_data_is_refused(run_copy, tmp_path, capsys):
    _, run_dir = run_copy
    other = write_tiny_dataset(tmp_path / "other.h5", n=60, seed=11)
    before = snapshot(run_dir)
    rc, _, err = run(capsys, "train", "--data", other, "--out", run_dir, "--resume", "--epochs", 2, "--quiet", "--device", "cpu")
    assert_refused(rc, err, "was trained on")
    assert snapshot(run_dir) == before


def test_m5_messages_name_the_real_problem(base, run_copy, tmp_path, capsys):
    _, data, _ = base
    (tmp_path / "adir").mkdir()
    rc, _, err = run(capsys, "train", "--data", tmp_path / "adir", "--out", tmp_path / "r", "--epochs", 1, *TINY)
    assert_refused(rc, err, "is a directory")
    # a file another process holds open for writing: named as such, not "not HDF5 or truncated"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time, h5py\nf = h5py.File(sys.argv[1], 'a')\n"
                               "print('open', flush=True); time.sleep(60)", str(data)], env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        rc, _, err = run(capsys, "data", "check", data)
        assert_refused(rc, err, "open for writing in another process")
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    # NaN weights are blamed on the checkpoint, not on the output file
    _, run_dir = run_copy
    state = read_checkpoint(run_dir / "best.pt")
    key = next(k for k, v in state["model"].items() if v.is_floating_point() and v.ndim == 2)
    state["model"][key][0, 0] = float("nan")
    save_checkpoint(run_dir / "nan.pt", state)
    rc, _, err = run(capsys, "generate", "--model", run_dir / "nan.pt", "--n", 2, "--out", tmp_path / "g.h5", *GEN)
    assert_refused(rc, err, "nan.pt holds NaN/inf weights")


def test_m8_output_checked_before_the_model_is_loaded(base, tmp_path, capsys, monkeypatch):
    import calolib.training.checkpoint as ck

    _, _, run_dir = base
    monkeypatch.setattr(ck, "load_checkpoint", lambda *a, **k: pytest.fail("model loaded before the output was checked"))
    (tmp_path / "g.h5").write_bytes(b"x")
    rc, _, err = run(capsys, "generate", "--model", run_dir, "--n", 2, "--out", tmp_path / "g.h5", *GEN)
    assert_refused(rc, err, "already exists")


def test_m9_and_usability_resume_with_the_original_command(run_copy, capsys):
    data, run_dir = run_copy
    config_before = (run_dir / "config.json").read_bytes()
    # the original command with --resume added (same preset and --set): accepted, nothing to train
    rc, out, err = run(capsys, "train", "--data", data, "--out", run_dir, "--preset", "quick", "--epochs", 1, *TINY, "--resume")
    assert rc == 0 and "trained 0 epoch(s)" in out, err
    # --epochs below the epochs done: nothing trained and config.json keeps the run's epochs
    rc, out, _ = run(capsys, "train", "--data", data, "--out", run_dir, "--resume", "--epochs", 0, "--quiet", "--device", "cpu")
    assert rc == 0 and "config.json unchanged" in out and (run_dir / "config.json").read_bytes() == config_before
    # a preset that disagrees is refused, naming the difference
    rc, _, err = run(capsys, "train", "--data", data, "--out", run_dir, "--preset", "full", "--resume", "--quiet")
    assert_refused(rc, err, "saved config")


def test_cosmetic_empty_file_check_is_valid_json(tmp_path, capsys):
    from calolib.io import save_showers

    p = tmp_path / "empty.h5"
    save_showers(p, np.zeros(0), np.zeros((0, 368), np.float32))
    rc, out, err = run(capsys, "data", "check", p)
    assert rc == 0 and "nan" not in out.lower() and "no events" in out
    rc, out, err = run(capsys, "data", "check", p, "--json")
    summary = json.loads(out, parse_constant=lambda c: pytest.fail(f"bare {c} in JSON"))
    assert rc == 0 and summary["n_events"] == 0 and summary["e_inc_min_mev"] is None


def test_cosmetic_failed_train_leaves_no_empty_out(tmp_path, capsys):
    rc, _, err = run(capsys, "train", "--data", tmp_path / "missing.h5", "--out", tmp_path / "r", "--epochs", 1, *TINY)
    assert_refused(rc, err, "not found")
    assert not (tmp_path / "r").exists()


def test_cosmetic_stale_temp_files_are_cleaned_on_start(run_copy, tmp_path, capsys):
    data, run_dir = run_copy
    dead = 2**22 + 12345  # above the default pid_max: never a live process
    stale = [run_dir / f".last.pt.tmp-{dead}", run_dir / f".history.csv.tmp-{dead}"]
    for p in stale:
        p.write_bytes(b"half a file")
    (run_dir / "train.lock").write_text(json.dumps({"pid": dead, "host": "elsewhere", "started": 0}))
    rc, _, err = run(capsys, "train", "--data", data, "--out", run_dir, "--resume", "--epochs", 2, "--quiet", "--device", "cpu")
    assert rc == 0, err
    assert not temps(run_dir) and not (run_dir / "train.lock").exists()
    out_tmp = tmp_path / f".g.h5.tmp-{dead}"
    out_tmp.write_bytes(b"half")
    os.utime(out_tmp, (time.time() - 3600, time.time() - 3600))
    rc, _, err = run(capsys, "generate", "--model", run_dir, "--n", 2, "--out", tmp_path / "g.h5", *GEN)
    assert rc == 0 and not out_tmp.exists(), err


def test_cosmetic_mixed_geometry_message(tmp_path):
    from calolib.io import ShowerFileError, load_showers, save_showers

    save_showers(tmp_path / "a.h5", np.full(2, 1e3), np.zeros((2, 368)))
    save_showers(tmp_path / "b.h5", np.full(2, 1e3), np.zeros((2, 533)))
    with pytest.raises(ShowerFileError, match="first file .*a.h5 is 'ds1-photons'") as exc:
        load_showers([tmp_path / "a.h5", tmp_path / "b.h5"])
    assert "drop the geometry argument" not in str(exc.value)


# ------------------------------------------------------------------------------------------ signals
def test_sigterm_mid_training_exits_143_and_leaves_a_consistent_run(base, tmp_path):
    _, data, _ = base
    run_dir = tmp_path / "run"
    p = cli_subprocess("train", "--data", data, "--out", run_dir, "--epochs", 500, *TINY)
    deadline = time.time() + 90
    while not (run_dir / "last.pt").exists() and time.time() < deadline and p.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 143 and "terminated" in err and "Traceback" not in err, err
    assert not temps(run_dir) and not (run_dir / "train.lock").exists()
    state = read_checkpoint(run_dir / "last.pt")
    assert state["epoch"] >= 1 and state["history"][-1]["epoch"] == state["epoch"]
