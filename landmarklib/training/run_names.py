"""How a run folder is named: ``run_folder_name``, the one function that spells it.

``runs.RunStore`` puts the name under a models folder; nothing else builds a
run folder's name (``tests/test_runs.py`` checks it). The default names are
those of every earlier version of the project:

    v4-cpu                  version and profile (the faces15 dataset)
    v2-kaggle-smoke         another dataset before the profile
    v4-strong-cpu           another augmentation recipe than the version's own
    v4-cpu+epochs=5         a run with --set overrides: one +field=value per
                            changed field, sorted; a value that cannot go in a
                            file name is hashed (+loss~1a2b3c4d)
"""
import hashlib
import re
from dataclasses import fields, replace

from ..core import config
from . import versions

# An override value goes into a folder name as it is when it is made of these
# (and short); any other value is hashed (``field~<8 hex digits>``).
SAFE_VALUE = re.compile(r"[A-Za-z0-9._-]{1,32}")
_FLOAT_FIELDS = {f.name for f in fields(config.Profile) if "float" in str(f.type)}
# A profile's dataset is named in the folder name itself, never as an override.
_NAMED_FIELDS = ("dataset",)


def _override_text(field, value):
    """``field=value`` for a folder name: floats as Python's shortest repr (2e-3 and
    0.0020 give one name), None as "none", a value that cannot go in a file name
    (or is long) as ``field~<8 hex digits of its sha256>``."""
    if value is None:
        text = "none"
    elif field in _FLOAT_FIELDS and isinstance(value, (int, float)) and not isinstance(value, bool):
        text = repr(float(value))
    else:
        text = str(value)
    if SAFE_VALUE.fullmatch(text):
        return f"{field}={text}"
    return f"{field}~{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def effective_overrides(profile, overrides=None, version=None):
    """The fields of `profile` (plus `overrides`) that differ from its named profile.

    Fields set to the value they already have change nothing and are left out,
    as is the dataset (part of the folder name itself). With `version`, the
    version's own loss counts as the default (``Version.loss``: V6's Wing), so
    ``--set loss=mse`` names a V6 folder and ``--set loss=wing`` does not.

    Args:
        profile: a resolved profile name or a Profile (a Profile made with
            ``config.get_profile(name, **fields)`` carries its changed fields).
        overrides: dict field -> value to apply on top (None: none).
        version: a key of ``versions.REGISTRY`` or a Version (None: no version's defaults).

    Returns:
        dict field -> value, sorted by field.
    """
    if isinstance(profile, config.Profile):
        base = config.PROFILES.get(profile.name, profile)
        current = {f.name: getattr(profile, f.name) for f in fields(config.Profile)}
    else:
        base = config.PROFILES[profile]
        current = base.to_dict()
    own_loss = None if version is None else versions.get_version(getattr(version, "name", version)).loss
    if own_loss is not None:
        if current["loss"] == base.loss:   # the profile's loss: the version trains with its own
            current["loss"] = own_loss
        base = replace(base, loss=own_loss)
    current.update(overrides or {})
    return {field: current[field] for field in sorted(current)
            if field not in _NAMED_FIELDS and current[field] != getattr(base, field)}


def run_folder_name(version, profile, dataset=None, recipe=None, overrides=None):
    """The name of a run's folder: the one function that spells it.

    ``<version>-<profile>`` for the default dataset (faces15: the folders of
    earlier versions keep working), ``<version>-<dataset>-<profile>`` for
    another one, with ``-<recipe>`` before the profile for an augmentation
    ablation (another recipe than the version's own), and ``+<field>=<value>``
    per changed profile field, sorted (``v4-cpu+epochs=5``), so that a run
    with ``--set`` overrides never shares a folder with the default run.

    Args:
        version: a key of ``versions.REGISTRY`` or a ``versions.Version``.
        profile: a resolved profile name (smoke, cpu, full) or a Profile.
        dataset: key of the dataset registry (None: the profile's, or
            ``dataset`` in `overrides`); two datasets never share a folder.
        recipe: the augmentation recipe trained with (None: the version's own).
        overrides: dict profile field -> value (``--set``), None for none.
    """
    version = getattr(version, "name", version)
    profile_name = profile.name if isinstance(profile, config.Profile) else profile
    if dataset is None:
        dataset = (overrides or {}).get("dataset") or (
            profile.dataset if isinstance(profile, config.Profile) else config.DEFAULT_DATASET)
    parts = [version]
    if dataset and dataset != config.DEFAULT_DATASET:
        parts.append(dataset)
    if recipe and recipe != versions.get_version(version).augment:
        parts.append(recipe)
    changed = effective_overrides(profile, overrides, version)
    return "-".join(parts + [profile_name]) + "".join(
        "+" + _override_text(field, value) for field, value in changed.items())
