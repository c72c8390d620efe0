"""``tuneforge grade FILE --grader G``: a reinforcement fine-tuning grader's scores on sample responses, locally,
before a job pays for them.

FILE is JSONL in the shape the job sends its grader (lambdas/domain/grader_contract.py): per line ``id``,
``messages`` with the model's response as the last, ``assistant`` turn, and the record's ``reference_answer``
(top level or under ``metadata``). G is a built-in grader (with ``--tolerance``, ``--pattern`` or
``--json-schema`` as it needs), or ``graders/<file>.py[:function]`` relative to the current directory (the
repository root, as the stack ships it); ``--profile NAME`` takes a profile's grader from ``--config`` instead.
The samples are graded as the Lambda grades them (lambdas/domain/grading.py), one batch, and the answer is
checked against the request as the job would check it.

Exit codes: 0 every line graded and the answer complete; 1 a line could not be read, a sample's grading raised,
or the answer does not match the request (each is listed); 2 usage: an unknown grader, options it does not take,
a module that is missing or does not load, an unreadable FILE.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from statistics import fmean
from typing import Any

import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli._common import EXIT_NO, EXIT_OK, UsageError
from lambdas.domain.grader_contract import GraderRequest, GraderSample
from lambdas.domain.grading import GraderFailed, GraderUnavailable, SampleError, grade_request, grader_problems
from lambdas.domain.profiles import BuiltinGrader, GraderSettings

DEFAULT_CONFIG = "config/tuneforge.yaml"
BUILTINS = ", ".join(grader.value for grader in BuiltinGrader)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "grade",
        help="score sample responses with an RFT grader (built-in, your graders/ module, or a profile's)",
        description="Run a reinforcement fine-tuning grader locally on sample responses, as the grader Lambda "
        "would: one score per sample, its metrics and the mean.",
        epilog="exit codes: 0 every sample graded, 1 an unreadable line, a sample the grader raised on or an "
        "incomplete answer, 2 usage error (unknown grader, missing module or options)",
    )
    parser.add_argument(
        "path",
        metavar="FILE",
        help="JSONL of samples: id, messages (the response last, role assistant), reference_answer or metadata",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--grader", metavar="G", help=f"a built-in grader ({BUILTINS}) or graders/<file>.py[:function]")
    which.add_argument("--profile", metavar="NAME", help="use this profile's grader (from --config, --stage)")
    parser.add_argument("--config", default=DEFAULT_CONFIG, help=f"with --profile (default {DEFAULT_CONFIG})")
    parser.add_argument("--stage", default="dev", help="with --profile: the stage whose profile (default dev)")
    parser.add_argument("--tolerance", type=float, help="numeric_tolerance: the absolute tolerance")
    parser.add_argument("--pattern", help="regex: the pattern the whole (stripped) response must match")
    parser.add_argument("--json-schema", metavar="SCHEMA.json", help="json_schema: a file holding the JSON Schema")
    parser.add_argument("--json", action="store_true", help="print only the JSON result on stdout")
    parser.set_defaults(handler=run)


def _invalid(error: ValidationError) -> str:
    return "; ".join(str(problem["msg"]).removeprefix("Value error, ") for problem in error.errors())


def settings_from_arguments(args: argparse.Namespace) -> GraderSettings:
    if args.profile:
        if args.tolerance is not None or args.pattern is not None or args.json_schema is not None:
            raise UsageError(
                "--profile takes its grader's options from the profile; drop --tolerance/--pattern/--json-schema"
            )
        return profile_grader(Path(args.config), args.stage, args.profile)
    options: dict[str, Any] = {"tolerance": args.tolerance, "pattern": args.pattern}
    if args.json_schema is not None:
        try:
            options["json_schema"] = json.loads(Path(args.json_schema).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise UsageError(f"--json-schema {args.json_schema}: {error}") from None
    grader: str = args.grader
    if grader.startswith("graders/") or grader.endswith(".py") or ":" in grader:
        module, _, function = grader.partition(":")
        chosen: dict[str, Any] = {"module": module, **({"function": function} if function else {})}
    elif grader in {g.value for g in BuiltinGrader}:
        chosen = {"builtin": grader}
    else:
        raise UsageError(f"unknown grader {grader!r}: a built-in one ({BUILTINS}) or graders/<file>.py[:function]")
    try:
        return GraderSettings.model_validate({**chosen, **{k: v for k, v in options.items() if v is not None}})
    except ValidationError as error:
        raise UsageError(f"--grader {grader}: {_invalid(error)}") from None


def profile_grader(config: Path, stage: str, name: str) -> GraderSettings:
    try:
        loaded = yaml.safe_load(config.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise UsageError(f"cannot read {config}: {error}") from None
    stages = loaded.get("stages") if isinstance(loaded, dict) else None
    if not isinstance(stages, dict) or not isinstance(stages.get(stage), dict):
        raise UsageError(f"{config}: no stage {stage!r}; defined: {', '.join(stages or [])}")
    profiles = stages[stage].get("profiles") or {}
    if name not in profiles:
        raise UsageError(f"{config}: stage {stage} has no profile {name!r}; it has: {', '.join(profiles)}")
    grader = (profiles[name] or {}).get("grader")
    if grader is None:
        raise UsageError(f"profile {name} has no grader (only REINFORCEMENT_FINE_TUNING profiles take one)")
    try:
        return GraderSettings.model_validate(grader)
    except ValidationError as error:
        raise UsageError(f"profile {name}: grader: {_invalid(error)}") from None


def read_samples(path: Path) -> tuple[list[GraderSample], list[dict[str, Any]]]:
    """The samples FILE holds, and its lines that are not samples (with their line numbers)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {path}: {error}") from None
    samples, bad = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            samples.append(GraderSample.model_validate_json(line))
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(map(str, first["loc"]))
            bad.append({"line": number, "error": f"{where}: {first['msg']}" if where else str(first["msg"])})
    return samples, bad


def grade_file(path: Path, settings: GraderSettings, root: Path) -> dict[str, Any]:
    problems = grader_problems(settings, root)
    if problems:
        raise UsageError("; ".join(problems))
    samples, bad_lines = read_samples(path)
    request = GraderRequest(samples)
    try:
        outcome = grade_request(request, settings, root)
        scores, errors, failed = outcome.response, outcome.errors, False
    except GraderUnavailable as error:
        raise UsageError(str(error)) from None
    except GraderFailed as everything:
        scores, errors, failed = None, everything.errors, True
    values = [score.aggregate_reward_score for score in scores.root] if scores else []
    return {
        "grader": settings.model_dump(mode="json", exclude_none=True),
        "samples": len(samples),
        "mean": fmean(values) if values else None,
        "scores": [score.model_dump(mode="json") for score in scores.root] if scores else [],
        "errors": [_error(e) for e in errors],
        "every_sample_failed": failed,
        "bad_lines": bad_lines,
        "problems": (scores.problems_against(request) if scores else [])
        + ([] if samples or bad_lines else [f"{path} holds no samples"]),
    }


def _error(error: SampleError) -> dict[str, str]:
    return {"id": error.sample_id, "error": error.error}


def render(result: dict[str, Any], console: Console) -> None:
    table = Table(title=f"{result['samples']} sample(s)", title_justify="left")
    table.add_column("id")
    table.add_column("score", justify="right")
    table.add_column("metrics")
    for score in result["scores"]:
        metrics = ", ".join(f"{m['name']}={m['value']:g}" for m in score["metrics_list"])
        table.add_row(escape(score["id"]), f"{score['aggregate_reward_score']:.3f}", escape(metrics))
    if result["scores"]:
        console.print(table)
    if result["mean"] is not None:
        console.print(f"mean score: [bold]{result['mean']:.3f}[/bold]")
    if result["every_sample_failed"]:
        console.print("[red]the grader raised on every sample[/red]: the Lambda fails such a batch")
    for error in result["errors"]:
        console.print(f"[red]sample {escape(error['id'])}[/red]: {escape(error['error'])}")
    for bad in result["bad_lines"]:
        console.print(f"[red]line {bad['line']}[/red]: {escape(bad['error'])}")
    for problem in result["problems"]:
        console.print(f"[red]the answer[/red]: {escape(problem)}")


def run(args: argparse.Namespace) -> int:
    settings = settings_from_arguments(args)
    result = grade_file(Path(args.path), settings, Path.cwd())
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        render(result, Console(width=max(Console().width, 100)))
    return EXIT_NO if result["errors"] or result["bad_lines"] or result["problems"] else EXIT_OK
