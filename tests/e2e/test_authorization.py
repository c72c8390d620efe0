"""The emulator authorizes every call against the deployed policies, as AWS does.

One negative test per kind of policy: the dev stage's templates with one statement the pipeline needs
taken out, deployed and run, must fail with exactly the denial that statement prevented, named the way
CloudTrail would name it. The happy path with nothing removed passes with no denial at all (the suite's
other tests run with enforcement on).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

import pytest

from local import authz

from .stage import TuneforgeStage

pytestmark = pytest.mark.e2e

FINE_TUNING = "fine-tuning/nova-micro-vi-qa.jsonl"
Template = dict


def _resources(template: Template, kind: str) -> dict[str, dict]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == kind}


def _drop_statement(document: dict, sid: str) -> None:
    before = len(document["Statement"])
    document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != sid]
    assert len(document["Statement"]) == before - 1, f"no statement {sid} to remove"


def _mutated(source: Path, tmp_path: Path, stack: str, mutate: Callable[[Template], None]) -> Path:
    """A copy of the cloud assembly with ``mutate`` applied to one dev-stage template."""
    target = tmp_path / "cdk.out"
    shutil.copytree(source, target)
    path = target / f"Tuneforge-dev-{stack}.template.json"
    template = json.loads(path.read_text())
    mutate(template)
    path.write_text(json.dumps(template))
    return target


def _function_policy(template: Template, function: str) -> dict:
    [policy] = [
        r for lid, r in _resources(template, "AWS::IAM::ManagedPolicy").items() if lid.startswith(f"{function}Policy")
    ]
    return policy["Properties"]["PolicyDocument"]


def _denials(aws) -> list[tuple[str, str, str]]:
    seen: list[tuple[str, str, str]] = []
    for d in authz.DENIALS:
        entry = (
            d["principal"].rsplit("/", 1)[-1].split("-")[3] if "Tuneforge-dev" in d["principal"] else d["principal"],
            d["action"],
            d["resource"],
        )
        if entry not in seen:
            seen.append(entry)
    return seen


def _an_upload_starts_nothing(emulator, cdk_out: Path, *, timeout: float = 60) -> TuneforgeStage:
    """Deploys ``cdk_out``, uploads the fine-tuning sample and holds that no execution started."""
    stage = TuneforgeStage(emulator, cdk_out)
    stage.upload("support-qa-vi", FINE_TUNING)
    assert emulator.wait_idle(timeout=timeout)
    assert stage.aws.executions(stage.state_machine) == []
    return stage


def test_a_removed_identity_statement_is_the_one_denial(tuneforge_cdk_out, emulator, tmp_path):
    """Identity policy: PrepareEvaluation without ReadHeldOutSplits cannot read the split Validate set aside."""
    cdk_out = _mutated(
        tuneforge_cdk_out,
        tmp_path,
        "Pipeline",
        lambda t: _drop_statement(_function_policy(t, "PrepareEvaluation"), "ReadHeldOutSplits"),
    )
    stage = TuneforgeStage(emulator, cdk_out)
    run = stage.run("support-qa-vi-holdout", FINE_TUNING)
    assert run.status == "FAILED" or run.output.get("decision") != "PROMOTED", run.execution
    [(who, action, resource)] = _denials(emulator)
    assert who.startswith("PrepareEvaluationRole") and action == "s3:GetObject"
    assert resource.endswith("/holdout.jsonl") and f"/reports/support-qa-vi-holdout/{run.run_id}/" in resource
    # the data owner is told which object could not be read, and that it was a permission
    [failure] = [m for m in run.notifications if m.get("outcome") == "FAILED"]
    assert "holdout.jsonl: access denied" in json.dumps(failure)


def test_a_removed_lambda_permission_stops_the_upload_trigger(tuneforge_cdk_out, emulator, tmp_path):
    """Resource-based policy: without StartRun's permission for EventBridge an upload starts nothing."""

    def drop_start_run_permission(template: Template) -> None:
        [lid] = [
            lid
            for lid, r in _resources(template, "AWS::Lambda::Permission").items()
            if "StartRun" in json.dumps(r["Properties"]["FunctionName"])
            and "DatasetUploaded" in json.dumps(r["Properties"].get("SourceArn"))
        ]
        del template["Resources"][lid]

    _an_upload_starts_nothing(
        emulator, _mutated(tuneforge_cdk_out, tmp_path, "Pipeline", drop_start_run_permission), timeout=30
    )
    [(who, action, resource)] = _denials(emulator)
    assert (who, action) == ("events.amazonaws.com", "lambda:InvokeFunction") and "StartRun" in resource
    [failed] = [e for e in emulator.journal if e["event"] == "events.delivery_failed"]
    assert (
        "because the resource has no resource-based policy that allows events.amazonaws.com" in failed["error"]
        or "no resource-based policy allows" in failed["error"]
    )


def test_a_key_policy_without_the_account_delegation_refuses_the_upload(tuneforge_cdk_out, emulator, tmp_path):
    """Key policy: without the statement that lets IAM policies of the account use the key, the data
    owner's SSE-KMS upload is refused by KMS however the uploader role's own policy reads."""

    def drop_root_delegation(template: Template) -> None:
        [key] = _resources(template, "AWS::KMS::Key").values()
        statements = key["Properties"]["KeyPolicy"]["Statement"]
        [root] = [s for s in statements if s["Action"] == "kms:*"]
        statements.remove(root)

    stage_out = _mutated(tuneforge_cdk_out, tmp_path, "Foundation", drop_root_delegation)
    with pytest.raises(Exception) as refused:
        TuneforgeStage(emulator, stage_out)  # its first act is the data owner uploading evaluation sets
    assert type(refused.value).__name__ in ("AccessDenied", "ClientError") and "kms:GenerateDataKey" in str(
        refused.value
    )
    assert "because no resource-based policy (the key policy) allows the kms:GenerateDataKey action" in str(
        refused.value
    )
    [(who, action, _)] = _denials(emulator)
    assert (who, action) == ("arn:aws:iam::123456789012:role/tuneforge-dev-data-uploader", "kms:GenerateDataKey")


def test_a_narrowed_endpoint_policy_refuses_calls_from_inside_the_vpc(tuneforge_cdk_out, emulator, tmp_path):
    """VPC endpoint policy: the Step Functions interface endpoint allowing nothing refuses StartRun's
    StartExecution, although StartRun's own policy allows it."""

    def deny_all_on_states_endpoint(template: Template) -> None:
        [endpoint] = [
            r
            for r in _resources(template, "AWS::EC2::VPCEndpoint").values()
            if json.dumps(r["Properties"]["ServiceName"]).endswith('.states"]]}')
            or ".states" in json.dumps(r["Properties"]["ServiceName"])
        ]
        endpoint["Properties"]["PolicyDocument"]["Statement"] = [
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "states:DescribeExecution", "Resource": "*"}
        ]

    stage = _an_upload_starts_nothing(
        emulator, _mutated(tuneforge_cdk_out, tmp_path, "Foundation", deny_all_on_states_endpoint), timeout=30
    )
    [(who, action, resource)] = _denials(emulator)
    assert (who, action, resource) == ("StartRunRole6A77DBC2", "states:StartExecution", stage.state_machine)
    decision = next(d for d in authz.DENIALS if d["action"] == "states:StartExecution")
    assert "because no VPC endpoint policy allows the states:StartExecution action" in decision["reason"]


def test_a_removed_interface_endpoint_leaves_its_callers_no_route(tuneforge_cdk_out, emulator, tmp_path):
    """Endpoints: the isolated VPC reaches an AWS API only through its endpoint. Without the SSM interface
    endpoint StartRun cannot read its profile and starts nothing, while the stage as shipped, which has no kms,
    sts, logs, monitoring or events endpoint (stacks/vpc_services.py), runs end to end in the other tests."""

    def drop_ssm_endpoint(template: Template) -> None:
        [lid] = [
            lid
            for lid, r in _resources(template, "AWS::EC2::VPCEndpoint").items()
            if json.dumps(r["Properties"]["ServiceName"]).endswith('.ssm"')
        ]
        del template["Resources"][lid]

    _an_upload_starts_nothing(emulator, _mutated(tuneforge_cdk_out, tmp_path, "Foundation", drop_ssm_endpoint))
    no_route = [e for e in emulator.journal if e["event"] == "authz.no_route"]
    assert no_route and {(e["service"], e["operation"]) for e in no_route} == {("ssm", "GetParameter")}
    assert all("StartRun" in e["principal"] for e in no_route)
    assert _denials(emulator) == []  # refused by the network, not by a policy


def test_a_name_off_the_dns_firewall_allow_list_does_not_resolve_in_the_vpc(tuneforge_cdk_out, emulator, tmp_path):
    """DNS egress: the VPC's resolver answers only the names on the firewall's allow list. With SSM's name taken
    off it, StartRun cannot resolve the API it reads its profile from and starts nothing, and the query log shows
    the refusal; a caller outside the VPC (the operator) is not filtered."""

    def drop_ssm_name(template: Template) -> None:
        [domains] = [
            r["Properties"]
            for r in _resources(template, "AWS::Route53Resolver::FirewallDomainList").values()
            if "*" not in r["Properties"]["Domains"]
        ]
        before = len(domains["Domains"])
        domains["Domains"] = [d for d in domains["Domains"] if d != "ssm.us-east-1.amazonaws.com"]
        assert len(domains["Domains"]) == before - 1

    stage = _an_upload_starts_nothing(emulator, _mutated(tuneforge_cdk_out, tmp_path, "Foundation", drop_ssm_name))
    blocked = [e for e in emulator.journal if e["event"] == "dns.blocked"]
    assert blocked and {(e["name"], e["operation"]) for e in blocked} == {
        ("ssm.us-east-1.amazonaws.com", "ssm:GetParameter")
    }
    assert all("StartRun" in e["principal"] for e in blocked)
    logged = [e for e in emulator.journal if e["event"] == "dns.query" and e["name"] == "ssm.us-east-1.amazonaws.com"]
    assert logged and {e["action"] for e in logged} == {"BLOCK"}
    assert _denials(emulator) == []  # refused by the resolver, not by a policy
    assert stage.aws.client("ssm").describe_parameters()["Parameters"]  # the operator, outside the VPC, resolves it


def test_a_removed_through_service_key_statement_refuses_the_encrypted_execution(tuneforge_cdk_out, emulator, tmp_path):
    """KMS through another service: StartRun without EncryptExecutionData cannot start an execution of
    the CMK-encrypted state machine (Step Functions asks KMS for a data key in StartRun's name)."""
    cdk_out = _mutated(
        tuneforge_cdk_out,
        tmp_path,
        "Pipeline",
        lambda t: _drop_statement(_function_policy(t, "StartRun"), "EncryptExecutionData"),
    )
    stage = TuneforgeStage(emulator, cdk_out)
    stage.upload("support-qa-vi", FINE_TUNING)
    assert emulator.wait_idle(timeout=30)
    assert stage.aws.executions(stage.state_machine) == []
    [(who, action, _)] = _denials(emulator)
    assert (who, action) == ("StartRunRole6A77DBC2", "kms:GenerateDataKey")
    decision = next(d for d in authz.DENIALS if d["action"] == "kms:GenerateDataKey")
    assert decision["via"] == "states" and decision["operation"] == "states:StartExecution"


def test_the_bedrock_service_role_is_checked_when_the_job_runs(tuneforge_cdk_out, emulator, tmp_path):
    """The role passed to Bedrock: without ReadDatasets the job fails reading its training data, and the
    data owner learns why."""

    def drop_read_datasets(template: Template) -> None:
        [policy] = [
            r
            for lid, r in _resources(template, "AWS::IAM::Policy").items()
            if lid.startswith("BedrockCustomizationPolicy")
        ]
        _drop_statement(policy["Properties"]["PolicyDocument"], "ReadDatasets")

    stage = TuneforgeStage(emulator, _mutated(tuneforge_cdk_out, tmp_path, "Foundation", drop_read_datasets))
    run = stage.run("support-qa-vi", FINE_TUNING)
    assert run.status in ("SUCCEEDED", "FAILED")
    [job] = stage.jobs()
    assert job["status"] == "Failed"
    [(who, action, resource)] = _denials(emulator)
    assert who.startswith("BedrockCustomizationRole") and action == "s3:GetObject"
    assert resource.endswith(
        f"/snapshots/{run.run_id}/training.jsonl"
    )  # the job reads the run's snapshot, never the upload
    assert any("is not authorized to perform: s3:GetObject" in json.dumps(m) for m in run.notifications)


def test_no_one_outside_the_vpc_reads_training_data_by_version_or_changes_the_bucket(tuneforge):
    """The review's finding: with only GetObject denied, ListObjectVersions and GetObject?versionId= (which
    S3 authorizes as ListBucketVersions and GetObjectVersion) read every version of the data from anywhere."""
    from botocore.exceptions import ClientError

    key = "incoming/support-qa-vi/versions.jsonl"
    tuneforge.data_owner.client("s3").put_object(Bucket=tuneforge.data_bucket, Key=key, Body=b"{}")
    version = tuneforge.inspect("s3").head_object(Bucket=tuneforge.data_bucket, Key=key)["VersionId"]
    admin, owner = tuneforge.aws.client("s3"), tuneforge.data_owner.client("s3")
    for who, call in (
        ("admin", lambda: admin.list_object_versions(Bucket=tuneforge.data_bucket, Prefix="incoming/")),
        ("admin", lambda: admin.get_object(Bucket=tuneforge.data_bucket, Key=key, VersionId=version)),
        ("admin", lambda: admin.delete_object(Bucket=tuneforge.data_bucket, Key=key, VersionId=version)),
        ("data owner", lambda: owner.get_object(Bucket=tuneforge.data_bucket, Key=key, VersionId=version)),
        ("data owner", lambda: owner.list_object_versions(Bucket=tuneforge.data_bucket, Prefix="incoming/")),
    ):
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "AccessDenied", who
        assert "explicit deny in a resource-based policy" in refused.value.response["Error"]["Message"], (
            who,
            refused.value.response["Error"]["Message"],
        )
    # The version is still there: nothing outside the VPC deleted it.
    assert (
        tuneforge.inspect("s3").head_object(Bucket=tuneforge.data_bucket, Key=key, VersionId=version)["VersionId"]
        == version
    )


def test_the_key_decrypts_data_only_for_the_stages_roles_even_without_the_bucket_perimeter(
    tuneforge_cdk_out, emulator, tmp_path
):
    """Defence in depth: with the bucket policies' perimeter denies taken out, an administrator of the account
    still cannot read an object, because the key policy denies kms:Decrypt through S3 to every principal but the
    stage's own roles and its data owners; the data owner still reads its reports."""
    from botocore.exceptions import ClientError

    def drop_perimeter(template: Template) -> None:
        for policy in _resources(template, "AWS::S3::BucketPolicy").values():
            document = policy["Properties"]["PolicyDocument"]
            document["Statement"] = [
                s
                for s in document["Statement"]
                if s.get("Effect") != "Deny" or s.get("Sid") in (None, "") or "SecureTransport" in json.dumps(s)
            ]

    stage = TuneforgeStage(emulator, _mutated(tuneforge_cdk_out, tmp_path, "Foundation", drop_perimeter))
    key = "reports/support-qa-vi/some-run/report.json"
    stage.inspect("s3").put_object(Bucket=stage.artifacts_bucket, Key=key, Body=b"{}")
    with pytest.raises(ClientError) as refused:
        stage.aws.client("s3").get_object(Bucket=stage.artifacts_bucket, Key=key)
    message = refused.value.response["Error"]["Message"]
    assert "kms:Decrypt" in message and "DecryptDataOnlyForThisStagesRolesAndDataOwners" in message, message
    assert stage.data_owner.client("s3").get_object(Bucket=stage.artifacts_bucket, Key=key)["Body"].read() == b"{}"


def test_a_forged_execution_with_a_lowered_gate_is_refused_before_anything_is_spent(tuneforge):
    """The review's finding: gate, budget, prices and throughput came from $$.Execution.Input, so anyone
    with states:StartExecution could promote an unevaluated model. Validate now refuses any profile that
    is not the one the deployment installed."""
    genuine = tuneforge.run("support-qa-vi", FINE_TUNING)
    assert genuine.status == "SUCCEEDED", genuine.execution
    jobs_before = len(tuneforge.jobs())
    forged = json.loads(genuine.execution["input"])
    forged["run_id"] = "support-qa-vi-forged"
    forged["profile"]["gate"] = {"minimums": {"token_f1": 0.0}}
    forged["profile"]["throughput"] = {"model_units": 4, "commitment": "SixMonths", "retire_previous_champion": True}
    execution_arn = tuneforge.aws.client("stepfunctions").start_execution(
        stateMachineArn=tuneforge.state_machine, name=forged["run_id"], input=json.dumps(forged)
    )["executionArn"]
    run = tuneforge.finish(execution_arn)
    assert run.status == "FAILED" and len(tuneforge.jobs()) == jobs_before, run.execution
    assert tuneforge.aws.states_entered(execution_arn)[0] == "Validate"
    [notice] = run.notifications
    assert (
        notice["outcome"] == "FAILED"
        and "ProfileNotDeployed" in notice["error"]
        and "differ from the deployed configuration" in notice["cause"]
    ), notice


def test_a_profile_parameter_changed_in_place_starts_nothing_that_runs(tuneforge):
    """ssm:PutParameter on a profile, without a deployment: the next upload's run is refused, with why."""
    ssm = tuneforge.inspect("ssm")
    parameter = "/tuneforge/dev/profiles/support-qa-vi"
    profile = json.loads(ssm.get_parameter(Name=parameter)["Parameter"]["Value"])
    ssm.put_parameter(Name=parameter, Value=json.dumps({**profile, "budget_cap_usd": 1_000_000}), Overwrite=True)
    run = tuneforge.run("support-qa-vi", FINE_TUNING)
    assert run.status == "FAILED" and tuneforge.jobs() == [], run.execution
    [notice] = run.notifications
    assert "differ from the deployed configuration" in notice["cause"] and "config/tuneforge.yaml" in notice["cause"], (
        notice
    )


def test_someone_else_in_the_account_cannot_upload_around_the_perimeter(tuneforge):
    """The data bucket's perimeter: an administrator outside the VPC is refused, the uploader role is not."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as refused:
        tuneforge.aws.client("s3").put_object(
            Bucket=tuneforge.data_bucket, Key="incoming/support-qa-vi/x.jsonl", Body=b"{}"
        )
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert "statement DenyDataAccessOutsideTheVpcEndpoint" in refused.value.response["Error"]["Message"]
    # the uploader may put, and nothing else: not read back, not list, not write outside its prefixes
    tuneforge.data_owner.client("s3").put_object(
        Bucket=tuneforge.data_bucket, Key="incoming/support-qa-vi/y.jsonl", Body=b"{}"
    )
    for call in (
        lambda s3: s3.get_object(Bucket=tuneforge.data_bucket, Key="incoming/support-qa-vi/y.jsonl"),
        lambda s3: s3.list_objects_v2(Bucket=tuneforge.data_bucket, Prefix="incoming/"),
        lambda s3: s3.put_object(Bucket=tuneforge.data_bucket, Key="elsewhere/y.jsonl", Body=b"{}"),
    ):
        with pytest.raises(ClientError) as denied:
            call(tuneforge.data_owner.client("s3"))
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
