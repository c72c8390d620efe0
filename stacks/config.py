"""Typed configuration for every stage, loaded once by app.py from config/tuneforge.yaml.

Constructs below app.py receive these objects as props; nothing below app.py reads context or the
environment. A user's mistake becomes one ConfigError line naming the file and the field, never a
jsii stack trace.
"""

from __future__ import annotations

import re
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Callable, Literal

import yaml
from aws_cdk import aws_logs as logs
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from lambdas.domain import names
from lambdas.domain.catalogue import customization_region_problem, lifecycle_problem
from lambdas.domain.grading import grader_problems
from lambdas.domain.profiles import RemovalPolicyName, TuningProfile
from lambdas.domain.report import Severity

AccountId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")]
IamArn = Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:[A-Za-z0-9+=,.@_/-]+$")]


class ConfigError(Exception):
    """A configuration mistake, phrased as one line: '<file>: <field path>: <reason>'."""


class StageConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    account: AccountId
    region: Region
    availability_zones: list[str] = Field(
        min_length=1, description="Bedrock VPC jobs need subnets in every AZ of the region."
    )
    # The zones the functions run in, and so the zones of the interface endpoints: each endpoint bills one network
    # interface per zone by the hour (tuneforge_audit/standing_cost.py). Customization jobs keep subnets in every zone
    # above; they reach only S3, through the gateway endpoint. Default: the first two zones, because "to provide
    # continued high availability, ensure that the function has access to at least two Availability Zones"
    # (https://docs.aws.amazon.com/lambda/latest/operatorguide/networking-vpc.html, read 2026-12-04).
    function_availability_zones: list[str] | None = Field(default=None, min_length=1)
    permissions_boundary_arn: IamArn | None = None
    log_retention_days: int = Field(default=90)
    removal_policy: RemovalPolicyName = "retain"
    alert_email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    data_uploader_arns: list[IamArn] = Field(
        default_factory=list, description="Principals allowed to upload datasets from outside the VPC."
    )
    execution_timeout_hours: int = Field(default=24 * 7, ge=1, le=24 * 365)
    # Managed prefix lists of the S3 and DynamoDB gateway endpoints (`aws ec2 describe-managed-prefix-lists`);
    # security-group rules need their ids, which differ per region.
    s3_prefix_list_id: Annotated[str, StringConstraints(pattern=r"^pl-[0-9a-f]+$")]
    dynamodb_prefix_list_id: Annotated[str, StringConstraints(pattern=r"^pl-[0-9a-f]+$")]
    job_fallback_check_minutes: int = Field(default=15, ge=1, le=1440)
    # The janitor (stacks/janitor.py): how often it sweeps, how long the custom model of a run that was not
    # promoted is kept, and how long anything may go on billing past its time before the alarm fires.
    janitor_interval_minutes: int = Field(default=60, ge=5, le=1440)
    model_retention_days: int = Field(default=7, ge=1, le=365)
    janitor_alarm_after_hours: int = Field(default=6, ge=1, le=24 * 30)
    profiles: dict[str, TuningProfile]

    @model_validator(mode="before")
    @classmethod
    def _profile_names_from_keys(cls, data: Any) -> Any:
        # Profiles are keyed by name in YAML; the key is the one place the name is written.
        profiles = data.get("profiles") if isinstance(data, dict) else None
        if isinstance(profiles, dict):
            data = {
                **data,
                "profiles": {
                    key: {"name": key, **value} if isinstance(value, dict) else value for key, value in profiles.items()
                },
            }
        return data

    @model_validator(mode="after")
    def _azs_in_region(self) -> "StageConfig":
        for zone in self.availability_zones:
            if not re.fullmatch(re.escape(self.region) + r"[a-z]", zone):
                raise ValueError(f"availability zone {zone!r} is not in region {self.region}")
        for zone in self.function_availability_zones or []:
            if zone not in self.availability_zones:
                raise ValueError(
                    f"function_availability_zones: {zone!r} is not one of availability_zones ({', '.join(self.availability_zones)})"
                )
        if self.function_availability_zones and len(set(self.function_availability_zones)) != len(
            self.function_availability_zones
        ):
            raise ValueError("function_availability_zones: a zone is listed twice")
        if self.log_retention_days not in _RETENTION_NAMES:
            raise ValueError(
                f"log_retention_days must be one CloudWatch accepts: {', '.join(map(str, _RETENTION_NAMES))}"
            )
        return self

    @property
    def stack_prefix(self) -> str:
        return names.stack_prefix(self.name)

    @property
    def foundation_stack_name(self) -> str:
        return names.foundation_stack_name(self.name)

    @property
    def pipeline_stack_name(self) -> str:
        return names.pipeline_stack_name(self.name)

    @property
    def function_zones(self) -> list[str]:
        """Where the functions and the interface endpoints are: the configured zones, else the first two."""
        return list(self.function_availability_zones or self.availability_zones[:2])

    @property
    def log_retention(self) -> logs.RetentionDays:
        return logs.RetentionDays[_RETENTION_NAMES[self.log_retention_days]]


# CloudWatch Logs accepts only these retention periods; the names are aws_logs.RetentionDays members.
_RETENTION_NAMES = {
    1: "ONE_DAY",
    3: "THREE_DAYS",
    5: "FIVE_DAYS",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    120: "FOUR_MONTHS",
    150: "FIVE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
    400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS",
    731: "TWO_YEARS",
    1096: "THREE_YEARS",
    1827: "FIVE_YEARS",
    2192: "SIX_YEARS",
    2557: "SEVEN_YEARS",
    2922: "EIGHT_YEARS",
    3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}


class ConnectionSource(BaseModel):
    """A Git host reached through an AWS CodeConnections (formerly CodeStar Connections) connection."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["connection"]
    # Both service prefixes name the same connections: codestar-connections is the older one.
    connection_arn: Annotated[
        str,
        StringConstraints(
            pattern=r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection/[A-Za-z0-9-]+$"
        ),
    ]
    repository: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")]  # owner/name
    branch: Annotated[str, StringConstraints(min_length=1)]


class CodeCommitSource(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["codecommit"]
    repository: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,100}$")]
    branch: Annotated[str, StringConstraints(min_length=1)]


class S3Source(BaseModel):
    """A zip of the repository in a versioned bucket of the tooling account; it carries no Git history."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["s3"]
    bucket: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    key: Annotated[str, StringConstraints(pattern=r"^[^/].*\.zip$")]


class DeliveryStage(BaseModel):
    """One stage the pipeline deploys, in the order listed; ``approval`` puts a person's approval before it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stage: str
    approval: bool = False


class DeliveryConfig(BaseModel):
    """The `delivery:` section: the tooling account the pipeline lives in, its source and the stages it deploys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account: AccountId
    region: Region
    source: Annotated[ConnectionSource | CodeCommitSource | S3Source, Field(discriminator="kind")]
    stages: list[DeliveryStage] = Field(min_length=1)
    log_retention_days: int = Field(default=365)

    @field_validator("stages")
    @classmethod
    def _each_stage_once(cls, stages: list[DeliveryStage]) -> list[DeliveryStage]:
        names = [entry.stage for entry in stages]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"stage {name!r} is listed twice; a stage is deployed once per change")
        return stages

    @field_validator("log_retention_days")
    @classmethod
    def _retention_cloudwatch_accepts(cls, days: int) -> int:
        if days not in _RETENTION_NAMES:
            raise ValueError(f"must be one CloudWatch accepts: {', '.join(map(str, _RETENTION_NAMES))}")
        return days

    @property
    def log_retention(self) -> logs.RetentionDays:
        return logs.RetentionDays[_RETENTION_NAMES[self.log_retention_days]]


def load_delivery(path: Path, stages: list[StageConfig]) -> DeliveryConfig | None:
    """The `delivery:` section of the YAML file at ``path``, or None when it has none (no pipeline is built).

    ``stages`` are the stages already loaded from the same file: the pipeline deploys only stages defined there.
    """
    raw = _read_yaml(path)
    section = raw.get("delivery") if isinstance(raw, dict) else None
    if section is None:
        return None
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: delivery: must be a mapping of settings")
    try:
        delivery = DeliveryConfig.model_validate(section)
    except ValidationError as invalid:
        raise ConfigError(_first_error(path, "delivery", invalid)) from None
    defined = {stage.name for stage in stages}
    for index, entry in enumerate(delivery.stages):
        if entry.stage not in defined:
            raise ConfigError(
                f"{path}: delivery.stages.{index}.stage: unknown stage {entry.stage!r}; defined: {', '.join(sorted(defined))}"
            )
    return delivery


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as bad_yaml:
        mark = getattr(bad_yaml, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "?"
        raise ConfigError(f"{path}: {where}: not valid YAML ({getattr(bad_yaml, 'problem', bad_yaml)})") from None


def load_stages(
    path: Path, only: list[str] | None = None, *, today: date | None = None, warn: Callable[[str], None] | None = None
) -> list[StageConfig]:
    """Load and validate every stage (or only the named ones) from the YAML file at ``path``.

    ``today`` (the synth date unless given) decides model lifecycle: a profile on a model past its end
    of life, or not customizable in the stage's region, is refused; one within 90 days of its end of
    life is passed to ``warn`` (stderr unless given).
    """
    raw = _read_yaml(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("stages"), dict) or not raw["stages"]:
        raise ConfigError(f"{path}: stages: a mapping of stage name to settings is required")
    stages_raw: dict[str, Any] = raw["stages"]
    for name in only or []:
        if name not in stages_raw:
            raise ConfigError(f"{path}: stages.{name}: unknown stage; defined: {', '.join(stages_raw)}")
    stages = []
    for name, settings in stages_raw.items():
        if only and name not in only:
            continue
        if not isinstance(settings, dict):
            raise ConfigError(f"{path}: stages.{name}: must be a mapping of settings")
        try:
            stage = StageConfig.model_validate({"name": name, **settings})
        except ValidationError as invalid:
            raise ConfigError(_first_error(path, f"stages.{name}", invalid)) from None
        for profile in stage.profiles.values():
            for field, reason in profile.problems():
                raise ConfigError(f"{path}: stages.{name}.profiles.{profile.name}.{field}: {reason}")
            # A grader module that is missing, does not parse or lacks its function would fail every job it grades.
            for reason in grader_problems(profile.grader) if profile.grader else []:
                raise ConfigError(f"{path}: stages.{name}.profiles.{profile.name}.grader: {reason}")
            _check_model_facts(path, stage, profile, today or date.today(), warn or _warn_on_stderr)
        stages.append(stage)
    return stages


def _check_model_facts(
    path: Path, stage: "StageConfig", profile: TuningProfile, today: date, warn: Callable[[str], None]
) -> None:
    """Lifecycle and Region facts of the catalogue (lambdas/domain/catalogue/, each with its source)."""
    where = f"{path}: stages.{stage.name}.profiles.{profile.name}"
    region_problem = customization_region_problem(profile.base_model, profile.customization_type, stage.region)
    if region_problem:
        raise ConfigError(f"{where}.base_model: {region_problem}")
    for field, model in (("base_model", profile.base_model), ("teacher_model", profile.teacher_model)):
        found = lifecycle_problem(model, today) if model else None
        if found is None:
            continue
        severity, message = found
        if severity is Severity.ERROR:
            raise ConfigError(f"{where}.{field}: {message}")
        if "end of life on" in message:  # a dated Legacy model; an undocumented lifecycle is checked at run time
            warn(f"{where}.{field}: {message}")


def _warn_on_stderr(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _first_error(path: Path, prefix: str, invalid: ValidationError) -> str:
    error = invalid.errors(include_url=False)[0]
    location = ".".join(str(part) for part in (prefix, *error["loc"]) if not _is_pydantic_branch(part))
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "required but missing"
    elif error["type"] == "extra_forbidden":
        message = "not a known setting (check the spelling)"
    return f"{path}: {location}: {message}" + (
        f" (got {error['input']!r})"
        if error["type"] not in ("missing", "extra_forbidden", "value_error")
        and not isinstance(error.get("input"), (dict, list))
        else ""
    )


def _is_pydantic_branch(part: object) -> bool:
    # Union members show up in error locations as type names ("int", "float", "function-after[...]").
    return isinstance(part, str) and (part in ("int", "float", "str", "bool") or "[" in part)
