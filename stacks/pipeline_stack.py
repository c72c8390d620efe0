"""The retraining pipeline: trigger, functions, state machine, job-event wiring, notifications, alarms."""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from lambdas.domain.evaluation import EVALUATE_TIMEOUT_SECONDS, invocable_model
from lambdas.domain.profiles import fingerprints_variable
from stacks.config import StageConfig
from stacks.foundation_stack import FoundationStack
from stacks.functions import FunctionPlacement, PipelineFunction
from stacks.janitor import Janitor
from stacks.nag import acknowledge, checkov_skip
from stacks.observability import PipelineObservability
from stacks.stage_tags import made_for_this_stage
from stacks.state_machine import RetrainingStateMachine, StepFunctions
from stacks.storage import EVALUATION_PREFIX, INCOMING_PREFIX, REPORTS_PREFIX, SNAPSHOT_PREFIX


class PipelineStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, stage: StageConfig, foundation: FoundationStack, **kwargs
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        storage, network = foundation.storage, foundation.network
        key = storage.key
        data_name, artifacts_name = storage.data_bucket_name, storage.artifacts_bucket_name
        incoming_objects = storage.object_arn(data_name, f"{INCOMING_PREFIX}*")
        report_objects = storage.object_arn(artifacts_name, f"{REPORTS_PREFIX}*")
        evaluation_objects = storage.object_arn(data_name, f"{EVALUATION_PREFIX}*")
        snapshot_objects = storage.object_arn(data_name, f"{SNAPSHOT_PREFIX}*")
        held_out_reports = storage.object_arn(artifacts_name, f"{REPORTS_PREFIX}*/holdout.jsonl")
        arn = f"arn:{self.partition}"
        bedrock = f"{arn}:bedrock:{self.region}:{self.account}"
        state_machine_name = f"tuneforge-{stage.name}-retraining"
        state_machine_arn = f"{arn}:states:{self.region}:{self.account}:stateMachine:{state_machine_name}"
        executions = f"{arn}:states:{self.region}:{self.account}:execution:{state_machine_name}:*"
        profile_prefix = f"/tuneforge/{stage.name}/profiles"
        this_stages = made_for_this_stage(stage)

        # Profiles are data the trigger reads at run time, one parameter each, so adding a profile is a
        # config change and a deploy, never a code change.
        for profile in stage.profiles.values():
            ssm.StringParameter(
                self,
                f"Profile-{profile.name}",
                parameter_name=f"{profile_prefix}/{profile.name}",
                string_value=profile.model_dump_json(),
                description=f"tuneforge tuning profile {profile.name}",
            )

        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.topic = sns.Topic(
            self, "Notifications", display_name=f"tuneforge {stage.name}", master_key=key, enforce_ssl=True
        )
        if stage.alert_email:
            self.topic.add_subscription(
                subscriptions.EmailSubscription(stage.alert_email, dead_letter_queue=self.dead_letters)
            )
        acknowledge(
            self.dead_letters,
            "This queue is itself the dead-letter queue for undeliverable events and failed asynchronous invocations; an alarm fires on its first message.",
            "AwsSolutions-SQS3",
            "Serverless-SQSRedrivePolicy",
        )

        placement = FunctionPlacement(
            vpc=network.vpc,
            subnets=network.function_subnet_selection,
            security_group=network.lambda_security_group,
            key=key,
            log_retention=stage.log_retention,
            removal_policy=storage.removal_policy,
            service_prefix=f"tuneforge-{stage.name}",
        )
        runs_table = storage.runs_table
        registry_write = iam.PolicyStatement(
            sid="UpdateRunRegistry",
            actions=["dynamodb:UpdateItem", "dynamodb:GetItem"],
            resources=[runs_table.table_arn],
        )
        registry_lookup = iam.PolicyStatement(
            sid="FindRuns",
            actions=["dynamodb:Query"],
            resources=[f"{runs_table.table_arn}/index/by-job", f"{runs_table.table_arn}/index/by-status"],
        )
        table_key = iam.PolicyStatement(
            sid="TableEncryption",
            actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
            resources=[key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{self.region}.amazonaws.com"}},
        )
        s3_key = iam.PolicyStatement(
            sid="ObjectEncryption",
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=[key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{self.region}.amazonaws.com"}},
        )
        job_arns = f"{bedrock}:model-customization-job/*"
        why = {
            job_arns: "Customization job ARNs end in an id Bedrock generates when the job is created, so they cannot be named in advance; the statement is limited to this account and region and to the job actions this function calls.",
            incoming_objects: "Datasets arrive under incoming/<profile>/ with names chosen by the data owners at upload time, so access is limited to that prefix of this stage's data bucket.",
            report_objects: "Reports are written under reports/<profile>/<run-id>/, a key known only when the run starts, and this function can write nowhere else in the artifacts bucket.",
            snapshot_objects: "Validate copies each valid run's data to snapshots/<run-id>/, a folder known only when the run starts, and the write is limited to that prefix of this stage's data bucket; no other principal of the stage writes there, so a job trains on exactly the versions validated.",
            held_out_reports: "Validate sets each run's held-out split aside as reports/<profile>/<run-id>/holdout.jsonl, a key known only when the run starts; the read is limited to files of that name under reports/ of the artifacts bucket.",
            evaluation_objects: "Evaluation sets live under evaluation/ of the data bucket, one per profile as configured; reads are limited to that prefix, which data owners do not write through the upload trigger.",
        }
        job_read = iam.PolicyStatement(
            sid="ReadJobs", actions=["bedrock:GetModelCustomizationJob"], resources=[job_arns]
        )
        task_tokens = iam.PolicyStatement(
            sid="CompleteWaitingTask",
            actions=["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
            resources=[state_machine_arn],
        )
        # The state machine is encrypted with the stage key: starting an execution and completing a task with
        # output need kms:GenerateDataKey in the caller's name, bound to this state machine by the encryption
        # context (https://docs.aws.amazon.com/step-functions/latest/dg/encryption-at-rest.html, read 2026-12-03).
        execution_key = iam.PolicyStatement(
            sid="EncryptExecutionData",
            actions=["kms:GenerateDataKey"],
            resources=[key.key_arn],
            conditions={
                "StringEquals": {
                    "kms:ViaService": f"states.{self.region}.amazonaws.com",
                    "kms:EncryptionContext:aws:states:stateMachineArn": state_machine_arn,
                }
            },
        )
        # Custom models are encrypted with the stage key (customModelKmsKeyId): whoever deploys or invokes one
        # needs Decrypt and GenerateDataKey through Bedrock (PermissionsModelInvocation in
        # https://docs.aws.amazon.com/nova/latest/userguide/customize-fine-tune-encrypt.html, read 2026-12-03).
        custom_model_key = iam.PolicyStatement(
            sid="UseCustomModelKey",
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=[key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"bedrock.{self.region}.amazonaws.com"}},
        )
        common_env = {"RUNS_TABLE": runs_table.table_name, "CHAMPIONS_TABLE": storage.champions_table.table_name}
        job_environment = {
            "ARTIFACTS_BUCKET": artifacts_name,
            "BEDROCK_ROLE_ARN": foundation.bedrock_role.role.role_arn,
            "SUBNET_IDS": ",".join(subnet.subnet_id for subnet in network.subnets.subnets),
            "JOB_SECURITY_GROUP_IDS": network.job_security_group.security_group_id,
            "KMS_KEY_ARN": key.key_arn,
        }

        start_run = PipelineFunction(
            self,
            "StartRun",
            placement=placement,
            handler="lambdas.handlers.start_run.handler",
            description="Starts exactly one pipeline execution per uploaded dataset object version",
            statements=[
                iam.PolicyStatement(
                    sid="ReadProfiles",
                    actions=["ssm:GetParameter"],
                    resources=[f"{arn}:ssm:{self.region}:{self.account}:parameter{profile_prefix}/*"],
                ),
                iam.PolicyStatement(
                    sid="ReadManifests", actions=["s3:GetObject", "s3:GetObjectVersion"], resources=[incoming_objects]
                ),
                s3_key,
                registry_write,
                table_key,
                iam.PolicyStatement(
                    sid="StartExecution", actions=["states:StartExecution"], resources=[state_machine_arn]
                ),
                execution_key,
            ],
            environment={
                **common_env,
                "STATE_MACHINE_ARN": state_machine_arn,
                "PROFILE_PARAMETER_PREFIX": profile_prefix,
            },
            dead_letter_queue=self.dead_letters,
            wildcards={
                incoming_objects: why[incoming_objects],
                f"{arn}:ssm:{self.region}:{self.account}:parameter{profile_prefix}/*": "The trigger reads, with read-only GetParameter, the one profile the upload path names at run time; the prefix holds only this stage's profiles and nothing else.",
            },
        )
        validate = PipelineFunction(
            self,
            "Validate",
            placement=placement,
            handler="lambdas.handlers.validate.handler",
            description="Validates a dataset against its profile's model and writes the line-numbered report",
            statements=[
                iam.PolicyStatement(
                    sid="ReadDatasets", actions=["s3:GetObject", "s3:GetObjectVersion"], resources=[incoming_objects]
                ),
                iam.PolicyStatement(
                    sid="CheckMediaExists",
                    actions=["s3:ListBucket"],
                    resources=[f"arn:{self.partition}:s3:::{data_name}"],
                    conditions={"StringLike": {"s3:prefix": [f"{INCOMING_PREFIX}*"]}},
                ),
                iam.PolicyStatement(sid="WriteReports", actions=["s3:PutObject"], resources=[report_objects]),
                iam.PolicyStatement(
                    sid="CheckEvaluationSets", actions=["s3:GetObject"], resources=[evaluation_objects]
                ),
                # The snapshot: server-side copies of the validated versions (CopyObject reads the source version
                # and writes the target) and rewritten files whose records name media.
                iam.PolicyStatement(sid="WriteSnapshots", actions=["s3:PutObject"], resources=[snapshot_objects]),
                iam.PolicyStatement(
                    sid="TellMissingEvaluationSets",
                    actions=["s3:ListBucket"],
                    resources=[f"arn:{self.partition}:s3:::{data_name}"],
                    conditions={"StringLike": {"s3:prefix": [f"{EVALUATION_PREFIX}*"]}},
                ),
                s3_key,
                registry_write,
                table_key,
            ],
            # Validate builds the job request StartJob will send, to check it against Bedrock's service model.
            # PROFILE_FINGERPRINTS: what this deployment installed, which a run's profile must match.
            environment={
                **common_env,
                **job_environment,
                "DATA_BUCKET": data_name,
                "PROFILE_FINGERPRINTS": fingerprints_variable(stage.profiles.values()),
            },
            timeout=Duration.minutes(15),
            memory_size=1024,
            wildcards={
                incoming_objects: why[incoming_objects],
                report_objects: why[report_objects],
                evaluation_objects: why[evaluation_objects],
                snapshot_objects: why[snapshot_objects],
            },
        )
        checkov_skip(
            validate.function,
            "CKV_AWS_45",
            "PROFILE_FINGERPRINTS holds SHA-256 digests of this stage's profiles, which are public configuration, not secrets; the entropy scan reads the hex digits as a key, and the environment is encrypted with the stage key like every function's.",
        )
        estimate = PipelineFunction(
            self,
            "Estimate",
            placement=placement,
            handler="lambdas.handlers.estimate.handler",
            description="Estimates the run's cost and checks it against the profile's budget cap",
            statements=[registry_write, table_key],
            environment=common_env,
        )
        base_models = sorted({profile.base_model for profile in stage.profiles.values()})
        start_job = PipelineFunction(
            self,
            "StartJob",
            placement=placement,
            handler="lambdas.handlers.start_job.handler",
            description="Starts the Bedrock customization job for a run inside the VPC, idempotently",
            statements=[
                iam.PolicyStatement(
                    sid="CreateJobsOnPinnedModels",
                    actions=["bedrock:CreateModelCustomizationJob"],
                    resources=[f"{arn}:bedrock:{self.region}::foundation-model/{model}" for model in base_models]
                    + [f"{bedrock}:custom-model/*", f"{bedrock}:model-customization-job/*"],
                ),
                iam.PolicyStatement(
                    sid="TagJobsAndModels",
                    actions=["bedrock:TagResource"],
                    resources=[f"{bedrock}:custom-model/*", f"{bedrock}:model-customization-job/*"],
                ),
                # The base model's lifecycle is checked at run time before the job (GetFoundationModel).
                iam.PolicyStatement(
                    sid="ReadBaseModelLifecycle",
                    actions=["bedrock:GetFoundationModel"],
                    resources=[f"{arn}:bedrock:{self.region}::foundation-model/{model}" for model in base_models],
                ),
                iam.PolicyStatement(
                    sid="PassOnlyTheBedrockRole",
                    actions=["iam:PassRole"],
                    resources=[foundation.bedrock_role.role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
                ),
                # Creating a job whose model is encrypted with customModelKmsKeyId needs these four key actions
                # through Bedrock (PermissionsModelCustomization in
                # https://docs.aws.amazon.com/nova/latest/userguide/customize-fine-tune-encrypt.html, read 2026-12-03).
                iam.PolicyStatement(
                    sid="EncryptCustomModels",
                    actions=["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant"],
                    resources=[key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"bedrock.{self.region}.amazonaws.com"}},
                ),
                iam.PolicyStatement(
                    sid="ReadChampions", actions=["dynamodb:GetItem"], resources=[storage.champions_table.table_arn]
                ),
                registry_write,
                table_key,
            ],
            environment={**common_env, **job_environment},
            wildcards={
                job_arns: why[job_arns],
                f"{bedrock}:custom-model/*": "Incremental profiles start from their champion, a custom model whose ARN is only known at run time, and new models get Bedrock-generated ids; creation stays limited to the pinned foundation models and this account's custom models.",
            },
        )
        wait_for_job = PipelineFunction(
            self,
            "WaitForJob",
            placement=placement,
            handler="lambdas.handlers.wait_for_job.handler",
            description="Stores the WaitForJob task token with the run and finishes at once if the job already ended",
            statements=[registry_write, table_key, job_read, task_tokens, execution_key],
            environment=common_env,
            wildcards={job_arns: why[job_arns]},
        )
        job_events = PipelineFunction(
            self,
            "JobEvents",
            placement=placement,
            handler="lambdas.handlers.job_events.handler",
            description="Completes WaitForJob from Bedrock job events and from the scheduled fallback check",
            statements=[registry_write, registry_lookup, table_key, job_read, task_tokens, execution_key],
            environment=common_env,
            dead_letter_queue=self.dead_letters,
            wildcards={job_arns: why[job_arns]},
        )
        cleanup = PipelineFunction(
            self,
            "Cleanup",
            placement=placement,
            handler="lambdas.handlers.cleanup.handler",
            description="Stops the run's job and deletes every endpoint it created but did not promote",
            statements=[
                job_read,
                iam.PolicyStatement(
                    sid="StopJobs",
                    actions=["bedrock:StopModelCustomizationJob"],
                    resources=[job_arns],
                    conditions=this_stages,
                ),
                # One statement per action: each tag condition then sits only on the resource type its action takes.
                iam.PolicyStatement(
                    sid="DeleteEvaluationThroughputs",
                    actions=["bedrock:DeleteProvisionedModelThroughput"],
                    resources=[f"{bedrock}:provisioned-model/*"],
                    conditions=this_stages,
                ),
                iam.PolicyStatement(
                    sid="DeleteEvaluationDeployments",
                    actions=["bedrock:DeleteCustomModelDeployment"],
                    resources=[f"{bedrock}:custom-model-deployment/*"],
                    conditions=this_stages,
                ),
                # Never delete the endpoint a champion item names, even one its run did not mark promoted.
                iam.PolicyStatement(
                    sid="ReadChampions", actions=["dynamodb:GetItem"], resources=[storage.champions_table.table_arn]
                ),
                # A timed-out or aborted execution runs no Catch: cleanup itself tells the topic.
                iam.PolicyStatement(
                    sid="NotifyAbnormalEnds", actions=["sns:Publish"], resources=[self.topic.topic_arn]
                ),
                iam.PolicyStatement(
                    sid="EncryptNotifications",
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"sns.{self.region}.amazonaws.com"}},
                ),
                # A status-change event is acted on only once Step Functions confirms the execution ended abnormally.
                iam.PolicyStatement(
                    sid="ConfirmAbnormalEnds", actions=["states:DescribeExecution"], resources=[executions]
                ),
                iam.PolicyStatement(
                    sid="ReadExecutionData",
                    actions=["kms:Decrypt"],
                    resources=[key.key_arn],
                    conditions={
                        "StringEquals": {
                            "kms:ViaService": f"states.{self.region}.amazonaws.com",
                            "kms:EncryptionContext:aws:states:stateMachineArn": state_machine_arn,
                        }
                    },
                ),
                registry_write,
                table_key,
            ],
            environment={
                **common_env,
                "NOTIFICATION_TOPIC_ARN": self.topic.topic_arn,
                "STATE_MACHINE_ARN": state_machine_arn,
            },
            dead_letter_queue=self.dead_letters,
            wildcards={
                job_arns: why[job_arns],
                executions: "Executions are named by their run id when an upload starts them; cleanup may only describe, read-only, the executions of this stage's one state machine.",
                **{
                    f"{bedrock}:{kind}/*": "Evaluation endpoints get Bedrock-generated ids when a run creates them; cleanup may only delete them, in this account and region, and deletes only those its run recorded."
                    for kind in ("provisioned-model", "custom-model-deployment")
                },
            },
        )
        endpoint_arns = {
            kind: f"{bedrock}:{kind}/*" for kind in ("provisioned-model", "custom-model-deployment", "custom-model")
        }
        why_endpoints = "Evaluation and production endpoints get Bedrock-generated ids when a run creates them, so they cannot be named in advance; the statement stays in this account and region and covers only the endpoint actions this function calls."
        why_models = "The models a run deploys and evaluates are custom models whose ids Bedrock generates at the end of training; the statement stays in this account and region."
        endpoint_wildcards = {
            endpoint_arns["provisioned-model"]: why_endpoints,
            endpoint_arns["custom-model-deployment"]: why_endpoints,
            endpoint_arns["custom-model"]: why_models,
        }
        deploy_endpoint = PipelineFunction(
            self,
            "DeployEndpoint",
            placement=placement,
            handler="lambdas.handlers.deploy_endpoint.handler",
            description="Puts the customized model behind an evaluation endpoint, recorded before it is requested",
            statements=[
                iam.PolicyStatement(
                    sid="CreateEvaluationEndpoints",
                    actions=["bedrock:CreateCustomModelDeployment", "bedrock:CreateProvisionedModelThroughput"],
                    resources=list(endpoint_arns.values()),
                ),
                iam.PolicyStatement(
                    sid="TagEndpoints",
                    actions=["bedrock:TagResource"],
                    resources=[endpoint_arns["provisioned-model"], endpoint_arns["custom-model-deployment"]],
                ),
                # On-demand deployment depends on the day the model was customized (GetCustomModel's creationTime).
                iam.PolicyStatement(
                    sid="ReadModelCreationDate",
                    actions=["bedrock:GetCustomModel"],
                    resources=[endpoint_arns["custom-model"]],
                ),
                custom_model_key,
                registry_write,
                table_key,
            ],
            environment=common_env,
            wildcards=endpoint_wildcards,
        )
        check_endpoint = PipelineFunction(
            self,
            "CheckEndpoint",
            placement=placement,
            handler="lambdas.handlers.check_endpoint.handler",
            description="Reads an endpoint's status for the state machine's back-off loop and fails a dead or slow one",
            statements=[
                iam.PolicyStatement(
                    sid="ReadEndpoints",
                    actions=["bedrock:GetProvisionedModelThroughput", "bedrock:GetCustomModelDeployment"],
                    resources=[endpoint_arns["provisioned-model"], endpoint_arns["custom-model-deployment"]],
                )
            ],
            environment=common_env,
            wildcards={
                endpoint_arns["provisioned-model"]: why_endpoints,
                endpoint_arns["custom-model-deployment"]: why_endpoints,
            },
        )
        # The baselines and judges, each as Bedrock requires it to be invoked from this Region: its own
        # foundation model, or an inference profile and every model it may route to (the catalogue's facts).
        invoked = [invocable_model(p.base_model, stage.region, stage.account) for p in stage.profiles.values()]
        invoked += [
            invocable_model(p.evaluation.judge_model, stage.region, stage.account)
            for p in stage.profiles.values()
            if p.evaluation.judge_model
        ]
        invocation_resources = sorted(
            {
                resource.replace("arn:aws:", f"{arn}:", 1)
                for invocation in invoked
                for resource in invocation.iam_resources
            }
        )
        evaluate = PipelineFunction(
            self,
            "Evaluate",
            placement=placement,
            handler="lambdas.handlers.evaluate.handler",
            description="Evaluates the candidate against its baseline on the profile's evaluation set and writes the reports",
            statements=[
                # Foundation models and inference profiles carry no tags of ours; the candidate's endpoint does.
                iam.PolicyStatement(
                    sid="InvokeBaselinesAndJudges", actions=["bedrock:InvokeModel"], resources=invocation_resources
                ),
                iam.PolicyStatement(
                    sid="InvokeThisStagesCandidates",
                    actions=["bedrock:InvokeModel"],
                    resources=[endpoint_arns["provisioned-model"], endpoint_arns["custom-model-deployment"]],
                    conditions=this_stages,
                ),
                iam.PolicyStatement(sid="ReadEvaluationSets", actions=["s3:GetObject"], resources=[evaluation_objects]),
                iam.PolicyStatement(
                    sid="TellMissingFromForbidden",
                    actions=["s3:ListBucket"],
                    resources=[f"arn:{self.partition}:s3:::{data_name}"],
                    conditions={"StringLike": {"s3:prefix": [f"{EVALUATION_PREFIX}*"]}},
                ),
                iam.PolicyStatement(sid="WriteReports", actions=["s3:PutObject"], resources=[report_objects]),
                iam.PolicyStatement(sid="ReadHeldOutSplits", actions=["s3:GetObject"], resources=[held_out_reports]),
                s3_key,
                custom_model_key,
                iam.PolicyStatement(
                    sid="ReadChampions", actions=["dynamodb:GetItem"], resources=[storage.champions_table.table_arn]
                ),
                registry_write,
                table_key,
            ],
            environment={**common_env, "ARTIFACTS_BUCKET": artifacts_name, "DATA_BUCKET": data_name},
            timeout=Duration.seconds(EVALUATE_TIMEOUT_SECONDS),
            memory_size=1024,
            wildcards={
                endpoint_arns["provisioned-model"]: why_endpoints,
                endpoint_arns["custom-model-deployment"]: why_endpoints,
                evaluation_objects: why[evaluation_objects],
                report_objects: why[report_objects],
                held_out_reports: why[held_out_reports],
            },
        )
        promote = PipelineFunction(
            self,
            "Promote",
            placement=placement,
            handler="lambdas.handlers.promote.handler",
            description="Buys the profile's provisioned throughput for a candidate that passed the gate",
            statements=[
                iam.PolicyStatement(
                    sid="ProvisionThroughput",
                    actions=["bedrock:CreateProvisionedModelThroughput"],
                    resources=[endpoint_arns["custom-model"], endpoint_arns["provisioned-model"]],
                ),
                iam.PolicyStatement(
                    sid="TagThroughput", actions=["bedrock:TagResource"], resources=[endpoint_arns["provisioned-model"]]
                ),
                # A newer upload's champion supersedes the run before it buys anything (lambdas/domain/champion.py).
                iam.PolicyStatement(
                    sid="ReadChampions", actions=["dynamodb:GetItem"], resources=[storage.champions_table.table_arn]
                ),
                custom_model_key,
                registry_write,
                table_key,
            ],
            environment=common_env,
            wildcards={endpoint_arns["custom-model"]: why_models, endpoint_arns["provisioned-model"]: why_endpoints},
        )
        champion_prefix = f"/tuneforge/{stage.name}/champions"
        champion_parameters = f"{arn}:ssm:{self.region}:{self.account}:parameter{champion_prefix}/*"
        finalize_promotion = PipelineFunction(
            self,
            "FinalizePromotion",
            placement=placement,
            handler="lambdas.handlers.finalize_promotion.handler",
            description="Makes the candidate the profile's champion and retires what the promotion replaces",
            statements=[
                iam.PolicyStatement(
                    sid="ReadEndpoints",
                    actions=["bedrock:GetProvisionedModelThroughput"],
                    resources=[endpoint_arns["provisioned-model"]],
                ),
                iam.PolicyStatement(
                    sid="RetireThisStagesThroughputs",
                    actions=["bedrock:DeleteProvisionedModelThroughput"],
                    resources=[endpoint_arns["provisioned-model"]],
                    conditions=this_stages,
                ),
                iam.PolicyStatement(
                    sid="RetireThisStagesDeployments",
                    actions=["bedrock:DeleteCustomModelDeployment"],
                    resources=[endpoint_arns["custom-model-deployment"]],
                    conditions=this_stages,
                ),
                iam.PolicyStatement(
                    sid="WriteChampion",
                    actions=["dynamodb:GetItem", "dynamodb:PutItem"],
                    resources=[storage.champions_table.table_arn],
                ),
                iam.PolicyStatement(
                    sid="PublishChampionArn", actions=["ssm:PutParameter"], resources=[champion_parameters]
                ),
                registry_write,
                table_key,
            ],
            environment={**common_env, "CHAMPION_PARAMETER_PREFIX": champion_prefix},
            wildcards={
                endpoint_arns["provisioned-model"]: why_endpoints,
                endpoint_arns["custom-model-deployment"]: why_endpoints,
                champion_parameters: "Applications read each profile's champion from one parameter under this stage's champions path; the function writes only there, one parameter per profile named at run time.",
            },
        )
        self.janitor = Janitor(
            self,
            "Janitor",
            stage=stage,
            placement=placement,
            storage=storage,
            topic=self.topic,
            dead_letters=self.dead_letters,
        )
        self.functions = {
            "StartRun": start_run,
            "Validate": validate,
            "Estimate": estimate,
            "StartJob": start_job,
            "WaitForJob": wait_for_job,
            "JobEvents": job_events,
            "DeployEndpoint": deploy_endpoint,
            "CheckEndpoint": check_endpoint,
            "Evaluate": evaluate,
            "Promote": promote,
            "FinalizePromotion": finalize_promotion,
            "Cleanup": cleanup,
            "Janitor": self.janitor.function,
        }

        # One fallback check interval without news from a job is normal; three mean the checker is gone.
        heartbeat = Duration.minutes(3 * stage.job_fallback_check_minutes)
        self.retraining = RetrainingStateMachine(
            self,
            "Retraining",
            state_machine_name=state_machine_name,
            functions=StepFunctions(
                validate=validate.function,
                estimate=estimate.function,
                start_job=start_job.function,
                wait_for_job=wait_for_job.function,
                deploy_endpoint=deploy_endpoint.function,
                check_endpoint=check_endpoint.function,
                evaluate=evaluate.function,
                promote=promote.function,
                finalize_promotion=finalize_promotion.function,
                cleanup=cleanup.function,
            ),
            runs_table=runs_table,
            topic=self.topic,
            key=key,
            timeout=Duration.hours(stage.execution_timeout_hours),
            job_heartbeat=heartbeat,
            log_retention=stage.log_retention,
            removal_policy=storage.removal_policy,
        )

        target_options = dict(dead_letter_queue=self.dead_letters, retry_attempts=8, max_event_age=Duration.hours(2))
        # Uploads: only Object Created in this bucket under incoming/; StartRun ignores what is not a dataset.
        self.upload_rule = events.Rule(
            self,
            "DatasetUploaded",
            description="A dataset object was created under incoming/ of the data bucket",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={"bucket": {"name": [data_name]}, "object": {"key": [{"prefix": INCOMING_PREFIX}]}},
            ),
            targets=[targets.LambdaFunction(start_run.function, **target_options)],
        )
        self.job_state_rule = events.Rule(
            self,
            "JobStateChanged",
            description="A Bedrock customization job reached a terminal status",
            event_pattern=events.EventPattern(
                source=["aws.bedrock"],
                detail_type=["Model Customization Job State Change"],
                detail={"jobStatus": ["Completed", "Failed", "Stopped"]},
            ),
            targets=[targets.LambdaFunction(job_events.function, **target_options)],
        )
        self.fallback_rule = events.Rule(
            self,
            "FallbackJobCheck",
            description="Finishes runs whose job ended without a delivered event, and keeps waiting tasks alive",
            schedule=events.Schedule.rate(Duration.minutes(stage.job_fallback_check_minutes)),
            targets=[targets.LambdaFunction(job_events.function, **target_options)],
        )
        # An execution that times out or is aborted runs no Catch: clean up after it from its status event.
        self.execution_end_rule = events.Rule(
            self,
            "ExecutionEndedAbnormally",
            description="A retraining execution timed out, was aborted or failed",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={"stateMachineArn": [state_machine_arn], "status": ["TIMED_OUT", "ABORTED", "FAILED"]},
            ),
            targets=[targets.LambdaFunction(cleanup.function, **target_options)],
        )
        # A profile parameter changed outside a deployment: runs of it are refused (Validate checks the
        # deployed fingerprint), and the platform team hears of the change when it happens.
        self.profile_change_rule = events.Rule(
            self,
            "ProfileParameterChanged",
            description="A tuning profile parameter of this stage was created, changed or deleted",
            event_pattern=events.EventPattern(
                source=["aws.ssm"],
                detail_type=["Parameter Store Change"],
                detail={"name": [{"prefix": f"{profile_prefix}/"}]},
            ),
            targets=[
                targets.SnsTopic(
                    self.topic,
                    **target_options,
                    message=events.RuleTargetInput.from_object(
                        {
                            "outcome": "PROFILE_PARAMETER_CHANGED",
                            "parameter": events.EventField.from_path("$.detail.name"),
                            "operation": events.EventField.from_path("$.detail.operation"),
                            "time": events.EventField.time,
                            "what_happens": "runs of this profile are refused until the parameter matches the deployed configuration again; change config/tuneforge.yaml and deploy",
                        }
                    ),
                )
            ],
        )
        _only_from_rule(self.topic, self.profile_change_rule)
        self.dead_letters.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgeRulesOfThisStack",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.dead_letters.queue_arn],
                conditions={
                    "ArnEquals": {
                        "aws:SourceArn": [
                            rule.rule_arn
                            for rule in (
                                self.upload_rule,
                                self.job_state_rule,
                                self.fallback_rule,
                                self.execution_end_rule,
                                self.profile_change_rule,
                                self.janitor.rule,
                            )
                        ]
                    }
                },
            )
        )

        CfnOutput(self, "StateMachineArn", value=self.retraining.state_machine.state_machine_arn)
        CfnOutput(self, "NotificationTopicArn", value=self.topic.topic_arn)
        self.observability = PipelineObservability(
            self,
            "Observability",
            state_machine=self.retraining.state_machine,
            dead_letters=self.dead_letters,
            functions=[f.function for f in self.functions.values()],
            topic=self.topic,
            dashboard_name=f"tuneforge-{stage.name}",
        )


def _only_from_rule(topic: sns.Topic, rule: events.Rule) -> None:
    """The SnsTopic target lets events.amazonaws.com publish with no condition: only this stack's rule may
    (aws:SourceArn), so no other account's or application's rule can use the topic (confused deputy)."""
    policy = topic.node.find_child("Policy").node.default_child
    document = Stack.of(topic).resolve(policy.policy_document)  # type: ignore[union-attr]
    [index] = [
        i
        for i, statement in enumerate(document["Statement"])
        if statement.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    policy.add_property_override(
        f"PolicyDocument.Statement.{index}.Condition", {"ArnEquals": {"aws:SourceArn": rule.rule_arn}}
    )  # type: ignore[union-attr]
    policy.add_property_override(f"PolicyDocument.Statement.{index}.Sid", "ProfileChangeRuleOfThisStack")  # type: ignore[union-attr]
