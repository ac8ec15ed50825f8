"""bilinear.params: shared blocks declared once, float strings, list lengths, cross-field checks;
every stage's spec accepts the project's params.yaml."""

from __future__ import annotations

import importlib

import pytest

from bilinear import params as P
from bilinear.params import Field, ParamError, check_pruned, read_sections, recipe, validate
from tests.project_copy import ROOT

STAGES = ["anneal_grid", "anova", "conditions", "data", "discover", "discretize", "frontier",
          "kappa", "noise_ablate", "prune", "sweep", "train", "verify_expand"]


@pytest.mark.parametrize("text, value", [("1e-3", 1e-3), ("2E-5", 2e-5), ("1.0e-22", 1e-22),
                                         (" 3e2 ", 300.0)])
def test_float_fields_accept_yaml_1_1_float_strings(text, value):
    assert Field(float, low=0.0).check("x", text) == value
    assert Field(list, item=float).check("xs", [text, 1]) == [value, 1.0]


@pytest.mark.parametrize("text", ["abc", "nan", "inf", ""])
def test_float_fields_reject_other_strings(text):
    with pytest.raises(ParamError, match="x: expected float"):
        Field(float).check("x", text)


def test_string_float_is_range_checked_and_str_fields_stay_strings():
    with pytest.raises(ParamError, match=r"x: expected a value in \[0.0, 1.0\], got 2.0"):
        Field(float, low=0.0, high=1.0).check("x", "2e0")
    assert Field(str).check("s", "1e-3") == "1e-3"
    with pytest.raises(ParamError, match="n: expected int"):
        Field(int).check("n", "1e3")


def test_format_block_wants_exactly_three_items():
    assert validate("task", {"format": [2, 3, 4]}, P.TASK) == {"format": [2, 3, 4]}
    with pytest.raises(ParamError, match="task.format: expected at most 3 item"):
        validate("task", {"format": [2, 2, 2, 2]}, P.TASK)
    with pytest.raises(ParamError, match="task.format: expected at least 3 item"):
        validate("task", {"format": [2, 2]}, P.TASK)


def test_recipe_block_and_pruned_check():
    assert set(recipe()) == {"epochs", "batch_size", "lr", "weight_decay"}
    finetune = recipe(epochs=Field(int, low=0))
    assert finetune["lr"] is P.LR and finetune["epochs"].low == 0
    assert list(recipe("lr", "weight_decay")) == ["lr", "weight_decay"]
    check_pruned("s", {"slots": 8, "pruned_slots": 8})
    with pytest.raises(ParamError, match="s.pruned_slots: 9 exceeds s.slots 8"):
        check_pruned("s", {"slots": 8, "pruned_slots": 9})


@pytest.mark.parametrize("name", STAGES)
def test_every_stage_spec_accepts_the_project_params(name):
    where = {"sweep": "bilinear.studies.sweep_batch"}  # the sweep stages' settings live there
    module = importlib.import_module(where.get(name, f"stages.{name}"))
    specs = getattr(module, "SPECS", None) or module.SPEC
    read_sections(specs, ROOT / "params.yaml")


def test_shared_blocks_are_the_same_objects_in_every_stage():
    from bilinear.studies import sweep_batch as sweep
    from stages import anneal_grid, conditions, discretize, frontier, train

    assert sweep.SPECS["anneal"] is conditions.SPECS["anneal"] is discretize.SPECS["anneal"] \
        is anneal_grid.SPECS["anneal"] is P.ANNEAL
    assert frontier.SPECS["frontier"]["sparsify_tol"] is sweep.RUN["sparsify_tol"] \
        is discretize.SPECS["discretize"]["sparsify_tol"]
    assert train.SPECS["train"]["lr"] is frontier.SPECS["frontier"]["lr"] is sweep.RUN["lr"]
    for spec in (anneal_grid.SPECS["anneal_grid"], conditions.SPECS["conditions"],
                 frontier.SPECS["frontier"], sweep.RUN):
        assert spec["pruned_slots"] is P.SLOTS


def test_yaml_1_1_float_strings_in_params_yaml_are_read_as_floats(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("anneal_grid:\n  lr: 1e-3\n  l1s: [0.0, 1e-4, 1.0e-3]\n")
    assert isinstance(P.load_params(path)["anneal_grid"]["lr"], str)  # what PyYAML gives
    spec = {"anneal_grid": {"lr": P.LR, "l1s": Field(list, item=float, low=0.0, high=1.0)}}
    assert read_sections(spec, path) == {"anneal_grid": {"lr": 1e-3, "l1s": [0.0, 1e-4, 1e-3]}}
