"""``tuneforge init profile NAME --model MODEL_ID --type TYPE [--teacher MODEL_ID] [--config PATH --stage S]``

Writes a commented tuning profile whose every value Bedrock and the synth step accept: hyperparameters at
the catalogue's defaults with their ranges, an evaluation set, a gate, a budget and, where the catalogue
has a throughput price, the monthly cap a promotion needs. Without ``--config`` the YAML block is printed,
to paste under ``profiles:`` in config/tuneforge.yaml; with it the block is inserted into the file as text,
so the file's comments and anchors stay as they are, and the file is checked before it is written.
Exit 0, or 2 for a usage error (an unknown model, a type it does not support, a name already taken).
"""

from __future__ import annotations

import argparse
import math
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from cli._common import EXIT_OK, UsageError, resolve_model, resolve_type
from lambdas.domain.catalogue import (
    TEACHER_MODELS,
    CustomizationType,
    HyperParameterSpec,
    LifecycleStatus,
    ModelSpec,
    customization_region_problem,
    lifecycle_problem,
)
from lambdas.domain.names import EVALUATION_PREFIX, INCOMING_PREFIX
from lambdas.domain.profiles import TuningProfile
from lambdas.domain.report import Severity

# What each hyperparameter counts, for the comments (Bedrock's pages give the ranges, the catalogue keeps them).
_UNITS = {
    "epochCount": "epochs (passes over the training data)",
    "batchSize": "records per batch",
    "learningRate": "step size (no unit)",
    "learningRateMultiplier": "times the model's default learning rate",
    "learningRateWarmupSteps": "steps",
    "earlyStoppingThreshold": "loss improvement (no unit)",
    "earlyStoppingPatience": "evaluations without improvement",
    "evalPercentage": "percent of the training data",
}
HOURS_PER_MONTH = 730  # the month the cost guard prices a promotion with (README, promotion_monthly_cap_usd)
DEFAULT_BUDGET_USD = 50


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "init",
        help="write a commented tuning profile for a model (prints YAML, or inserts it with --config)",
        description="Write a tuning profile that passes synth, with the catalogue's hyperparameter defaults and ranges.",
    )
    parser.add_argument("kind", choices=("profile",), help="what to write: profile (a tuning profile)")
    parser.add_argument(
        "name", metavar="NAME", help="profile name: the upload folder incoming/NAME/ (a-z, 0-9 and -, 2-32 chars)"
    )
    parser.add_argument(
        "--model", required=True, metavar="MODEL_ID", help="base model id (`tuneforge models` lists them)"
    )
    parser.add_argument(
        "--type",
        dest="customization_type",
        metavar="TYPE",
        help=f"customization type: {' | '.join(t.value for t in CustomizationType)} (default FINE_TUNING, or the model's only type)",
    )
    parser.add_argument(
        "--teacher",
        metavar="MODEL_ID",
        help=f"distillation teacher (DISTILLATION only; default one of the model's provider): {', '.join(sorted(TEACHER_MODELS))}",
    )
    parser.add_argument(
        "--config", metavar="PATH", help="insert the profile into this tuneforge.yaml instead of printing it"
    )
    parser.add_argument(
        "--stage",
        default="dev",
        metavar="STAGE",
        help="with --config: the stage whose profiles get the entry (default dev; a shared &anchor adds it to every stage using it)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    model = resolve_model(args.model)
    ctype = resolve_type(model, args.customization_type)
    _check_lifecycle(model)
    teacher = _teacher(model, ctype, args.teacher)
    if args.config is None:
        block = profile_yaml(args.name, model, ctype, teacher, indent=2)
        _check(args.name, _dedent(block, 2), regions=[])
        print(f"# Paste under `profiles:` in config/tuneforge.yaml, then `make synth`.\n{block}", end="")
        return EXIT_OK
    path = Path(args.config)
    where = insert_profile(path, args.stage, args.name, model, ctype, teacher)
    print(f"added profile {args.name!r} to {path} {where}; next: `make synth`, then `make deploy STAGE={args.stage}`")
    return EXIT_OK


def _check_lifecycle(model: ModelSpec) -> None:
    found = lifecycle_problem(model.model_id, date.today())
    if found is not None and found[0] is Severity.ERROR:
        raise UsageError(f"{found[1]}: synth would refuse a profile on it")


def _teacher(model: ModelSpec, ctype: CustomizationType, wanted: str | None) -> str | None:
    if ctype is not CustomizationType.DISTILLATION:
        if wanted:
            raise UsageError(f"--teacher is for DISTILLATION only, not {ctype.value}")
        return None
    if wanted:
        if wanted not in TEACHER_MODELS:
            raise UsageError(f"{wanted!r} is not a distillation teacher; valid: {', '.join(sorted(TEACHER_MODELS))}")
        return wanted
    today = date.today()
    usable = [t for t in TEACHER_MODELS.values() if t.lifecycle.status_on(today) is not LifecycleStatus.END_OF_LIFE]
    same_provider = [t for t in usable if t.model_id.split(".")[0] == model.provider]
    if not usable:
        raise UsageError("no distillation teacher in the catalogue is before its end of life")
    return (same_provider or usable)[0].model_id


def _number(spec: HyperParameterSpec, value: float | int) -> str:
    return spec.as_bedrock_string(value)  # plain decimals: YAML reads "1e-05" as a string


def _hyperparameter_lines(model: ModelSpec, pad: str, ctype: CustomizationType | None = None) -> list[str]:
    source = f" ({model.hyperparameter_source})" if model.hyperparameter_source else ""
    table = model.hyperparameters_for(ctype)
    specs = [spec for spec in table.values() if spec.default is not None]
    if not specs and table:
        # RFT: AWS publishes ranges but no defaults, so only the ranges can be offered.
        ranges = ", ".join(
            f"{spec.name} {'|'.join(spec.choices)}"
            if spec.choices
            else f"{spec.name} at least {_number(spec, spec.minimum)}"
            if math.isinf(spec.maximum)
            else f"{spec.name} {_number(spec, spec.minimum)} to {_number(spec, spec.maximum)}"
            for spec in table.values()
        )
        return [
            f"{pad}# {model.name}: Bedrock publishes no defaults for these, only what it accepts: {ranges}.",
            f"{pad}hyperparameters: {{}}",
        ]
    if not specs:
        return [
            f"{pad}# {model.name}: no hyperparameter table is published for Bedrock; the job uses Bedrock's defaults.",
            f"{pad}hyperparameters: {{}}",
        ]
    lines = [
        f"{pad}# Bedrock's defaults for {model.name}, each with its accepted range{source}.",
        f"{pad}hyperparameters:",
    ]
    for spec in specs:
        assert spec.default is not None
        unit = _UNITS.get(spec.name, "")
        note = f"; {spec.note}" if spec.note else ""
        lines.append(
            f"{pad}  {spec.name}: {_number(spec, spec.default)}  # {unit}, {_number(spec, spec.minimum)} to {_number(spec, spec.maximum)}{note}"
        )
    return lines


def _cost_lines(model: ModelSpec, pad: str) -> list[str]:
    prices = model.prices
    lines = [
        f"{pad}# The run is refused before anything starts when its estimate (training, a month of storage,",
        f"{pad}# evaluation) is over this, in USD. Check it with `tuneforge estimate FILE --model {model.model_id}`.",
        f"{pad}budget_cap_usd: {DEFAULT_BUDGET_USD}",
    ]
    hourly = prices.throughput_per_unit_hour.get("none")
    if hourly is not None:
        monthly = math.ceil(Decimal(hourly) * HOURS_PER_MONTH)
        lines += [
            f"{pad}# A winner is served by provisioned throughput: 1 model unit x {hourly} USD/hour x {HOURS_PER_MONTH} hours",
            f"{pad}# (no commitment, prices as of {prices.as_of}). Lower it to refuse promotions that would cost more.",
            f"{pad}promotion_monthly_cap_usd: {monthly}",
        ]
    else:
        lines.append(
            f"{pad}# No throughput price is recorded for {model.name}: set promotion_monthly_cap_usd (USD a month) "
            "for a winner to be promoted."
        )
    if prices.training_per_1k_tokens is None or prices.storage_per_month is None:
        lines += [
            f"{pad}# The catalogue holds no training or storage price for {model.name}: record yours under `prices:`",
            f"{pad}# (training_per_1k_tokens, storage_per_month, in USD) and remove this to price every run in full.",
            f"{pad}accept_unpriced_runs: true",
        ]
    return lines


def profile_yaml(name: str, model: ModelSpec, ctype: CustomizationType, teacher: str | None, *, indent: int) -> str:
    """The profile as a YAML mapping entry ``name:`` at ``indent`` spaces, with comments."""
    head, pad = " " * indent, " " * (indent + 2)
    regions = model.customization_regions.get(ctype)
    where = ", ".join(sorted(regions.regions)) if regions and regions.regions else "no Region listed"
    lines = [
        f"{head}{name}:",
        f"{pad}description: {model.name} {ctype.value.lower().replace('_', '-')} (written by `tuneforge init profile`; say what it is for)",
        f"{pad}# {model.name}: {ctype.value} in {where} ({regions.source if regions else 'no source'}).",
        f"{pad}base_model: {model.model_id}",
        f"{pad}customization_type: {ctype.value}",
        f"{pad}# start_from: champion  # incremental tuning from the profile's current winner (default: base)",
    ]
    if teacher:
        lines.append(f"{pad}teacher_model: {teacher}  # valid teachers: {', '.join(sorted(TEACHER_MODELS))}")
    lines += _hyperparameter_lines(model, pad, ctype)
    if ctype is CustomizationType.REINFORCEMENT_FINE_TUNING:
        lines += [
            f"{pad}# What scores the responses the job samples: builtin exact_match, token_f1, numeric_tolerance",
            f"{pad}# (with tolerance), json_schema (with json_schema) or regex (with pattern); or module: graders/<yours>.py.",
            f"{pad}# Try it first on sample responses: `tuneforge grade FILE --grader token_f1`.",
            f"{pad}grader: {{builtin: token_f1}}",
        ]
    lines += [
        f"{pad}# Upload the evaluation set (JSONL of prompt + reference) with",
        f"{pad}# `tuneforge evaluation-set FILE --profile {name}`; data owners upload to {INCOMING_PREFIX}{name}/.",
        f"{pad}evaluation: {{dataset_key: {EVALUATION_PREFIX}{name}.jsonl, max_examples: 50}}",
        f"{pad}# Promote only a candidate at least as good as the base model (token F1, 0 to 1).",
        f"{pad}gate:",
        f"{pad}  margin_over_baseline: {{token_f1: 0.0}}",
        f"{pad}throughput: {{model_units: 1, commitment: none, retire_previous_champion: true}}",
    ]
    lines += _cost_lines(model, pad)
    return "\n".join(lines) + "\n"


def _check(name: str, block: str, regions: list[tuple[str, str]]) -> None:
    """Refuse to write what synth would refuse: the profile model's own rules and each stage's Region."""
    entry = yaml.safe_load(block)[name]
    try:
        profile = TuningProfile.model_validate({"name": name, **entry})
    except ValidationError as invalid:
        error = invalid.errors(include_url=False)[0]
        raise UsageError(f"profile {name}: {'.'.join(map(str, error['loc']))}: {error['msg']}") from None
    for field, reason in profile.problems():
        raise UsageError(f"profile {name}: {field}: {reason}")
    for stage, region in regions:
        problem = customization_region_problem(profile.base_model, profile.customization_type, region)
        if problem:
            raise UsageError(f"stage {stage} ({region}): {problem}")


def insert_profile(
    path: Path, stage: str, name: str, model: ModelSpec, ctype: CustomizationType, teacher: str | None
) -> str:
    """Insert the profile into ``path`` as text (PyYAML would drop the comments); return where it went."""
    try:
        text = path.read_text(encoding="utf-8")
        config = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as error:
        raise UsageError(f"cannot read {path}: {error}") from None
    stages = config.get("stages") if isinstance(config, dict) else None
    if not isinstance(stages, dict) or stage not in stages:
        raise UsageError(f"{path}: no stage {stage!r}; defined: {', '.join(stages or [])}")
    if name in (stages[stage].get("profiles") or {}):
        raise UsageError(f"{path}: stage {stage} already has a profile named {name!r}")
    lines = text.splitlines(keepends=True)
    key_line, sharing = _profiles_key_line(lines, stage)
    indent, end = _block_end(lines, key_line)
    block = profile_yaml(name, model, ctype, teacher, indent=indent)
    updated = "".join(lines[:end]) + block + "".join(lines[end:])
    # The profile's own rules, and the Region of every stage the edited mapping reaches.
    new_stages = yaml.safe_load(updated)["stages"]
    reached = [(s, str(v.get("region"))) for s, v in new_stages.items() if name in (v.get("profiles") or {})]
    _check(name, _dedent(block, indent), reached)
    path.write_text(updated, encoding="utf-8")
    return f"at line {end + 1}" + (
        f" (under {sharing}, shared by stages {', '.join(s for s, _ in reached)})" if sharing else ""
    )


def _dedent(block: str, indent: int) -> str:
    return "".join(line[indent:] if line.startswith(" " * indent) else line for line in block.splitlines(True))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _profiles_key_line(lines: list[str], stage: str) -> tuple[int, str]:
    """The line of the ``profiles:`` key whose mapping holds ``stage``'s profiles, and the anchor it is
    shared under ("" when the stage has its own)."""
    top = next((i for i, line in enumerate(lines) if line.startswith("stages:")), None)
    stage_line = next(
        (i for i in range(top + 1 if top is not None else 0, len(lines)) if lines[i].strip() == f"{stage}:"), None
    )
    if stage_line is None:
        raise UsageError(f"cannot find the stage {stage!r} under stages: to insert into")
    stage_indent = _indent(lines[stage_line])
    for i in range(stage_line + 1, len(lines)):
        if _content(lines[i]) and _indent(lines[i]) <= stage_indent:
            break
        key, _, value = lines[i].strip().partition(":")
        if key != "profiles":
            continue
        value = value.split("#")[0].strip()
        if value.startswith("*"):
            anchor = value[1:]
            for j, line in enumerate(lines):
                if line.split("#")[0].rstrip().endswith(f"&{anchor}") and line.strip().split(":")[0]:
                    return j, f"&{anchor}"
            raise UsageError(f"cannot find the anchor &{anchor} that stage {stage}'s profiles name")
        if value and not value.startswith("&"):
            raise UsageError(f"stage {stage}'s profiles are written inline ({value}); write them as a block first")
        return i, value if value.startswith("&") else ""
    raise UsageError(f"stage {stage} has no profiles: mapping to insert into")


def _block_end(lines: list[str], key_line: int) -> tuple[int, int]:
    """(indentation of the mapping's entries, the index after its last entry's last line)."""
    key_indent = _indent(lines[key_line])
    end, child = key_line + 1, None
    for i in range(key_line + 1, len(lines)):
        if not _content(lines[i]):
            continue
        if _indent(lines[i]) <= key_indent:
            break
        child = _indent(lines[i]) if child is None else child
        end = i + 1
    if child is None:
        raise UsageError("the profiles mapping is empty; add one profile by hand first")
    return child, end
