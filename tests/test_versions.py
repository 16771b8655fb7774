"""Per-version facts live on ``models.Version``: no module tests a version by its name."""
import ast
from dataclasses import replace
from pathlib import Path

import pytest

import landmarklib as lm
from landmarklib.core import config
from landmarklib.reporting import findings, latex, results
from landmarklib.training import models

PACKAGE = Path(lm.__file__).parent


def test_labels_and_macro_words():
    assert models.get_version("v4").label == "V4"
    assert models.get_version("heatmap").label == "heatmap"
    assert models.get_version("v3").macro_word == "Vthree"
    assert models.get_version("transfer").macro_word == "Transfer"
    for name, spec in models.REGISTRY.items():
        # the report's macros (\VfourTestRmse) and the findings' (\FindVfourTestChange) agree
        assert latex.macro_name(name) == spec.macro_word
        assert results.VERSION_LABELS[name] == findings.version_label(name) == spec.label
    assert findings.version_label("MediaPipe Face Mesh") == "MediaPipe Face Mesh"
    assert models.tex_word("v12") == "Vonetwo"


def test_augmented_follows_the_recipe():
    assert [n for n, s in models.REGISTRY.items() if not s.augmented] == ["v1", "v2"]
    assert all(models.get_version(v).augmented for v in findings.AUGMENTED)
    assert not models.get_version(findings.PLAIN).augmented


def test_epoch_rule_reads_the_profile():
    profile = replace(config.CPU, epochs=9, v1_epochs=4)
    assert models.get_version("v1").epochs(profile) == 4
    assert {models.get_version(v).epochs(profile) for v in models.REGISTRY if v != "v1"} == {9}


def test_unknown_version_names_the_choices():
    with pytest.raises(lm.errors.LandmarkError, match=r"unknown model version 'v9'.*'v5'"):
        models.get_version("v9")


def _version_literal_tests(tree):
    """Line numbers of comparisons like ``version == "v1"`` / ``v in ("v3", "v4")``
    (``spec.builder == "transfer"`` names a builder, not a version)."""
    names = set(models.REGISTRY)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and not any(
                isinstance(side, ast.Attribute) and side.attr == "builder"
                for side in [node.left, *node.comparators]):
            for side in [node.left, *node.comparators]:
                values = side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side]
                if any(isinstance(v, ast.Constant) and v.value in names for v in values):
                    found.append(node.lineno)
    return found


def test_no_module_tests_a_version_by_name():
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        lines = _version_literal_tests(ast.parse(path.read_text()))
        if lines:
            offenders[str(path.relative_to(PACKAGE))] = lines
    assert not offenders, f"put the fact on models.Version instead of testing names: {offenders}"


def test_the_check_finds_a_name_test():
    assert _version_literal_tests(ast.parse('e = p.v1_epochs if version == "v1" else p.epochs'))
    assert _version_literal_tests(ast.parse('ok = v in ("v3", "v4")'))
    assert not _version_literal_tests(ast.parse('ok = spec.augment != "none"'))
    assert not _version_literal_tests(ast.parse('ok = spec.builder == "transfer"'))
