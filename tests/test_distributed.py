"""Data-parallel training (calolib.training.distributed) under torchrun with 2 Gloo ranks on the CPU.

* every gradient (networks and RBM) after DDP's all-reduce equals the gradient of one process on the
  whole global batch, for the joint step, the RBM stage, the centred RBM update and the AE stage;
* ``torchrun -m calolib train`` writes a checkpoint that a single process generates from, a resumed
  2-rank run reproduces the uninterrupted 2-rank run exactly, and a single process resumes it.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
import ddp_grad_worker as worker  # noqa: E402

TORCHRUN = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
pytestmark = pytest.mark.skipif(TORCHRUN is None or not torch.distributed.is_available(),
                                reason="needs torch.distributed and torchrun")


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR",
                                                            "MASTER_PORT")}
    env.update(OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="", PYTHONWARNINGS="ignore", MPLBACKEND="agg")
    return env


def _torchrun(args: list[str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    cmd = [TORCHRUN, "--standalone", "--nproc-per-node", "2", *args]
    res = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{' '.join(cmd)} failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res


def _reference(case: str) -> dict:
    """One process, the whole global batch, no DDP and no LossModule: QVAE forward + loss_terms."""
    from calolib.training.steps import NegativePhase, centred_rbm_step, stage_loss

    _, model, x, e, neg_z = worker.build_problem()
    with worker.event_noise(slice(0, worker.B)):
        if case == "centred":
            with torch.no_grad():
                out = model(x, e)
            centred_rbm_step(model.rbm, out.enc.z, neg_z, NegativePhase(model, 4, seed=0), 0.5)
        else:
            with torch.no_grad() if case == "rbm" else torch.enable_grad():
                out = model(x, e)
            terms = model.loss_terms(x, e, out, neg_z)
            stage_loss(terms, case, worker.KL_WEIGHT, model.config.esum_weight).backward()
    return worker.grads(model)


@pytest.fixture(scope="module")
def ddp_grads(tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("ddp_grads")
    _torchrun([str(Path(worker.__file__)), str(out)], cwd=Path(worker.__file__).parent)
    return [torch.load(out / f"rank{r}.pt", weights_only=False) for r in (0, 1)]


@pytest.mark.parametrize("case", worker.CASES)
def test_two_gloo_ranks_average_to_the_single_process_gradient(ddp_grads, case):
    ref = _reference(case)
    r0, r1 = (d[case]["synced"] for d in ddp_grads)
    assert ddp_grads[0]["backend"] == "gloo" and ddp_grads[0]["world_size"] == 2
    expect_rbm_only = case in ("rbm", "centred")
    n_compared = 0
    for name, g in ref.items():
        is_rbm = name.startswith("rbm.")
        if g is None:  # a parameter the stage does not train: no gradient in DDP either
            assert r0[name] is None and r1[name] is None, name
            assert (case == "ae" and is_rbm) or (expect_rbm_only and not is_rbm), name
            continue
        assert torch.equal(r0[name], r1[name]), f"{name}: the ranks disagree after the all-reduce"
        scale = float(g.abs().max())
        assert scale > 0, name
        torch.testing.assert_close(r0[name], g, rtol=1e-4, atol=1e-5 * scale, msg=f"{case} {name}")
        # the control: a rank's own shard alone gives another gradient, so the test can fail
        local = ddp_grads[0][case]["local"][name]
        if float((local - g).abs().max()) > 1e-3 * scale:
            n_compared += 1
    names = [k for k, g in ref.items() if g is not None]
    assert any(k.startswith("rbm.") for k in names) == (case != "ae")
    assert any(not k.startswith("rbm.") for k in names) == (not expect_rbm_only)
    assert n_compared >= len(names) // 2, "shards alone should differ from the global batch"


def _max_rel_diff(case, ddp_grads) -> float:
    ref = _reference(case)
    return max(float((ddp_grads[0][case]["synced"][k] - g).abs().max() / g.abs().max())
               for k, g in ref.items() if g is not None)


def test_gradient_equality_numbers(ddp_grads, capsys):
    """Print the measured worst relative difference per case (for the closing note)."""
    diffs = {case: _max_rel_diff(case, ddp_grads) for case in worker.CASES}
    with capsys.disabled():
        print("\nDDP (2 gloo ranks) vs one process, max |diff| / max |grad| per case:", json.dumps(diffs))
    assert all(d < 1e-4 for d in diffs.values())


# ---------------------------------------------------------------------------------------- torchrun training
def _config_file(path: Path, **overrides) -> Path:
    from calolib.training import config_to_dict
    from calolib.training.testing import tiny_config

    path.write_text(json.dumps(config_to_dict(tiny_config(**overrides))))
    return path


def _state(run: Path) -> dict:
    return torch.load(run / "last.pt", weights_only=True)


@pytest.mark.slow
def test_torchrun_train_resume_and_single_process_generate(tmp_path):
    from calolib.io import load_showers
    from calolib.training import load_checkpoint, train
    from calolib.training.testing import write_tiny_dataset

    data = write_tiny_dataset(tmp_path / "d.h5", n=72)
    cfg = _config_file(tmp_path / "tiny.json", epochs=1, batch_size=16, n_neg_chains=16)
    base = ["-m", "calolib", "train", "--data", str(data), "--config", str(cfg), "--device", "cpu", "--quiet"]
    _torchrun([*base, "--out", str(tmp_path / "a")], cwd=tmp_path)
    res = _torchrun([*base[:5], "--device", "cpu", "--quiet", "--out", str(tmp_path / "a"), "--resume",
                     "--epochs", "2"], cwd=tmp_path)
    assert res.stdout.count("trained 1 epoch(s)") == 1, res.stdout  # rank 0 alone reports
    _torchrun([*base, "--out", str(tmp_path / "b"), "--epochs", "2"], cwd=tmp_path)

    a, b = _state(tmp_path / "a"), _state(tmp_path / "b")
    assert a["epoch"] == b["epoch"] == 2 and a["ddp"]["world_size"] == 2
    for k, v in b["model"].items():  # 1 + 1 resumed epochs == 2 epochs, bit for bit
        assert torch.equal(a["model"][k], v), k
    for key in ("train_loss", "val_ahep"):
        assert [r.get(key) for r in a["history"]] == [r.get(key) for r in b["history"]]
    n_units = sum(load_checkpoint(tmp_path / "a").config.model.rbm_sizes)
    assert a["chains"]["chains"]["z"].shape == (16, n_units)  # the union of the two ranks' 8 chains
    z0, z1 = (s["chains"]["z"] for s in a["ddp"]["chains"])
    assert z0.shape == (8, n_units) and not torch.equal(z0, z1)  # chains per rank, own seeds
    assert len((tmp_path / "a" / "history.csv").read_text().strip().splitlines()) == 1 + 2 + 1

    out = tmp_path / "gen.h5"
    gen = subprocess.run([sys.executable, "-m", "calolib", "generate", "--model", str(tmp_path / "a" / "best.pt"),
                          "--n", "6", "--out", str(out), "--device", "cpu", "--quiet", "--gibbs-steps", "5"],
                         env=_env(), capture_output=True, text=True, timeout=120)
    assert gen.returncode == 0, gen.stderr
    s = load_showers(out)
    assert len(s) == 6 and np.isfinite(s.showers).all() and (s.showers >= 0).all()

    # a single process continues the 2-rank run (the chain union becomes its 16 chains)
    ck = load_checkpoint(tmp_path / "a" / "last.pt")
    from calolib.training import apply_overrides

    r = train(apply_overrides(ck.config, {"epochs": 3}), data, tmp_path / "a", resume=True, device="cpu",
              progress=False)
    assert r.epochs_run == 1 and _state(tmp_path / "a")["epoch"] == 3 and "ddp" not in _state(tmp_path / "a")


def test_uneven_split_is_one_clear_error():
    from calolib.errors import ConfigError
    from calolib.training.distributed import DistContext
    from calolib.training.testing import tiny_config

    ctx = DistContext(rank=0, world_size=3)
    with pytest.raises(ConfigError, match="batch_size=16 .* multiple of the 3 ranks; set --set batch_size=15"):
        ctx.check_config(tiny_config(batch_size=16, n_neg_chains=15))
    with pytest.raises(ConfigError, match="n_neg_chains=16 must be a multiple of the 3 ranks"):
        ctx.check_config(tiny_config(batch_size=15, n_neg_chains=16))


def test_resume_with_another_number_of_ranks_cuts_the_chain_union():
    """A checkpoint of 4 ranks x 2 chains resumed by rank 1 of 2: that rank takes union rows 4..7."""
    from calolib.models import QVAE
    from calolib.training.checkpoint import rng_state
    from calolib.training.distributed import DistContext
    from calolib.training.steps import NegativePhase
    from calolib.training.testing import tiny_config

    model = QVAE(tiny_config().model)
    z = (torch.rand(8, model.n_latent, generator=torch.Generator().manual_seed(5)) < 0.5).float()
    donor = NegativePhase(model, 8, seed=0)
    donor.chains.z = z
    state = {"chains": donor.state_dict(), "rng": rng_state(), "config": {"seed": 0}, "epoch": 3,
             "ddp": {"world_size": 4, "chains": [], "rng": []}}
    for rank, rows in ((0, slice(0, 4)), (1, slice(4, 8))):
        mine = NegativePhase(model, 4, seed=1_000_003 * rank)
        local = DistContext(rank=rank, world_size=2).local_state(state, mine)
        mine.load_state_dict(local["chains"])
        assert torch.equal(mine.z, z[rows]), rank
        assert (local["rng"] is state["rng"]) == (rank == 0)  # rank 1: a fresh stream of its own
    assert DistContext().local_state(state, None) is state  # one process resumes the whole union
    single = NegativePhase(model, 8, seed=0)
    single.load_state_dict(state["chains"])
    assert torch.equal(single.z, z)
    ctx = DistContext(rank=1, world_size=2)
    assert ctx.shard(torch.arange(8)).tolist() == [4, 5, 6, 7]
    with pytest.raises(Exception, match="cannot be split over 2 ranks"):
        ctx.shard(torch.arange(1))
