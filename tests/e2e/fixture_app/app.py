"""A small CDK app with every shape the emulator must run, independent of the real pipeline.

bucket (EventBridge on) --Object Created incoming/--> rule --> Starter Lambda --> state machine
                       --Object Created direct/----> rule --> state machine (InputTransformer)
state machine: Validate (Retry TransientError, Catch DatasetValidationError) -> Pause (Wait 300 s)
  -> StartJob (Bedrock) -> WaitForJob (.waitForTaskToken, completed by the Bedrock job event rule
  or the rate(5 minutes) poller) -> CreateEndpoint -> [Wait 60 -> CheckEndpoint]* -> Score -> notify
plus an SNS topic, a DynamoDB table and an unrelated function with a same-named helper module.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

HERE = Path(__file__).parent
ACCOUNT, REGION = "123456789012", "us-east-1"


class FixtureStack(cdk.Stack):
    def __init__(self, scope, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        bucket = s3.Bucket(self, "Data", event_bridge_enabled=True, versioned=True)
        table = dynamodb.Table(
            self, "Tokens", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
        )
        topic = sns.Topic(self, "Notifications")
        bedrock_role = iam.Role(self, "BedrockRole", assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com"))
        code = lambda_.Code.from_asset(str(HERE / "handlers"))

        def fn(name: str, handler: str, **env: str) -> lambda_.Function:
            f = lambda_.Function(
                self,
                name,
                runtime=lambda_.Runtime.PYTHON_3_11,
                handler=handler,
                code=code,
                timeout=Duration.seconds(30),
                environment={"TABLE_NAME": table.table_name, "POWERTOOLS_SERVICE_NAME": "fixture", **env},
            )
            table.grant_read_write_data(f)
            bucket.grant_read_write(f)
            return f

        validate = fn("Validate", "validate.handler")
        start_job = fn("StartJob", "start_job.handler", BEDROCK_ROLE_ARN=bedrock_role.role_arn)
        wait_token = fn("WaitToken", "wait_token.handler")
        job_event = fn("JobEvent", "job_event.handler")
        poller = fn("Poller", "job_event.poll")
        ev_create = fn("EvalCreate", "evaluate.create")
        ev_status = fn("EvalStatus", "evaluate.status")
        ev_score = fn("EvalScore", "evaluate.score", BASELINE_MODEL_ID="amazon.titan-text-express-v1")

        notify_rejected = tasks.SnsPublish(
            self,
            "NotifyRejected",
            topic=topic,
            message=sfn.TaskInput.from_json_path_at("$.error.Cause"),
            result_path=sfn.JsonPath.DISCARD,
        )
        notify_failed = tasks.SnsPublish(
            self,
            "NotifyJobFailed",
            topic=topic,
            message=sfn.TaskInput.from_json_path_at("$.error.Error"),
            result_path=sfn.JsonPath.DISCARD,
        )
        notify_done = tasks.SnsPublish(
            self,
            "NotifyDone",
            topic=topic,
            message=sfn.TaskInput.from_json_path_at("States.JsonToString($.score)"),
            result_path=sfn.JsonPath.DISCARD,
        )

        validate_step = tasks.LambdaInvoke(
            self, "ValidateData", lambda_function=validate, payload_response_only=True, result_path="$.validation"
        )
        validate_step.add_retry(
            errors=["TransientError"], interval=Duration.seconds(30), max_attempts=3, backoff_rate=2
        )
        validate_step.add_catch(
            notify_rejected.next(sfn.Fail(self, "Rejected", error="DatasetRejected")),
            errors=["DatasetValidationError"],
            result_path="$.error",
        )

        pause = sfn.Wait(self, "Pause", time=sfn.WaitTime.duration(Duration.seconds(300)))
        start = tasks.LambdaInvoke(
            self,
            "StartJobStep",
            lambda_function=start_job,
            payload=sfn.TaskInput.from_object(
                {
                    "run": sfn.JsonPath.execution_name,
                    "bucket": sfn.JsonPath.string_at("$.bucket"),
                    "key": sfn.JsonPath.string_at("$.key"),
                }
            ),
            payload_response_only=True,
            result_path="$.job",
        )
        wait_job = tasks.LambdaInvoke(
            self,
            "WaitForJob",
            lambda_function=wait_token,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object(
                {"taskToken": sfn.JsonPath.task_token, "jobArn": sfn.JsonPath.string_at("$.job.jobArn")}
            ),
            result_path="$.job",
            task_timeout=sfn.Timeout.duration(Duration.days(30)),
        )
        wait_job.add_catch(
            notify_failed.next(sfn.Fail(self, "JobFailed", error="JobFailed")),
            errors=["JobFailed", "JobStopped", "States.Timeout"],
            result_path="$.error",
        )

        create_ep = tasks.LambdaInvoke(
            self,
            "CreateEndpoint",
            lambda_function=ev_create,
            payload=sfn.TaskInput.from_object(
                {"run": sfn.JsonPath.execution_name, "job": sfn.JsonPath.object_at("$.job")}
            ),
            payload_response_only=True,
            result_path="$.endpoint",
        )
        wait_ep = sfn.Wait(self, "WaitEndpoint", time=sfn.WaitTime.duration(Duration.seconds(60)))
        check_ep = tasks.LambdaInvoke(
            self, "CheckEndpoint", lambda_function=ev_status, payload_response_only=True, result_path="$.endpointStatus"
        )
        score = tasks.LambdaInvoke(
            self, "Score", lambda_function=ev_score, payload_response_only=True, result_path="$.score"
        )
        ready = sfn.Choice(self, "EndpointReady?")
        ready.when(
            sfn.Condition.string_equals("$.endpointStatus.status", "InService"),
            score.next(notify_done).next(sfn.Succeed(self, "Done")),
        )
        ready.when(
            sfn.Condition.string_equals("$.endpointStatus.status", "Failed"),
            sfn.Fail(self, "EndpointFailed", error="EndpointFailed"),
        )
        ready.otherwise(wait_ep)

        definition = (
            validate_step.next(pause)
            .next(start)
            .next(wait_job)
            .next(create_ep)
            .next(wait_ep)
            .next(check_ep)
            .next(ready)
        )
        machine = sfn.StateMachine(
            self, "Pipeline", definition_body=sfn.DefinitionBody.from_chainable(definition), timeout=Duration.days(40)
        )

        starter = lambda_.Function(
            self,
            "Starter",
            runtime=lambda_.Runtime.PYTHON_3_11,
            handler="starter.handler",
            code=code,
            environment={"STATE_MACHINE_ARN": machine.state_machine_arn, "POWERTOOLS_METRICS_NAMESPACE": "Fixture"},
            tracing=lambda_.Tracing.ACTIVE,  # as tuneforge's functions: its Tracer runs for real
        )
        machine.grant_start_execution(starter)
        events.Rule(
            self,
            "OnUpload",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={"bucket": {"name": [bucket.bucket_name]}, "object": {"key": [{"prefix": "incoming/"}]}},
            ),
            targets=[targets.LambdaFunction(starter)],
        )
        events.Rule(
            self,
            "OnDirectUpload",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={"bucket": {"name": [bucket.bucket_name]}, "object": {"key": [{"prefix": "direct/"}]}},
            ),
            targets=[
                targets.SfnStateMachine(
                    machine,
                    input=events.RuleTargetInput.from_object(
                        {
                            "bucket": events.EventField.from_path("$.detail.bucket.name"),
                            "key": events.EventField.from_path("$.detail.object.key"),
                        }
                    ),
                )
            ],
        )
        events.Rule(
            self,
            "OnJobStateChange",
            event_pattern=events.EventPattern(
                source=["aws.bedrock"],
                detail_type=["Model Customization Job State Change"],
                detail={"jobStatus": ["Completed", "Failed", "Stopped"]},
            ),
            targets=[targets.LambdaFunction(job_event)],
        )
        events.Rule(
            self,
            "FallbackPoll",
            schedule=events.Schedule.rate(Duration.minutes(5)),
            targets=[targets.LambdaFunction(poller)],
        )

        for f in (start_job, poller, ev_create, ev_status, ev_score):
            f.add_to_role_policy(iam.PolicyStatement(actions=["bedrock:*"], resources=["*"]))
        for f in (job_event, poller):
            machine.grant_task_response(f)
        bedrock_role.grant_pass_role(start_job)
        bucket.grant_read_write(bedrock_role)  # Bedrock reads the training data and writes output as this role

        lambda_.Function(
            self,
            "Other",
            runtime=lambda_.Runtime.PYTHON_3_11,
            handler="index.handler",
            code=lambda_.Code.from_asset(str(HERE / "other")),
            environment={"WHO": "other"},
        )
        cdk.CfnOutput(self, "BucketName", value=bucket.bucket_name)
        cdk.CfnOutput(self, "StateMachineArn", value=machine.state_machine_arn, export_name="FixtureStateMachineArn")
        cdk.CfnOutput(self, "TopicArn", value=topic.topic_arn)
        cdk.CfnOutput(self, "TableName", value=table.table_name)


class ConsumerStack(cdk.Stack):
    """Imports an export of FixtureStack: deploy must order stacks by dependency."""

    def __init__(self, scope, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        imported = ssm.StringParameter(
            self,
            "Imported",
            parameter_name="/fixture/imported-arn",
            string_value=cdk.Fn.import_value("FixtureStateMachineArn"),
        )
        cdk.CfnOutput(self, "ImportedParameter", value=imported.parameter_name)


def build(outdir: str) -> cdk.App:
    app = cdk.App(outdir=outdir)
    env = cdk.Environment(account=ACCOUNT, region=REGION)
    stage = cdk.Stage(app, "Fixture", env=env)
    main = FixtureStack(stage, "Pipeline", env=env)
    consumer = ConsumerStack(stage, "Consumer", env=env)
    consumer.add_stack_dependency(main)
    app.synth()
    return app
